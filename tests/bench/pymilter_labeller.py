#!/usr/bin/python3
# pymilter_labeller.py -- the benchmark's pymilter peer (Debian python3-milter):
# the same labelling job codepage-milter does in its default mode, done the
# way a quick pymilter script would.
#
# Usage: pymilter_labeller.py SOCKET        (unix:/path or inet:PORT@HOST)
#
# Every leaf text/* part without a charset parameter whose bytes include
# 8-bit gets charset=windows-1252:
#   - single-part message: the top-level Content-Type is changed (chgheader)
#     or added (addheader, with MIME-Version when missing); the body is not
#     touched;
#   - multipart: the body is parsed with the standard email package, the
#     parts are relabelled and the body is regenerated (replacebody).
# Messages without 8-bit bytes are accepted without parsing.  Header and body
# callbacks are @noreply (fewest round trips, as codepage-milter negotiates).
# No detection: the peer does less work than codepage-milter, never more.
import sys
import email
import email.generator
import email.policy
import io

import Milter

CHARSET = "windows-1252"
POLICY = email.policy.compat32.clone(linesep="\r\n")


def has_8bit(b):
	return any(c >= 0x80 for c in b) if len(b) < 64 else max(b) >= 0x80


class Labeller(Milter.Base):
	def __init__(self):
		self.headers = []
		self.chunks = []

	@Milter.noreply
	def connect(self, hostname, family, hostaddr):
		return Milter.CONTINUE

	@Milter.noreply
	def hello(self, hostname):
		return Milter.CONTINUE

	def envfrom(self, mailfrom, *esmtp):
		self.headers = []
		self.chunks = []
		return Milter.CONTINUE

	@Milter.noreply
	def header(self, name, value):
		self.headers.append((name, value))
		return Milter.CONTINUE

	@Milter.noreply
	def eoh(self):
		return Milter.CONTINUE

	@Milter.noreply
	def body(self, chunk):
		self.chunks.append(chunk)
		return Milter.CONTINUE

	def eom(self):
		body = b"".join(self.chunks)
		self.chunks = []
		if not has_8bit(body):
			return Milter.ACCEPT
		ct = None
		for name, value in self.headers:
			if name.lower() == "content-type":
				ct = value
		if ct is None:
			self.addheader("Content-Type", "text/plain; charset=\"%s\"" % CHARSET)
			if not any(n.lower() == "mime-version" for n, _ in self.headers):
				self.addheader("MIME-Version", "1.0")
			return Milter.ACCEPT
		ctl = ct.strip().lower()
		if ctl.startswith("text/"):
			if "charset" not in ctl:
				self.chgheader("Content-Type", 1, ct.strip() + "; charset=\"%s\"" % CHARSET)
			return Milter.ACCEPT
		if not ctl.startswith("multipart/"):
			return Milter.ACCEPT
		head = "".join("%s: %s\r\n" % (n, v.strip()) for n, v in self.headers
			       if n.lower() in ("content-type", "mime-version", "content-transfer-encoding"))
		msg = email.message_from_bytes(head.encode("utf-8", "surrogateescape") + b"\r\n" + body,
					       policy=POLICY)
		changed = False
		for part in msg.walk():
			if part.is_multipart() or part.get_content_maintype() != "text":
				continue
			if part.get_param("charset") is not None:
				continue
			payload = part.get_payload(decode=True) or b""
			if has_8bit(payload):
				part.set_param("charset", CHARSET)
				changed = True
		if changed:
			out = io.BytesIO()
			email.generator.BytesGenerator(out, mangle_from_=False, policy=POLICY).flatten(msg)
			data = out.getvalue()
			sep = data.find(b"\r\n\r\n")
			newbody = data[sep + 4:] if sep >= 0 else data
			for i in range(0, len(newbody), 65535):
				self.replacebody(newbody[i:i + 65535])
		return Milter.ACCEPT


def main():
	if len(sys.argv) != 2:
		sys.stderr.write("usage: pymilter_labeller.py SOCKET\n")
		return 2
	Milter.factory = Labeller
	Milter.set_flags(Milter.CHGHDRS | Milter.ADDHDRS | Milter.CHGBODY)
	Milter.runmilter("pymilter-labeller", sys.argv[1], 240)
	return 0


if __name__ == "__main__":
	sys.exit(main())
