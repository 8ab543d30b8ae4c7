#!/bin/bash
# mta-sandbox.sh - run a command (an MTA start command) in a private mount+UTS namespace
# whose resolver can only reach loopback, so that the MTA never sends a DNS query off
# the machine. Used by postfix-run.sh and sendmail-run.sh; not normally run by hand.
#
# Usage: mta-sandbox.sh RUN_DIR HOSTNAME [--syslog LOGFILE] -- COMMAND [ARG...]
#   RUN_DIR   private directory (gets sandbox/ with resolv.conf, nsswitch.conf, hosts, dev/)
#   HOSTNAME  host name the MTA sees (resolves to 127.0.0.1 and ::1 via the private hosts file)
#   --syslog  also give the command a private /dev/log whose messages go to LOGFILE
#             (a small Python listener started here; it exits when RUN_DIR/sandbox/dev/log goes;
#             SANDBOX_KEEP_PRIORITY=1 keeps each line's <PRI> prefix)
#   --syslog-reuse  give the command the private /dev/log an earlier --syslog run of this
#             RUN_DIR started (its listener still writes to that LOGFILE): how a second
#             process of the same MTA instance (sendmail -bm, -t) logs to the same maillog
# Inside the namespace: /etc/resolv.conf -> nameserver 127.0.0.1, /etc/nsswitch.conf ->
# files only, /etc/hosts -> private. Nothing outside the namespace changes. If unshare is not
# permitted, the command runs unsandboxed and a warning is printed.
set -u
RUN=$1; NAME=$2; shift 2
SYSLOG=""; REUSE=0
while [ $# -gt 0 ]; do
  case $1 in
    --syslog) SYSLOG=$2; shift 2 ;;
    --syslog-reuse) REUSE=1; shift ;;
    --) shift; break ;;
    *) echo "mta-sandbox: bad argument $1" >&2; exit 2 ;;
  esac
done
SB=$RUN/sandbox
mkdir -p "$SB"
printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n' > "$SB/resolv.conf"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\nnetgroup: files\naliases: files\n' > "$SB/nsswitch.conf"
short=${NAME%%.*}
{ printf '127.0.0.1\t%s %s localhost\n' "$NAME" "$short"
  printf '::1\t%s %s localhost ip6-localhost ip6-loopback\n' "$NAME" "$short"; } > "$SB/hosts"
find "$SB" -maxdepth 1 -type f -exec chmod 644 {} +    # not dev/: --syslog-reuse runs after it exists

if [ "$REUSE" = 1 ]; then
  [ -S "$SB/dev/log" ] || { echo "mta-sandbox: no private /dev/log to reuse in $SB" >&2; exit 2; }
  SYSLOG=$SB/dev/log                  # only "set": the mounts below give the command $SB/dev
elif [ -n "$SYSLOG" ]; then
  mkdir -p "$SB/dev"
  /usr/bin/python3 - "$SB/dev/log" "$SYSLOG" <<'EOF' &
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
keep_pri = os.environ.get('SANDBOX_KEEP_PRIORITY') == '1'
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(1.0)
if os.fork():          # parent returns at once; the child keeps listening
    os._exit(0)
os.setsid()
fd = os.open(os.devnull, os.O_RDWR)
for i in (0, 1, 2):
    os.dup2(fd, i)
with open(out, 'ab', buffering=0) as f:
    while os.path.exists(path):
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        d = d.rstrip(b'\0\n')
        if d.startswith(b'<') and b'>' in d[:5] and not keep_pri:
            d = d.split(b'>', 1)[1]          # drop the <priority> prefix
        f.write(d + b'\n')
EOF
  wait $!
  for _ in $(seq 50); do [ -S "$SB/dev/log" ] && break; sleep 0.1; done
fi

if ! unshare -m -u true 2>/dev/null; then
  echo "mta-sandbox: WARNING: unshare not permitted; running without DNS isolation" >&2
  exec "$@"
fi

export SB NAME SYSLOG
exec unshare -m -u /bin/bash -c '
  set -e
  mount --bind "$SB/resolv.conf" /etc/resolv.conf
  mount --bind "$SB/nsswitch.conf" /etc/nsswitch.conf
  mount --bind "$SB/hosts" /etc/hosts
  hostname "$NAME"
  if [ -n "$SYSLOG" ]; then
    D=$SB/dev
    for n in null zero random urandom full tty; do
      [ -e /dev/$n ] || continue
      : > "$D/$n"; mount --bind /dev/$n "$D/$n"
    done
    ln -sfn /proc/self/fd "$D/fd"; ln -sfn /proc/self/fd/0 "$D/stdin"
    ln -sfn /proc/self/fd/1 "$D/stdout"; ln -sfn /proc/self/fd/2 "$D/stderr"
    mount --rbind "$D" /dev
  fi
  set +e
  exec "$@"
' mta-sandbox "$@"
