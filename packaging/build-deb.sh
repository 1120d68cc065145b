#!/usr/bin/env bash
# Builds the Debian package postgresql-15-pix-fdw_<version>_<arch>.deb with Debian's own
# PostgreSQL tooling (debhelper + pg_buildext, see debian/). As root it first installs the build
# dependencies with apt-get when dpkg-checkbuilddeps finds some missing. The build runs in a
# copy of the source tree, so the checkout's own build (make, make install) is left alone. The
# .deb files land in $PIX_DEB_OUT (default: dist/).
#
#   bash packaging/build-deb.sh            # then: dpkg -i dist/postgresql-15-pix-fdw_*.deb
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${PIX_DEB_OUT:-$ROOT/dist}

if [ "$(id -u)" = 0 ] && ! (cd "$ROOT" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
		debhelper dpkg-dev fakeroot postgresql-server-dev-all postgresql-server-dev-15 \
		libcurl4-openssl-dev libssl-dev rapidjson-dev make g++ >/dev/null
fi

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/pix_fdw-deb.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
mkdir "$BUILD/src"
# The sources only: no objects, no test results, no git metadata, no earlier packages.
tar -C "$ROOT" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude=dist \
	--exclude=test/results --exclude=test/regression.diffs --exclude=test/regression.out \
	-cf - . | tar -C "$BUILD/src" -xf -
(
	cd "$BUILD/src"
	# Only the versions in debian/pgversions (15), whatever else is installed.
	export PG_SUPPORTED_VERSIONS=${PG_SUPPORTED_VERSIONS:-15}
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
		dpkg-buildpackage -us -uc -b
)
mkdir -p "$OUT"
cp "$BUILD"/*.deb "$OUT"/
ls "$OUT"/postgresql-15-pix-fdw_*.deb
