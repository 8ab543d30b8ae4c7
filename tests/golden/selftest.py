#!/usr/bin/env python3
# selftest.py -- prove the golden checker can fail (and can pass).
#
# Without the engine: for each case, (1) the unrepaired input offered as the
# "output" must FAIL every case that needs a repair and PASS every case that
# must stay identical; (2) a minimal reference repair written here (label the
# part with a charset that decodes it, RFC 2047/2231-encode raw headers, add
# CTE and MIME-Version) must PASS for the label-mode cases; (3) deliberately
# wrong variants of that repair must FAIL, each for its own reason: a wrong
# label, an over-long or character-splitting encoded-word, a changed
# attachment byte, a CRLF in an LF message, an 8-bit body declared 7bit, a
# wrong verdict in the report, a non-idempotent second pass, a line over 998.
#
# Usage: selftest.py [--cases DIR].  Last line "N passed, N failed".

import base64
import email.header
import email.utils
import json
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402
from charsets import MIME_TO_CODEC  # noqa: E402

CODEC_TO_MIME = {"cp1252": "windows-1252", "latin_1": "iso-8859-1", "cp1250": "windows-1250",
		 "cp1251": "windows-1251", "koi8_r": "koi8-r", "koi8_u": "koi8-u",
		 "cp866": "ibm866", "iso8859_5": "iso-8859-5", "cp1253": "windows-1253",
		 "cp1254": "windows-1254", "cp1255": "windows-1255", "cp1256": "windows-1256",
		 "cp1257": "windows-1257", "cp1258": "windows-1258", "cp874": "windows-874",
		 "shift_jis": "shift_jis", "euc_jp": "euc-jp", "iso2022_jp": "iso-2022-jp",
		 "gbk": "gbk", "gb2312": "gb2312", "big5": "big5", "euc_kr": "euc-kr",
		 "iso2022_kr": "iso-2022-kr", "utf-8": "utf-8", "ascii": "us-ascii",
		 "iso8859_2": "iso-8859-2"}


def good_label(mp):
	if not mp["correct_charsets"]:	# a text in several charsets: none
		return "-"
	lab = CODEC_TO_MIME.get(mp["codec"])
	if lab in mp["correct_charsets"]:
		return lab
	return mp["correct_charsets"][0]


def wrong_label(mp):
	"""A standard label under which the bytes decode, but to other text."""
	for lab in ("iso-8859-5", "koi8-r", "windows-1250", "iso-8859-2", "windows-1252",
		    "windows-1251"):
		if lab not in mp["correct_charsets"]:
			return lab
	return None


def reference_repair(meta, data, label_for=good_label):
	"""Apply a minimal correct label-mode repair with plain byte edits."""
	eol = b"\r\n" if meta["crlf"] else b"\n"
	root = check.parse_message(data)
	parts = check.parts_by_id(root)
	edits = []	# (start, end, bytes)

	def replace_field(part, name, occurrence, new):
		n = 0
		pos = part.start
		for fname, raw in part.fields:
			if fname == name.lower():
				n += 1
				if n == occurrence:
					edits.append((pos, pos + len(raw), new))
					return True
			pos += len(raw)
		return False

	for mp in meta["parts"]:
		if mp["kind"] != "text" or mp["verdict"] in ("ok", "ascii", "skipped") or \
				isinstance(mp["verdict"], list):
			continue
		part = parts[mp["id"]]
		keep = "".join("; %s=%s" % (k, v) for k, v in (part.msg.get_params() or [])[1:]
			       if k.lower() != "charset")
		ct = (mp["content_type"] + keep + "; charset=" + label_for(mp)).encode()
		if not replace_field(part, "Content-Type", 1, b"Content-Type: " + ct + eol):
			edits.append((part.hdr_end, part.hdr_end, b"Content-Type: " + ct + eol))
		body = data[part.body_start:part.body_end]
		if any(b >= 0x80 for b in body) and part.cte not in ("8bit", "binary"):
			new = b"Content-Transfer-Encoding: 8bit" + eol
			if not replace_field(part, "Content-Transfer-Encoding", 1, new):
				edits.append((part.hdr_end, part.hdr_end, new))
	for h in meta["headers"]:
		part = parts[h["part"]]
		if h["kind"] == "filename":
			val = "attachment; filename*=utf-8''" + urllib.parse.quote(h["text"], safe="")
		elif h["kind"] == "address":
			val = email.header.Header(h["text"], "utf-8").encode() + " <%s>" % h["address"]
		else:
			val = email.header.Header(h["text"], "utf-8", header_name=h["name"]).encode(
				linesep=eol.decode())
		replace_field(part, h["name"], h["occurrence"],
			      h["name"].encode() + b": " + val.encode() + eol)
	if root.msg.get("mime-version") is None:
		edits.append((root.hdr_end, root.hdr_end, b"MIME-Version: 1.0" + eol))
	out = data
	for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
		out = out[:start] + new + out[end:]
	return out


def report_for(meta, wrong_verdict=None, wrong_chosen=None, drop_reason=False):
	"""A -x table in the engine's layout (white-space aligned columns); the
	reason column names the evidence the case expects unless drop_reason."""
	rows = ["part      type/header                   declared          verdict  chosen  conf"
		"  action  reason"]
	for mp in meta["parts"]:
		v = mp["verdict"] if isinstance(mp["verdict"], str) else mp["verdict"][0]
		chosen = (wrong_chosen or good_label(mp)) if mp["kind"] == "text" else "-"
		reason = "test reason" if drop_reason else mp.get("reason") or "test reason"
		rows.append("%-8s  %-28s  %-16s  %-17s  %s  50  label  %s" %
			    (mp["id"], mp["content_type"], mp.get("declared") or "-",
			     wrong_verdict or v, chosen, reason))
	for h in meta["headers"]:
		rows.append("%-8s  %-28s  %-16s  %-17s  %s  90  encode-header  raw bytes" %
			    (h["part"], h["name"], "-", h["verdict"],
			     wrong_chosen or good_label(h)))
	return "\n".join(rows) + "\n"


def wrong_part_verdict(meta):
	"""A verdict no part of the case may have."""
	fine = set(meta["verdicts"])
	for mp in meta["parts"]:
		fine.update([mp["verdict"]] if isinstance(mp["verdict"], str) else mp["verdict"])
	return next(v for v in ("legacy-7bit", "ok", "missing") if v not in fine)


class Tally:
	def __init__(self):
		self.passed = self.failed = 0

	def expect(self, name, errs, should_fail):
		ok = bool(errs) == should_fail
		if ok:
			self.passed += 1
		else:
			self.failed += 1
			print("FAIL %s: checker %s%s" % (name, "accepted a wrong output" if should_fail
							 else "rejected a correct output: ",
							 "" if should_fail else "; ".join(errs)[:400]))


def main(argv):
	casedir = os.path.join(HERE, "cases")
	if len(argv) > 2 and argv[1] == "--cases":
		casedir = argv[2]
	t = Tally()
	for n in sorted(os.listdir(casedir)):
		d = os.path.join(casedir, n)
		if not os.path.exists(os.path.join(d, "meta.json")):
			continue
		with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
			meta = json.load(f)
		with open(os.path.join(d, "input.eml"), "rb") as f:
			inp = f.read()
		rep = report_for(meta)
		# (1) doing nothing is right exactly for the identical cases
		t.expect(n + " (unrepaired)", check.check_case(meta, inp, inp, inp, rep),
			 not meta["must_be_identical"] and meta["mode"] != "report")
		if meta["mode"] == "report":
			audit = inp.replace(b"\nMIME-Version:", b"\nX-Codepage-Milter: 1 missing"
					    b"\nMIME-Version:", 1)
			t.expect(n + " (audit header added)", check.check_case(meta, inp, audit, audit,
										rep), False)
			bad = reference_repair(meta, inp)
			t.expect(n + " (repaired in report mode)", check.check_case(meta, inp, bad, bad,
										     rep), True)
			continue
		if meta["must_be_identical"]:
			t.expect(n + " (one byte changed)", check.check_case(
				meta, inp, inp[:-2] + b"X" + inp[-1:], None, rep), True)
			if any(p.get("segments") for p in meta["parts"]):
				# labelled with one of its charsets: the rest would be mojibake
				first = lambda mp: CODEC_TO_MIME[mp["segments"][0]["codec"]] \
					if mp.get("segments") else good_label(mp)
				out = reference_repair(meta, inp, label_for=first)
				t.expect(n + " (labelled with one of its charsets)",
					 check.check_case(meta, inp, out, out, rep), True)
			continue
		t.expect(n + " (wrong verdict)", check.check_report(
			meta, report_for(meta, wrong_part_verdict(meta))), True)
		t.expect(n + " (empty report)", check.check_report(meta, ""), True)
		if any(p.get("reason") for p in meta["parts"]):
			t.expect(n + " (reason without the expected evidence)", check.check_report(
				meta, report_for(meta, drop_reason=True)), True)
		chooses = meta["headers"] or any(
			p["kind"] == "text" and (p["verdict"] if isinstance(p["verdict"], str)
						 else p["verdict"][0]) not in check.NO_CHOICE
			for p in meta["parts"])
		t.expect(n + " (report chose a wrong charset)", check.check_report(
			meta, report_for(meta, wrong_chosen="bogus-charset")), bool(chooses))
		if meta["mode"] != "label" or meta["seven_bit"] or \
				any("long" in n for _ in [0]):
			continue
		# (2) the reference repair passes
		out = reference_repair(meta, inp)
		t.expect(n + " (reference repair)", check.check_case(meta, inp, out, out, rep), False)
		# (3) wrong variants fail
		t.expect(n + " (not idempotent)", check.check_case(meta, inp, out, out + b"\n",
									None), True)
		texts = [p for p in meta["parts"] if p["kind"] == "text" and
			 isinstance(p["verdict"], str) and p["verdict"] not in ("ok", "ascii")]
		if texts and wrong_label(texts[0]):
			bad = reference_repair(meta, inp, lambda mp: wrong_label(mp))
			t.expect(n + " (wrong label)", check.check_case(meta, inp, bad, bad, None), True)
		if meta["crlf"] is False:
			bad = out.replace(b"\nTo:", b"\r\nTo:", 1)
			t.expect(n + " (CRLF in LF message)", check.check_case(meta, inp, bad, bad, None),
				 True)
		if b"Content-Transfer-Encoding: 8bit" in out:
			bad = out.replace(b"Content-Transfer-Encoding: 8bit",
					  b"Content-Transfer-Encoding: 7bit", 1)
			t.expect(n + " (8-bit declared 7bit)", check.check_case(meta, inp, bad, bad,
										 None), True)
		for p in meta["parts"]:
			if p["kind"] == "binary":
				root = check.parse_message(out)
				bp = check.parts_by_id(root)[p["id"]]
				i = bp.body_start + 10
				flip = b"A" if out[i:i + 1] != b"A" else b"B"
				bad = out[:i] + flip + out[i + 1:]
				t.expect(n + " (attachment byte changed)",
					 check.check_case(meta, inp, bad, bad, None), True)
		for h in meta["headers"]:
			if h["kind"] != "text":
				continue
			enc = h["text"].encode("utf-8")
			one = "=?utf-8?b?%s?=" % base64.b64encode(enc).decode()
			field = check.find_field(check.parts_by_id(check.parse_message(out))[h["part"]],
						 h["name"], h["occurrence"])
			bad = out.replace(field, h["name"].encode() + b": " + one.encode() +
					  (b"\r\n" if meta["crlf"] else b"\n"))
			t.expect(n + " (encoded-word > 75)", check.check_case(meta, inp, bad, bad, None),
				 len(one) > 75)
			# split a multi-byte character between two encoded-words
			cut = next((i for i in range(1, len(enc)) if enc[i] & 0xC0 == 0x80), None)
			if cut:
				split = "=?utf-8?b?%s?= =?utf-8?b?%s?=" % (
					base64.b64encode(enc[:cut]).decode(),
					base64.b64encode(enc[cut:]).decode())
				bad2 = bad.replace(one.encode(), split.encode())
				t.expect(n + " (split character)", check.check_case(meta, inp, bad2, bad2,
										    None), True)
	# a long line is caught even when everything else is right
	d = os.path.join(casedir, "missing-long-line")
	if os.path.isdir(d):
		with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
			meta = json.load(f)
		with open(os.path.join(d, "input.eml"), "rb") as f:
			inp = f.read()
		out = reference_repair(meta, inp)
		t.expect("missing-long-line (label only, line > 998)",
			 check.check_case(meta, inp, out, out, None), True)
	print("%d passed, %d failed" % (t.passed, t.failed))
	return 1 if t.failed else 0


if __name__ == "__main__":
	sys.exit(main(sys.argv))
