#!/bin/sh
# run-mixed.sh -- the mixed-charset body evaluation as a `make check` test:
# unlabelled bodies whose paragraphs are in two charsets must be said `mixed`
# and transcoded to the original text, and no body in one charset may ever be
# split (tests/eval/mixed.py; the full table is in tests/eval/REPORT.md).
# Runs from the build directory; $srcdir from automake.
srcdir=${srcdir:-.}
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
exec python3 "$srcdir/tests/eval/mixed.py" -n 8 --floor 75 -r tests/eval/mixed-report.md \
	"${CPM_BIN:-./codepage-milter}" "$srcdir/tests/eval"
