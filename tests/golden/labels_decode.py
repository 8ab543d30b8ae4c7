#!/usr/bin/env python3
# labels_decode.py -- every charset label codepage-milter writes decodes its
# text under glibc iconv and under Python's codecs by exactly that name.
#
# Usage: labels_decode.py [--bin PATH] [-v] CASEDIR
#
# For every golden case (CASEDIR/*/input.eml, with the case's conf if any) it
# runs `codepage-milter -t`, then walks input and output side by side:
#   - a leaf part whose charset= parameter differs from the input's (the
#     engine wrote it): the part's body, transfer encoding undone, must
#     decode under `iconv -f LABEL` (glibc, the very name) and, when Python
#     knows the name, under bytes.decode(LABEL) -- Python's codecs are
#     strict where glibc passes stray bytes through as C1 controls (EUC-KR);
#     a name Python does not know (windows-31j) is listed, not failed;
#   - an RFC 2047 encoded-word or RFC 2231 parameter in a header field the
#     engine changed: its bytes under its charset, the same two ways.
# Transcoded parts (utf-8 written on text that was not) are checked the same
# way: the label must decode what is there now.
# Last line "N passed, N failed"; exit 1 on any failure.

import email
import email.policy
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import base64
import quopri

TIMEOUT = 60
EW = re.compile(rb"=\?([^?*\s]+)(?:\*[^?]*)?\?([bBqQ])\?([^?\s]*)\?=")
EXT = re.compile(rb"\*=\s*\"?([A-Za-z0-9_.:+-]+)'[^']*'([^\s;\"]*)")


def glibc_decodes(label, data):
	"""True when glibc's iconv decodes data under exactly this name, and
	(for a name glibc maps to a multi-byte converter) the result holds no
	C1 control a stray byte was passed through as."""
	try:
		p = subprocess.run(["iconv", "-f", label, "-t", "UTF-8"], input=data,
				   capture_output=True, timeout=TIMEOUT)
	except (OSError, subprocess.TimeoutExpired):
		return False
	if p.returncode != 0:
		return False
	c1 = re.search(rb"\xc2[\x80-\x9f]", p.stdout) is not None
	return not (c1 and not single_byte(label))


def single_byte(label):
	try:
		return len("\u20ac\u0439\u00e9".encode(label, "replace")) == 3
	except LookupError:
		return False


def python_decodes(label, data):
	"""True/False, or None when Python has no codec of that name."""
	try:
		data.decode(label)
		return True
	except LookupError:
		return None
	except (UnicodeDecodeError, ValueError):
		return False


def leaves(msg):
	return [p for p in msg.walk() if not p.is_multipart()]


def check_bytes(where, label, data, notes):
	"""List of failure messages for data under label."""
	out = []
	if not glibc_decodes(label, data):
		out.append("%s: glibc iconv -f %s fails on the %d bytes" % (where, label, len(data)))
	py = python_decodes(label, data)
	if py is None:
		notes.add(label)
	elif not py:
		out.append("%s: Python's %s codec fails on the %d bytes" % (where, label, len(data)))
	return out


def header_fields(raw):
	"""The top-level and every part's raw header fields (unfolded bytes)."""
	fields = []
	for block in re.split(rb"\r?\n\r?\n", raw):
		for m in re.finditer(rb"^([!-9;-~]+):((?:.*)(?:\r?\n[ \t].*)*)", block, re.M):
			fields.append(m.group(0))
	return fields


def ew_bytes(enc, text):
	if enc in (b"b", b"B"):
		return base64.b64decode(text + b"=" * (-len(text) % 4))
	return quopri.decodestring(text.replace(b"_", b" "), header=True)


def check_headers(inp, out, notes):
	fails, seen = [], set(header_fields(inp))
	for f in header_fields(out):
		if f in seen:
			continue
		for m in EW.finditer(f):
			label = m.group(1).decode("ascii")
			try:
				data = ew_bytes(m.group(2), m.group(3))
			except Exception as e:	# a broken word we wrote is a failure
				fails.append("encoded-word %r: %s" % (m.group(0)[:60], e))
				continue
			fails += check_bytes("encoded-word %s" % label, label, data, notes)
		for m in EXT.finditer(f):
			label = m.group(1).decode("ascii")
			data = urllib.parse.unquote_to_bytes(m.group(2).decode("ascii", "replace"))
			if re.search(rb"\*0\*=", f) and not m.group(0).startswith(b"*="):
				continue	# a continued parameter: its first section alone may cut a character
			fails += check_bytes("RFC 2231 %s" % label, label, data, notes)
	return fails


def check_parts(inp, out, notes):
	pol = email.policy.compat32
	a = leaves(email.message_from_bytes(inp, policy=pol))
	b = leaves(email.message_from_bytes(out, policy=pol))
	if len(a) != len(b):
		return ["output has %d leaf parts, input %d" % (len(b), len(a))], 0
	fails, written = [], 0
	for i, (pa, pb) in enumerate(zip(a, b)):
		la, lb = pa.get_param("charset"), pb.get_param("charset")
		if lb is None or (la is not None and str(la).strip().lower() == str(lb).strip().lower()):
			continue
		written += 1
		data = pb.get_payload(decode=True) or b""
		fails += check_bytes("part %d charset=%s" % (i + 1, lb), str(lb), data, notes)
	return fails, written


def run_case(binary, d, notes):
	inp_path = os.path.join(d, "input.eml")
	conf = os.path.join(d, "conf")
	cmd = [binary] + (["-c", conf] if os.path.exists(conf) else []) + ["-t", inp_path]
	p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
	if p.returncode != 0:
		return ["-t exited %d" % p.returncode], 0
	with open(inp_path, "rb") as f:
		inp = f.read()
	fails, written = check_parts(inp, p.stdout, notes)
	return fails + check_headers(inp, p.stdout, notes), written


def main(argv):
	binary, verbose, dirs = "./codepage-milter", False, []
	i = 1
	while i < len(argv):
		if argv[i] == "--bin":
			i += 1
			binary = argv[i]
		elif argv[i] == "-v":
			verbose = True
		else:
			dirs.append(argv[i])
		i += 1
	if len(dirs) != 1:
		sys.stderr.write("usage: labels_decode.py [--bin PATH] [-v] CASEDIR\n")
		return 2
	passed = failed = written = 0
	notes = set()
	for n in sorted(os.listdir(dirs[0])):
		d = os.path.join(dirs[0], n)
		if not os.path.exists(os.path.join(d, "input.eml")):
			continue
		fails, w = run_case(os.path.abspath(binary), d, notes)
		written += w
		if fails:
			failed += 1
			print("FAIL %s" % n)
			for m in fails:
				print("    " + m)
		else:
			passed += 1
			if verbose:
				print("PASS %s (%d labels written)" % (n, w))
	print("%d part labels written and checked" % written)
	if notes:
		print("names Python's codecs do not know (glibc checked alone): " + ", ".join(sorted(notes)))
	print("%d passed, %d failed" % (passed, failed))
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main(sys.argv))
