#!/usr/bin/env python3
# run.py -- the golden-file suite: run codepage-milter on every case, check
# the invariants (check.py), then compare with the committed golden files.
#
# Usage: run.py [--bin PATH] [--cases DIR] [--update] [--keep DIR] [-v] [NAME...]
#   --bin     the codepage-milter binary (default $CPM_BIN, else ./codepage-milter)
#   --cases   case directory (default: cases/ next to this script)
#   --update  (re)write expected.eml and expected-report.txt, but ONLY for cases
#             whose invariants hold: a golden file can never record a wrong repair
#   --keep    write every case's actual output and report under DIR
#   NAME...   only these cases
#
# Per case: `codepage-milter [-c conf] -t input.eml` (the repair), `-t` again on
# that output (idempotence) and `-x input.eml` (the report).  A case passes when
# both commands exit 0, every invariant holds and the output equals expected.eml
# and the report equals expected-report.txt except in its confidence and reason
# columns (detector scores; they are recorded but not compared).  The generator is checked too: the
# committed inputs must be exactly what gen.py produces.  Last line of output:
# "N passed, N failed"; exit status 1 on any failure.

import difflib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402
import gen  # noqa: E402

TIMEOUT = 60


def run_cli(binary, flag, conf, data):
	"""(exit status, stdout bytes, stderr text) of binary [-c conf] flag FILE,
	FILE holding data."""
	with tempfile.NamedTemporaryFile(prefix="cpm-golden.", suffix=".eml") as f:
		f.write(data)
		f.flush()
		return run_file(binary, flag, conf, f.name)


def run_file(binary, flag, conf, path):
	cmd = [binary]
	if conf:
		cmd += ["-c", conf]
	cmd += [flag, path]
	try:
		p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
				   timeout=TIMEOUT)
	except subprocess.TimeoutExpired:
		return -1, b"", "timed out after %d s" % TIMEOUT
	except OSError as e:
		return -1, b"", str(e)
	return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def show_diff(label, want, got, limit=40):
	a = want.decode("utf-8", "backslashreplace").splitlines(keepends=True)
	b = got.decode("utf-8", "backslashreplace").splitlines(keepends=True)
	lines = list(difflib.unified_diff(a, b, "expected/" + label, "actual/" + label))
	out = "".join(lines[:limit])
	if len(lines) > limit:
		out += "... (%d more diff lines)\n" % (len(lines) - limit)
	return out


def report_key(rep):
	"""The report without its confidence and reason columns: those carry
	detector scores that move with every model tweak.  Verdict, chosen
	charset and action changes still show.  Column positions come from the
	table's own title line; without one the whole text is compared."""
	text = rep.decode("utf-8", "replace")
	lines = text.splitlines(keepends=True)
	if not lines or " conf " not in lines[0] or " reason" not in lines[0]:
		return rep
	title = lines[0]
	cs, rs = title.index(" conf ") + 1, title.index(" reason") + 1
	ce = cs + len("conf")
	out = []
	for ln in lines:
		if len(ln) > rs and ln[:1].isdigit():
			ln = ln[:max(0, ce - 6)] + "      " + ln[ce:rs].rstrip() + "\n"
		out.append(ln)
	return "".join(out).encode()


def read(path):
	with open(path, "rb") as f:
		return f.read()


def run_case(binary, d, update, keep):
	"""(ok, [messages])."""
	with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
		meta = json.load(f)
	inp = read(os.path.join(d, "input.eml"))
	conf = os.path.join(d, "conf")
	conf = conf if os.path.exists(conf) else None
	msgs = []
	st, out, err = run_file(binary, "-t", conf, os.path.join(d, "input.eml"))
	if st != 0:
		return False, ["-t exited %d: %s" % (st, err.strip()[:500])]
	st, again, err = run_cli(binary, "-t", conf, out)
	if st != 0:
		msgs.append("-t on the output exited %d: %s" % (st, err.strip()[:300]))
		again = None
	st, rep, err = run_file(binary, "-x", conf, os.path.join(d, "input.eml"))
	if st != 0:
		msgs.append("-x exited %d: %s" % (st, err.strip()[:300]))
		rep = None
	report = rep.decode("utf-8", "replace") if rep is not None else None
	if keep:
		kd = os.path.join(keep, meta["name"])
		os.makedirs(kd, exist_ok=True)
		with open(os.path.join(kd, "output.eml"), "wb") as f:
			f.write(out)
		if rep is not None:
			with open(os.path.join(kd, "report.txt"), "wb") as f:
				f.write(rep)
	try:
		msgs += check.check_case(meta, inp, out, again, report)
	except Exception as e:	# a checker crash is a failure, never a pass
		msgs.append("checker raised %s: %s" % (type(e).__name__, e))
	if msgs:
		return False, msgs
	exp_eml = os.path.join(d, "expected.eml")
	exp_rep = os.path.join(d, "expected-report.txt")
	if update:
		for path, data in ((exp_eml, out), (exp_rep, rep)):
			if not os.path.exists(path) or read(path) != data:
				with open(path, "wb") as f:
					f.write(data)
				msgs.append("updated " + os.path.basename(path))
		return True, msgs
	if not os.path.exists(exp_eml) or not os.path.exists(exp_rep):
		return False, ["invariants hold but no golden files yet (run.py --update)"]
	ok = True
	if read(exp_eml) != out:
		ok = False
		msgs.append("output differs from expected.eml:\n" + show_diff("expected.eml",
								read(exp_eml), out))
	if report_key(read(exp_rep)) != report_key(rep):
		ok = False
		msgs.append("report differs from expected-report.txt (confidence and reason "
			    "not compared):\n" + show_diff("expected-report.txt",
							     report_key(read(exp_rep)), report_key(rep)))
	return ok, msgs


def main(argv):
	binary = os.environ.get("CPM_BIN", "./codepage-milter")
	casedir = os.path.join(HERE, "cases")
	update, keep, verbose, names = False, None, False, []
	i = 1
	while i < len(argv):
		a = argv[i]
		if a == "--bin":
			i += 1
			binary = argv[i]
		elif a == "--cases":
			i += 1
			casedir = argv[i]
		elif a == "--keep":
			i += 1
			keep = argv[i]
		elif a == "--update":
			update = True
		elif a == "-v":
			verbose = True
		elif a.startswith("-"):
			sys.stderr.write("usage: run.py [--bin PATH] [--cases DIR] "
					 "[--update] [--keep DIR] [-v] [NAME...]\n")
			return 2
		else:
			names.append(a)
		i += 1
	if not os.access(binary, os.X_OK):
		sys.stderr.write("run.py: no executable codepage-milter at %s (set CPM_BIN or "
				 "--bin)\n" % binary)
		return 1
	binary = os.path.abspath(binary)
	all_names = sorted(n for n in os.listdir(casedir)
			   if os.path.exists(os.path.join(casedir, n, "meta.json")))
	todo = names or all_names
	passed = failed = 0
	failures = []
	if not names:
		if gen.check_committed(casedir):
			passed += 1
			print("PASS gen.py reproduces the committed cases")
		else:
			failed += 1
			failures.append("gen.py")
			print("FAIL gen.py: committed cases are not what gen.py generates")
	for n in todo:
		d = os.path.join(casedir, n)
		if not os.path.isdir(d):
			print("FAIL %s: no such case" % n)
			failed += 1
			continue
		ok, msgs = run_case(binary, d, update, keep)
		if ok:
			passed += 1
			print("PASS %s" % n)
		else:
			failed += 1
			failures.append(n)
			print("FAIL %s" % n)
		if msgs and (not ok or verbose or update):
			for m in msgs:
				print("    " + m.rstrip().replace("\n", "\n    "))
	if failures:
		print("failed: " + " ".join(failures))
	print("%d passed, %d failed" % (passed, failed))
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main(sys.argv))
