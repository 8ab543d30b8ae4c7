# texts.py -- human sentences per language for the golden cases (the truth).
#
# Written for these tests, not taken from any corpus.  Each entry is plain
# Unicode; gen.py encodes it into the legacy charset the case names and
# records the text as decoded from those bytes (the sender's words).

LONG = {
	"fr": "Bonjour Amélie,\n\nje t'envoie le compte rendu de la réunion de jeudi. "
	      "Les décisions prises concernent surtout le budget de l'été et la fête du personnel.\n"
	      "À bientôt, et bonne fin de semaine !\n\nFrançois\n",
	"fr_c1": "Bonjour Hélène,\n\nle devis s’élève à 1 250 € hors taxes ; merci de confirmer "
		 "« au plus vite » — l’équipe attend votre réponse.\n\nCordialement,\nRené\n",
	"de": "Sehr geehrte Frau Müller,\n\nvielen Dank für Ihre schnelle Rückmeldung. Die Unterlagen "
	      "für die Prüfung schicke ich Ihnen übermorgen zu.\n\nMit freundlichen Grüßen\nJörg Weiß\n",
	"de_c1": "Hallo Jürgen,\n\n„Die Rechnung über 480 € ist bezahlt“, schrieb die Buchhaltung – "
		 "also ist alles erledigt.\n\nGrüße\nUte\n",
	"es": "Hola Begoña:\n\n¿Podrías revisar el informe antes del miércoles? La reunión con los "
	      "señores de Logroño se adelantó a las diez de la mañana.\n\n¡Gracias!\nIñaki\n",
	"es_c1": "Querida Lucía:\n\nel billete cuesta 95 € y el tren sale a las “ocho en punto”… "
		 "no llegues tarde, por favor.\n\nUn abrazo,\nJosé\n",
	"pl": "Dzień dobry,\n\nprzesyłam zaktualizowany harmonogram prac. Proszę o zgłaszanie uwag "
	      "do piątku, żebyśmy zdążyli przygotować ostateczną wersję umowy.\n\nZ poważaniem\n"
	      "Łukasz Wróbel\n",
	"cs": "Dobrý den,\n\nposílám Vám v příloze fakturu za září. Prosím o potvrzení přijetí a o "
	      "úhradu do čtrnácti dnů.\n\nDěkuji a přeji hezký večer,\nJiří Dvořák\n",
	"ru": "Здравствуйте, Ирина Петровна!\n\nОтчёт за третий квартал готов, я отправлю его вам "
	      "завтра утром. Если будут вопросы, звоните в любое время.\n\nС уважением,\nСергей\n",
	"ru2": "Добрый день!\n\nНапоминаю, что собрание жильцов состоится в субботу в семь часов "
	       "вечера во дворе нашего дома. Просьба не опаздывать.\n\nПравление\n",
	"ru3": "Привет!\n\nПосылаю фотографии с дачи, как обещал. Погода была чудесная, а яблок в "
	       "этом году столько, что не знаем, куда их девать.\n\nОбнимаю, Коля\n",
	"bg": "Здравей, Мария!\n\nБлагодаря ти за помощта миналата седмица. Ще се видим ли в неделя "
	      "на кафе в центъра на София?\n\nПоздрави,\nГеорги\n",
	"uk": "Доброго ранку!\n\nНагадую, що завтра о дев'ятій годині відбудеться нарада щодо нового "
	      "проєкту. Будь ласка, підготуйте свої пропозиції.\n\nЗ повагою,\nОксана Ґудзь\n",
	"el": "Καλημέρα σας,\n\nσας στέλνω το πρόγραμμα της εκδρομής για την Κυριακή. Η αναχώρηση θα "
	      "γίνει στις οκτώ το πρωί από την πλατεία.\n\nΜε εκτίμηση,\nΝίκος\n",
	"tr": "Merhaba Ayşe Hanım,\n\ntoplantı notlarını ekte gönderiyorum. Çarşamba günü öğleden "
	      "sonra müsait olup olmadığınızı bildirir misiniz?\n\nTeşekkürler,\nİsmail\n",
	"he": "שלום דני,\n\nמצורף הדוח החודשי של המחלקה. נשמח לשמוע את הערותיך עד יום חמישי בבוקר.\n\n"
	      "תודה רבה ושבת שלום,\nרונית\n",
	"ar": "مرحبا أحمد،\n\nأرسل لك جدول الاجتماعات للأسبوع القادم. يرجى تأكيد حضورك قبل يوم "
	      "الخميس.\n\nمع أطيب التحيات،\nسارة\n",
	"lt": "Laba diena,\n\nsiunčiu jums sutarties projektą. Prašome peržiūrėti ir atsiųsti pastabas "
	      "iki penktadienio.\n\nAčiū už bendradarbiavimą,\nŽydrūnas\n",
	"vi": "Xin chào anh Minh,\n\nem gửi anh bản báo cáo tháng này. Anh xem giúp em trước thứ sáu "
	      "nhé.\n\nCảm ơn anh nhiều,\nLan\n",
	"th": "สวัสดีครับ\n\nผมส่งรายงานการประชุมมาให้ตามที่ตกลงกันไว้ กรุณาตรวจสอบและแจ้งกลับภายในวันศุกร์นี้\n\n"
	      "ขอบคุณครับ\nสมชาย\n",
	"ja": "山田様\n\nお世話になっております。先日の会議の議事録をお送りします。\n"
	      "ご確認のほど、よろしくお願いいたします。\n\n佐藤\n",
	"ja2": "皆様\n\n来週の打ち合わせは水曜日の午後三時からに変更になりました。\n"
	       "場所は本社の第二会議室です。\n\n鈴木\n",
	"zh": "王经理：\n\n你好，附件是本月的销售报告，请在周五之前审阅并提出修改意见。\n\n谢谢！\n李明\n",
	"zhtw": "陳先生：\n\n您好，附件是這個月的會議紀錄，請於星期五前確認並回覆。\n\n謝謝您的協助！\n林美玲\n",
	"ko": "김 과장님께\n\n안녕하세요. 다음 주 회의 일정을 보내 드립니다. 참석 여부를 금요일까지 "
	      "알려 주시면 감사하겠습니다.\n\n이수진 드림\n",
	# Korean with syllables only UHC (CP949) has: 똠 뙇 쌰 햏 are not in KS X 1001
	"ko_uhc": "똠방각하께\n\n안녕하세요. 다음 주 회의 일정을 보내 드립니다. 발표 제목은 "
		  "\"뙇 하고 쌰 하는 햏\"입니다. 참석 여부를 금요일까지 알려 주시면 감사하겠습니다.\n\n"
		  "이수진 드림\n",
	# Japanese with CP932 extensions: circled digits and ㈱ (NEC row 13), 髙 (IBM)
	"ja_nec": "山田様\n\n先日の会議の議事録をお送りします。\n① 予算の確認\n② 日程の調整\n"
		  "③ 担当者の決定\n\n㈱髙橋商事 佐藤\n",
	# Simplified Chinese with GBK-only characters (镕 赟 啰 are not in GB 2312)
	"zh_gbk": "王经理：\n\n你好，镕基公司的合同已经签好，赟总说啰嗦的部分可以删掉。"
		  "请在周五之前审阅。\n\n谢谢！\n李明\n",
	"multi": "Grüße aus Kraków — Привет из Москвы, 東京からこんにちは!\n"
		 "Ein Text, drei Schriften: ça marche très bien en UTF-8.\n",
	"ascii": "Hello Bob,\n\nthe build on the release branch is green again; I merged the fix "
		 "for the timeout this morning.\n\nCheers,\nAlice\n",
}

SHORT = {
	"fr": "Merci pour le café, à demain !\n",
	"de": "Schöne Grüße aus Köln\n",
	"cs": "Děkuji, zítra se ozvu.\n",
	"pl": "Dziękuję, do zobaczenia jutro.\n",
	"ru": "Спасибо, получил. До встречи!\n",
	"bg": "Благодаря, ще се чуем утре.\n",
	"ja": "ありがとうございます。\n",
	"el": "Ευχαριστώ πολύ, τα λέμε αύριο.\n",
}

SUBJECT = {
	"fr": "Réunion de jeudi : compte rendu et prochaines étapes",
	"de": "Prüfungsunterlagen für Übermorgen",
	"pl": "Zaktualizowany harmonogram – proszę o uwagi",
	"ru": "Отчёт за третий квартал",
	"ru_long": "Очень длинная тема письма о собрании жильцов, переносе субботника и новых правилах "
		   "парковки во дворе дома",
	"ja": "会議の議事録",
	"cs": "Faktura za září",
	"utf8": "Größe der Lieferung: 3 Stück, Preis 12 € — ça va?",
}

NAME = {
	"de": ("Jürgen Weiß", "juergen.weiss@example.de"),
	"fr": ("Hélène Lefèvre", "helene@example.fr"),
	"pl": ("Łukasz Wróbel", "lukasz@example.pl"),
	"ru": ("Сергей Иванов", "sergey@example.ru"),
}

FILENAME = {
	"de": "Prüfbericht März.pdf",
	"fr": "reçu été.txt",
}
