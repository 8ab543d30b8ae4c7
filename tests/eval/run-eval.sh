#!/bin/sh
# run-eval.sh -- the detection evaluation as a `make check` test: builds the
# samples from the committed corpus, runs the cascade and plain uchardet, and
# fails when the cascade drops below its targets (see tests/eval/README.md).
# Runs from the build directory; automake's test driver sets $srcdir.
srcdir=${srcdir:-.}
report=tests/eval/eval-report.md
exec tests/eval/eval -c -r "$report" "$srcdir/tests/eval"
