#!/bin/sh
# dist-tarball.sh -- make the release tarball ("make dist") of this source tree
# in a scratch build directory and print its path.
#
# Usage: packaging/dist-tarball.sh WORKDIR
# The tree must have a configure script; in a git clone, run "autoreconf -fi"
# first (the README's build command does).  The source tree is only read.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: dist-tarball.sh WORKDIR}
if [ ! -x "$top/configure" ]; then
	echo "dist-tarball.sh: $top/configure is missing: run \"autoreconf -fi\" there first" >&2
	exit 1
fi
mkdir -p "$work/dist-build"
cd "$work/dist-build"
"$top/configure" -q >configure.log 2>&1 || { cat configure.log >&2; exit 1; }
# Unset MAKEFLAGS: when called from "make check", the parent's jobserver and
# variables must not leak into this unrelated build.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make dist >dist.log 2>&1 || { tail -n 40 dist.log >&2; exit 1; }
ls "$work"/dist-build/*.tar.gz
