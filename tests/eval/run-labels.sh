#!/bin/sh
# run-labels.sh -- the declared-label evaluation as a `make check` test: true
# labels must get no edit, lying single-byte labels and UTF-8 under iso-8859-1
# must be repaired, and every label written must decode under glibc (see
# tests/eval/labels.c).  Runs from the build directory; $srcdir from automake.
srcdir=${srcdir:-.}
exec tests/eval/labels -c -r tests/eval/labels-report.md "$srcdir/tests/eval/corpus"
