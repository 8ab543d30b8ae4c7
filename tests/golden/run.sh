#!/bin/sh
# run.sh -- `make check` entry for the golden-file suite.
#
# automake runs tests from the top build directory and exports srcdir (the top
# source directory), so the binary under test is ./codepage-milter unless
# CPM_BIN names another one; the cases and scripts are read from the source
# tree and nothing is written there.  Runs the checker's self-test first (it
# proves the checker rejects wrong repairs), then the cases (run.py).
# Exit 77 (skipped) only when python3 is not installed.
top_srcdir=${srcdir:-$(dirname "$0")/../..}
dir=$top_srcdir/tests/golden
CPM_BIN=${CPM_BIN:-./codepage-milter}
export CPM_BIN
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
# No .pyc files in the (possibly read-only) source tree.
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
python3 "$dir/selftest.py" --cases "$dir/cases" || exit 1
exec python3 "$dir/run.py" --cases "$dir/cases" "$@"
