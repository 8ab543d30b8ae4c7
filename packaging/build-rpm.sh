#!/bin/sh
# build-rpm.sh -- build the RPM package from the release tarball.
#
# Usage: packaging/build-rpm.sh [-t TARBALL] OUTDIR
#   -t TARBALL  build from this "make dist" tarball (default: make one from
#               this source tree with packaging/dist-tarball.sh)
# Runs "rpmbuild -tb" on the tarball (the spec, packaging/rpm/
# codepage-milter.spec, is read from inside it) in a scratch _topdir and copies
# the binary RPM to OUTDIR.
#
# On Debian (package "rpm"), rpmbuild cannot see the Build-Depends installed
# by apt, since its own database is empty: set RPM_NODEPS=1 to pass --nodeps
# (packaging/tests/test-packages.sh does).  Debian has no debuginfo tooling,
# so debug packages are switched off there as well.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tarball=
while getopts t: opt; do
	case $opt in
	t) tarball=$(cd "$(dirname "$OPTARG")" && pwd)/$(basename "$OPTARG") ;;
	*) echo "usage: build-rpm.sh [-t TARBALL] OUTDIR" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: build-rpm.sh [-t TARBALL] OUTDIR" >&2; exit 64; }
mkdir -p "$1"
out=$(cd "$1" && pwd)

# A clean make environment: when run from "make check", the parent's
# MAKEFLAGS (TEST_LOGS=..., jobserver) must not reach the package build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
work=$(mktemp -d "${TMPDIR:-/tmp}/build-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$tarball" ] || tarball=$("$here/dist-tarball.sh" "$work")

set -- --define "_topdir $work/rpmbuild"
if [ "${RPM_NODEPS:-0}" = 1 ]; then
	set -- "$@" --nodeps
fi
if [ -e /etc/debian_version ]; then
	set -- "$@" --define "debug_package %{nil}" --define "_build_id_links none"
fi
echo "build-rpm.sh: rpmbuild -tb $(basename "$tarball")"
if ! rpmbuild "$@" -tb "$tarball" >"$out/rpmbuild.log" 2>&1; then
	tail -n 60 "$out/rpmbuild.log" >&2
	echo "build-rpm.sh: rpmbuild failed (full log: $out/rpmbuild.log)" >&2
	exit 1
fi
find "$work/rpmbuild/RPMS" -name '*.rpm' -exec cp {} "$out/" \;
ls "$out"/codepage-milter-*.rpm
