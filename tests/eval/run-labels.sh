#!/bin/sh
# run-labels.sh -- the declared-label evaluation as a `make check` test: true
# labels must get no edit, lying single-byte labels and UTF-8 under iso-8859-1
# must be repaired, and every label written must decode under glibc (see
# tests/eval/labels.c).  Runs from the build directory; $srcdir from automake.
srcdir=${srcdir:-.}
# Both corpora: the gettext catalogs and, out of kind, the translated manual
# pages (which also hold the Nordic languages the catalogs lack).
tests/eval/labels -c -r tests/eval/labels-report.md "$srcdir/tests/eval/corpus" || exit 1
exec tests/eval/labels -c -r tests/eval/labels-prose-report.md "$srcdir/tests/eval/prose"
