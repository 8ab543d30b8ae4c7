# check.py -- the golden suite's invariant checker: is a repaired message TRUE?
#
# check_case(meta, input, output, output_again, report) returns a list of
# failure strings (empty = all invariants hold).  It knows the sender's text
# for every part (meta.json, written by gen.py) and checks the output against
# it, never against what the engine happened to print:
#
#   identical  must_be_identical cases: output == input, byte for byte.
#   structure  same part tree (ids, content types) as the input.
#   text       every text part carries a standard charset label under which
#              its bytes, after undoing the transfer encoding, decode to
#              exactly the original text (Unicode NFC, line ends normalised);
#              a part written in several charsets (meta "segments") is
#              byte-identical outside transcode mode, where it is UTF-8;
#              8-bit bodies are declared 8bit/binary; label mode leaves the
#              decoded bytes alone; transcode mode writes utf-8; 7-bit mode
#              writes no 8-bit byte.
#   headers    every header field is ASCII; headers written raw decode
#              (email.header) to the original text; each encoded-word is at
#              most 75 characters and decodes on its own (no split character);
#              untouched header fields are byte-identical; MIME-Version is
#              present when MIME headers are.
#   binary     non-text leaves: decoded and encoded bytes unchanged.
#   lines      no line over 998 bytes (except inside untouched binary bodies);
#              the input's line ending everywhere outside binary bodies.
#   idempotent repairing the output again changes nothing.
#   report     the -x verdict of every part and repaired header is the
#              expected one; where a part names the evidence it must be
#              decided by (meta "reason"), its reason column says so.
#
# Part ids follow gen.py: message = 1, multipart children P.1, P.2 ...,
# the embedded message of message/rfc822 part P is P.1.

import base64
import binascii
import email
import email.header
import email.policy
import email.utils
import re
import unicodedata

from charsets import codec_for_label

MAX_LINE = 998
AUDIT_HEADER = "x-codepage-milter"	# the default AuditHeader
MAX_EW = 75
# Header fields a repair may legitimately rewrite or add.
REPAIRABLE = {"content-type", "content-transfer-encoding", "mime-version",
	      "content-disposition", "x-codepage-milter"}
# the charset token of an HTML <meta> tag (<meta charset=X>, <meta ... content="...; charset=X">)
META_CHARSET = re.compile(r"(<meta\b[^>]*?charset\s*=\s*[\"']?)([A-Za-z0-9_.:-]+)", re.I)
ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


# ---- a byte-exact MIME walker --------------------------------------------------------


class Part:
	def __init__(self, pid):
		self.id = pid
		self.start = self.hdr_end = self.body_start = self.body_end = 0
		self.fields = []	# (name_lower, raw bytes incl. folding and EOL)
		self.msg = None		# email.message.Message of the header block
		self.children = []
		self.content_type = "text/plain"
		self.cte = None

	def walk(self):
		yield self
		for c in self.children:
			yield from c.walk()

	def charset(self):
		cs = self.msg.get_param("charset") if self.msg is not None else None
		if isinstance(cs, tuple):
			cs = email.utils.collapse_rfc2231_value(cs)
		return cs

	def is_leaf(self):
		return not self.children


def split_lines(data, start, end):
	"""(line_start, content_end, line_end) for every line of data[start:end]."""
	pos = start
	while pos < end:
		nl = data.find(b"\n", pos, end)
		if nl < 0:
			yield pos, end, end
			return
		ce = nl - 1 if nl > pos and data[nl - 1] == 0x0D else nl
		yield pos, ce, nl + 1
		pos = nl + 1


def parse_entity(data, start, end, pid, default_ct="text/plain"):
	p = Part(pid)
	p.start = start
	cur = None
	body_start = end
	hdr_end = end
	for ls, ce, le in split_lines(data, start, end):
		if ce == ls:		# blank line ends the header block
			hdr_end, body_start = ls, le
			break
		if data[ls] in (0x20, 0x09) and cur is not None:
			cur[1] += data[ls:le]
			continue
		colon = data.find(b":", ls, ce)
		if colon < 0:		# not a header: body starts here
			hdr_end, body_start = ls, ls
			break
		cur = [data[ls:colon].strip().lower().decode("ascii", "replace"), data[ls:le]]
		p.fields.append(cur)
	else:
		hdr_end = body_start = end
	p.fields = [(n, bytes(raw)) for n, raw in p.fields]
	p.hdr_end, p.body_start, p.body_end = hdr_end, body_start, end
	hb = b"".join(raw for _, raw in p.fields)
	p.msg = email.message_from_bytes(hb + b"\n", policy=email.policy.compat32)
	if p.msg.get("content-type") is None:
		p.content_type = default_ct
	else:
		p.content_type = p.msg.get_content_type()
	cte = p.msg.get("content-transfer-encoding")
	p.cte = str(cte).strip().lower() if cte is not None else None
	if p.content_type.startswith("multipart/"):
		split_multipart(data, p)
	elif p.content_type in ("message/rfc822", "message/global") and \
			p.cte in (None, "7bit", "8bit", "binary"):
		p.children.append(parse_entity(data, body_start, end, pid + ".1"))
	return p


def split_multipart(data, p):
	bnd = p.msg.get_param("boundary")
	if not bnd:
		return
	if isinstance(bnd, tuple):
		bnd = email.utils.collapse_rfc2231_value(bnd)
	delim = b"--" + bnd.encode("ascii", "replace")
	child_start = None
	n = 0
	for ls, ce, le in split_lines(data, p.body_start, p.body_end):
		line = data[ls:ce]
		if not line.startswith(delim):
			continue
		rest = line[len(delim):]
		closing = rest.startswith(b"--")
		if (rest[2:] if closing else rest).strip(b" \t"):
			continue
		# the line ending before the delimiter belongs to the delimiter
		body_end = ls
		if body_end > p.body_start and data[body_end - 1] == 0x0A:
			body_end -= 1
			if body_end > p.body_start and data[body_end - 1] == 0x0D:
				body_end -= 1
		if child_start is not None:
			n += 1
			dct = "message/rfc822" if p.content_type == "multipart/digest" else "text/plain"
			p.children.append(parse_entity(data, child_start, max(body_end, child_start),
						       "%s.%d" % (p.id, n), dct))
		child_start = le
		if closing:
			break


def parse_message(data):
	return parse_entity(data, 0, len(data), "1")


def parts_by_id(root):
	return {p.id: p for p in root.walk()}


# ---- decoding helpers -------------------------------------------------------------------


def qp_decode(body):
	out = bytearray()
	lines = body.split(b"\n")
	for i, line in enumerate(lines):
		last = i == len(lines) - 1
		if line.endswith(b"\r"):
			line = line[:-1]
		line = line.rstrip(b" \t")
		soft = line.endswith(b"=")
		if soft:
			line = line[:-1]
		j = 0
		while j < len(line):
			c = line[j]
			if c == 0x3D and j + 2 < len(line) and \
					re.match(rb"[0-9A-Fa-f]{2}", line[j + 1:j + 3]):
				out.append(int(line[j + 1:j + 3], 16))
				j += 3
			else:
				out.append(c)
				j += 1
		if not soft and not last:
			out += b"\n"
	return bytes(out)


def decode_body(part, data):
	"""(decoded bytes, error string or None)."""
	raw = data[part.body_start:part.body_end]
	if part.cte == "base64":
		try:
			return base64.b64decode(re.sub(rb"\s+", b"", raw), validate=True), None
		except (binascii.Error, ValueError) as e:
			return b"", "bad base64: %s" % e
	if part.cte == "quoted-printable":
		return qp_decode(raw), None
	return raw, None


def norm_text(s):
	return unicodedata.normalize("NFC", s.replace("\r\n", "\n"))


def unfold(raw):
	"""Header field value without name, folding and final line end."""
	v = raw.split(b":", 1)[1]
	v = re.sub(rb"\r?\n(?=[ \t])", b"", v)
	return v.rstrip(b"\r\n").strip()


def decode_header_text(value):
	"""RFC 2047 decoding of an (ASCII) header value to str."""
	try:
		h = email.header.make_header(email.header.decode_header(value.decode("ascii")))
	except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError) as e:
		return None, "does not decode: %s" % e
	return str(h), None


def ws(s):
	return " ".join(s.split())


# ---- the -x report ---------------------------------------------------------------------


VERDICTS = {"ok", "ascii", "missing", "unknown-label", "ascii-with-8bit", "latin1-with-c1",
	    "invalid-utf8", "undecodable", "legacy-7bit", "raw-8bit-header",
	    "nonstandard-label", "wrong-label", "mixed", "not-text", "skipped"}


def parse_report(text):
	"""Rows of the -x table as dicts: id, type, verdict, header (name or None).
	Columns are white-space aligned (part, type/header, declared, verdict,
	chosen, conf, action, reason) or '|'-separated; a row's verdict is the
	first of its leading cells that is a verdict name, so the parser does not
	depend on column widths.  A row is a header row when its type cell is a
	header name (no '/') or its id is written "PART:Name"."""
	rows = []
	for line in text.splitlines():
		if "|" in line:
			cells = [c.strip() for c in line.split("|")]
			if cells and cells[0] == "":
				cells = cells[1:]
		else:
			cells = line.split()
		if len(cells) < 3 or not cells[0][:1].isdigit():
			continue
		verdict = next((c for c in cells[1:5] if c in VERDICTS), None)
		if verdict is None:
			continue
		pid, header = cells[0], None
		if ":" in pid:
			pid, header = pid.split(":", 1)
			pid, header = pid.strip(), header.strip()
		elif "/" not in cells[1]:
			header = cells[1]
		vi = cells.index(verdict)
		chosen = cells[vi + 1] if vi + 1 < len(cells) else "-"
		rows.append({"id": pid, "header": header, "type": cells[1],
			     "verdict": verdict, "chosen": chosen, "cells": cells})
	return rows


NO_CHOICE = ("ok", "ascii", "skipped", "not-text", "mixed")	# mixed: no one charset is right


def check_chosen(where, chosen, truth, errs):
	"""The charset the report says it chose must decode the bytes to the
	sender's text (the same rule as for the output's label)."""
	ok = [c.lower() for c in truth["correct_charsets"]]
	if chosen.lower() not in ok:
		errs.append("report: %s chose %s, which does not decode it to the original "
			    "text (correct: %s)" % (where, chosen, ", ".join(ok) or "none"))


def check_report(meta, report):
	errs = []
	rows = parse_report(report)
	if not rows:
		return ["report: no rows found in -x output"]
	part_rows = {}
	for r in rows:
		if r["header"] is None:
			part_rows.setdefault(r["id"], []).append(r)
	for p in meta["parts"]:
		want = p["verdict"] if isinstance(p["verdict"], list) else [p["verdict"]]
		got = part_rows.get(p["id"])
		if not got:
			if p["kind"] == "text":
				errs.append("report: no row for text part %s" % p["id"])
			continue
		if p.get("reason") and p["reason"].lower() not in " ".join(got[0]["cells"]).lower():
			errs.append("report: part %s reason does not name \"%s\": %s" %
				    (p["id"], p["reason"], " ".join(got[0]["cells"])))
		if got[0]["verdict"] not in want:
			errs.append("report: part %s verdict %s, expected %s" %
				    (p["id"], got[0]["verdict"], " or ".join(want)))
		elif p["kind"] == "text" and want[0] not in NO_CHOICE:
			check_chosen("part %s" % p["id"], got[0]["chosen"], p, errs)
	for h in meta["headers"]:
		names = {h["name"].lower()}
		if h["kind"] == "filename":
			names |= {"filename", "name"}
		got = [r for r in rows if r["header"] is not None and r["id"] == h["part"] and
		       r["header"].lower() in names]
		if not got:
			# a table may also name the header in the type column
			got = [r for r in rows if r["id"] == h["part"] and
			       r["type"].lower() in names]
		if not got:
			errs.append("report: no row for raw header %s:%s" % (h["part"], h["name"]))
		elif got[0]["verdict"] != h["verdict"]:
			errs.append("report: header %s:%s verdict %s, expected %s" %
				    (h["part"], h["name"], got[0]["verdict"], h["verdict"]))
		else:
			check_chosen("header %s:%s" % (h["part"], h["name"]), got[0]["chosen"], h, errs)
	return errs


# ---- the invariants -----------------------------------------------------------------


def opaque_ranges(root, meta_parts):
	"""Body ranges of non-text leaves (binary bytes may contain anything)."""
	kinds = {p["id"]: p["kind"] for p in meta_parts}
	return [(p.body_start, p.body_end) for p in root.walk()
		if p.is_leaf() and kinds.get(p.id) in ("binary", "opaque")]


def inside(pos, ranges):
	return any(a <= pos < b for a, b in ranges)


def check_lines(meta, inp, out, oroot, errs):
	ranges = opaque_ranges(oroot, meta["parts"])
	crlf = meta["crlf"]
	for ls, ce, le in split_lines(out, 0, len(out)):
		if inside(ls, ranges):
			if ce - ls > MAX_LINE and out[ls:le] not in inp:
				errs.append("line at offset %d is %d bytes in a binary part that "
					    "was not like this in the input" % (ls, ce - ls))
			continue
		if ce - ls > MAX_LINE:
			errs.append("line at offset %d is %d bytes (> %d)" % (ls, ce - ls, MAX_LINE))
		if le > ce:	# has a line end
			has_cr = out[ce:le] == b"\r\n"
			if crlf and not has_cr:
				errs.append("bare LF at offset %d in a CRLF message" % ce)
			elif not crlf and has_cr:
				errs.append("CRLF at offset %d in an LF message" % ce)
		if b"\r" in out[ls:ce]:
			errs.append("bare CR inside line at offset %d" % ls)
	# collapse repeats: one message per kind is enough
	return errs


def check_encoded_words(pid, name, value, errs):
	for m in ENCODED_WORD.finditer(value):
		word = m.group(0)
		if len(word) > MAX_EW:
			errs.append("part %s %s: encoded-word of %d chars (> %d): %s" %
				    (pid, name, len(word), MAX_EW, word[:40].decode()))
		cs = m.group(1).decode().split("*")[0]
		codec = codec_for_label(cs)
		if codec is None:
			errs.append("part %s %s: encoded-word charset %r is not a standard name" %
				    (pid, name, cs))
			continue
		payload = m.group(3)
		try:
			if m.group(2) in b"bB":
				raw = base64.b64decode(payload + b"=" * (-len(payload) % 4), validate=True)
			else:
				raw = qp_decode(payload.replace(b"_", b" "))
			raw.decode(codec)
		except (binascii.Error, ValueError, UnicodeDecodeError) as e:
			errs.append("part %s %s: encoded-word %s does not decode on its own "
				    "(split character?): %s" % (pid, name, word[:40].decode(), e))


def find_field(part, name, occurrence):
	n = 0
	for fname, raw in part.fields:
		if fname == name.lower():
			n += 1
			if n == occurrence:
				return raw
	return None


def check_headers(meta, iroot, oroot, errs):
	ip, op = parts_by_id(iroot), parts_by_id(oroot)
	for part in oroot.walk():
		for name, raw in part.fields:
			if any(b >= 0x80 for b in raw):
				errs.append("part %s: header %s still has raw 8-bit bytes" % (part.id, name))
				continue
			if b"\x1b" in raw:
				errs.append("part %s: header %s still has raw escape sequences" % (part.id, name))
				continue
			check_encoded_words(part.id, name, unfold(raw), errs)
	for h in meta["headers"]:
		part = op.get(h["part"])
		if part is None:
			continue
		raw = find_field(part, h["name"], h["occurrence"])
		where = "part %s %s" % (h["part"], h["name"])
		if raw is None:
			errs.append("%s: header gone from the output" % where)
			continue
		if any(b >= 0x80 for b in raw) or b"\x1b" in raw:
			continue	# reported above
		want = norm_text(h["text"])
		if h["kind"] in ("filename", "name"):
			got = part.msg.get_filename() if h["kind"] == "filename" else \
				part.msg.get_param("name")
			if isinstance(got, tuple):
				got = email.utils.collapse_rfc2231_value(got)
			if got is None or norm_text(got) != want:
				errs.append("%s: filename decodes to %r, expected %r" % (where, got, want))
			continue
		text, e = decode_header_text(unfold(raw))
		if e:
			errs.append("%s: %s" % (where, e))
			continue
		if h["kind"] == "address":
			name, addr = email.utils.parseaddr(text)
			if norm_text(ws(name)) != ws(want) or addr != h["address"]:
				errs.append("%s: decodes to %r, expected %r <%s>" %
					    (where, text, want, h["address"]))
		elif norm_text(ws(text)) != ws(want):
			errs.append("%s: decodes to %r, expected %r" % (where, text, want))
	# untouched header fields stay byte-identical
	for pid, ipart in ip.items():
		opart = op.get(pid)
		if opart is None:
			continue
		out_fields = [raw for _, raw in opart.fields]
		for name, raw in ipart.fields:
			if name in REPAIRABLE or any(b >= 0x80 for b in raw) or b"\x1b" in raw:
				continue	# raw 8-bit or escapes: the repair's target
			if raw not in out_fields:
				errs.append("part %s: header field %s changed or lost: %r" %
					    (pid, name, raw[:60]))
	if oroot.msg.get("content-type") is not None or \
			oroot.msg.get("content-transfer-encoding") is not None:
		if oroot.msg.get("mime-version") is None:
			errs.append("MIME headers present but no MIME-Version")


def check_text_part(meta, mp, ipart, opart, inp, out, errs):
	where = "part %s (%s)" % (mp["id"], mp["content_type"])
	if mp.get("segments") and meta["mode"] != "transcode":
		# paragraphs in several charsets: no one label is true, so the
		# only true output is the input, unlabelled
		if inp[ipart.start:ipart.body_end] != out[opart.start:opart.body_end]:
			errs.append("%s: text in %s changed outside Mode transcode" %
				    (where, " and ".join(sg["codec"] for sg in mp["segments"])))
		return
	dec, e = decode_body(opart, out)
	if e:
		errs.append("%s: %s" % (where, e))
		return
	label = opart.charset()
	want = norm_text(mp["text"])
	converted = meta["mode"] == "transcode" and (label or "").lower() == "utf-8" and \
		mp["content_type"] == "text/html" and \
		mp["verdict"] not in ("ok", "ascii", "skipped", ["ascii", "ok"])
	if converted:
		# converting HTML rewrites its <meta> charset: the text says what it now is
		want = META_CHARSET.sub(lambda m: m.group(1) + "utf-8", want)
	if label is None:
		if any(b >= 0x80 for b in dec) or b"\x1b" in dec:
			errs.append("%s: no charset label on non-ASCII text" % where)
			return
		label = "us-ascii"
	codec = codec_for_label(label)
	if codec is None:
		errs.append("%s: label %r is not a standard charset name" % (where, label))
		return
	try:
		got = dec.decode(codec)
	except UnicodeDecodeError as ex:
		errs.append("%s: bytes do not decode under its label %s: %s (correct: %s)" %
			    (where, label, ex, ", ".join(mp["correct_charsets"])))
		return
	if norm_text(got) != want:
		diff = next((i for i, (a, b) in enumerate(zip(norm_text(got), want)) if a != b),
			    min(len(got), len(want)))
		errs.append("%s: label %s decodes to different text (first difference at char %d:"
			    " %r vs %r); correct labels: %s" %
			    (where, label, diff, norm_text(got)[diff:diff + 12], want[diff:diff + 12],
			     ", ".join(mp["correct_charsets"]) or "none"))
	raw = out[opart.body_start:opart.body_end]
	if any(b >= 0x80 for b in raw) and opart.cte not in ("8bit", "binary"):
		errs.append("%s: 8-bit body declared %s" % (where, opart.cte or "7bit (no CTE)"))
	if meta["seven_bit"] and any(b >= 0x80 for b in raw):
		errs.append("%s: 8-bit bytes in 7-bit output mode" % where)
	repaired = mp["verdict"] not in ("ok", "ascii", "skipped", ["ascii", "ok"])
	if meta["mode"] == "transcode" and repaired and label.lower() != "utf-8":
		errs.append("%s: transcode mode but label is %s" % (where, label))
	if meta["mode"] == "label":
		idec, _ = decode_body(ipart, inp)
		if idec.replace(b"\r\n", b"\n") != dec.replace(b"\r\n", b"\n"):
			errs.append("%s: label mode changed the text's bytes" % where)
		iraw = inp[ipart.body_start:ipart.body_end]
		long_line = any(ce - ls > MAX_LINE for ls, ce, _ in
				split_lines(inp, ipart.body_start, ipart.body_end))
		if not meta["seven_bit"] and not long_line and iraw != raw:
			errs.append("%s: label mode re-encoded a body that needed no new "
				    "transfer encoding" % where)
	# every other Content-Type parameter survives the relabelling
	iparams = dict((k.lower(), v) for k, v in (ipart.msg.get_params() or [])[1:]
		       if k.lower() != "charset")
	oparams = dict((k.lower(), v) for k, v in (opart.msg.get_params() or [])[1:])
	for k, v in iparams.items():
		if k not in oparams or oparams[k] != v:
			errs.append("%s: Content-Type parameter %s=%s lost or changed" % (where, k, v))


def check_binary_part(mp, ipart, opart, inp, out, errs):
	import hashlib
	where = "part %s (%s)" % (mp["id"], mp["content_type"])
	dec, e = decode_body(opart, out)
	if e or hashlib.sha256(dec).hexdigest() != mp["sha256"]:
		errs.append("%s: decoded attachment bytes changed%s" % (where, ": " + e if e else ""))
	if out[opart.body_start:opart.body_end] != inp[ipart.body_start:ipart.body_end]:
		errs.append("%s: encoded attachment bytes changed" % where)


def check_case(meta, inp, out, again, report):
	errs = []
	if meta["mode"] == "report":
		# report mode diagnoses and may say so in the audit header, nothing else
		oroot = parse_message(out)
		pos, kept = 0, b""
		for name, raw in oroot.fields:
			if name != AUDIT_HEADER:
				kept += raw
			pos += len(raw)
		if kept + out[pos:] != inp:
			errs.append("report mode changed more than adding the %s header" % AUDIT_HEADER)
	elif meta["must_be_identical"]:
		if out != inp:
			errs.append("output differs from input (must be byte-identical): first "
				    "difference at offset %d" % next(
					(i for i, (a, b) in enumerate(zip(inp, out)) if a != b),
					min(len(inp), len(out))))
	else:
		iroot, oroot = parse_message(inp), parse_message(out)
		ip, op = parts_by_id(iroot), parts_by_id(oroot)
		for mp in meta["parts"]:
			opart = op.get(mp["id"])
			if opart is None:
				errs.append("part %s (%s) missing from the output" %
					    (mp["id"], mp["content_type"]))
				continue
			if opart.content_type != mp["content_type"]:
				errs.append("part %s: content type %s, expected %s" %
					    (mp["id"], opart.content_type, mp["content_type"]))
				continue
			if mp["kind"] == "text":
				check_text_part(meta, mp, ip[mp["id"]], opart, inp, out, errs)
			elif mp["kind"] == "binary":
				check_binary_part(mp, ip[mp["id"]], opart, inp, out, errs)
		if len(op) != len(ip):
			errs.append("output has %d parts, input %d" % (len(op), len(ip)))
		check_headers(meta, iroot, oroot, errs)
		line_errs = check_lines(meta, inp, out, oroot, [])
		if line_errs:
			errs.append(line_errs[0] + (" (and %d more line problems)" % (len(line_errs) - 1)
						    if len(line_errs) > 1 else ""))
	if again is not None and again != out:
		errs.append("not idempotent: repairing the output changes it again")
	if report is not None:
		errs += check_report(meta, report)
	return errs
