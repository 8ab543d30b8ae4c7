#!/bin/sh
# run-headers.sh -- the header evaluation as a `make check` test: raw 8-bit
# Subject and From text in another charset than the body's (and the control
# rows in the same one) must come out decoding to the original text, and
# each single-byte family's charsets against each other (--families)
# (tests/eval/headers.py; the full table is in tests/eval/REPORT.md).
# Runs from the build directory; $srcdir from automake.
srcdir=${srcdir:-.}
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
python3 "$srcdir/tests/eval/headers.py" -n 20 --floor 95 -r tests/eval/headers-report.md \
	"${CPM_BIN:-./codepage-milter}" "$srcdir/tests/eval" || exit 1
exec python3 "$srcdir/tests/eval/headers.py" --families -n 4 --floor 90 -r tests/eval/headers-families-report.md \
	"${CPM_BIN:-./codepage-milter}" "$srcdir/tests/eval"
