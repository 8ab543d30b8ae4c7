#!/usr/bin/env python3
# gen.py -- generate the golden test cases from the declarative table below.
#
# Usage: gen.py [OUTDIR]        (default: the cases/ directory next to this file)
#        gen.py --check         regenerate into a temporary directory and compare
#                               with the committed cases (exit 1 on any drift)
#
# Every case is a directory OUTDIR/NAME holding
#   input.eml   the message, exact bytes (LF or CRLF throughout)
#   meta.json   the truth: for each part its id (1, 1.1, 1.2.1 ...), content
#               type and expected -x verdict; for text parts the original text
#               (as the sender wrote it, UTF-8) and the charsets under which the
#               part's bytes decode to that text; for binary parts the SHA-256
#               of the decoded and of the encoded body; for headers written with
#               raw 8-bit bytes, their original text and verdict; flags
#               (must_be_identical, crlf, mode, seven_bit)
#   conf        optional configuration file for the case
# expected.eml and expected-report.txt are written by run.py --update, never here.
#
# Deterministic: no clocks, no randomness except a SHA-256 counter stream.
# Python 3 standard library only.
#
# Part numbering (shared with check.py): the message is part 1; the children
# of a multipart are P.1, P.2 ...; the embedded message of a message/rfc822
# part P is P.1.

import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from charsets import MIME_TO_CODEC  # noqa: E402
from texts import LONG, SHORT, SUBJECT, NAME, FILENAME  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "tnef"))
import tnefwriter  # noqa: E402

ALL_VERDICTS = ["ok", "ascii", "missing", "unknown-label", "ascii-with-8bit",
		"latin1-with-c1", "invalid-utf8", "undecodable", "legacy-7bit",
		"raw-8bit-header", "nonstandard-label", "wrong-label", "not-text", "skipped"]

# ---- encoding helpers -----------------------------------------------------------


def encode_cp1258(text):
	"""windows-1258 has few precomposed Vietnamese letters: write the base
	letter (with its vowel mark when the code page has it) and the tone as
	a combining mark, the way Windows does."""
	out = bytearray()
	for ch in unicodedata.normalize("NFC", text):
		try:
			out += ch.encode("cp1258")
			continue
		except UnicodeEncodeError:
			pass
		d = unicodedata.normalize("NFD", ch)
		# longest composable prefix that the code page has
		for cut in range(len(d), 0, -1):
			head = unicodedata.normalize("NFC", d[:cut])
			try:
				hb = head.encode("cp1258")
			except UnicodeEncodeError:
				continue
			out += hb + d[cut:].encode("cp1258")
			break
		else:
			raise ValueError("cannot write %r in windows-1258" % ch)
	return bytes(out)


def encode_text(text, codec):
	"""Encode text line by line (so stateful ISO-2022 encodings return to
	ASCII before every line end); lines joined with LF."""
	lines = text.split("\n")
	if codec == "cp1258":
		enc = [encode_cp1258(ln) for ln in lines]
	else:
		enc = [ln.encode(codec) for ln in lines]
	return b"\n".join(enc)


def with_eol(data, eol):
	return data.replace(b"\n", eol) if eol != b"\n" else data


def qp_encode(data, eol):
	"""Quoted-printable (RFC 2045 6.7) of data whose lines end in LF; output
	lines end in eol and are at most 76 characters."""
	out = []
	for line in data.split(b"\n"):
		cur = b""
		for i, c in enumerate(line):
			last = i == len(line) - 1
			if (33 <= c <= 126 and c != 61) or (c in (9, 32) and not last):
				tok = bytes([c])
			else:
				tok = b"=%02X" % c
			if len(cur) + len(tok) > 75:
				out.append(cur + b"=")
				cur = b""
			cur += tok
		out.append(cur)
	return eol.join(out)


def b64_encode(data, eol):
	s = base64.b64encode(data)
	lines = [s[i:i + 76] for i in range(0, len(s), 76)]
	return eol.join(lines) + eol


def stream(seed, n):
	"""n deterministic pseudo-random bytes (SHA-256 in counter mode)."""
	out = bytearray()
	i = 0
	while len(out) < n:
		out += hashlib.sha256(b"%s:%d" % (seed.encode(), i)).digest()
		i += 1
	return bytes(out[:n])


def correct_charsets(data, truth):
	"""Every standard label under which data decodes to truth."""
	ok = []
	want = unicodedata.normalize("NFC", truth.replace("\r\n", "\n"))
	for label, codec in sorted(MIME_TO_CODEC.items()):
		try:
			got = data.decode(codec)
		except (UnicodeDecodeError, LookupError):
			continue
		if unicodedata.normalize("NFC", got.replace("\r\n", "\n")) == want:
			ok.append(label)
	return ok

# ---- the declarative vocabulary ---------------------------------------------------


class Raw:
	"""A header value written with raw 8-bit bytes in codec (the sender's
	mistake).  kind: text (Subject), address (display name + <addr>),
	filename / name (a Content-Disposition / Content-Type parameter).
	prefix: (encoded-words, their text) the sender's system wrote correctly
	before the raw text, separated by a space (a mixed field)."""
	def __init__(self, text, codec, kind="text", addr=None, prefix=None):
		self.text, self.codec, self.kind, self.addr = text, codec, kind, addr
		self.prefix = prefix


class Text:
	"""A text leaf.  text: the sender's words; codec: how their bytes were
	written; label: the charset parameter as written (None: no parameter);
	ct: content type (None: no Content-Type header at all); cte: None (no
	header), 7bit, 8bit, quoted-printable, base64; verdict: expected -x
	verdict (str, or list of acceptable ones)."""
	def __init__(self, text, codec, label, verdict, ct="text/plain", cte="8bit",
		     extra=None, disposition=None, reason=None):
		self.text, self.codec, self.label, self.verdict = text, codec, label, verdict
		self.ct, self.cte, self.extra, self.disposition = ct, cte, extra or [], disposition
		self.reason = reason	# a word the -x reason must contain (the evidence used)


class Mixed(Text):
	"""A text leaf whose paragraphs the sender's system wrote in different
	charsets: segments is a list of (text, codec); no charset label."""
	def __init__(self, segments, verdict="mixed", **kw):
		Text.__init__(self, "".join(t for t, _ in segments), "mixed", None, verdict, **kw)
		self.segments = segments


def quoted(text):
	"""text as a reply quotes it: "> " before every line (">" on empty ones)."""
	return "".join(("> " + ln if ln else ">") + "\n" for ln in text.rstrip("\n").split("\n"))


class Binary:
	def __init__(self, ct, size, seed, cte="base64", filename=None, rawname=None, data=None):
		self.ct, self.size, self.seed, self.cte = ct, size, seed, cte
		self.filename, self.rawname, self.data = filename, rawname, data


def Tnef(reason=None, **stream):
	"""A winmail.dat part written by tests/tnef/tnefwriter.py (keyword
	arguments as its message()); it must come out byte-identical."""
	b = Binary("application/ms-tnef", 0, "", filename="winmail.dat",
		   data=tnefwriter.message(**stream))
	b.reason = reason	# a word the -x reason of the TNEF row must contain
	return b


class Multi:
	def __init__(self, subtype, parts, params=""):
		self.subtype, self.parts, self.params = subtype, parts, params


class Rfc822:
	def __init__(self, headers, body):
		self.headers, self.body = headers, body


class Case:
	def __init__(self, name, body, headers=None, eol="lf", conf=None, identical=False,
		     families=(), note="", mime_version=True, subject="Test message",
		     sender=("Alice Example", "alice@example.org")):
		self.name, self.body, self.eol, self.conf = name, body, eol, conf
		self.identical, self.families, self.note = identical, list(families), note
		self.headers = headers or []
		self.mime_version, self.subject, self.sender = mime_version, subject, sender

# ---- rendering ---------------------------------------------------------------------


class Render:
	def __init__(self, case):
		self.case = case
		self.eol = b"\r\n" if case.eol == "crlf" else b"\n"
		self.parts = []
		self.headers = []
		self.nboundary = 0

	def header_lines(self, pid, fields):
		"""fields: list of (name, value) with value str (ASCII), bytes or Raw."""
		out = b""
		seen = {}
		for name, value in fields:
			seen[name.lower()] = seen.get(name.lower(), 0) + 1
			if isinstance(value, Raw):
				value = self.raw_value(pid, name, seen[name.lower()], value)
			elif isinstance(value, str):
				value = value.encode("ascii")
			out += name.encode("ascii") + b": " + value.replace(b"\n", self.eol) + self.eol
		return out

	def raw_value(self, pid, name, occurrence, raw):
		enc = encode_text(raw.text, raw.codec)
		truth = enc.decode(raw.codec) if raw.codec != "cp1258" else raw.text
		stateful = raw.codec.startswith("iso2022")
		assert any(b >= 0x80 for b in enc) or (stateful and b"\x1b" in enc), \
			"raw header must have 8-bit bytes (or 7-bit escape sequences)"
		charsets = correct_charsets(enc, truth)
		if raw.prefix is not None:
			enc = raw.prefix[0].encode("ascii") + b" " + enc
			truth = raw.prefix[1] + " " + truth
		self.headers.append({
			"part": pid, "name": name, "occurrence": occurrence, "kind": raw.kind,
			"text": truth, "codec": raw.codec, "address": raw.addr,
			"verdict": "legacy-7bit" if stateful else "raw-8bit-header",
			"correct_charsets": charsets,
		})
		if raw.kind == "address":
			return enc + b" <" + raw.addr.encode() + b">"
		return enc

	def boundary(self):
		self.nboundary += 1
		h = hashlib.sha256(self.case.name.encode()).hexdigest()[:12]
		return "=_%s_%d" % (h, self.nboundary)

	def entity(self, pid, spec, top_fields):
		"""Header block + blank line + body of one entity."""
		fields, body = self.render(pid, spec)
		return self.header_lines(pid, top_fields + fields) + self.eol + body

	def render(self, pid, spec):
		if isinstance(spec, Text):
			return self.render_text(pid, spec)
		if isinstance(spec, Binary):
			return self.render_binary(pid, spec)
		if isinstance(spec, Multi):
			return self.render_multi(pid, spec)
		if isinstance(spec, Rfc822):
			return self.render_rfc822(pid, spec)
		raise TypeError(spec)

	def render_text(self, pid, t):
		eol = self.eol
		if isinstance(t, Mixed):
			raw = b"".join(encode_text(txt, codec) for txt, codec in t.segments)
			truth = "".join(encode_text(txt, codec).decode(codec) for txt, codec in t.segments)
		else:
			raw = encode_text(t.text, t.codec)
			truth = raw.decode(t.codec)
		assert unicodedata.normalize("NFC", truth) == unicodedata.normalize("NFC", t.text)
		data = with_eol(raw, eol)
		fields = []
		if t.ct is not None:
			ct = t.ct
			if t.label is not None:
				ct += "; charset=" + t.label
			for p in t.extra:
				ct += "; " + p
			fields.append(("Content-Type", ct))
		if t.disposition:
			fields.append(("Content-Disposition", t.disposition))
		if t.cte == "quoted-printable":
			body = qp_encode(raw, eol) + eol if not raw.endswith(b"\n") else \
				qp_encode(raw[:-1], eol) + eol
		elif t.cte == "base64":
			body = b64_encode(data, eol)
		else:
			body = data
		if t.cte is not None:
			fields.append(("Content-Transfer-Encoding", t.cte))
		self.check_verdict(pid, t, data)
		self.parts.append({
			"id": pid, "kind": "text" if (t.ct or "text/").lower().startswith("text/") else "opaque",
			"content_type": (t.ct or "text/plain").lower(),
			"declared": t.label, "codec": t.codec, "verdict": t.verdict,
			"text": truth, "correct_charsets": correct_charsets(data, truth),
			"cte": t.cte,
		})
		if t.reason:
			self.parts[-1]["reason"] = t.reason
		if isinstance(t, Mixed):
			self.parts[-1]["segments"] = [{"codec": c, "text": x} for x, c in t.segments]
		return fields, body

	def check_verdict(self, pid, t, data):
		"""Guard the table against my own mistakes: the expected verdict
		must be consistent with the bytes and the label."""
		v = t.verdict if isinstance(t.verdict, str) else t.verdict[0]
		eight = any(b >= 0x80 for b in data)
		lab = (t.label or "").lower()
		where = "%s part %s" % (self.case.name, pid)
		if v == "missing":
			assert t.label is None and eight, where
		elif v == "mixed":
			assert t.label is None and eight and len({c for _, c in t.segments}) > 1, where
		elif v == "ascii-with-8bit":
			assert lab == "us-ascii" and eight, where
		elif v == "latin1-with-c1":
			assert lab == "iso-8859-1" and any(0x80 <= b <= 0x9f for b in data), where
		elif v == "invalid-utf8":
			assert lab == "utf-8", where
			try:
				data.decode("utf-8")
				raise AssertionError(where + ": decodes as UTF-8")
			except UnicodeDecodeError:
				pass
		elif v == "undecodable":
			try:
				data.decode(MIME_TO_CODEC[lab])
				raise AssertionError(where + ": decodes under its label")
			except UnicodeDecodeError:
				pass
		elif v == "ok":
			assert lab in correct_charsets(data, data.decode(t.codec)), where
		elif v == "ascii":
			assert not eight and b"\x1b" not in data, where
		elif v == "legacy-7bit":
			assert not eight and b"\x1b" in data, where
		elif v == "wrong-label":
			# the label decodes the bytes, but not to the sender's text
			assert data.decode(MIME_TO_CODEC[lab]) != data.decode(t.codec), where
		elif v == "nonstandard-label":
			assert lab not in MIME_TO_CODEC, where
		elif v == "unknown-label":
			assert lab not in MIME_TO_CODEC and eight, where

	def render_binary(self, pid, b):
		data = b.data if b.data is not None else stream(self.case.name + pid + b.seed, b.size)
		ct = b.ct
		disp = None
		if b.filename:
			ct += '; name="%s"' % b.filename
			disp = 'attachment; filename="%s"' % b.filename
		fields = [("Content-Type", ct)]
		if b.rawname:
			enc = encode_text(b.rawname, "cp1252")
			self.headers.append({
				"part": pid, "name": "Content-Disposition", "occurrence": 1,
				"kind": "filename", "text": b.rawname, "codec": "cp1252",
				"address": None, "verdict": "raw-8bit-header",
				"correct_charsets": correct_charsets(enc, b.rawname)})
			disp_bytes = b'attachment; filename="' + enc + b'"'
			fields.append(("Content-Disposition", disp_bytes))
		elif disp:
			fields.append(("Content-Disposition", disp))
		if b.cte == "base64":
			body = b64_encode(data, self.eol)
		else:
			body = data
		fields.append(("Content-Transfer-Encoding", b.cte))
		self.parts.append({
			"id": pid, "kind": "binary", "content_type": b.ct.lower(), "verdict": "not-text",
			"sha256": hashlib.sha256(data).hexdigest(), "length": len(data),
			"raw_sha256": hashlib.sha256(body).hexdigest(), "cte": b.cte,
		})
		if getattr(b, "reason", None):
			self.parts[-1]["reason"] = b.reason
		return fields, body

	def render_multi(self, pid, m):
		eol = self.eol
		bnd = self.boundary()
		ct = 'multipart/%s; boundary="%s"' % (m.subtype, bnd)
		if m.params:
			ct += "; " + m.params
		self.parts.append({"id": pid, "kind": "container",
				   "content_type": "multipart/" + m.subtype, "verdict": "not-text"})
		body = b"This is a multi-part message in MIME format." + eol + eol
		for i, child in enumerate(m.parts, 1):
			body += b"--" + bnd.encode() + eol
			body += self.entity("%s.%d" % (pid, i), child, [])
			body += eol
		body += b"--" + bnd.encode() + b"--" + eol
		return [("Content-Type", ct)], body

	def render_rfc822(self, pid, r):
		self.parts.append({"id": pid, "kind": "container", "content_type": "message/rfc822",
				   "verdict": "not-text"})
		body = self.entity(pid + ".1", r.body, r.headers)
		return [("Content-Type", "message/rfc822")], body


def top_fields(case):
	name, addr = case.sender
	f = []
	if case.sender is not None:
		f.append(("From", name if isinstance(name, Raw) else '%s <%s>' % (name, addr)))
	f += [("To", "Bob Example <bob@example.net>"),
	      ("Subject", case.subject),
	      ("Date", "Tue, 14 May 2024 09:30:00 +0200"),
	      ("Message-ID", "<%s@golden.example>" % case.name)]
	f += case.headers
	if case.mime_version:
		f.append(("MIME-Version", "1.0"))
	return f


def build(case):
	r = Render(case)
	data = r.entity("1", case.body, top_fields(case))
	conf_mode = "label"
	seven = False
	if case.conf:
		for line in case.conf.splitlines():
			k = line.split()
			if len(k) >= 2 and k[0].lower() == "mode":
				conf_mode = k[1].lower()
			if len(k) >= 2 and k[0].lower() == "sevenbitoutput":
				seven = k[1].lower() == "yes"
	verdicts = set()
	for p in r.parts + r.headers:
		v = p["verdict"]
		verdicts.update([v] if isinstance(v, str) else v[:1])
	meta = {
		"name": case.name,
		"note": case.note,
		"crlf": case.eol == "crlf",
		"must_be_identical": case.identical,
		"mode": conf_mode,
		"seven_bit": seven,
		"families": case.families,
		"verdicts": sorted(verdicts),
		"parts": r.parts,
		"headers": r.headers,
	}
	return data, meta

# ---- the cases ---------------------------------------------------------------------


def long_line_text(key, n):
	"""One paragraph pasted as a single line of at least n bytes."""
	para = " ".join(LONG[key].split())
	out = para
	while len(out.encode("utf-8")) < n:
		out += " " + para
	return out + "\n" + "\n".join(LONG[key].splitlines()[-2:]) + "\n"


OK_FAMILIES = [
	# name, text key, codec, label, family, eol, cte
	("ok-fr-windows-1252", "fr", "cp1252", "windows-1252", "windows-1252 fr", "lf", "8bit"),
	("ok-fr-iso-8859-1", "fr", "latin_1", "iso-8859-1", "iso-8859-1 fr", "crlf", "8bit"),
	("ok-de-windows-1252-qp", "de_c1", "cp1252", "windows-1252", "windows-1252 de", "lf",
	 "quoted-printable"),
	("ok-es-windows-1252-crlf", "es", "cp1252", "windows-1252", "windows-1252 es", "crlf", "8bit"),
	("ok-pl-windows-1250", "pl", "cp1250", "windows-1250", "windows-1250 pl", "lf", "8bit"),
	("ok-cs-iso-8859-2", "cs", "iso8859_2", "iso-8859-2", "iso-8859-2 cs", "lf", "8bit"),
	("ok-ru-windows-1251-crlf", "ru", "cp1251", "windows-1251", "windows-1251 ru", "crlf", "8bit"),
	("ok-bg-windows-1251-base64", "bg", "cp1251", "windows-1251", "windows-1251 bg", "lf", "base64"),
	("ok-ru-koi8-r", "ru2", "koi8_r", "koi8-r", "koi8-r ru", "lf", "8bit"),
	("ok-uk-koi8-u", "uk", "koi8_u", "koi8-u", "koi8-u uk", "lf", "8bit"),
	("ok-ru-ibm866", "ru3", "cp866", "ibm866", "cp866 ru", "lf", "8bit"),
	("ok-ru-iso-8859-5", "ru", "iso8859_5", "iso-8859-5", "iso-8859-5 ru", "lf", "8bit"),
	("ok-el-windows-1253", "el", "cp1253", "windows-1253", "windows-1253 el", "lf", "8bit"),
	("ok-tr-windows-1254", "tr", "cp1254", "windows-1254", "windows-1254 tr", "crlf", "8bit"),
	("ok-he-windows-1255", "he", "cp1255", "windows-1255", "windows-1255 he", "lf", "8bit"),
	("ok-ar-windows-1256-qp", "ar", "cp1256", "windows-1256", "windows-1256 ar", "lf",
	 "quoted-printable"),
	("ok-lt-windows-1257", "lt", "cp1257", "windows-1257", "windows-1257 lt", "lf", "8bit"),
	("ok-vi-windows-1258", "vi", "cp1258", "windows-1258", "windows-1258 vi", "lf", "8bit"),
	("ok-th-windows-874", "th", "cp874", "windows-874", "windows-874 th", "lf", "8bit"),
	("ok-ja-shift_jis", "ja", "shift_jis", "shift_jis", "shift_jis ja", "lf", "8bit"),
	("ok-ja-euc-jp-crlf", "ja2", "euc_jp", "euc-jp", "euc-jp ja", "crlf", "8bit"),
	("ok-ja-iso-2022-jp", "ja", "iso2022_jp", "iso-2022-jp", "iso-2022-jp ja", "lf", "7bit"),
	("ok-zh-gb2312", "zh", "gb2312", "gb2312", "gbk zh", "lf", "8bit"),
	("ok-zh-gbk-base64", "zh", "gbk", "gbk", "gbk zh", "crlf", "base64"),
	("ok-zhtw-big5", "zhtw", "big5", "big5", "big5 zh-tw", "lf", "8bit"),
	("ok-ko-euc-kr", "ko", "euc_kr", "euc-kr", "euc-kr ko", "lf", "8bit"),
	# vendor labels that decode under glibc (or, ks_c_5601-1987, under every
	# receiver that knows it) are left as written, vendor extensions and all
	("ok-ko-ks_c_5601-1987", "ko", "euc_kr", "ks_c_5601-1987", "euc-kr ko", "crlf", "base64"),
	("ok-ko-ks_c_5601-1987-uhc", "ko_uhc", "cp949", "ks_c_5601-1987", "cp949 ko", "lf", "8bit"),
	("ok-ko-cp949-uhc", "ko_uhc", "cp949", "cp949", "cp949 ko", "crlf", "8bit"),
	("ok-ja-windows-31j-ext", "ja_nec", "cp932", "windows-31j", "windows-31j ja", "lf", "8bit"),
	("ok-zh-gbk-ext", "zh_gbk", "gbk", "gbk", "gbk zh", "lf", "quoted-printable"),
	("ok-utf8-multi", "multi", "utf-8", "utf-8", "utf-8", "lf", "8bit"),
	("ok-utf8-base64-crlf", "multi", "utf-8", "utf-8", "utf-8", "crlf", "base64"),
]

# Unlabelled 8-bit text: name, text, codec, family, eol, cte
MISSING = [
	("missing-fr-windows-1252", LONG["fr"], "cp1252", "windows-1252 fr", "lf", "8bit"),
	("missing-es-windows-1252-crlf", LONG["es"], "cp1252", "windows-1252 es", "crlf", "8bit"),
	("missing-de-windows-1252-qp", LONG["de"], "cp1252", "windows-1252 de", "lf",
	 "quoted-printable"),
	("missing-pl-windows-1250", LONG["pl"], "cp1250", "windows-1250 pl", "lf", "8bit"),
	("missing-cs-windows-1250-crlf", LONG["cs"], "cp1250", "windows-1250 cs", "crlf", "8bit"),
	("missing-ru-windows-1251", LONG["ru"], "cp1251", "windows-1251 ru", "lf", "8bit"),
	("missing-ru-windows-1251-base64", LONG["ru3"], "cp1251", "windows-1251 ru", "lf", "base64"),
	("missing-bg-windows-1251", LONG["bg"], "cp1251", "windows-1251 bg", "lf", "8bit"),
	("missing-ru-koi8-r", LONG["ru"], "koi8_r", "koi8-r ru", "lf", "8bit"),
	("missing-uk-koi8-u", LONG["uk"], "koi8_u", "koi8-u uk", "crlf", "8bit"),
	("missing-ru-cp866", LONG["ru2"], "cp866", "cp866 ru", "lf", "8bit"),
	("missing-ru-iso-8859-5", LONG["ru3"], "iso8859_5", "iso-8859-5 ru", "lf", "8bit"),
	("missing-el-windows-1253", LONG["el"], "cp1253", "windows-1253 el", "lf", "8bit"),
	("missing-tr-windows-1254", LONG["tr"], "cp1254", "windows-1254 tr", "lf", "8bit"),
	("missing-he-windows-1255", LONG["he"], "cp1255", "windows-1255 he", "lf", "8bit"),
	("missing-ar-windows-1256", LONG["ar"], "cp1256", "windows-1256 ar", "crlf", "8bit"),
	("missing-lt-windows-1257", LONG["lt"], "cp1257", "windows-1257 lt", "lf", "8bit"),
	("missing-vi-windows-1258", LONG["vi"], "cp1258", "windows-1258 vi", "lf", "8bit"),
	("missing-th-windows-874", LONG["th"], "cp874", "windows-874 th", "lf", "8bit"),
	("missing-ja-shift_jis", LONG["ja"], "shift_jis", "shift_jis ja", "lf", "8bit"),
	("missing-ja-euc-jp", LONG["ja2"], "euc_jp", "euc-jp ja", "lf", "8bit"),
	("missing-zh-gbk", LONG["zh"], "gbk", "gbk zh", "lf", "8bit"),
	("missing-zhtw-big5-crlf", LONG["zhtw"], "big5", "big5 zh-tw", "crlf", "8bit"),
	("missing-ko-euc-kr", LONG["ko"], "euc_kr", "euc-kr ko", "lf", "8bit"),
	("missing-utf8", LONG["multi"], "utf-8", "utf-8", "lf", "8bit"),
	("missing-fr-short", SHORT["fr"], "cp1252", "windows-1252 fr", "lf", "8bit"),
	("missing-de-short-crlf", SHORT["de"], "cp1252", "windows-1252 de", "crlf", "8bit"),
	("missing-ru-short", SHORT["ru"], "cp1251", "windows-1251 ru", "lf", "8bit"),
	("missing-bg-short", SHORT["bg"], "cp1251", "windows-1251 bg", "lf", "8bit"),
	("missing-pl-short", SHORT["pl"], "cp1250", "windows-1250 pl", "lf", "8bit"),
	("missing-el-short", SHORT["el"], "cp1253", "windows-1253 el", "lf", "8bit"),
	("missing-ja-short-shift_jis", SHORT["ja"], "shift_jis", "shift_jis ja", "lf", "8bit"),
	# bytes that need the vendor extensions get a label strict readers decode
	("missing-ko-uhc", LONG["ko_uhc"], "cp949", "cp949 ko", "lf", "8bit"),
	("missing-ja-cp932-ext", LONG["ja_nec"], "cp932", "windows-31j ja", "lf", "8bit"),
	("missing-zh-gbk-ext", LONG["zh_gbk"], "gbk", "gbk zh", "crlf", "8bit"),
]

# A label that is there but wrong: name, text, codec, label, verdict, family, eol, cte
MISLABELLED = [
	("usascii-fr-windows-1252", LONG["fr"], "cp1252", "us-ascii", "ascii-with-8bit",
	 "windows-1252 fr", "lf", "8bit"),
	("usascii-ru-koi8-r-crlf", LONG["ru2"], "koi8_r", "us-ascii", "ascii-with-8bit",
	 "koi8-r ru", "crlf", "8bit"),
	("usascii-ja-shift_jis-qp", LONG["ja2"], "shift_jis", "us-ascii", "ascii-with-8bit",
	 "shift_jis ja", "lf", "quoted-printable"),
	("latin1c1-fr-quotes-euro", LONG["fr_c1"], "cp1252", "iso-8859-1", "latin1-with-c1",
	 "windows-1252 fr", "lf", "8bit"),
	("latin1c1-de-crlf-qp", LONG["de_c1"], "cp1252", "iso-8859-1", "latin1-with-c1",
	 "windows-1252 de", "crlf", "quoted-printable"),
	("latin1c1-es-base64", LONG["es_c1"], "cp1252", "iso-8859-1", "latin1-with-c1",
	 "windows-1252 es", "lf", "base64"),
	("badutf8-fr-windows-1252", LONG["fr"], "cp1252", "utf-8", "invalid-utf8",
	 "windows-1252 fr", "lf", "8bit"),
	("badutf8-ru-windows-1251", LONG["ru"], "cp1251", "utf-8", "invalid-utf8",
	 "windows-1251 ru", "lf", "8bit"),
	("badutf8-pl-windows-1250-base64", LONG["pl"], "cp1250", "utf-8", "invalid-utf8",
	 "windows-1250 pl", "crlf", "base64"),
	("unknown8bit-de-windows-1252", LONG["de"], "cp1252", "unknown-8bit", "unknown-label",
	 "windows-1252 de", "lf", "8bit"),
	("xuserdefined-ru-windows-1251", LONG["ru3"], "cp1251", "x-user-defined", "unknown-label",
	 "windows-1251 ru", "lf", "8bit"),
	("xunknown-tr-windows-1254", LONG["tr"], "cp1254", "x-unknown", "unknown-label",
	 "windows-1254 tr", "crlf", "8bit"),
	("undecodable-sjis-label-fr", LONG["fr"], "cp1252", "shift_jis", "undecodable",
	 "windows-1252 fr", "lf", "8bit"),
	("undecodable-hebrew-label-ru", LONG["ru"], "cp1251", "iso-8859-8", "undecodable",
	 "windows-1251 ru", "lf", "8bit"),
	("undecodable-euckr-label-pl", LONG["pl"], "cp1250", "euc-kr", "undecodable",
	 "windows-1250 pl", "lf", "quoted-printable"),
	("nonstandard-cp1251", LONG["ru2"], "cp1251", "cp1251", "nonstandard-label",
	 "windows-1251 ru", "lf", "8bit"),
	("nonstandard-bare-1252", LONG["es"], "cp1252", "1252", "nonstandard-label",
	 "windows-1252 es", "lf", "8bit"),
	("undecodable-euckr-label-uhc", LONG["ko_uhc"], "cp949", "euc-kr", "undecodable",
	 "cp949 ko", "lf", "8bit"),
	("undecodable-gb2312-label-gbk", LONG["zh_gbk"], "gbk", "gb2312", "undecodable",
	 "gbk zh", "lf", "8bit"),
	("undecodable-sjis-label-cp932-ext", LONG["ja_nec"], "cp932", "shift_jis", "undecodable",
	 "windows-31j ja", "crlf", "base64"),
	("wronglabel-utf8-latin1-es", LONG["es"], "utf-8", "iso-8859-1", "wrong-label",
	 "utf-8", "lf", "8bit"),
	("wronglabel-utf8-windows-1252-es", LONG["es"], "utf-8", "windows-1252", "wrong-label",
	 "utf-8", "crlf", "quoted-printable"),
	("latin1c1-utf8-fr", LONG["fr"], "utf-8", "iso-8859-1", "latin1-with-c1",
	 "utf-8", "lf", "8bit"),
	("wronglabel-ru-koi8-r-windows-1252", LONG["ru2"], "koi8_r", "windows-1252", "wrong-label",
	 "koi8-r ru", "lf", "8bit"),
	("wronglabel-ru-windows-1251-ibm850", LONG["ru"], "cp1251", "ibm850", "wrong-label",
	 "windows-1251 ru", "lf", "8bit"),
	("nonstandard-x-sjis", LONG["ja"], "shift_jis", "x-sjis", "nonstandard-label",
	 "shift_jis ja", "lf", "8bit"),
	("nonstandard-utf8-nodash", LONG["multi"], "utf-8", "utf8", "nonstandard-label",
	 "utf-8", "lf", "8bit"),
	("legacy7bit-iso2022jp-unlabelled", LONG["ja2"], "iso2022_jp", None, "legacy-7bit",
	 "iso-2022-jp ja", "lf", "7bit"),
	("legacy7bit-iso2022jp-usascii", LONG["ja"], "iso2022_jp", "us-ascii", "legacy-7bit",
	 "iso-2022-jp ja", "crlf", "7bit"),
	("legacy7bit-iso2022kr-unlabelled", LONG["ko"], "iso2022_kr", None, "legacy-7bit",
	 "iso-2022-kr ko", "lf", "7bit"),
]

PGP_SIG = ("-----BEGIN PGP SIGNATURE-----\n\n"
	   "iHUEARYIAB0WIQSa7GoldenTestSignatureNotRealAAAAAAAAUCZkMi0wAKCRBx\n"
	   "Qk1uZ2VvbGRlbnRlc3QAAQCXo0bxVt3mXyGoldenTestOnlyAAAAAAAAAAAAAAAAAA\n"
	   "=Gx3k\n-----END PGP SIGNATURE-----\n")

DKIM = ("v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=mail;\n"
	"\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
	"\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBqdXN0IGEgZ29sZGVuIHRlc3Q=")


def cases():
	c = []
	# -- correctly labelled, one per family: must come out byte-identical
	for name, key, codec, label, fam, eol, cte in OK_FAMILIES:
		c.append(Case(name, Text(LONG[key], codec, label, "ok", cte=cte), eol=eol,
			      identical=True, families=[fam]))
	# -- pure ASCII and other messages that need nothing
	c.append(Case("ascii-plain-nomime", Text(LONG["ascii"], "ascii", None, "ascii", ct=None,
						    cte=None),
		      mime_version=False, identical=True, families=["us-ascii"],
		      note="RFC 5322 message without any MIME header"))
	c.append(Case("ascii-plain-nomime-crlf", Text(LONG["ascii"], "ascii", None, "ascii",
						      ct=None, cte=None),
		      eol="crlf", mime_version=False, identical=True, families=["us-ascii"]))
	c.append(Case("ascii-labelled-us-ascii", Text(LONG["ascii"], "ascii", "us-ascii",
						      ["ascii", "ok"], cte="7bit"),
		      identical=True, families=["us-ascii"]))
	c.append(Case("ascii-text-no-charset", Text(LONG["ascii"], "ascii", None, "ascii", cte=None),
		      identical=True, families=["us-ascii"],
		      note="text/plain without charset but pure ASCII: the default us-ascii is right"))
	c.append(Case("ascii-alternative-png-crlf", Multi("mixed", [
		Multi("alternative", [
			Text(LONG["ascii"], "ascii", "us-ascii", ["ascii", "ok"], cte="7bit"),
			Text("<html><head><meta charset=\"us-ascii\"></head><body><p>Hello Bob, "
			     "the build is green again.</p></body></html>\n", "ascii", "us-ascii",
			     ["ascii", "ok"], ct="text/html", cte="7bit")]),
		Binary("image/png", 3000, "png", filename="build.png")]),
		eol="crlf", identical=True, families=["us-ascii"]))
	c.append(Case("ok-encoded-words", Text(LONG["de"], "utf-8", "utf-8", "ok",
					      cte="quoted-printable"),
		      subject="=?utf-8?q?Pr=C3=BCfungsunterlagen_f=C3=BCr_=C3=9Cbermorgen?=",
		      sender=("=?iso-8859-1?q?J=FCrgen_Wei=DF?=", "juergen@example.de"),
		      identical=True, families=["utf-8"],
		      note="headers already RFC 2047 encoded: nothing to do"))
	c.append(Case("ok-rfc2231-filename", Multi("mixed", [
		Text(LONG["fr"], "cp1252", "windows-1252", "ok"),
		Text(LONG["fr"], "utf-8", "utf-8", "ok",
		     disposition="attachment; filename*=utf-8''re%C3%A7u%20%C3%A9t%C3%A9.txt")]),
		identical=True, families=["windows-1252 fr", "utf-8"]))
	c.append(Case("ok-mixed-ru-with-pdf", Multi("mixed", [
		Text(LONG["ru"], "cp1251", "windows-1251", "ok", cte="quoted-printable"),
		Binary("application/pdf", 5000, "pdf", filename="otchet.pdf")]),
		identical=True, families=["windows-1251 ru"]))
	c.append(Case("ok-alternative-ja-html", Multi("alternative", [
		Text(LONG["ja2"], "iso2022_jp", "iso-2022-jp", "ok", cte="7bit"),
		Text("<html><head><meta charset=\"utf-8\"></head><body><p>" +
		     LONG["ja2"].replace("\n", "<br>") + "</p></body></html>\n", "utf-8", "utf-8",
		     "ok", ct="text/html", cte="base64")]),
		eol="crlf", identical=True, families=["iso-2022-jp ja", "utf-8"]))
	c.append(Case("ok-nested-rfc822", Multi("mixed", [
		Text("Forwarding the message below.\n", "ascii", "us-ascii", ["ascii", "ok"],
		     cte="7bit"),
		Rfc822([("From", "Jiri <jiri@example.cz>"), ("Subject", "Faktura"),
			("MIME-Version", "1.0")],
		       Text(LONG["cs"], "iso8859_2", "iso-8859-2", "ok", cte="quoted-printable"))]),
		identical=True, families=["iso-8859-2 cs"]))
	# -- left alone on purpose
	c.append(Case("signed-multipart-unlabelled", Multi("signed", [
		Text(LONG["de"], "cp1252", None, "skipped", cte="8bit"),
		Text(PGP_SIG, "ascii", None, ["skipped", "not-text", "ascii"],
		     ct="application/pgp-signature", cte="7bit")],
		params='protocol="application/pgp-signature"; micalg=pgp-sha256'),
		identical=True, families=["windows-1252 de"],
		note="signed content must never change, however wrong its labels"))
	c.append(Case("dkim-signed-unlabelled", Text(LONG["fr"], "cp1252", None, "skipped"),
		      headers=[("DKIM-Signature", DKIM)], identical=True,
		      families=["windows-1252 fr"],
		      note="DKIM-Signature present: left alone by default (DESIGN.md)"))
	c.append(Case("mode-report-unlabelled", Text(LONG["pl"], "cp1250", None, "missing"),
		      conf="Mode report\n", families=["windows-1250 pl"],
		      note="report mode diagnoses; it may add the audit header, nothing else"))
	c.append(Case("mode-off-unlabelled", Text(LONG["ru"], "cp1251", None, "skipped"),
		      conf="Mode off\n", identical=True, families=["windows-1251 ru"]))
	# -- missing labels
	for name, text, codec, fam, eol, cte in MISSING:
		c.append(Case(name, Text(text, codec, None, "missing", cte=cte), eol=eol,
			      families=[fam]))
	c.append(Case("missing-de-nomime", Text(LONG["de"], "cp1252", None, "missing", ct=None,
					       cte=None),
		      mime_version=False, families=["windows-1252 de"],
		      note="no MIME header at all: needs MIME-Version, Content-Type and CTE"))
	c.append(Case("missing-fr-format-flowed", Text(LONG["fr"], "cp1252", None, "missing",
						      extra=["format=flowed", "delsp=yes"]),
		      families=["windows-1252 fr"],
		      note="the other Content-Type parameters must survive the label"))
	c.append(Case("missing-fr-no-cte", Text(LONG["fr"], "cp1252", None, "missing", cte=None),
		      families=["windows-1252 fr"], note="8-bit body without a CTE header"))
	c.append(Case("missing-alternative-html-meta", Multi("alternative", [
		Text(LONG["ru2"], "cp1251", None, "missing"),
		Text("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
		     "charset=windows-1251\"></head><body><p>" + LONG["ru2"].replace("\n", "<br>\n") +
		     "</p></body></html>\n", "cp1251", None, "missing", ct="text/html")]),
		families=["windows-1251 ru"], note="the HTML meta charset is the context"))
	c.append(Case("missing-mixed-attachments", Multi("mixed", [
		Text(LONG["cs"], "cp1250", None, "missing"),
		Binary("application/octet-stream", 4000, "raw", cte="binary", filename="data.bin"),
		Binary("application/zip", 3000, "zip", filename="archiv.zip")]),
		families=["windows-1250 cs"],
		note="binary attachments (raw and base64) must stay byte-identical"))
	c.append(Case("missing-mixed-attachments-crlf", Multi("mixed", [
		Binary("image/jpeg", 2500, "jpg", filename="foto.jpg"),
		Text(LONG["tr"], "cp1254", None, "missing", cte="quoted-printable"),
		Binary("application/octet-stream", 2000, "raw", cte="binary", filename="blob.bin")]),
		eol="crlf", families=["windows-1254 tr"]))
	c.append(Case("missing-nested-rfc822", Multi("mixed", [
		Text("Weitergeleitete Nachricht anbei.\n", "utf-8", "utf-8", ["ascii", "ok"],
		     cte="7bit"),
		Rfc822([("From", "Sergey <sergey@example.ru>"),
			("Subject", Raw(SUBJECT["ru"], "koi8_r")),
			("MIME-Version", "1.0")],
		       Text(LONG["ru"], "koi8_r", None, "missing"))]),
		families=["koi8-r ru"], note="broken message forwarded inside a correct one"))
	c.append(Case("missing-long-line", Text(long_line_text("de", 1500), "cp1252", None,
					       "missing"),
		      families=["windows-1252 de"], note="a 1500-byte line: output must be <= 998"))
	c.append(Case("ok-utf8-long-line-crlf", Text(long_line_text("multi", 1200), "utf-8",
						     "utf-8", "ok"),
		      eol="crlf", families=["utf-8"],
		      note="correct label but a line over 998 bytes: needs quoted-printable"))
	# -- wrong labels
	for name, text, codec, label, verdict, fam, eol, cte in MISLABELLED:
		c.append(Case(name, Text(text, codec, label, verdict, cte=cte), eol=eol,
			      families=[fam]))
	# -- raw 8-bit headers
	c.append(Case("rawsubj-fr-windows-1252", Text(LONG["fr"], "cp1252", "windows-1252", "ok"),
		      subject=Raw(SUBJECT["fr"], "cp1252"), families=["windows-1252 fr"]))
	c.append(Case("rawfrom-de-windows-1252-crlf",
		      Text(LONG["de"], "cp1252", "windows-1252", "ok", cte="quoted-printable"),
		      sender=(Raw(NAME["de"][0], "cp1252", "address", NAME["de"][1]), None),
		      eol="crlf", families=["windows-1252 de"]))
	c.append(Case("rawsubj-utf8", Text(LONG["multi"], "utf-8", "utf-8", "ok"),
		      subject=Raw(SUBJECT["utf8"], "utf-8"), families=["utf-8"]))
	c.append(Case("rawsubj-ru-koi8-r", Text(LONG["ru"], "koi8_r", "koi8-r", "ok"),
		      subject=Raw(SUBJECT["ru"], "koi8_r"),
		      sender=(Raw(NAME["ru"][0], "koi8_r", "address", NAME["ru"][1]), None),
		      families=["koi8-r ru"]))
	c.append(Case("rawsubj-ja-shift_jis", Text(LONG["ja"], "shift_jis", "shift_jis", "ok"),
		      subject=Raw(SUBJECT["ja"], "shift_jis"), families=["shift_jis ja"]))
	c.append(Case("rawsubj-ru-long-utf8", Text(LONG["ru2"], "utf-8", "utf-8", "ok"),
		      subject=Raw(SUBJECT["ru_long"], "utf-8"), families=["utf-8"],
		      note="long subject: several encoded-words, none over 75, no split character"))
	c.append(Case("rawsubj-and-body-pl-crlf", Text(LONG["pl"], "cp1250", None, "missing"),
		      subject=Raw(SUBJECT["pl"], "cp1250"),
		      sender=(Raw(NAME["pl"][0], "cp1250", "address", NAME["pl"][1]), None),
		      eol="crlf", families=["windows-1250 pl"],
		      note="header and body judged together"))
	c.append(Case("rawsubj-cs-ascii-body", Text(LONG["ascii"], "ascii", "us-ascii",
						    ["ascii", "ok"], cte="7bit"),
		      subject=Raw(SUBJECT["cs"], "cp1250"), families=["windows-1250 cs"]))
	# a header in another charset than the body: judged on its own bytes
	for mode in ("label", "transcode"):
		c.append(Case("rawsubj-koi8r-over-1251-" + mode,
			      Text(LONG["ru"], "cp1251", "windows-1251", "ok"),
			      subject=Raw(SUBJECT["ru"], "koi8_r"),
			      sender=(Raw(NAME["ru"][0], "koi8_r", "address", NAME["ru"][1]), None),
			      conf="Mode %s\n" % mode, families=["windows-1251 ru", "koi8-r ru"],
			      note="KOI8-R Subject and From over a windows-1251 body"))
		c.append(Case("rawsubj-de-over-1251-" + mode,
			      Text(LONG["ru"], "cp1251", None, "missing"),
			      subject=Raw(SUBJECT["de"], "cp1252"), conf="Mode %s\n" % mode,
			      families=["windows-1251 ru", "windows-1252 de"],
			      note="German Subject over an unlabelled Russian body"))
	c.append(Case("rawfilename-de", Multi("mixed", [
		Text(LONG["de"], "cp1252", "windows-1252", "ok"),
		Binary("application/pdf", 2000, "pdf", rawname=FILENAME["de"])]),
		families=["windows-1252 de"], note="raw 8-bit filename: RFC 2231 expected"))
	# -- configuration
	c.append(Case("transcode-ru-windows-1251", Text(LONG["ru"], "cp1251", None, "missing"),
		      conf="Mode transcode\n", families=["windows-1251 ru"]))
	c.append(Case("transcode-ja-shift_jis-crlf", Text(LONG["ja"], "shift_jis", None, "missing"),
		      conf="Mode transcode\n", eol="crlf", families=["shift_jis ja"]))
	c.append(Case("transcode-latin1c1-qp", Text(LONG["fr_c1"], "cp1252", "iso-8859-1",
						    "latin1-with-c1", cte="quoted-printable"),
		      conf="Mode transcode\n", families=["windows-1252 fr"]))
	c.append(Case("transcode-alternative-el", Multi("alternative", [
		Text(LONG["el"], "cp1253", None, "missing"),
		Text("<html><body><p>" + LONG["el"].replace("\n", "<br>\n") + "</p></body></html>\n",
		     "cp1253", None, "missing", ct="text/html", cte="quoted-printable")]),
		conf="Mode transcode\n", families=["windows-1253 el"]))
	# converting HTML rewrites its <meta> charset (both forms, QP and 8bit)
	c.append(Case("transcode-alternative-html-meta", Multi("alternative", [
		Text(LONG["ru2"], "cp1251", None, "missing"),
		Text("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
		     "charset=windows-1251\"></head><body><p>" + LONG["ru2"].replace("\n", "<br>\n") +
		     "</p></body></html>\n", "cp1251", None, "missing", ct="text/html")]),
		conf="Mode transcode\n", families=["windows-1251 ru"],
		note="the converted HTML says utf-8 in its meta too"))
	c.append(Case("transcode-html-meta-lies-qp", Multi("alternative", [
		Text(LONG["pl"], "cp1250", None, "missing"),
		Text("<html><head><meta charset=\"iso-8859-1\"><title>Raport</title></head><body><p>" +
		     LONG["pl"].replace("\n", "<br>\n") + "</p></body></html>\n", "cp1250", None,
		     "missing", ct="text/html", cte="quoted-printable")]),
		conf="Mode transcode\n", families=["windows-1250 pl"],
		note="a meta naming the wrong charset: converted from the right one, meta rewritten"))
	c.append(Case("html-meta-lies-qp", Multi("alternative", [
		Text(LONG["pl"], "cp1250", None, "missing"),
		Text("<html><head><meta charset=\"iso-8859-1\"><title>Raport</title></head><body><p>" +
		     LONG["pl"].replace("\n", "<br>\n") + "</p></body></html>\n", "cp1250", None,
		     "missing", ct="text/html", cte="quoted-printable")]),
		families=["windows-1250 pl"],
		note="a meta naming the wrong charset: the sibling text and the statistics outvote it"))
	c.append(Case("sevenbit-de-windows-1252", Text(LONG["de"], "cp1252", None, "missing"),
		      conf="SevenBitOutput yes\n", subject=Raw(SUBJECT["de"], "cp1252"),
		      families=["windows-1252 de"], note="7-bit output: quoted-printable body"))
	c.append(Case("sevenbit-transcode-pl-crlf", Text(LONG["pl"], "cp1250", None, "missing"),
		      conf="Mode transcode\nSevenBitOutput yes\n", eol="crlf",
		      families=["windows-1250 pl"]))
	c.append(Case("rule-headercharset-cs-short", Text(SHORT["cs"], "cp1250", None, "missing"),
		      headers=[("X-Mailer", "OldMailer 2.1")],
		      conf="HeaderCharset X-Mailer:OldMailer windows-1250\n",
		      families=["windows-1250 cs"],
		      note="a short text only the configured rule can place"))
	c.append(Case("defaultcharset-ru-short", Text(SHORT["ru"], "koi8_r", None, "missing"),
		      conf="DefaultCharset koi8-r\n", families=["koi8-r ru"]))
	c += header_structure_cases()
	c += tnef_cases()
	c += mixed_cases()
	return c


# Issue 11: bodies whose paragraphs are in two charsets.  Label mode can
# only leave them alone (and say "mixed"); transcode mode converts each
# segment from its own charset.
def mixed_cases():
	ru_reply = [(LONG["ru3"] + "\n", "cp1251"), ("Ирина пишет:\n", "cp1251"),
		    (quoted(LONG["ru"]), "koi8_r")]
	fr_over_ru = [(LONG["fr"] + "\n", "cp1252"), ("Le 3 mars, Sergueï a écrit :\n", "cp1252"),
		      (quoted(LONG["ru2"]), "cp1251")]
	de_signature = [(LONG["de"] + "\n", "cp1252"),
			("-- \nJörg Weiß · Prüfstelle Süd · Grüße aus München\n", "utf-8")]
	c = [
		Case("mixed-ru-cp1251-reply-koi8r-quote", Mixed(ru_reply), identical=True,
		     note="a windows-1251 reply quoting a KOI8-R mail: no one label fits, left alone"),
		Case("transcode-mixed-ru-cp1251-reply-koi8r-quote", Mixed(ru_reply), conf="Mode transcode\n",
		     note="each paragraph converted from its own charset"),
		Case("mixed-de-cp1252-utf8-signature-qp-crlf", Mixed(de_signature, cte="quoted-printable"),
		     eol="crlf", identical=True, note="a UTF-8 signature under a windows-1252 text: left alone"),
		Case("transcode-mixed-de-cp1252-utf8-signature-qp-crlf",
		     Mixed(de_signature, cte="quoted-printable"), eol="crlf", conf="Mode transcode\n",
		     note="the UTF-8 lines are kept, the windows-1252 ones converted"),
		Case("transcode-mixed-fr-cp1252-ru-cp1251-quote-base64", Mixed(fr_over_ru, cte="base64"),
		     conf="Mode transcode\n", note="a French reply over a Russian quote, in base64"),
	]
	return c


# Issue 12: the sender's Windows code page, from winmail.dat, for texts too
# short for statistics.  (language, python codec, code page, text)
TNEF_SHORT = [
	("cs", "cp1250", 1250, SHORT["cs"]),
	("ru", "cp1251", 1251, SHORT["ru"]),
	("de", "cp1252", 1252, SHORT["de"]),
	("el", "cp1253", 1253, SHORT["el"]),
	("ja", "cp932", 932, SHORT["ja"]),
	("zh", "gbk", 936, "谢谢你的邮件，明天见。\n"),
	("ko", "cp949", 949, "감사합니다, 내일 뵙겠습니다.\n"),
	("zh-tw", "cp950", 950, "謝謝你的來信，明天見。\n"),
]


def tnef_cases():
	c = []
	for lang, codec, cp, text in TNEF_SHORT:
		raw = encode_text(text, codec)
		assert len(raw) <= 40, (lang, len(raw))
		where = ("attOemCodepage", "PR_INTERNET_CPID")[cp % 2]
		stream = {"oem": cp} if where == "attOemCodepage" else {"oem": None, "cpid": cp}
		c.append(Case("tnef-%s-cp%d-short" % (lang, cp), Multi("mixed", [
			Text(text, codec, None, "missing", reason="TNEF " + where),
			Tnef(reason=where, body=raw, **stream)]),
			families=["%s %s" % (codec, lang)],
			note="%d bytes of text and a winmail.dat whose %s says %d: labelled from the "
			     "TNEF evidence" % (len(raw), where, cp)))
	c.append(Case("tnef-contradicted-koi8r", Multi("mixed", [
		Text(LONG["ru"], "koi8_r", None, "missing", reason="windows-1252 (TNEF PR_INTERNET_CPID 1252"),
		Tnef(reason="attOemCodepage 1252", oem=1252, cpid=1252)]),
		families=["koi8-r ru"],
		note="winmail.dat says 1252, the bytes are plainly KOI8-R: statistics win"))
	for damage in ("checksum", "truncated", "zero", "oversized", "signature"):
		c.append(Case("tnef-%s-pl" % damage, Multi("mixed", [
			Text(LONG["pl"], "cp1250", None, "missing"),
			Tnef(reason="no code page evidence", oem=1251, cpid=1251, corrupt=damage)]),
			families=["windows-1250 pl"],
			note="damaged winmail.dat (%s, claiming 1251): no evidence, the text is "
			     "repaired from statistics, the TNEF bytes are untouched" % damage))
	return c


def nested(depth, leaf):
	"""leaf inside depth levels of multipart/mixed (a forwarded-forwarded chain)."""
	for _ in range(depth):
		leaf = Multi("mixed", [leaf])
	return leaf


def header_structure_cases():
	"""Issue 11: headers and structure that real legacy mail gets wrong."""
	c = []
	for mode in ("label", "transcode"):
		conf = "Mode transcode\n" if mode == "transcode" else None
		c.append(Case("rawsubj-mixed-encoded-words-ru-%s" % mode,
			      Text(LONG["ru"], "cp1251", "windows-1251", "ok"),
			      subject=Raw("перенесена на понедельник", "cp1251",
					  prefix=("=?utf-8?B?" + base64.b64encode("Re: Встреча".encode()).decode() +
						  "?=", "Re: Встреча")),
			      conf=conf, families=["windows-1251 ru"],
			      note="a Subject holding a correct encoded-word and raw windows-1251 text"))
		c.append(Case("rawsubj-in-forwarded-rfc822-%s" % mode, Multi("mixed", [
			Text("Weitergeleitete Nachricht anbei.\n", "utf-8", "utf-8", ["ascii", "ok"], cte="7bit"),
			Rfc822([("From", Raw("Сергей Иванов", "koi8_r", "address", "sergey@example.ru")),
				("Subject", Raw(SUBJECT["ru"], "koi8_r")), ("MIME-Version", "1.0")],
			       Text(LONG["ru"], "koi8_r", None, "missing"))]),
			conf=conf, families=["koi8-r ru"],
			note="raw KOI8-R in the headers of a forwarded message"))
		c.append(Case("nested-50-de-%s" % mode,
			      nested(50, Text(LONG["de"], "cp1252", None, "missing")), conf=conf,
			      families=["windows-1252 de"],
			      note="50 levels of multipart (the default MaxDepth is Postfix's "
				   "mime_nesting_limit, 100): the deep text is repaired"))
		c.append(Case("rawfrom-ja-iso-2022-jp-%s" % mode,
			      Text(LONG["ja2"], "iso2022_jp", "iso-2022-jp", "ok", cte="7bit"),
			      subject=Raw(SUBJECT["ja"] + "（第三回）のお知らせ", "iso2022_jp"),
			      sender=(Raw("山田 太郎", "iso2022_jp", "address", "yamada@example.jp"), None),
			      conf=conf, families=["iso-2022-jp ja"],
			      note="raw 7-bit ISO-2022-JP in From and Subject (no encoded-word): "
				   "Sendmail would parse the escapes as address syntax"))
		c.append(Case("rawsubj-ko-iso-2022-kr-%s" % mode,
			      Text(LONG["ascii"], "ascii", "us-ascii", ["ascii", "ok"], cte="7bit"),
			      subject=Raw("회의 일정 안내", "iso2022_kr"), conf=conf,
			      families=["iso-2022-kr ko"],
			      note="raw ISO-2022-KR (designation and SO/SI) in the Subject"))
	return c


def write_case(outdir, case):
	data, meta = build(case)
	d = os.path.join(outdir, case.name)
	os.makedirs(d, exist_ok=True)
	with open(os.path.join(d, "input.eml"), "wb") as f:
		f.write(data)
	with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as f:
		json.dump(meta, f, ensure_ascii=False, indent=1, sort_keys=True)
		f.write("\n")
	conf = os.path.join(d, "conf")
	if case.conf:
		with open(conf, "w", encoding="ascii") as f:
			f.write(case.conf)
	elif os.path.exists(conf):
		os.unlink(conf)


GENERATED = ("input.eml", "meta.json", "conf")


def generate(outdir):
	names = set()
	for case in cases():
		assert case.name not in names, "duplicate case " + case.name
		names.add(case.name)
		write_case(outdir, case)
	return names


def summary(names, outdir):
	"""Counts by verdict and by family, to stderr."""
	byv, byf = {}, {}
	for n in sorted(names):
		with open(os.path.join(outdir, n, "meta.json"), encoding="utf-8") as f:
			meta = json.load(f)
		for v in meta["verdicts"]:
			byv[v] = byv.get(v, 0) + 1
		for fam in meta["families"]:
			byf[fam] = byf.get(fam, 0) + 1
	ident = 0
	for n in names:
		with open(os.path.join(outdir, n, "meta.json"), encoding="utf-8") as f:
			ident += json.load(f)["must_be_identical"]
	sys.stderr.write("%d cases, %d must be byte-identical\n" % (len(names), ident))
	for v in ALL_VERDICTS:
		sys.stderr.write("  verdict %-18s %d\n" % (v, byv.get(v, 0)))
	sys.stderr.write("  %d families: %s\n" % (len(byf), ", ".join(
		"%s (%d)" % (k, byf[k]) for k in sorted(byf))))
	missing = [v for v in ALL_VERDICTS if v not in byv]
	if missing:
		sys.stderr.write("verdicts without a case: %s\n" % " ".join(missing))
		return False
	return True


def check_committed(casedir):
	tmp = tempfile.mkdtemp(prefix="cpm-golden-gen.")
	try:
		names = generate(tmp)
		bad = []
		have = set(n for n in os.listdir(casedir)
			   if os.path.isdir(os.path.join(casedir, n)))
		for n in sorted(names | have):
			for fn in GENERATED:
				a = os.path.join(tmp, n, fn)
				b = os.path.join(casedir, n, fn)
				ea, eb = os.path.exists(a), os.path.exists(b)
				if ea != eb or (ea and open(a, "rb").read() != open(b, "rb").read()):
					bad.append("%s/%s" % (n, fn))
		if bad:
			sys.stderr.write("gen.py --check: committed cases differ from the "
					 "generator: %s\n" % " ".join(bad))
			return False
		return True
	finally:
		shutil.rmtree(tmp)


def main(argv):
	casedir = os.path.join(HERE, "cases")
	if len(argv) > 1 and argv[1] == "--check":
		return 0 if check_committed(casedir) else 1
	outdir = argv[1] if len(argv) > 1 else casedir
	names = generate(outdir)
	return 0 if summary(names, outdir) else 1


if __name__ == "__main__":
	sys.exit(main(sys.argv))
