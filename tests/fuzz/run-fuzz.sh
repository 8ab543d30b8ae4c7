#!/bin/sh
# run-fuzz.sh -- run libFuzzer targets for a while, each over a work corpus
# seeded from the tree.
#
#   run-fuzz.sh -d BINDIR -s SRCDIR/tests/fuzz -w WORKDIR -t SECONDS [-x 'LIBFUZZER ARGS'] TARGET...
#
# -x passes extra libFuzzer flags, e.g. -x '-fork=1 -ignore_crashes=1' for
# long runs that should go on collecting crashes after the first one.
#
# For each TARGET: WORKDIR/TARGET/ collects new inputs (the seed corpus and
# regress/TARGET/ are read, never written); crashes land in
# WORKDIR/crash-TARGET-*.  The time used is appended to WORKDIR/hours.log so
# the total fuzzing time per target can be reported honestly.  Exit status
# non-zero when any target found a crash.
set -u
bindir=tests/fuzz; src=$(dirname "$0"); work=fuzz-work; secs=60; extra=
while getopts d:s:w:t:x: opt; do
	case $opt in
	d) bindir=$OPTARG ;;
	s) src=$OPTARG ;;
	w) work=$OPTARG ;;
	t) secs=$OPTARG ;;
	x) extra=$OPTARG ;;
	*) echo "usage: $0 -d BINDIR -s SRCDIR -w WORKDIR -t SECONDS TARGET..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- engine rfc2047 conf
# The same for addresses: the comparison tracer records the operands of
# every compare, pointers too, and feeds them back as dictionary words, so
# with address-space randomisation no two runs agree past the first few
# thousand inputs.  Where setarch may switch it off for the fuzzer, it does.
# -reload=0 below: nothing else writes to the work corpus during a run, and
# re-reading it on a wall-clock timer would make the run depend on speed.
norandom=
setarch "$(uname -m)" -R true 2>/dev/null && norandom="setarch $(uname -m) -R"
status=0
for t in "$@"; do
	mkdir -p "$work/$t"
	case $t in
	engine) maxlen=65536 ;;
	*) maxlen=8192 ;;
	esac
	# The seeds go in as one list sorted by name, not as directories:
	# libFuzzer would read a directory in readdir order, which differs from
	# one file system to the next, and with it the whole run even under a
	# fixed -seed.  Sorted, a seeded run walks the same inputs on every
	# machine, so what the CI's smoke finds, a developer's run finds too.
	seeds="$work/$t.seeds"
	find "$src/corpus/$t" "$src/regress/$t" -type f 2>/dev/null | LC_ALL=C sort | paste -s -d , - >"$seeds"
	start=$(date +%s)
	# shellcheck disable=SC2086
	$norandom "$bindir/fuzz_$t" -max_total_time="$secs" -max_len=$maxlen -timeout=25 -rss_limit_mb=2048 -reload=0 \
		-print_final_stats=1 -artifact_prefix="$work/crash-$t-" -seed_inputs=@"$seeds" $extra "$work/$t" \
		>"$work/$t.log" 2>&1
	rc=$?
	end=$(date +%s)
	echo "$t $start $end $((end - start)) rc=$rc" >>"$work/hours.log"
	tail -n 12 "$work/$t.log" | grep -E 'stat::|Done|ERROR|SUMMARY|INVARIANT' || true
	if [ $rc -ne 0 ]; then
		echo "fuzz_$t: FAILED (rc=$rc), see $work/$t.log and $work/crash-$t-*" >&2
		status=1
	else
		echo "fuzz_$t: ok ($((end - start)) s)"
	fi
done
exit $status
