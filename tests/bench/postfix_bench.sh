#!/bin/bash
# postfix_bench.sh -- delivered messages per second through a private, real
# Postfix on loopback, with or without a milter.
#
# Usage: postfix_bench.sh MILTER MSG_DIR [--port N] [--jobs J] [--repeat R] [--keep]
#   MILTER   none | inet:HOST:PORT | unix:/path   (Postfix syntax)
#   MSG_DIR  every regular file in it is one message
# Prints one line: "milter=... delivered=N expected=M submit_s=... total_s=...
#   msgs_per_s=... submitter_cpu_pct=..." where total_s runs from the first
#   SMTP connection to the moment the queue is empty (every message
#   delivered), and msgs_per_s = delivered / total_s.
#
# The instance (adapted from the project's reference MTA harness): its own
# config, queue and data directories under a mktemp dir, SMTP on
# 127.0.0.1:N (default 2527), smtpd_milters = MILTER, milter_protocol 6,
# milter_default_action tempfail (a milter failure shows up as undelivered
# mail, never as a silently faster run), no chroot, no DNS (a private
# mount+UTS namespace whose resolver is 127.0.0.1, when unshare works),
# every recipient delivered by Postfix's discard(8) transport, so the
# figure measures smtpd + cleanup (+ milter) + qmgr, not a delivery agent.
# Postfix is installed (debconf "No configuration", so the system instance
# never starts) when missing.  Root only.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MILTER=${1:?usage}; MSG_DIR=${2:?usage}; shift 2
PORT=2527; JOBS=8; REPEAT=1; KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--port) PORT=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--repeat) REPEAT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "postfix_bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "postfix_bench.sh: must run as root" >&2; exit 2; }
if [ ! -x /usr/sbin/postfix ]; then
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null ||
		{ echo "postfix_bench.sh: cannot install postfix" >&2; exit 2; }
fi
[ "$MILTER" = none ] && MILTER=

RUN=$(mktemp -d /tmp/pf-bench.XXXXXX) || exit 2
chmod 755 "$RUN"
ETC=$RUN/etc; Q=$RUN/queue
mkdir -p "$ETC" "$Q" "$RUN/data" "$RUN/sandbox"
chown postfix:postfix "$RUN/data"
STARTED=0
cleanup() {
	if [ "$STARTED" = 1 ]; then
		/usr/sbin/postfix -c "$ETC" stop >/dev/null 2>&1
		pid=$(tr -dc 0-9 < "$Q/pid/master.pid" 2>/dev/null)
		for _ in $(seq 100); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && /usr/sbin/postfix -c "$ETC" abort >/dev/null 2>&1
		STARTED=0
	fi
	if [ "$KEEP" = 1 ]; then echo "kept $RUN" >&2; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

cat > "$ETC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $Q
data_directory = $RUN/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.localdomain
mydomain = localdomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
transport_maps = static:discard
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard
local_header_rewrite_clients =
always_add_missing_headers = no
message_size_limit = 104857600
maillog_file = $RUN/maillog
maillog_file_prefixes = $RUN
biff = no
smtpd_milters = $MILTER
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 30s
milter_command_timeout = 60s
milter_content_timeout = 300s
default_process_limit = 100
EOF
cat > "$ETC/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
/usr/sbin/postfix -c "$ETC" check >"$RUN/check.log" 2>&1 || { cat "$RUN/check.log" >&2; exit 2; }

# Private resolver and hostname (no DNS query leaves the machine).
SB=$RUN/sandbox
printf 'nameserver 127.0.0.1\n' > "$SB/resolv.conf"
printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\n' > "$SB/nsswitch.conf"
printf '127.0.0.1\tpostfix-bench.localdomain postfix-bench localhost\n' > "$SB/hosts"
chmod 644 "$SB"/*
start_cmd=(/usr/sbin/postfix -c "$ETC" start)
if unshare -m -u true 2>/dev/null; then
	SB="$SB" unshare -m -u /bin/bash -c 'mount --bind "$SB/resolv.conf" /etc/resolv.conf &&
		mount --bind "$SB/nsswitch.conf" /etc/nsswitch.conf && mount --bind "$SB/hosts" /etc/hosts &&
		hostname postfix-bench.localdomain && exec "$@"' sandbox "${start_cmd[@]}" >"$RUN/start.log" 2>&1
else
	echo "postfix_bench.sh: unshare not permitted, running Postfix without DNS isolation" >&2
	"${start_cmd[@]}" >"$RUN/start.log" 2>&1
fi || { cat "$RUN/start.log" >&2; exit 2; }
STARTED=1
for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

mapfile -t MSGS < <(find -L "$MSG_DIR" -maxdepth 1 -type f ! -name '.*' | LC_ALL=C sort)
EXPECTED=$(( ${#MSGS[@]} * REPEAT ))
qcount() { find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/hold" -type f 2>/dev/null | wc -l; }
T0=$(date +%s.%N)
SUB=$(/usr/bin/python3 "$HERE/smtp_submit.py" --port "$PORT" --jobs "$JOBS" --repeat "$REPEAT" "${MSGS[@]}")
T1=$(date +%s.%N)
deadline=$(( $(date +%s) + 120 ))
while [ "$(qcount)" -gt 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
T2=$(date +%s.%N)
# discard(8) logs status=sent for every delivered recipient.
for _ in $(seq 20); do
	DELIVERED=$(grep -c 'status=sent' "$RUN/maillog" 2>/dev/null)
	[ "${DELIVERED:-0}" -ge "$EXPECTED" ] && break
	sleep 0.1
done
CPU=$(sed -n 's/.*cpu_pct=\([0-9.]*\).*/\1/p' <<<"$SUB")
awk -v m="${MILTER:-none}" -v d="${DELIVERED:-0}" -v e="$EXPECTED" -v a="$T0" -v b="$T1" -v c="$T2" -v cpu="$CPU" \
	'BEGIN { printf "milter=%s delivered=%d expected=%d submit_s=%.2f total_s=%.2f msgs_per_s=%.1f submitter_cpu_pct=%s\n",
		m, d, e, b - a, c - a, d / (c - a), cpu }'
grep -E 'milter|warning|fatal|panic' "$RUN/maillog" | grep -v 'status=sent' | head -5 >&2
exit 0
