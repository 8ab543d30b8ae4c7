#!/bin/sh
# check-conf-keys.sh -- the configuration keys the parser accepts must be
# exactly the keys documented in codepage-milter.conf(5) and listed in the
# example configuration file.
#
# It also checks that the defaults agree: for every key that has one, the
# value shown in the example file and the "Default:" of the manual page equal
# conf_keys[]'s default text; and that the example file with every key line
# uncommented is a valid configuration (codepage-milter -n), and that the
# manual pages render without groff warnings.
#
# Usage: check-conf-keys.sh [KEYS-PROGRAM MANPAGE EXAMPLE-CONF [DAEMON]]
# Without arguments (as run by "make check" from the build directory) it uses
# packaging/tests/print_conf_keys and codepage-milter from the build tree and
# the two files from $srcdir.  The arguments exist so that the test can be
# shown to fail on doctored copies.
#
# Where the names come from:
#   parser   print_conf_keys prints conf_keys[] (plugin/conf.c), first column;
#   manual   in the KEYS section, the first word of the line after each .TP;
#   example  lines "#Key value" (one "#", no space: a commented-out key);
#            explanations start with "##".
# Defaults in the manual: inside a key's .TP entry, the line after a line
# "Default:" (".BR value ." or ".IR value .").
set -eu

srcdir=${srcdir:-.}
keys_program=${1:-./packaging/tests/print_conf_keys}
manpage=${2:-$srcdir/packaging/man/codepage-milter.conf.5}
example=${3:-$srcdir/packaging/codepage-milter.conf}
daemon=${4:-./codepage-milter}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-conf-keys.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$keys_program" >"$tmp/parser.raw"
cut -f1 "$tmp/parser.raw" | sort >"$tmp/parser"

awk '
	/^\.SH/ { in_keys = ($0 ~ /^\.SH "?KEYS"?[[:space:]]*$/); next }
	in_keys && after_tp {
		line = $0
		sub(/^\.[A-Z]+[[:space:]]+/, "", line)
		gsub(/"/, "", line)
		split(line, word, /[[:space:]]+/)
		print word[1]
	}
	{ after_tp = in_keys && ($0 ~ /^\.TP/) }
' "$manpage" | sort >"$tmp/manual"

sed -n 's/^#\([A-Za-z][A-Za-z0-9]*\)\([[:space:]].*\)\{0,1\}$/\1/p' "$example" \
	| sort -u >"$tmp/example"

status=0
for list in parser manual example; do
	if [ ! -s "$tmp/$list" ]; then
		echo "FAIL: no keys found in the $list list" >&2
		status=1
	fi
done
dups=$(uniq -d "$tmp/parser")
if [ -n "$dups" ]; then
	echo "FAIL: keys twice in conf_keys[]: $dups" >&2
	status=1
fi
dups=$(uniq -d "$tmp/manual")
if [ -n "$dups" ]; then
	echo "FAIL: keys described twice in $manpage: $dups" >&2
	status=1
fi
sort -u "$tmp/parser" >"$tmp/parser.u"
sort -u "$tmp/manual" >"$tmp/manual.u"

compare() {	# compare NAME-A FILE-A NAME-B FILE-B
	missing=$(comm -23 "$2" "$4")
	extra=$(comm -13 "$2" "$4")
	if [ -n "$missing" ]; then
		echo "FAIL: in the $1 but not in the $3:" $missing >&2
		status=1
	fi
	if [ -n "$extra" ]; then
		echo "FAIL: in the $3 but not in the $1:" $extra >&2
		status=1
	fi
}
compare "parser (conf_keys[])" "$tmp/parser.u" "manual page $manpage" "$tmp/manual.u"
compare "parser (conf_keys[])" "$tmp/parser.u" "example config $example" "$tmp/example"

# ---- defaults ------------------------------------------------------------
# parser: "Key<TAB>default" for keys with a default
awk -F '\t' '$2 != "" { print $1 "\t" $2 }' "$tmp/parser.raw" | sort >"$tmp/parser.defaults"
# manual: the same from the KEYS section; roff escapes \- and \(ti undone
awk '
	/^\.SH/ { in_keys = ($0 ~ /^\.SH "?KEYS"?[[:space:]]*$/); next }
	!in_keys { next }
	after_tp {
		line = $0
		sub(/^\.[A-Z]+[[:space:]]+/, "", line)
		gsub(/"/, "", line)
		split(line, word, /[[:space:]]+/)
		key = word[1]
	}
	after_default && key != "" {
		line = $0
		if (line ~ /^\.(BR|IR|B|I)[[:space:]]/) {
			sub(/^\.[A-Z]+[[:space:]]+/, "", line)
			sub(/[[:space:]]+[.,;]$/, "", line)
			gsub(/"/, "", line)
			gsub(/\\-/, "-", line)
			print key "\t" line
		}
	}
	{ after_tp = ($0 ~ /^\.TP/); after_default = ($0 ~ /^Default:[[:space:]]*$/) }
' "$manpage" | sort >"$tmp/manual.defaults"
# example: "#Key   value" lines of single keys
sed -n 's/^#\([A-Za-z][A-Za-z0-9]*\)[[:space:]][[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1\t\2/p' \
	"$example" | sort >"$tmp/example.values"

check_defaults() {	# check_defaults WHERE FILE
	while IFS="$(printf '\t')" read -r key want; do
		got=$(awk -F '\t' -v k="$key" '$1 == k { print $2; exit }' "$2")
		if [ "$got" != "$want" ]; then
			echo "FAIL: default of $key is \"$want\" in conf_keys[] but \"$got\" in the $1" >&2
			status=1
		fi
	done <"$tmp/parser.defaults"
}
check_defaults "manual page $manpage" "$tmp/manual.defaults"
check_defaults "example config $example" "$tmp/example.values"

# ---- the example, uncommented, must be a valid configuration ----------------
sed 's/^#\([A-Za-z]\)/\1/' "$example" >"$tmp/uncommented.conf"
if ! "$daemon" -n -c "$tmp/uncommented.conf" >"$tmp/n.out" 2>&1; then
	echo "FAIL: the example config with its key lines uncommented is rejected:" >&2
	cat "$tmp/n.out" >&2
	status=1
fi

# ---- both manual pages render without warnings ----------------------------
if command -v groff >/dev/null; then
	for page in "$manpage" "$(dirname "$manpage")/codepage-milter.8"; do
		[ -f "$page" ] || continue
		if ! groff -man -Tutf8 -ww -z "$page" >"$tmp/groff.out" 2>&1 || [ -s "$tmp/groff.out" ]; then
			echo "FAIL: $page renders with warnings:" >&2
			cat "$tmp/groff.out" >&2
			status=1
		fi
	done
else
	echo "note: groff not installed, manual pages not rendered"
fi

n=$(wc -l <"$tmp/parser.u")
if [ "$status" -eq 0 ]; then
	echo "ok: $n keys and their defaults agree between conf_keys[], $manpage and $example;"
	echo "ok: the example with every key uncommented passes codepage-milter -n"
	echo "ok: the manual pages render without groff warnings"
fi
exit "$status"
