#!/bin/sh
# deps-debian.sh -- install everything codepage-milter needs to build and test on Debian 12.
# Idempotent; needs root. Usage: packaging/deps-debian.sh [--build-only]
set -eu
BUILD="build-essential autoconf automake libtool pkg-config m4 libmilter-dev libuchardet-dev liblmdb-dev libhiredis-dev check"
TEST="miltertest redis-server python3 gettext locales-all iproute2 util-linux procps clang libclang-rt-14-dev debhelper lintian rpm groff-base m4 libwrap0 tnef ytnef-tools"
pkgs=$BUILD
[ "${1:-}" = --build-only ] || pkgs="$BUILD $TEST"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps-debian.sh: all dependencies present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps-debian.sh: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
