#!/bin/sh
# build-deb.sh -- build the Debian package from the release tarball.
#
# Usage: packaging/build-deb.sh [-t TARBALL] [-L] OUTDIR
#   -t TARBALL  build from this "make dist" tarball (default: make one from
#               this source tree with packaging/dist-tarball.sh)
#   -L          do not run lintian
# The tarball is unpacked in a scratch directory, packaging/debian is copied
# to debian/, and "dpkg-buildpackage -us -uc -b" builds the binary package.
# The .deb (and .buildinfo/.changes) land in OUTDIR.  Unless -L is given,
# lintian checks the .deb; its output goes to OUTDIR/lintian.txt and any
# error (E:) fails the build.  Needs: dpkg-dev, debhelper, the Build-Depends
# of packaging/debian/control (packaging/deps-debian.sh installs them).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tarball= lintian=yes
while getopts t:L opt; do
	case $opt in
	t) tarball=$(cd "$(dirname "$OPTARG")" && pwd)/$(basename "$OPTARG") ;;
	L) lintian=no ;;
	*) echo "usage: build-deb.sh [-t TARBALL] [-L] OUTDIR" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: build-deb.sh [-t TARBALL] [-L] OUTDIR" >&2; exit 64; }
mkdir -p "$1"
out=$(cd "$1" && pwd)

# A clean make environment: when run from "make check", the parent's
# MAKEFLAGS (TEST_LOGS=..., jobserver) must not reach the package build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
work=$(mktemp -d "${TMPDIR:-/tmp}/build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$tarball" ] || tarball=$("$here/dist-tarball.sh" "$work")

# codepage-milter-1.2.3.tar.gz -> 1.2.3: the upstream version, from AC_INIT.
base=$(basename "$tarball" .tar.gz)
version=${base#codepage-milter-}
tar -xzf "$tarball" -C "$work"
src=$work/$base
[ -d "$src/packaging/debian" ] || { echo "build-deb.sh: no packaging/debian in $tarball" >&2; exit 1; }
cp -R "$src/packaging/debian" "$src/debian"

# The Debian version's upstream part must be the tarball's (configure.ac's).
debversion=$(cd "$src" && dpkg-parsechangelog -S Version)
if [ "${debversion%-*}" != "$version" ]; then
	echo "build-deb.sh: debian/changelog says $debversion, configure.ac says $version:" \
	    "add a changelog entry (dch -v $version-1)" >&2
	exit 1
fi
ln -s "$tarball" "$work/codepage-milter_$version.orig.tar.gz"

echo "build-deb.sh: building codepage-milter $debversion in $src"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/dpkg-buildpackage.log" 2>&1; then
	tail -n 60 "$out/dpkg-buildpackage.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (full log: $out/dpkg-buildpackage.log)" >&2
	exit 1
fi
for f in "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes; do
	[ -e "$f" ] && cp "$f" "$out/"
done
deb=$(ls "$out"/codepage-milter_"$debversion"_*.deb)
echo "build-deb.sh: built $deb"

if [ "$lintian" = yes ]; then
	# --no-tag-display-limit: show every instance, not a sample.
	lintian --info --display-info --no-tag-display-limit "$deb" >"$out/lintian.txt" 2>&1 || :
	errors=$(grep -c '^E: ' "$out/lintian.txt" || :)
	warnings=$(grep -c '^W: ' "$out/lintian.txt" || :)
	echo "build-deb.sh: lintian: $errors errors, $warnings warnings (see $out/lintian.txt)"
	grep '^[EW]: ' "$out/lintian.txt" || :
	[ "$errors" -eq 0 ] || exit 1
fi
