#!/usr/bin/python3
# smtp_submit.py -- parallel SMTP submitter for the Postfix benchmark.
#
# Usage: smtp_submit.py --port N [--jobs J] [--per-session K] [--repeat R] FILE...
#
# J worker processes share the message list (R times over) and submit each
# message to 127.0.0.1:N with Python's smtplib: line ends become CRLF and
# lines are dot-stuffed (smtplib does both), 8-bit bytes are kept, and
# BODY=8BITMIME is given when the server offers it.  K messages per SMTP
# session (default 1: one session per message, like a relaying MTA that has
# one message for a destination).
#
# Prints: "submitted=N failed=F seconds=S msgs_per_s=X cpu_pct=C" where
# cpu_pct is the submitters' own CPU time over wall time x cores, so a run
# where the submitter, not Postfix, is the limit shows it.
import argparse
import multiprocessing
import os
import smtplib
import sys
import time


def worker(args):
	port, files, per_session = args
	ok = failed = 0
	i = 0
	while i < len(files):
		batch = files[i:i + per_session]
		i += per_session
		try:
			with smtplib.SMTP("127.0.0.1", port, timeout=300) as s:
				s.ehlo("bench-client.example.test")
				opts = ["BODY=8BITMIME"] if s.has_extn("8bitmime") else []
				for f in batch:
					with open(f, "rb") as fh:
						data = fh.read()
					try:
						s.sendmail("bench-sender@example.test", ["bench-rcpt@example.test"],
							   data, mail_options=opts)
						ok += 1
					except smtplib.SMTPException:
						failed += 1
		except (OSError, smtplib.SMTPException):
			failed += len(batch)
	return ok, failed


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--port", type=int, required=True)
	ap.add_argument("--jobs", type=int, default=8)
	ap.add_argument("--per-session", type=int, default=1)
	ap.add_argument("--repeat", type=int, default=1)
	ap.add_argument("files", nargs="+")
	a = ap.parse_args()
	files = sorted(a.files) * a.repeat
	shares = [(a.port, files[j::a.jobs], a.per_session) for j in range(a.jobs)]
	t0 = time.monotonic()
	c0 = os.times()
	with multiprocessing.Pool(a.jobs) as pool:
		results = pool.map(worker, shares)
	elapsed = time.monotonic() - t0
	c1 = os.times()
	cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system) + \
		(c1.user - c0.user) + (c1.system - c0.system)
	ok = sum(r[0] for r in results)
	failed = sum(r[1] for r in results)
	print("submitted=%d failed=%d seconds=%.3f msgs_per_s=%.1f cpu_pct=%.0f" %
	      (ok, failed, elapsed, ok / elapsed, 100 * cpu / elapsed / (os.cpu_count() or 1)))
	return 0 if failed == 0 else 1


if __name__ == "__main__":
	sys.exit(main())
