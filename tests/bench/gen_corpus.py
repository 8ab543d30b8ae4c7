#!/usr/bin/env python3
# gen_corpus.py -- deterministic benchmark corpus for codepage-milter.
#
# Usage: gen_corpus.py OUTDIR [--count N] [--big-mb M]
#
# Writes, with CRLF line ends (the form the milter protocol and SMTP carry):
#   OUTDIR/clean/NNN.eml      correctly labelled mail: utf-8 / legacy text with
#                             the right charset, quoted-printable, plain ASCII,
#                             multipart with base64 binary attachments.  The
#                             milter must leave these untouched.
#   OUTDIR/label/NNN.eml      unlabelled 8-bit text in several charsets (no
#                             Content-Type, text/plain without charset, an
#                             unlabelled part next to an attachment): label-only
#                             repairs.
#   OUTDIR/transcode/NNN.eml  unlabelled legacy-charset text (never UTF-8): what
#                             Mode transcode converts to UTF-8.
#   OUTDIR/big/big.eml        one message of --big-mb MB (default 20): an
#                             unlabelled windows-1252 text part and a base64
#                             attachment, for the memory test.
#   OUTDIR/manifest.tsv       one line per message: set, file, size, then for
#                             every 8-bit text part "charset:offset:length" of
#                             its raw (8bit CTE) body bytes in the file.  The
#                             engine benchmark converts exactly these ranges
#                             with iconv for the transcode ceiling.
#
# Sizes run from 2 KB to about 1 MB, weighted like real mail: 70% 2-16 KB,
# 25% 16-256 KB, 5% 256 KB-1 MB.  The output depends only on the arguments
# (random.Random with fixed seeds), so every run measures the same bytes.
#
# The sentences are written for this benchmark; they only need to be
# plausible text in each language so that charset detection has real work.

import os
import random
import sys

SENTENCES = {
	"fr": ["Bonjour à tous, voici le résumé de la réunion de mercredi dernier.",
	       "Les élèves ont présenté leurs projets devant le comité régional.",
	       "Nous avons décidé de reporter la fête de l'été au mois de septembre.",
	       "Le budget prévu pour l'année prochaine dépasse légèrement nos prévisions.",
	       "Merci de vérifier les pièces jointes et de me répondre avant vendredi.",
	       "Cette œuvre coûte 1 200 € ; c'est « raisonnable » selon François."],
	"de": ["Sehr geehrte Damen und Herren, anbei finden Sie die gewünschten Unterlagen.",
	       "Die Prüfung der Rechnungen wird voraussichtlich übermorgen abgeschlossen.",
	       "Für Rückfragen stehe ich Ihnen gerne zur Verfügung.",
	       "Wir müssen die Größe des Lagers noch einmal genau überprüfen.",
	       "Die Straße vor dem Büro ist wegen Bauarbeiten gesperrt.",
	       "„Das Angebot über 480 € gilt bis Ende Mai“, schrieb Jörg."],
	"es": ["¿Podrías enviarme el informe antes del miércoles por la mañana?",
	       "La reunión con los señores de Logroño se celebrará en la sala pequeña.",
	       "El niño pequeño aprendió a nadar durante las vacaciones de verano.",
	       "Según el análisis, la producción aumentó un diez por ciento este año.",
	       "¡Muchas gracias por tu ayuda con la mudanza del sábado!",
	       "El billete cuesta 95 € y el tren sale a las “ocho en punto”…"],
	"cs": ["Dobrý den, posílám Vám v příloze fakturu za měsíc září.",
	       "Prosím o potvrzení přijetí a o úhradu do čtrnácti dnů.",
	       "Příští týden se uskuteční schůze výboru v zasedací místnosti.",
	       "Děkuji za rychlou odpověď a přeji hezký večer.",
	       "Žluťoučký kůň úpěl ďábelské ódy na zelené louce."],
	"pl": ["Dzień dobry, przesyłam zaktualizowany harmonogram prac na przyszły tydzień.",
	       "Proszę o zgłaszanie uwag do piątku, żebyśmy zdążyli przygotować umowę.",
	       "Zażółć gęślą jaźń, powiedział nauczyciel na lekcji języka polskiego.",
	       "Spotkanie zarządu odbędzie się w środę o godzinie dziesiątej.",
	       "Łukasz wrócił z urlopu wypoczęty i pełen nowych pomysłów."],
	"ru": ["Здравствуйте, отчёт за третий квартал готов и будет отправлен завтра.",
	       "Если у вас возникнут вопросы, звоните в любое удобное время.",
	       "Собрание жильцов состоится в субботу в семь часов вечера во дворе.",
	       "Погода на даче была чудесная, а яблок в этом году особенно много.",
	       "Просим подтвердить получение документов до конца недели.",
	       "Мы благодарим всех участников конференции за интересные доклады."],
	"el": ["Καλημέρα σας, σας στέλνω την αναφορά για τον προϋπολογισμό του έτους.",
	       "Η συνάντηση θα γίνει την Πέμπτη στις δέκα το πρωί στο γραφείο μας.",
	       "Ευχαριστούμε πολύ για τη γρήγορη απάντηση και τη βοήθειά σας.",
	       "Παρακαλώ ελέγξτε τα συνημμένα έγγραφα πριν από την Παρασκευή."],
	"tr": ["Merhaba, toplantı notlarını ekte gönderiyorum, lütfen inceleyiniz.",
	       "Gelecek hafta şirketimizin yıllık genel kurulu yapılacaktır.",
	       "Öğrenciler projelerini büyük bir heyecanla sundular.",
	       "Ödeme işlemleri çarşamba gününe kadar tamamlanmalıdır."],
	"ja": ["いつもお世話になっております。会議の資料をお送りします。",
	       "来週の打ち合わせは水曜日の午後三時からに変更になりました。",
	       "ご不明な点がございましたら、お気軽にお問い合わせください。",
	       "本日は東京で雨が降っていますので、傘をお持ちください。",
	       "よろしくお願いいたします。"],
	"zh": ["您好，附件是本季度的销售报告，请查收。",
	       "下周三下午两点在三楼会议室召开项目会议。",
	       "如果您有任何问题，请随时与我们联系。",
	       "感谢您一直以来对我们工作的支持与帮助。"],
	"zt": ["您好，附件是本季度的銷售報告，請查收。",
	       "下週三下午兩點在三樓會議室召開專案會議。",
	       "如果您有任何問題，請隨時與我們聯繫。"],
	"ko": ["안녕하세요, 이번 분기 판매 보고서를 첨부하여 보내드립니다.",
	       "다음 주 수요일 오후 두 시에 회의실에서 회의가 있습니다.",
	       "궁금한 점이 있으시면 언제든지 연락해 주십시오.",
	       "항상 도와주셔서 진심으로 감사드립니다."],
	"en": ["Please find attached the minutes of last week's meeting.",
	       "The quarterly figures will be presented on Thursday morning.",
	       "Let me know if you have any questions about the new schedule.",
	       "Thanks again for your help with the migration project."],
}

# (language, MIME charset label, Python codec) for legacy text.
LEGACY = [
	("fr", "windows-1252", "cp1252"), ("de", "windows-1252", "cp1252"),
	("es", "windows-1252", "cp1252"), ("de", "iso-8859-15", "iso8859_15"),
	("cs", "windows-1250", "cp1250"), ("pl", "iso-8859-2", "iso8859_2"),
	("ru", "windows-1251", "cp1251"), ("ru", "koi8-r", "koi8_r"),
	("el", "iso-8859-7", "iso8859_7"), ("tr", "windows-1254", "cp1254"),
	("ja", "shift_jis", "shift_jis"), ("ja", "euc-jp", "euc_jp"),
	("zh", "gbk", "gbk"), ("zt", "big5", "big5"), ("ko", "euc-kr", "euc_kr"),
]
UTF8_LANGS = ["fr", "de", "ru", "el", "ja", "zh", "ko", "pl"]


def crlf_text(rng, lang, target, codec="utf-8"):
	"""Paragraphs of shuffled sentences (those the codec can encode), wrapped
	near 72 columns, CRLF ends."""
	out, line, size = [], "", 0
	sents = [s for s in SENTENCES[lang] if encodable(s, codec)]
	while size < target:
		s = rng.choice(sents)
		if line and len(line) + 1 + len(s) > 72:
			out.append(line)
			size += len(line.encode("utf-8")) + 2
			line = s
			if rng.random() < 0.15:
				out.append("")
		else:
			line = (line + " " + s) if line else s
	if line:
		out.append(line)
	return "\r\n".join(out) + "\r\n"


def encodable(s, codec):
	try:
		s.encode(codec)
		return True
	except UnicodeEncodeError:
		return False


def base64_lines(data):
	import base64
	b = base64.b64encode(data)
	return b"".join(b[i:i + 76] + b"\r\n" for i in range(0, len(b), 76))


def pick_size(rng):
	r = rng.random()
	if r < 0.70:
		return rng.randint(2 * 1024, 16 * 1024)
	if r < 0.95:
		return rng.randint(16 * 1024, 256 * 1024)
	return rng.randint(256 * 1024, 1024 * 1024)


class Msg:
	"""A message under construction: bytes plus the 8-bit text part ranges."""
	def __init__(self):
		self.chunks = []
		self.size = 0
		self.parts = []		# (charset, offset, length)

	def add(self, b):
		self.chunks.append(b)
		self.size += len(b)

	def add_text(self, b, charset):
		if any(c >= 0x80 for c in b):
			self.parts.append((charset, self.size, len(b)))
		self.add(b)

	def bytes(self):
		return b"".join(self.chunks)


def headers(rng, n, subject, extra):
	h = ("From: Bench Sender <sender%d@example.test>\r\n"
	     "To: Bench Recipient <rcpt@example.test>\r\n"
	     "Subject: %s\r\n"
	     "Date: Mon, 6 May 2024 10:%02d:%02d +0000\r\n"
	     "Message-ID: <bench-%d@example.test>\r\n" % (n % 97, subject, n % 60, (n * 7) % 60, n))
	return (h + extra).encode("ascii")


def attachment(rng, m, boundary, size):
	m.add(("--%s\r\nContent-Type: application/octet-stream; name=\"data%d.bin\"\r\n"
	       "Content-Transfer-Encoding: base64\r\n"
	       "Content-Disposition: attachment; filename=\"data%d.bin\"\r\n\r\n"
	       % (boundary, size, size)).encode("ascii"))
	m.add(base64_lines(rng.randbytes(max(1, size * 3 // 4))))


def make_clean(rng, n):
	m = Msg()
	size = pick_size(rng)
	kind = rng.randrange(5)
	if kind == 0:		# plain ASCII
		m.add(headers(rng, n, "Status report %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: text/plain; charset=us-ascii\r\n\r\n"))
		m.add(crlf_text(rng, "en", size).encode("ascii"))
	elif kind == 1:		# UTF-8, 8bit, labelled
		lang = rng.choice(UTF8_LANGS)
		m.add(headers(rng, n, "=?UTF-8?B?UmFwcG9ydA==?= %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: text/plain; charset=utf-8\r\n"
			      "Content-Transfer-Encoding: 8bit\r\n\r\n"))
		m.add_text(crlf_text(rng, lang, size).encode("utf-8"), "utf-8")
	elif kind == 2:		# legacy charset, correctly labelled
		lang, label, codec = rng.choice(LEGACY)
		m.add(headers(rng, n, "Bericht %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: text/plain; charset=%s\r\n"
			      "Content-Transfer-Encoding: 8bit\r\n\r\n" % label))
		m.add_text(crlf_text(rng, lang, size, codec).encode(codec), label)
	elif kind == 3:		# quoted-printable UTF-8
		import quopri
		lang = rng.choice(UTF8_LANGS)
		m.add(headers(rng, n, "Newsletter %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: text/plain; charset=utf-8\r\n"
			      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"))
		qp = quopri.encodestring(crlf_text(rng, lang, size * 2 // 3).encode("utf-8").replace(b"\r\n", b"\n"))
		m.add(qp.replace(b"\n", b"\r\n"))
	else:			# multipart: labelled text + binary attachment
		lang = rng.choice(UTF8_LANGS)
		b = "=_bench_clean_%d" % n
		m.add(headers(rng, n, "Documents %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n" % b))
		m.add(b"This is a multi-part message in MIME format.\r\n\r\n")
		m.add(("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n\r\n" % b).encode("ascii"))
		m.add_text(crlf_text(rng, lang, min(size // 4, 8192) + 512).encode("utf-8"), "utf-8")
		attachment(rng, m, b, size)
		m.add(("--%s--\r\n" % b).encode("ascii"))
	return m


def make_unlabelled(rng, n, charsets, allow_utf8):
	m = Msg()
	size = pick_size(rng)
	if allow_utf8 and rng.random() < 0.15:
		lang, label, codec = rng.choice(UTF8_LANGS), "utf-8", "utf-8"
	else:
		lang, label, codec = rng.choice(charsets)
	text = crlf_text(rng, lang, size, codec).encode(codec)
	kind = rng.randrange(3)
	if kind == 0:		# no Content-Type at all
		m.add(headers(rng, n, "Re: meeting %d" % n, ""))
		m.add(b"\r\n")
		m.add_text(text, label)
	elif kind == 1:		# text/plain without charset
		m.add(headers(rng, n, "Fwd: notes %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"))
		m.add_text(text, label)
	else:			# multipart: unlabelled text part + attachment
		b = "=_bench_part_%d" % n
		m.add(headers(rng, n, "Invoice %d" % n, "MIME-Version: 1.0\r\n"
			      "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n" % b))
		m.add(("--%s\r\nContent-Type: text/plain\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n\r\n" % b).encode("ascii"))
		m.add_text(text, label)
		attachment(rng, m, b, max(1024, size // 2))
		m.add(("--%s--\r\n" % b).encode("ascii"))
	return m


def make_big(rng, megabytes):
	m = Msg()
	b = "=_bench_big"
	m.add(headers(rng, 0, "Big unlabelled message", "MIME-Version: 1.0\r\n"
		      "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n" % b))
	m.add(("--%s\r\nContent-Type: text/plain\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n" % b).encode("ascii"))
	m.add_text(crlf_text(rng, "fr", megabytes * 1024 * 1024 * 2 // 5, "cp1252").encode("cp1252"), "windows-1252")
	attachment(rng, m, b, megabytes * 1024 * 1024 * 3 // 5)
	m.add(("--%s--\r\n" % b).encode("ascii"))
	return m


def write(outdir, setname, name, m, manifest):
	d = os.path.join(outdir, setname)
	os.makedirs(d, exist_ok=True)
	data = m.bytes()
	with open(os.path.join(d, name), "wb") as f:
		f.write(data)
	parts = " ".join("%s:%d:%d" % p for p in m.parts)
	manifest.append("%s\t%s/%s\t%d\t%s" % (setname, setname, name, len(data), parts))


def main(argv):
	if len(argv) < 2:
		sys.stderr.write("usage: gen_corpus.py OUTDIR [--count N] [--big-mb M]\n")
		return 2
	outdir, count, big_mb = argv[1], 200, 20
	i = 2
	while i < len(argv):
		if argv[i] == "--count":
			count = int(argv[i + 1]); i += 2
		elif argv[i] == "--big-mb":
			big_mb = int(argv[i + 1]); i += 2
		else:
			sys.stderr.write("gen_corpus.py: unknown option %s\n" % argv[i])
			return 2
	manifest = []
	rng = random.Random(1)
	for n in range(count):
		write(outdir, "clean", "%03d.eml" % n, make_clean(rng, n), manifest)
	rng = random.Random(2)
	for n in range(count):
		write(outdir, "label", "%03d.eml" % n, make_unlabelled(rng, 1000 + n, LEGACY, True), manifest)
	rng = random.Random(3)
	for n in range(count):
		write(outdir, "transcode", "%03d.eml" % n, make_unlabelled(rng, 2000 + n, LEGACY, False), manifest)
	if big_mb > 0:
		write(outdir, "big", "big.eml", make_big(random.Random(4), big_mb), manifest)
	with open(os.path.join(outdir, "manifest.tsv"), "w") as f:
		f.write("\n".join(manifest) + "\n")
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv))
