#!/bin/bash
# postfix-run.sh - run messages through a private, real Postfix instance with a milter.
#
# Usage: postfix-run.sh MILTER_SOCKET MSG_DIR OUT_DIR [--default-action accept|tempfail]
#                       [--port N] [--keep]
#   MILTER_SOCKET  inet:127.0.0.1:8894 | inet:8894@127.0.0.1 | unix:/path | none
#   MSG_DIR        every regular file in it is one message (sent as-is, 8-bit kept)
#   OUT_DIR        gets delivered/<name> (message exactly as Postfix delivered it),
#                  deferred/ (originals the MTA answered 4xx), queued/, extra/ (bounces),
#                  report.tsv, report.json, maillog
#   --default-action  milter_default_action (default: tempfail)
#   --port N       SMTP port on 127.0.0.1 (default $PF_PORT or 2525)
#   --keep         keep the private instance directory (printed) for debugging
# Env: PF_PORT, HARNESS_WAIT (queue drain limit, s, default 60),
#      HARNESS_FROM, HARNESS_RCPT (envelope; comma-separated rcpts; defaults harness-*@example.test),
#      HARNESS_JOBS (parallel SMTP sessions, default 1), HARNESS_QUIET=1 (list only failures),
#      HARNESS_ALLOW_MTA_REPLACE=1 (let the postfix install replace another system MTA package)
#      HARNESS_SUBMIT=smtp (default) | local (Postfix's sendmail command: postdrop, pickup,
#                     cleanup with non_smtpd_milters = the milter) | slow-kill (SMTP, and
#                     SIGKILL the process in HARNESS_KILL_PIDFILE half way through DATA)
# Exit: 0 all delivered, 1 some not delivered, 2 harness failure.
# Installs Debian's postfix (debconf "No configuration") if missing; the system
# Postfix configuration is never touched: the instance lives in a temp directory.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
HELPER="$HERE/mta_harness.py"
SANDBOX="$HERE/mta-sandbox.sh"

usage() { awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 2; }
[ $# -ge 3 ] || usage
MILTER_IN=$1; MSG_DIR=$2; OUT_DIR=$3; shift 3
ACTION=tempfail; PORT=${PF_PORT:-2525}; KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --default-action) ACTION=${2:-}; shift 2 ;;
    --default-action=*) ACTION=${1#*=}; shift ;;
    --port) PORT=${2:-}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
case $ACTION in accept|tempfail|reject|quarantine) ;; *) echo "bad --default-action: $ACTION" >&2; exit 2 ;; esac
[ -d "$MSG_DIR" ] || { echo "MSG_DIR not a directory: $MSG_DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 2; }
WAIT=${HARNESS_WAIT:-60}
FROM=${HARNESS_FROM:-harness-sender@example.test}
RCPTS=${HARNESS_RCPT:-harness-rcpt@example.test}

# ---- install postfix if missing (never touches /etc/postfix/main.cf) ----
if [ ! -x /usr/sbin/postfix ] || [ ! -x /usr/lib/postfix/sbin/master ]; then
  # installing postfix replaces any other system MTA package (exim4, sendmail-bin, ...)
  other=$(dpkg-query -W -f='${Package} ${Status} ${Provides}\n' 2>/dev/null \
          | awk '/ installed / && /mail-transport-agent/ && $1 != "postfix" {print $1}')
  if [ -n "$other" ] && [ "${HARNESS_ALLOW_MTA_REPLACE:-0}" != 1 ]; then
    echo "installing postfix would remove the system MTA package(s): $other" >&2
    echo "set HARNESS_ALLOW_MTA_REPLACE=1 to allow that. Aborting." >&2; exit 2
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postfix >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends postfix >/dev/null; } \
    || { echo "could not install postfix" >&2; exit 2; }
fi
[ -x "$PY" ] || { echo "$PY missing" >&2; exit 2; }

SUBMIT=${HARNESS_SUBMIT:-smtp}
case $SUBMIT in smtp|local|slow-kill) ;; *) echo "bad HARNESS_SUBMIT: $SUBMIT" >&2; exit 2 ;; esac
if [ "$MILTER_IN" = none ]; then MILTER=""; else
  MILTER=$("$PY" "$HELPER" milter-socket --style postfix "$MILTER_IN") || exit 2
fi
SMTPD_MILTER=$MILTER; LOCAL_MILTER=""
[ "$SUBMIT" = local ] && { SMTPD_MILTER=""; LOCAL_MILTER=$MILTER; }

mkdir -p "$OUT_DIR" || exit 2
OUT_DIR=$(cd "$OUT_DIR" && pwd)
MSG_DIR=$(cd "$MSG_DIR" && pwd)
rm -rf "$OUT_DIR/delivered" "$OUT_DIR/deferred" "$OUT_DIR/queued" "$OUT_DIR/extra" \
       "$OUT_DIR/report.tsv" "$OUT_DIR/report.json" "$OUT_DIR/maillog"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/pf-harness.XXXXXX") || exit 2
chmod 755 "$RUN"
ETC=$RUN/etc; Q=$RUN/queue; SPOOL=$RUN/spool
mkdir -p "$ETC" "$Q" "$RUN/data" "$RUN/bin" "$SPOOL"
chown postfix:postfix "$RUN/data"
chown nobody:nogroup "$SPOOL"

STARTED=0
cleanup() {
  if [ "$STARTED" = 1 ]; then
    /usr/sbin/postfix -c "$ETC" stop >/dev/null 2>&1
    local pid=""
    [ -f "$Q/pid/master.pid" ] && pid=$(tr -dc 0-9 < "$Q/pid/master.pid")
    if [ -n "$pid" ]; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { /usr/sbin/postfix -c "$ETC" abort >/dev/null 2>&1; sleep 1; }
    fi
    STARTED=0
  fi
  [ -f "$RUN/maillog" ] && cp "$RUN/maillog" "$OUT_DIR/maillog" 2>/dev/null
  if [ "$KEEP" = 1 ]; then echo "kept instance directory: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# ---- capture "mailer": writes stdin unchanged into the spool (runs as nobody) ----
cat > "$RUN/bin/capture" <<EOF
#!/bin/sh
# argv: queue_id recipient...   stdin: the message exactly as Postfix delivers it
umask 022
f="$SPOOL/.\$1.\$\$.tmp"
cat > "\$f" || exit 75
mv "\$f" "$SPOOL/\$1.\$\$.eml" || exit 75
exit 0
EOF
chmod 755 "$RUN/bin" "$RUN/bin/capture"

cat > "$ETC/main.cf" <<EOF
# private Postfix instance written by postfix-run.sh
compatibility_level = 3.6
queue_directory = $Q
data_directory = $RUN/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-harness.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP Postfix (mta-eval harness)
smtp_dns_support_level = disabled
# deliver everything, whatever the recipient, to the capture pipe
transport_maps = static:capture
default_transport = capture
local_transport = capture
virtual_transport = capture
relay_transport = capture
# do not rewrite or add headers for mail from 127.0.0.1
local_header_rewrite_clients =
remote_header_rewrite_domain =
always_add_missing_headers = no
enable_long_queue_ids = yes
message_size_limit = 104857600
maillog_file = $RUN/maillog
maillog_file_prefixes = $RUN
biff = no
delay_warning_time = 0
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s
smtpd_milters = $SMTPD_MILTER
non_smtpd_milters = $LOCAL_MILTER
milter_default_action = $ACTION
milter_protocol = 6
milter_connect_timeout = 30s
milter_command_timeout = 30s
milter_content_timeout = 300s
EOF

cat > "$ETC/master.cf" <<EOF
# private Postfix instance written by postfix-run.sh (no chroot)
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
capture   unix  -       n       n       -       -       pipe
  user=nobody argv=$RUN/bin/capture \${queue_id} \${recipient}
EOF

T0=$(date +%s.%N)
if ! /usr/sbin/postfix -c "$ETC" check >"$RUN/check.log" 2>&1; then
  echo "postfix check failed:" >&2; cat "$RUN/check.log" >&2; exit 2
fi
# start inside a private mount/UTS namespace whose resolver only reaches loopback
if ! "$SANDBOX" "$RUN" postfix-harness.localdomain -- /usr/sbin/postfix -c "$ETC" start >"$RUN/start.log" 2>&1; then
  echo "postfix start failed:" >&2; cat "$RUN/start.log" >&2; [ -f "$RUN/maillog" ] && tail -20 "$RUN/maillog" >&2; exit 2
fi
STARTED=1
if ! "$PY" "$HELPER" wait-port --port "$PORT" --timeout 30; then
  echo "postfix did not start listening on 127.0.0.1:$PORT" >&2
  [ -f "$RUN/maillog" ] && tail -20 "$RUN/maillog" >&2; exit 2
fi
T1=$(date +%s.%N)
echo "postfix instance up on 127.0.0.1:$PORT (milter: ${MILTER:-none}, default action: $ACTION, config: $ETC)"

mapfile -t MSGS < <(find "$MSG_DIR" -maxdepth 1 -type f ! -name '.*' | LC_ALL=C sort)
[ ${#MSGS[@]} -gt 0 ] || { echo "no messages in $MSG_DIR" >&2; exit 2; }
RCPT_ARGS=(); IFS=',' read -ra _r <<< "$RCPTS"; for r in "${_r[@]}"; do RCPT_ARGS+=(--rcpt "$r"); done
QUIET=(); [ "${HARNESS_QUIET:-0}" = 1 ] && QUIET=(--quiet)
case $SUBMIT in
  smtp) "$PY" "$HELPER" submit --port "$PORT" --out "$RUN/results.jsonl" --from "$FROM" "${RCPT_ARGS[@]}" \
          --jobs "${HARNESS_JOBS:-1}" "${QUIET[@]}" "${MSGS[@]}" || exit 2 ;;
  slow-kill) "$PY" "$HELPER" submit --port "$PORT" --out "$RUN/results.jsonl" --from "$FROM" "${RCPT_ARGS[@]}" \
          --kill-pidfile "${HARNESS_KILL_PIDFILE:?}" "${QUIET[@]}" "${MSGS[@]}" || exit 2 ;;
  local) "$PY" "$HELPER" submit-local --sendmail /usr/sbin/sendmail --config-dir "$ETC" \
          --maillog "$RUN/maillog" --out "$RUN/results.jsonl" --from "$FROM" "${RCPT_ARGS[@]}" \
          "${QUIET[@]}" "${MSGS[@]}" || exit 2 ;;
esac
T2=$(date +%s.%N)

# ---- wait (bounded) until the queue is empty ----
qcount() { find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/hold" -type f 2>/dev/null | wc -l; }
deadline=$(( $(date +%s) + WAIT ))
while [ "$(qcount)" -gt 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
T3=$(date +%s.%N)
NQ=$(qcount)
if [ "$NQ" -gt 0 ]; then
  echo "queue not empty after ${WAIT}s: $NQ file(s) left"
  /usr/sbin/postqueue -c "$ETC" -j > "$RUN/queue-state" 2>&1
  mkdir -p "$OUT_DIR/queued"
  cp "$RUN/queue-state" "$OUT_DIR/queued/postqueue.json"
  for f in $(find "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/hold" -type f 2>/dev/null); do
    id=$(basename "$f"); /usr/sbin/postcat -c "$ETC" -q "$id" > "$OUT_DIR/queued/$id.postcat" 2>&1
  done
fi
"$PY" "$HELPER" collect --mta postfix --results "$RUN/results.jsonl" --spool "$SPOOL" \
  --out "$OUT_DIR" --queue-state "$RUN/queue-state" --maillog "$RUN/maillog" "${QUIET[@]}"
RC=$?
cleanup; trap - EXIT
T4=$(date +%s.%N)
awk -v a="$T0" -v b="$T1" -v c="$T2" -v d="$T3" -v e="$T4" 'BEGIN{printf "timing: start %.2fs, submit %.2fs, drain %.2fs, total %.2fs\n", b-a, c-b, d-c, e-a}'
echo "report: $OUT_DIR/report.tsv"
exit $RC
