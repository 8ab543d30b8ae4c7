#!/bin/bash
# run-all.sh -- the one command that installs, builds and runs every test.
#
# Stages: install dependencies (Debian 12, root) -> build with -Werror -> make
# check (unit, golden, protocol, real Postfix/Sendmail, packaging tests) ->
# the unit and golden suites again under AddressSanitizer+UBSan -> the
# libFuzzer targets for a minute each (clang, make fuzz-smoke) -> make
# distcheck.  Each stage prints its own summary; the last line is
# "N passed, N failed" over the stages.
set -u -o pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
JOBS=$(nproc 2>/dev/null || echo 2)
# Check's default per-test timeout (4 s) is tight on a loaded 2-core machine;
# the sanitizer build multiplies it again below.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
passed=0; failed=0; failures=()

stage() {	# stage NAME COMMAND...
	local name=$1; shift
	local t0=$SECONDS
	echo "==== stage: $name"
	if "$@"; then
		passed=$((passed + 1)); echo "==== stage ok: $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "==== STAGE FAILED: $name ($((SECONDS - t0)) s)"
	fi
}

show_failed_logs() {	# print the logs of failed automake tests in build dir $1
	local dir=$1 f
	for f in $(find "$dir" -name '*.trs' -print 2>/dev/null); do
		if grep -q '^:test-result: FAIL\|^:test-result: ERROR' "$f"; then
			echo "---- ${f%.trs}.log"; tail -n 80 "${f%.trs}.log"
		fi
	done
}

build_and_check() {	# build_and_check DIR CONFIGURE-ARGS...
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return 1
	"$TOP/configure" -q "$@" || return 1
	make -j"$JOBS" >make.out 2>&1 || { tail -n 60 make.out; return 1; }
	if ! make -j"$JOBS" check; then show_failed_logs .; return 1; fi
}

deps() { packaging/deps-debian.sh; }
bootstrap() { autoreconf -fi >/dev/null; }
main_build() { (build_and_check "$TOP/build-main"); }
san_build() {
	(CPM_SANITIZED=1 CK_TIMEOUT_MULTIPLIER=10 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 build_and_check "$TOP/build-san" --enable-sanitizers)
}
fuzz_smoke() {
	rm -rf "$TOP/build-fuzz" && mkdir -p "$TOP/build-fuzz" && cd "$TOP/build-fuzz" || return 1
	CC=clang "$TOP/configure" -q --enable-fuzzing || return 1
	make -j"$JOBS" >make.out 2>&1 || { tail -n 60 make.out; return 1; }
	make fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-60}" FUZZ_SEED="${FUZZ_SEED:-1}"
}
fuzz_digest() {	# what a failed fuzz-smoke found, short enough to survive a cut log
	local work=$TOP/build-fuzz/fuzz-work f t min
	for f in "$work"/crash-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$f" ] || continue
		t=${f##*/}; t=${t#*-}; t=${t%%-*}
		echo "---- fuzz_$t found ${f##*/} ($(wc -c <"$f") bytes):"
		grep -m 3 -E 'INVARIANT|ERROR:|SUMMARY:|^ *#[0-3] ' "$work/$t.log" | cut -c 1-300
		min=$f.min
		if [ "$(wc -c <"$f")" -gt 1500 ] && "$TOP/build-fuzz/tests/fuzz/fuzz_$t" -minimize_crash=1 \
			-max_total_time=60 -exact_artifact_path="$min" "$f" >/dev/null 2>&1 && [ -s "$min" ]; then
			f=$min
		fi
		if [ "$(wc -c <"$f")" -le 6000 ]; then
			echo "input (base64 of ${f##*/}, $(wc -c <"$f") bytes):"; base64 -w 0 "$f"; echo
		else
			echo "input too large to print ($(wc -c <"$f") bytes), sha256 $(sha256sum "$f" | cut -c 1-16)"
		fi
	done
}
distcheck() { (cd "$TOP/build-main" && make -j"$JOBS" distcheck >distcheck.out 2>&1) || { tail -n 60 "$TOP/build-main/distcheck.out"; return 1; }; }

stage dependencies deps
stage bootstrap bootstrap
stage build-and-check main_build
stage sanitizers san_build
stage fuzz-smoke fuzz_smoke
stage distcheck distcheck

echo
case " ${failures[*]} " in *" fuzz-smoke "*) fuzz_digest ;; esac
[ ${#failures[@]} -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
