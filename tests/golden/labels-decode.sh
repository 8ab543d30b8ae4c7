#!/bin/sh
# labels-decode.sh -- `make check` entry: every charset label that
# codepage-milter -t writes on the golden cases decodes its part under glibc
# iconv and Python's codecs by exactly that name (labels_decode.py).
top_srcdir=${srcdir:-$(dirname "$0")/../..}
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
exec python3 "$top_srcdir/tests/golden/labels_decode.py" --bin "${CPM_BIN:-./codepage-milter}" \
	"$top_srcdir/tests/golden/cases"
