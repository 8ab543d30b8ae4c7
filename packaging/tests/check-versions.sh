#!/bin/sh
# check-versions.sh -- one version everywhere: AC_INIT in configure.ac (as
# config.h's PACKAGE_VERSION), "codepage-milter -V", the upstream part of
# debian/changelog's newest entry, and the RPM spec's Version.
#
# Usage: check-versions.sh [CONFIG-H DAEMON CHANGELOG SPEC]
# Without arguments it uses the build tree's config.h and codepage-milter and
# the packaging files from $srcdir.
set -eu
srcdir=${srcdir:-.}
config_h=${1:-./config.h}
daemon=${2:-./codepage-milter}
changelog=${3:-$srcdir/packaging/debian/changelog}
spec=${4:-$srcdir/packaging/rpm/codepage-milter.spec}

configure_version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$config_h")
daemon_version=$("$daemon" -V | sed -n 's/^codepage-milter \([^ ]*\)$/\1/p')
# "codepage-milter (0.1.0-1) unstable; urgency=medium" -> 0.1.0
debian_version=$(sed -n '1s/^codepage-milter (\([^)]*\)).*/\1/p' "$changelog")
debian_upstream=${debian_version%-*}
spec_version=$(sed -n 's/^Version:[[:space:]]*\([^[:space:]]*\)$/\1/p' "$spec")

status=0
[ -n "$configure_version" ] || { echo "FAIL: no PACKAGE_VERSION in $config_h" >&2; status=1; }
for pair in "codepage-milter -V:$daemon_version" \
	    "debian/changelog ($debian_version):$debian_upstream" \
	    "the RPM spec's Version:$spec_version"; do
	where=${pair%:*}
	version=${pair##*:}
	if [ "$version" != "$configure_version" ]; then
		echo "FAIL: configure.ac says \"$configure_version\" but $where says \"$version\"" >&2
		status=1
	fi
done
[ "$status" -ne 0 ] || echo "ok: version $configure_version in configure.ac, -V, debian/changelog and the RPM spec"
exit "$status"
