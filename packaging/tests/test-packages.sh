#!/bin/bash
# test-packages.sh -- build the .deb and the .rpm from the release tarball,
# install the .deb on this machine, run the installed daemon the way its
# systemd unit does (as the package's user, with the packaged config, on the
# unit's socket) and repair a legacy message over that socket; then stop it
# and purge the package, leaving the machine as it was.
#
# Needs root (it installs a package and creates a system user); as another
# user it SKIPs (exit 77).  Also skipped under CPM_SANITIZED=1: the packages
# are built without sanitizers, and the main build already ran this test.
# Tools (packaging/deps-debian.sh installs them): dpkg-dev, debhelper,
# lintian, rpm, miltertest, util-linux (setpriv, flock).
#
# systemd: where systemd runs (a real machine), the package's maintainer
# scripts start the service and this test talks to it through systemctl.
# Where it does not (a container), the test starts the daemon itself from
# the installed unit file: its ExecStart, User, Group, UMask and
# RuntimeDirectory; the sandboxing options (ProtectSystem=...) are not
# emulated there.  "systemd-analyze verify" checks the unit when it can run.
set -u -o pipefail

srcdir=${srcdir:-.}
srcdir=$(cd "$srcdir" && pwd)
unit=/lib/systemd/system/codepage-milter.service
pkg=codepage-milter

say() { echo "test-packages: $*"; }
fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }

# The package build runs "make check" itself (unit tests only).  Variables of
# the "make check" that started us (TEST_LOGS=... in MAKEFLAGS) would leak
# into it and run this very test again, inside itself: clear them, and refuse
# to nest all the same.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
if [ -n "${CPM_IN_PACKAGE_TEST:-}" ]; then
	say "SKIP: already inside a package test (no nesting)"
	exit 77
fi
export CPM_IN_PACKAGE_TEST=1

if [ "$(id -u)" != 0 ]; then
	say "SKIP: needs root (installs a package and creates a system user)"
	exit 77
fi
if [ "${CPM_SANITIZED:-0}" = 1 ]; then
	say "SKIP: sanitizer build; the packages do not use sanitizers and the main build runs this test"
	exit 77
fi
for tool in dpkg-buildpackage dh lintian rpmbuild miltertest setpriv flock; do
	command -v "$tool" >/dev/null || fail "$tool not found: run packaging/deps-debian.sh"
done

# One run at a time: the package, the user and /run/codepage-milter are global.
exec 9>/run/lock/codepage-milter-test-packages.lock
flock -w 900 9 || fail "another package test held the lock for 15 minutes"

if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
	fail "$pkg is already installed here; this test installs and purges it: remove it first (dpkg --purge $pkg)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/test-packages.XXXXXX")
chmod 0755 "$work"	# the daemon's user reads the test message from here
user_existed=no
getent passwd "$pkg" >/dev/null && user_existed=yes
daemon_pid=
run_dir_made=no
with_systemd=no
[ -d /run/systemd/system ] && with_systemd=yes

cleanup() {
	local rc=$?
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$daemon_pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL "$daemon_pid" 2>/dev/null
	fi
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'installed'; then
		dpkg --purge "$pkg" >"$work/purge-on-exit.log" 2>&1 || cat "$work/purge-on-exit.log" >&2
	fi
	[ "$run_dir_made" = yes ] && rm -rf /run/codepage-milter
	if [ "$user_existed" = no ] && getent passwd "$pkg" >/dev/null; then
		deluser --quiet --system "$pkg" >/dev/null 2>&1 || userdel "$pkg" 2>/dev/null
		getent group "$pkg" >/dev/null && { delgroup --quiet --system "$pkg" >/dev/null 2>&1 || groupdel "$pkg" 2>/dev/null; }
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- build ------------------------------------------------------------------
tarball=$("$srcdir/packaging/dist-tarball.sh" "$work/tarball") || fail "make dist"
version=$(basename "$tarball" .tar.gz)
version=${version#codepage-milter-}
say "tarball $(basename "$tarball") (version $version from configure.ac)"

"$srcdir/packaging/build-deb.sh" -t "$tarball" "$work/deb" || fail "building the .deb"
deb=$(ls "$work"/deb/${pkg}_*.deb) || fail "no .deb"
debversion=$(dpkg-deb -f "$deb" Version)
[ "${debversion%-*}" = "$version" ] || fail ".deb version $debversion does not match $version"

RPM_NODEPS=1 "$srcdir/packaging/build-rpm.sh" -t "$tarball" "$work/rpm" >/dev/null ||
	fail "building the .rpm"
rpmfile=$(ls "$work"/rpm/${pkg}-"$version"-*.rpm | grep -v '\.src\.rpm$' | head -n 1)
[ -n "$rpmfile" ] || fail "no binary .rpm for version $version"
rpmversion=$(rpm -qp --queryformat '%{VERSION}' "$rpmfile" 2>/dev/null)
[ "$rpmversion" = "$version" ] || fail ".rpm version $rpmversion does not match $version"
rpm -qpl "$rpmfile" 2>/dev/null >"$work/rpm.files"
for f in /usr/sbin/codepage-milter /etc/codepage-milter.conf \
    /usr/lib/systemd/system/codepage-milter.service /var/spool/codepage-milter \
    /usr/share/man/man8/codepage-milter.8 /usr/share/man/man5/codepage-milter.conf.5; do
	grep -q "^$f" "$work/rpm.files" || fail ".rpm lacks $f"
done
rpm -qp --scripts "$rpmfile" 2>/dev/null | grep -q 'useradd -r -g codepage-milter' ||
	fail ".rpm has no %pre creating the user"
say "built $(basename "$rpmfile") (rpmbuild --nodeps: Debian's rpm database knows no BuildRequires)"

# ---- install ----------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -i "$deb" >"$work/install.log" 2>&1; then
	# missing dependencies: let apt pull them in
	apt-get install -y -f --no-install-recommends >>"$work/install.log" 2>&1 ||
		{ cat "$work/install.log" >&2; fail "installing $deb"; }
fi
say "installed $(basename "$deb")"

getent passwd "$pkg" >/dev/null || fail "no user $pkg after install"
getent group "$pkg" >/dev/null || fail "no group $pkg after install"
uid=$(id -u "$pkg")
[ "$uid" -lt 1000 ] || fail "user $pkg is not a system user (uid $uid)"
[ "$(id -gn "$pkg")" = "$pkg" ] || fail "user $pkg's primary group is not $pkg"
if getent passwd postfix >/dev/null; then
	id -Gn postfix | tr ' ' '\n' | grep -qx "$pkg" || fail "postfix was not added to group $pkg"
fi
[ "$(codepage-milter -V)" = "codepage-milter $version" ] ||
	fail "installed codepage-milter -V says \"$(codepage-milter -V)\", not $version"
cmp -s /etc/codepage-milter.conf "$srcdir/packaging/codepage-milter.conf" ||
	fail "/etc/codepage-milter.conf is not the example config"
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q ' /etc/codepage-milter.conf ' ||
	fail "/etc/codepage-milter.conf is not a conffile"
[ "$(stat -c '%U:%G %a' /var/spool/codepage-milter)" = "$pkg:$pkg 700" ] ||
	fail "/var/spool/codepage-milter is $(stat -c '%U:%G %a' /var/spool/codepage-milter), want $pkg:$pkg 700"
codepage-milter -n -c /etc/codepage-milter.conf || fail "the packaged config does not pass -n"
for page in /usr/share/man/man8/codepage-milter.8.gz /usr/share/man/man5/codepage-milter.conf.5.gz; do
	[ -f "$page" ] || fail "$page not installed"
	warnings=$(zcat "$page" | groff -man -Tutf8 -ww -z 2>&1)
	[ -z "$warnings" ] || fail "$page renders with warnings: $warnings"
done
[ -f "$unit" ] || fail "$unit not installed"
say "user $pkg (uid $uid), conffile, spool 0700, man pages and unit installed"

# ---- the unit ----------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	# Can systemd-analyze work here at all?  Try a unit that is surely valid.
	mkdir -p "$work/probe"
	printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$work/probe/probe.service"
	if (cd "$work/probe" && systemd-analyze verify probe.service) >"$work/probe.log" 2>&1; then
		systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 ||
			{ cat "$work/verify.log" >&2; fail "systemd-analyze verify $unit"; }
		[ ! -s "$work/verify.log" ] || { cat "$work/verify.log" >&2; fail "systemd-analyze verify $unit warns"; }
		say "systemd-analyze verify: $unit is clean"
		if systemd-analyze security --offline=yes "$unit" >"$work/security.log" 2>&1; then
			say "systemd-analyze security: $(grep -i 'overall exposure' "$work/security.log" | sed 's/^→ *//')"
		fi
	else
		say "NOTE: systemd-analyze cannot run here ($(head -n 1 "$work/probe.log")); unit not verified"
	fi
else
	say "NOTE: systemd-analyze not installed; unit not verified"
fi

unit_value() {	# unit_value KEY: the value of the last KEY= line of [Service]
	sed -n '/^\[Service\]/,/^\[/p' "$unit" | sed -n "s/^$1=//p" | tail -n 1
}
exec_start=$(unit_value ExecStart)
exec_reload=$(unit_value ExecReload)
unit_user=$(unit_value User)
unit_group=$(unit_value Group)
unit_umask=$(unit_value UMask)
run_dir=/run/$(unit_value RuntimeDirectory)
run_mode=$(unit_value RuntimeDirectoryMode)
exec_start=${exec_start#[-@+!:]}
[ -n "$exec_start" ] && [ -n "$unit_user" ] && [ -n "$unit_group" ] || fail "cannot read ExecStart/User/Group from $unit"
socket_spec=$(set -f; set -- $exec_start; while [ $# -gt 1 ]; do [ "$1" = -p ] && { echo "$2"; break; }; shift; done)
[ -n "$socket_spec" ] || socket_spec=local:/run/codepage-milter/codepage-milter.sock
socket_path=${socket_spec#*:}
say "unit: ExecStart=$exec_start User=$unit_user Group=$unit_group UMask=$unit_umask RuntimeDirectory=$run_dir ($run_mode)"

# ---- run it ------------------------------------------------------------------
if [ "$with_systemd" = yes ]; then
	systemctl restart "$pkg" || fail "systemctl restart $pkg"
	daemon_pid=$(systemctl show -p MainPID --value "$pkg")
else
	# What systemd would do: the runtime directory, owned by the user, with
	# the unit's mode; then ExecStart as User/Group with their supplementary
	# groups, UMask, no new privileges, no capabilities, a clean environment.
	rm -rf "$run_dir"
	install -d -o "$unit_user" -g "$unit_group" -m "${run_mode:-0755}" "$run_dir"
	run_dir_made=yes
	(
		set -f
		umask "${unit_umask:-0022}"
		cd /
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		    setpriv --reuid="$unit_user" --regid="$unit_group" --init-groups \
		    --no-new-privs --inh-caps=-all --bounding-set=-all -- $exec_start
	) >"$work/daemon.log" 2>&1 &
	daemon_pid=$!
fi
for _ in $(seq 1 100); do
	[ -S "$socket_path" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; fail "the daemon exited at start"; }
	sleep 0.1
done
[ -S "$socket_path" ] || { cat "$work/daemon.log" >&2 2>/dev/null; fail "no socket $socket_path after 10 s"; }
[ "$(ps -o user= -p "$daemon_pid" | tr -d ' ')" = "$unit_user" ] ||
	fail "the daemon runs as $(ps -o user= -p "$daemon_pid"), not $unit_user"
[ "$(stat -c '%U:%G %a' "$run_dir")" = "$unit_user:$unit_group ${run_mode#0}" ] ||
	fail "$run_dir is $(stat -c '%U:%G %a' "$run_dir")"
say "daemon pid $daemon_pid runs as $unit_user, socket $socket_path ($(stat -c '%U:%G %A' "$socket_path"))"

# ---- a legacy message over the socket ----------------------------------------
# windows-1252 text with no charset label: the installed daemon must label it.
msg=$work/legacy.eml
printf '%s\n' 'From: Legacy Sender <sender@example.com>' 'To: rcpt@example.net' \
	'Subject: Rechnung' 'Message-ID: <package-test@example.com>' \
	'Date: Tue, 24 Nov 2026 10:00:00 +0000' 'MIME-Version: 1.0' \
	'Content-Type: text/plain' 'Content-Transfer-Encoding: 8bit' '' >"$msg"
printf 'Sehr geehrte Damen und Herren,\n\nanbei die Rechnung \xfcber 150 \x80 f\xfcr die Lieferung nach K\xf6ln.\nMit freundlichen Gr\xfc\xdfen\n' >>"$msg"
chmod 0644 "$msg"
# The client runs as nobody, who may not be able to read the source tree.
cp "$srcdir/packaging/tests/label.lua" "$work/label.lua"
chmod 0644 "$work/label.lua"

# What the milter should request: what the same binary and config do offline.
codepage-milter -c /etc/codepage-milter.conf -t "$msg" >"$work/expected.eml" ||
	fail "codepage-milter -t on the test message"
expected_ct=$(sed -n '/^$/q; s/^Content-Type: //p' "$work/expected.eml")
case $expected_ct in
*charset=*) ;;
*) fail "codepage-milter -t did not label the test message: Content-Type: $expected_ct" ;;
esac
added=$(sed -n '/^$/q; s/^\([A-Za-z0-9-]*\):.*/\1/p' "$work/expected.eml" |
	grep -vxF -f <(sed -n '/^$/q; s/^\([A-Za-z0-9-]*\):.*/\1/p' "$msg") | head -n 1)

# Connect as a member of the socket's group, as Postfix would (root could
# connect anyway): proves the directory and socket modes let the MTA in.
# (setpriv --groups takes numeric ids.)
unit_gid=$(getent group "$unit_group" | cut -d: -f3)
run_client() {	# run_client GROUPS-OPTION [CONNECT-TRIES]
	setpriv --reuid=nobody --regid=nogroup "$1" -- \
	    miltertest -s "$work/label.lua" -D socket="$socket_spec" \
	    -D message="$msg" -D change_name=Content-Type -D change_value="$expected_ct" \
	    -D add_name="$added" -D connect_tries="${2:-40}"
}
if ! run_client --groups="$unit_gid" >"$work/miltertest.log" 2>&1; then
	cat "$work/miltertest.log" >&2
	fail "miltertest as a member of group $unit_group"
fi
sed 's/^/  /' "$work/miltertest.log"
if run_client --clear-groups 2 >"$work/miltertest-nogroup.log" 2>&1 ||
    ! grep -q 'cannot connect.*Permission denied' "$work/miltertest-nogroup.log"; then
	cat "$work/miltertest-nogroup.log" >&2
	fail "a user outside group $unit_group could use the socket (or failed for another reason)"
fi
say "a legacy message was labelled over the socket (Content-Type: $expected_ct${added:+, $added added});" \
    "a non-member cannot connect"

# ---- the same through a real Postfix -------------------------------------------
# tests/mta/postfix-run.sh runs a private Postfix instance (no chroot, its own
# config, loopback only) whose smtpd connects to our socket as user postfix,
# which the package put into the group.  Only where Postfix is installed; this
# test does not install an MTA.
harness=$srcdir/tests/mta/postfix-run.sh
if [ -x "$harness" ] && [ -x /usr/sbin/postfix ] && getent passwd postfix >/dev/null; then
	mkdir -p "$work/pf-in" && cp "$msg" "$work/pf-in/legacy.eml"
	if ! HARNESS_QUIET=1 PF_PORT=${PF_PORT:-2627} "$harness" "unix:$socket_path" "$work/pf-in" \
	    "$work/pf-out" --default-action tempfail >"$work/postfix.log" 2>&1; then
		cat "$work/postfix.log" >&2
		fail "the message did not get through Postfix with the packaged milter"
	fi
	delivered_ct=$(sed -n '/^$/q; s/^Content-Type: //p' "$work/pf-out/delivered/legacy.eml")
	[ "$delivered_ct" = "$expected_ct" ] ||
		fail "Postfix delivered Content-Type: $delivered_ct, want $expected_ct"
	say "through a real Postfix (smtpd as user postfix, group $unit_group): delivered with Content-Type: $delivered_ct"
else
	say "NOTE: Postfix or tests/mta/postfix-run.sh not available: Postfix delivery not tried"
fi

# ---- reload and stop, as the unit does ---------------------------------------
if [ "$with_systemd" = yes ]; then
	systemctl reload "$pkg" || fail "systemctl reload"
	sleep 1
	systemctl is-active -q "$pkg" || fail "not active after reload"
else
	reload=${exec_reload//\$MAINPID/$daemon_pid}
	reload=${reload//\$\{MAINPID\}/$daemon_pid}
	(set -f; $reload) || fail "ExecReload ($reload)"
	sleep 1
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; fail "the daemon died on reload"; }
	grep -q 'reload' "$work/daemon.log" || { cat "$work/daemon.log" >&2; fail "no reload in the daemon's log"; }
fi
run_client --groups="$unit_gid" >"$work/miltertest2.log" 2>&1 ||
	{ cat "$work/miltertest2.log" >&2; fail "miltertest after reload"; }
say "reloaded with SIGHUP; still labels"

if [ "$with_systemd" = yes ]; then
	systemctl stop "$pkg" || fail "systemctl stop"
else
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	rc=$?
	[ "$rc" -eq 0 ] || { cat "$work/daemon.log" >&2; fail "the daemon exited $rc on SIGTERM"; }
fi
daemon_pid=
say "stopped with SIGTERM, exit 0"

# ---- purge --------------------------------------------------------------------
dpkg --purge "$pkg" >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge"; }
for f in /usr/sbin/codepage-milter /etc/codepage-milter.conf "$unit" /var/spool/codepage-milter; do
	[ ! -e "$f" ] || fail "$f left after purge"
done
say "purged; the package leaves nothing behind (the user is kept by design; this test removes it if it made it)"
say "PASS"
exit 0
