#!/bin/bash
# run.sh -- the whole codepage-milter benchmark, one command (root, Debian 12).
#
# Usage: tests/bench/run.sh [--builddir DIR] [--out FILE] [--quick] [--no-install] [--keep]
#   --builddir DIR  use an existing build (configured from this tree); default:
#                   configure and build in a fresh temp dir (VPATH)
#   --out FILE      where the results go (default tests/bench/RESULTS.md)
#   --quick         fewer repetitions and messages (a smoke run, ~3 minutes)
#   --no-install    do not apt-get anything
#   --keep          keep the work directory (corpus, logs, raw results)
#
# What it does, in order (every figure of one table comes from this one run):
#  1. installs what it needs: build deps (packaging/deps-debian.sh), postfix
#     (debconf "No configuration": the system instance never starts),
#     mimedefang + libnet-dns-perl (Debian 12's 3.3 misses that dependency),
#     python3-milter;
#  2. builds codepage-milter and the benchmark programs with -Werror;
#  3. generates the corpus (gen_corpus.py: clean / label / transcode sets of
#     200 messages, 2 KB .. 1 MB, and one 20 MB message);
#  4. engine_bench: engine vs memchr+memcpy and iconv ceilings;
#  5. milter_load against the accept-everything ceiling and codepage-milter,
#     over a unix and an inet socket, at 1, 4, 16, 64 connections, each
#     milter restarted for each run (so VmHWM is that run's peak);
#  6. the peers at 1 and 4 connections, unix and inet: MIMEDefang with
#     tests/bench/mimedefang-filter and tests/bench/pymilter_labeller.py;
#  7. real Postfix on loopback without a milter, with the accept-everything
#     milter and with codepage-milter (inet and unix);
# 7b. real Sendmail the same way (tests/mta/sendmail-run.sh), inet and unix;
# 7c. offline, whole process: the CLI on a 200 MB clean message against
#     wc -l and cat, and transcoding a 50 MB windows-1252 body against iconv(1);
#  8. memory: 20 concurrent 20 MB messages with SpoolThreshold 1M and 4M;
#     10,000 messages with RSS sampled every 200 ms;
#  9. writes the table (report.py) to --out and prints it.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
BUILD=""; OUT=$HERE/RESULTS.md; QUICK=0; INSTALL=1; KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) BUILD=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--no-install) INSTALL=0; shift ;;
	--keep) KEEP=1; shift ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (installs packages, starts Postfix and MIMEDefang)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/cpm-bench.XXXXXX) || exit 2
chmod 755 "$WORK"
R=$WORK/results; mkdir -p "$R" "$WORK/logs"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM
say() { printf '== %s\n' "$*" >&2; }
T_START=$(date +%s)

# ---- 1. packages -------------------------------------------------------------------
if [ "$INSTALL" = 1 ]; then
	say "installing packages"
	"$SRC/packaging/deps-debian.sh" --build-only || exit 2
	need=()
	for p in postfix mimedefang libnet-dns-perl python3-milter; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
	done
	if [ ${#need[@]} -gt 0 ]; then
		echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends "${need[@]}" >"$WORK/logs/apt.log" 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$WORK/logs/apt.log" 2>&1; } ||
			{ echo "run.sh: apt-get install ${need[*]} failed (see $WORK/logs/apt.log)" >&2; KEEP=1; exit 2; }
	fi
	# The package may have started its own daemons; ours are private instances.
fi

# ---- 2. build ---------------------------------------------------------------------------
BENCH_PROGS="codepage-milter tests/bench/engine_bench tests/bench/milter_load tests/bench/accept_milter"
if [ -z "$BUILD" ]; then
	say "building in $WORK/build"
	[ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi >"$WORK/logs/autoreconf.log" 2>&1) || exit 2
	mkdir -p "$WORK/build"
	BUILD=$WORK/build
	(cd "$BUILD" && "$SRC/configure" -q >"$WORK/logs/configure.log" 2>&1) ||
		{ echo "run.sh: configure failed" >&2; cat "$WORK/logs/configure.log" >&2; exit 2; }
fi
# shellcheck disable=SC2086
(cd "$BUILD" && make -j"$(nproc)" $BENCH_PROGS >"$WORK/logs/make.log" 2>&1) ||
	{ echo "run.sh: build failed" >&2; tail -30 "$WORK/logs/make.log" >&2; exit 2; }
CPM=$BUILD/codepage-milter
LOAD=$BUILD/tests/bench/milter_load
ACCEPT=$BUILD/tests/bench/accept_milter

# ---- 3. corpus -----------------------------------------------------------------------------
say "generating the corpus"
C=$WORK/corpus
"$PY" "$HERE/gen_corpus.py" "$C" >"$WORK/logs/corpus.log" 2>&1 || { cat "$WORK/logs/corpus.log" >&2; exit 2; }
# The milter and Postfix runs use the clean and label sets: the job the peers do too.
# Interleaved (000-clean, 000-label, 001-clean ...) so that a run cut short by
# its time limit still sees both kinds in equal numbers.
mkdir -p "$C/mixed"
for f in "$C"/clean/*.eml "$C"/label/*.eml; do
	ln -s "$f" "$C/mixed/$(basename "$f" .eml)-$(basename "$(dirname "$f")").eml"
done
MIXED=("$C"/mixed/*.eml)

# ---- machine description ------------------------------------------------------------------
{
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "cores=$(nproc)"
	echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel=$(uname -sr)"
	echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "virt=$(systemd-detect-virt 2>/dev/null || echo unknown)"
	if command -v perf >/dev/null 2>&1 && perf stat -e instructions true >/dev/null 2>&1; then
		echo "perf_instructions=yes"
	elif command -v perf >/dev/null 2>&1; then
		echo "perf_instructions=no (perf stat -e instructions fails: no hardware counters here)"
	else
		echo "perf_instructions=no (perf not installed)"
	fi
	echo "postfix=$(dpkg-query -W -f='${Version}' postfix 2>/dev/null)"
	echo "mimedefang=$(dpkg-query -W -f='${Version}' mimedefang 2>/dev/null)"
	echo "pymilter=$(dpkg-query -W -f='${Version}' python3-milter 2>/dev/null)"
	echo "libmilter=$(dpkg-query -W -f='${Version}' libmilter1.0.1 2>/dev/null)"
	echo "commit=${BENCH_COMMIT:-$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "quick=$QUICK"
} > "$R/machine.txt"

# ---- 4. engine ---------------------------------------------------------------------------
say "engine throughput"
REPS=9; [ "$QUICK" = 1 ] && REPS=3
"$BUILD/tests/bench/engine_bench" -r "$REPS" "$C" | tee "$R/engine.txt" >&2 || exit 2

# ---- milter start/stop helpers -------------------------------------------------------------
SOCKDIR=$WORK/sock; mkdir -p "$SOCKDIR"; chmod 755 "$SOCKDIR"
PORT_BASE=${BENCH_PORT_BASE:-9870}
MILTER_PID=""; MILTER_PIDS=""

wait_socket() {		# SPEC: until something accepts there (10 s at most)
	local spec=$1 i
	for i in $(seq 200); do
		case $spec in
		unix:*) [ -S "${spec#unix:}" ] && return 0 ;;
		inet:*) local port=${spec#inet:}; port=${port%@*}
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0 ;;
		esac
		sleep 0.05
	done
	echo "run.sh: nothing listens on $spec" >&2
	return 1
}

# start_milter KIND SPEC [CONF]: KIND accept|cpm|pymilter|mimedefang
start_milter() {
	local kind=$1 spec=$2 conf=${3:-$WORK/cpm.conf} log=$WORK/logs/$1.log
	case $spec in unix:*) rm -f "${spec#unix:}" ;; esac
	case $kind in
	accept) "$ACCEPT" "$spec" >>"$log" 2>&1 & MILTER_PID=$! ;;
	cpm) "$CPM" -f -c "$conf" -p "$spec" >>"$log" 2>&1 & MILTER_PID=$! ;;
	pymilter) "$PY" "$HERE/pymilter_labeller.py" "$spec" >>"$log" 2>&1 & MILTER_PID=$! ;;
	mimedefang)
		local md=$WORK/md
		rm -rf "$md"; mkdir -p "$md/spool"; chown -R defang:defang "$md"
		/usr/bin/mimedefang-multiplexor -D -U defang -s "$md/mx.sock" -z "$md/spool" \
			-o "$md/mx.lock" -p "$md/mx.pid" -F "$HERE/mimedefang-filter" -m 2 -x 8 -r 100000 \
			>>"$log" 2>&1 &
		PIDS+=($!)
		wait_socket "unix:$md/mx.sock" || return 1
		/usr/bin/mimedefang -D -U defang -p "$spec" -m "$md/mx.sock" -z "$md/spool" \
			-o "$md/md.lock" -X >>"$log" 2>&1 &
		MILTER_PID=$!
		;;
	esac
	PIDS+=("$MILTER_PID")
	MILTER_PIDS=$MILTER_PID
	wait_socket "$spec" || return 1
	if [ "$kind" = mimedefang ]; then
		# the multiplexor forks once even with -D: its pid file has the real one
		local mx; mx=$(tr -dc 0-9 < "$WORK/md/mx.pid" 2>/dev/null)
		[ -n "$mx" ] && { PIDS+=("$mx"); MILTER_PIDS="$MILTER_PID,$mx"; }
	fi
	case $spec in unix:*) chmod 666 "${spec#unix:}" ;; esac
	return 0
}

stop_milter() {
	local p
	for p in ${MILTER_PIDS//,/ }; do kill "$p" 2>/dev/null; done
	for p in ${MILTER_PIDS//,/ }; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	done
	MILTER_PID=""; MILTER_PIDS=""
}

# MIMEDefang runs as defang and creates its socket itself: its own directory.
MDSOCKDIR=$WORK/mdsock; mkdir -p "$MDSOCKDIR"; chown defang:defang "$MDSOCKDIR" 2>/dev/null
set_spec() {		# SOCKTYPE NAME: sets SPEC (a fresh port per inet run)
	case $1 in
	unix) SPEC="unix:$SOCKDIR/$2.sock"
		[ "$2" = mimedefang ] && SPEC="unix:$MDSOCKDIR/$2.sock" ;;
	inet) PORT_BASE=$((PORT_BASE + 1)); SPEC="inet:$PORT_BASE@127.0.0.1" ;;
	esac
}

cat > "$WORK/cpm.conf" <<EOF
# codepage-milter for the benchmark: embedded defaults (Mode label), plus:
Syslog no
UMask 000
SpoolDir $WORK/spool
EOF
mkdir -p "$WORK/spool"

# load KIND SOCKTYPE CONNS LABEL OUTFILE [milter_load options...]
load() {
	local kind=$1 st=$2 conns=$3 label=$4 out=$5; shift 5
	local spec
	set_spec "$st" "$kind"; spec=$SPEC
	start_milter "$kind" "$spec" || { echo "label=$label error=start" >> "$out"; return 1; }
	"$LOAD" -s "$spec" -c "$conns" -p "$MILTER_PIDS" -l "$label" "$@" >> "$out" 2>>"$WORK/logs/load.log"
	stop_milter
}

# ---- 5. milter throughput vs the accept-everything ceiling ------------------------------
say "milter throughput (accept-everything ceiling vs codepage-milter)"
NMSG=3000; SECS=6; [ "$QUICK" = 1 ] && { NMSG=800; SECS=2; }
for st in unix inet; do
	for conns in 1 4 16 64; do
		for kind in accept cpm; do
			load "$kind" "$st" "$conns" "$kind/$st/$conns" "$R/milter.txt" \
				-m 10 -n "$NMSG" -d "$SECS" "${MIXED[@]}"
		done
		tail -2 "$R/milter.txt" >&2
	done
done

# ---- 6. peers ----------------------------------------------------------------------------
say "peers: MIMEDefang and pymilter doing the same labelling"
PSECS=10; [ "$QUICK" = 1 ] && PSECS=3
for st in unix inet; do
	for conns in 1 4; do
		for kind in mimedefang pymilter cpm; do
			load "$kind" "$st" "$conns" "$kind/$st/$conns" "$R/peers.txt" \
				-m 10 -n 100000 -d "$PSECS" "${MIXED[@]}"
		done
		tail -3 "$R/peers.txt" >&2
	done
done

# ---- 6b. the Nagle/delayed-ACK stall, isolated ----------------------------------------
# Only messages that need a label (several end-of-message replies) and are
# small enough (< 100 KB) that the MTA side sends each in one write: any
# ~40 ms p50 here is the milter's own reply stall on TCP.
say "end-of-message reply stall over inet (label-only messages < 100 KB)"
mapfile -t SMALL_LABEL < <(find "$C/label" -name '*.eml' -size -100k | LC_ALL=C sort)
for kind in accept cpm pymilter mimedefang; do
	load "$kind" inet 1 "$kind/inet/1" "$R/stall.txt" -m 10 -n 400 -d "$PSECS" "${SMALL_LABEL[@]}"
	tail -1 "$R/stall.txt" >&2
done

# ---- 7. real Postfix -------------------------------------------------------------------
say "real Postfix on loopback"
REPEAT=2; [ "$QUICK" = 1 ] && REPEAT=1
pf() {		# LABEL MILTER-KIND SOCKTYPE
	local label=$1 kind=$2 st=$3 spec="" pfspec=none
	if [ "$kind" != none ]; then
		set_spec "$st" "pf-$kind"; spec=$SPEC
		start_milter "$kind" "$spec" || return 1
		case $spec in
		unix:*) pfspec=$spec ;;
		inet:*) pfspec="inet:127.0.0.1:$(p=${spec#inet:}; echo "${p%@*}")" ;;
		esac
	fi
	echo "label=$label $("$HERE/postfix_bench.sh" "$pfspec" "$C/mixed" --repeat "$REPEAT" --jobs 8 \
		2>>"$WORK/logs/postfix.log")" | tee -a "$R/postfix.txt" >&2
	[ "$kind" != none ] && stop_milter
	return 0
}
# Every milter run sits between two runs of Postfix alone and is compared with
# their mean: Postfix's own rate drifts with the machine's load.
pf none/1 none -
pf accept/inet accept inet
pf none/2 none -
pf cpm/inet cpm inet
pf none/3 none -
pf accept/unix accept unix
pf none/4 none -
pf cpm/unix cpm unix
pf none/5 none -

# ---- 7b. real Sendmail -------------------------------------------------------------------
# tests/mta/sendmail-run.sh: a private Sendmail 8.17 on loopback delivering
# through its capture mailer, 8 parallel SMTP sessions; msgs/s = delivered /
# (submit + drain), its own "timing:" line.  Interleaved like Postfix.
say "real Sendmail on loopback"
SMRUN=$SRC/tests/mta/sendmail-run.sh
sm() {		# LABEL MILTER-KIND SOCKTYPE
	local label=$1 kind=$2 st=$3 spec=none out=$WORK/sm-out/$1 line t n
	if [ "$kind" != none ]; then
		set_spec "$st" "sm-$kind"; spec=$SPEC
		start_milter "$kind" "$spec" || return 1
	fi
	rm -rf "$out"; mkdir -p "$out"
	line=$(HARNESS_JOBS=8 HARNESS_QUIET=1 SM_PORT=${BENCH_SM_PORT:-2536} "$SMRUN" "$spec" "$C/mixed-files" "$out" \
		2>>"$WORK/logs/sendmail.log" | tee -a "$WORK/logs/sendmail.log" | sed -n 's/^timing: //p')
	[ "$kind" != none ] && stop_milter
	# "start 1.23s, submit 4.56s, drain 0.12s, total 7.89s"
	t=$(sed -n 's/.*submit \([0-9.]*\)s, drain \([0-9.]*\)s.*/\1 \2/p' <<<"$line" | awk '{printf "%.2f", $1 + $2}')
	n=$(find "$out/delivered" -type f 2>/dev/null | wc -l)
	echo "label=$label milter=$spec delivered=$n expected=${#MIXED[@]} total_s=${t:-0} msgs_per_s=$(awk -v n="$n" -v t="${t:-0}" 'BEGIN { printf "%.1f", (t > 0 ? n / t : 0) }')" |
		tee -a "$R/sendmail.txt" >&2
	return 0
}
# the harness reads regular files only
mkdir -p "$C/mixed-files"
for f in "${MIXED[@]}"; do cp "$(readlink -f "$f")" "$C/mixed-files/$(basename "$f")"; done
sm none/1 none -
sm accept/inet accept inet
sm none/2 none -
sm cpm/inet cpm inet
sm none/3 none -
sm accept/unix accept unix
sm none/4 none -
sm cpm/unix cpm unix
sm none/5 none -

# ---- 7c. offline, whole process ---------------------------------------------------------------
# The CLI on one 200 MB clean message (with the defaults: over MaxMessageSize,
# so copied out unscanned; and with MaxMessageSize 300M: every byte scanned)
# against wc -l (a memchr pass) and cat over the same file, all from the page
# cache to /dev/null; a 50 MB windows-1252 body transcoded (Mode transcode)
# against iconv(1) on the same body.  Interleaved, 5 times, medians.
say "offline: 200 MB pass-through, 50 MB transcode"
"$PY" - "$WORK" <<'PYEOF'
import random, sys
w = sys.argv[1]
random.seed(13)
words = ("le caf\u00e9 \u00e9tait tr\u00e8s chaud la cr\u00e8me br\u00fbl\u00e9e d\u00e9j\u00e0 pr\u00eate "
         "\u041c\u043e\u0441\u043a\u0432\u0430 \u0441\u0442\u043e\u043b\u0438\u0446\u0430 "
         "the quick brown fox jumps over the lazy dog Z\u00fcrich Gr\u00f6\u00dfe \u00fcber").split()
def body(enc, size):	# 4 MB of random lines, repeated (Python is slow at 200 MB of them)
    out, n = [], 0
    while n < min(size, 4 << 20):
        line = (" ".join(random.choice(words) for _ in range(12)) + "\r\n").encode(enc, "replace")
        out.append(line); n += len(line)
    block = b"".join(out)
    return block * (size // len(block)) + block[:size % len(block)].rsplit(b"\n", 1)[0] + b"\n"
hdr = ("From: a@example.test\r\nTo: b@example.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
open(w + "/big200.eml", "wb").write((hdr % "utf-8").encode() + body("utf-8", 200 << 20))
words = [x for x in words if all(ord(c) < 256 for c in x)]
b = body("cp1252", 50 << 20)
open(w + "/body50.txt", "wb").write(b)
open(w + "/legacy50.eml", "wb").write(hdr.replace("; charset=%s", "").encode() + b)
PYEOF
printf 'MaxMessageSize 300M\n' > "$WORK/scan-all.conf"
printf 'MaxMessageSize 300M\nMode transcode\n' > "$WORK/transcode.conf"
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'; }
cat "$WORK/big200.eml" "$WORK/legacy50.eml" > /dev/null	# into the page cache
for i in 1 2 3 4 5; do
	echo "rep=$i wc=$(secs wc -l "$WORK/big200.eml") cat=$(secs cat "$WORK/big200.eml")" \
	     "cpm_default=$(secs "$CPM" -t "$WORK/big200.eml")" \
	     "cpm_scan=$(secs "$CPM" -c "$WORK/scan-all.conf" -t "$WORK/big200.eml")" \
	     "iconv=$(secs iconv -f WINDOWS-1252 -t UTF-8 "$WORK/body50.txt")" \
	     "cpm_transcode=$(secs "$CPM" -c "$WORK/transcode.conf" -t "$WORK/legacy50.eml")" >> "$R/offline.txt"
done
"$CPM" -c "$WORK/transcode.conf" -x "$WORK/legacy50.eml" 2>&1 | head -3 > "$R/offline-transcode-explain.txt"
cat "$R/offline.txt" >&2

# ---- 8. memory ---------------------------------------------------------------------------
say "memory"
for thr in 1M 4M; do
	sed "s/^SpoolDir .*/&\nSpoolThreshold $thr/" "$WORK/cpm.conf" > "$WORK/cpm-$thr.conf"
	set_spec unix "mem$thr"; spec=$SPEC
	start_milter cpm "$spec" "$WORK/cpm-$thr.conf" || exit 2
	"$LOAD" -s "$spec" -c 20 -m 1 -n 20 -p "$MILTER_PIDS" -r "$R/rss-big-$thr.txt" -i 50 \
		-l "big20x20MB/threshold=$thr" "$C/big/big.eml" >> "$R/memory.txt" 2>>"$WORK/logs/load.log"
	stop_milter
done
# 10,000 messages over one connection (any per-message leak shows as a
# trend), then over 16 and 64 connections reopened every 50 messages
# (allocator arenas and thread churn, as under a real MTA; 64 is the
# RSS target's load, SpoolThreshold at its default 1M).
N10K=10000; [ "$QUICK" = 1 ] && N10K=2000
for conns in 1 16 64; do
	set_spec unix "mem10k-$conns"; spec=$SPEC
	start_milter cpm "$spec" || exit 2
	"$LOAD" -s "$spec" -c "$conns" -m 50 -n "$N10K" -p "$MILTER_PIDS" -r "$R/rss-10k-$conns.txt" -i 200 \
		-l "10k/${conns}conns" "${MIXED[@]}" >> "$R/memory.txt" 2>>"$WORK/logs/load.log"
	stop_milter
done
cat "$R/memory.txt" >&2

# ---- profiles (perf, cpu-clock sampling works without hardware counters) -------------
if command -v perf >/dev/null 2>&1 && perf record -e cpu-clock -o "$WORK/perf.probe" true >/dev/null 2>&1; then
	say "profiles"
	top_symbols() {	# PERF_DATA -> the top self-time symbols
		perf report -i "$1" --no-children --sort dso,sym -g none --percent-limit 1.5 --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | head -16 | sed 's/  */ /g'
	}
	for set in clean label transcode; do
		perf record -e cpu-clock -o "$WORK/perf.$set" "$BUILD/tests/bench/engine_bench" -q -r 2 -s "$set" "$C" \
			>/dev/null 2>>"$WORK/logs/perf.log" && top_symbols "$WORK/perf.$set" > "$R/profile-engine-$set.txt"
	done
	set_spec unix prof; spec=$SPEC
	if start_milter cpm "$spec"; then
		perf record -e cpu-clock -p "$MILTER_PID" -o "$WORK/perf.daemon" 2>>"$WORK/logs/perf.log" &
		perfpid=$!
		sleep 0.5
		"$LOAD" -s "$spec" -c 1 -m 10 -n 100000 -d 4 "${MIXED[@]}" >/dev/null 2>>"$WORK/logs/load.log"
		kill -INT "$perfpid"; wait "$perfpid" 2>/dev/null
		stop_milter
		top_symbols "$WORK/perf.daemon" > "$R/profile-daemon-unix-1conn.txt"
	fi
fi

# ---- 9. the table ------------------------------------------------------------------------
echo "total_seconds=$(( $(date +%s) - T_START ))" >> "$R/machine.txt"
"$PY" "$HERE/report.py" "$R" > "$OUT" || exit 2
cat "$OUT"
echo "results written to $OUT" >&2
