#!/usr/bin/env bash
# The Debian package: packaging/build-deb.sh builds postgresql-15-pix-fdw_*.deb with debhelper
# and pg_buildext; it holds the same files as `make install`; as root it installs with dpkg -i
# into the system's PostgreSQL 15, and a fresh cluster made with the system's initdb loads the
# packaged library, runs CREATE EXTENSION and answers a query against the mock bank exactly as
# the suite's own cluster does. Afterwards the system is left as it was found: the package is
# removed again (when it was not installed before) and the files that `make install` had put
# there (the suite's, in CI) are put back byte for byte.
set -u
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PGVER=${PGVER:-15}
SYSBIN=/usr/lib/postgresql/$PGVER/bin
PKG=postgresql-$PGVER-pix-fdw
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_deb.XXXXXX")
chmod 755 "$DIR"
STARTED=""
INSTALLED=""
finish() {
	[ -n "$STARTED" ] && as_pg "$SYSBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1
	if [ -n "$INSTALLED" ]; then
		dpkg_retry -r "$PKG" >/dev/null 2>&1
		# Put back what was there before the package (make install's files), as it was.
		(cd "$DIR/backup" && find . -type f -print0 | while IFS= read -r -d '' f; do
			mkdir -p "$(dirname "/${f#./}")"
			cp -p "$f" "/${f#./}"
		done)
	fi
	[ -z "${KEEP_WORK:-}" ] && rm -rf "$DIR"
}
trap finish EXIT
# dpkg has no lock timeout of its own: wait while another apt or dpkg holds the lock.
dpkg_retry() {
	local out
	for _ in $(seq 60); do
		if out=$(dpkg "$@" 2>&1); then echo "$out"; return 0; fi
		grep -q -i 'lock' <<<"$out" || { echo "$out"; return 1; }
		sleep 5
	done
	echo "$out"
	return 1
}

# 1. Build it.
if ! PIX_DEB_OUT="$DIR/out" bash "$ROOT/packaging/build-deb.sh" >"$DIR/build.log" 2>&1; then
	tail -30 "$DIR/build.log"
	not_ok "packaging/build-deb.sh builds $PKG"
	exit 0
fi
DEB=$(ls "$DIR"/out/"${PKG}"_*.deb 2>/dev/null | head -1)
check "packaging/build-deb.sh builds ${PKG}_<version>_<arch>.deb" test -s "$DEB"
check "the package build prints no warning" bash -c '! grep -E -i "warning:" "$1"' _ "$DIR/build.log"
check "the package is built for PostgreSQL $PGVER only" \
	bash -c '[ "$(ls "$1"/out/*.deb | grep -v dbgsym | wc -l)" = 1 ]' _ "$DIR"
check "the package depends on postgresql-$PGVER" bash -c 'dpkg-deb -f "$1" Depends | grep -q "postgresql-$2"' _ "$DEB" "$PGVER"

# 2. The same files as make install (the documentation aside).
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | grep -v '^/usr/share/doc/' | sort >"$DIR/deb.files"
make -s -C "$ROOT" PG_CONFIG="$SYSBIN/pg_config" DESTDIR="$DIR/destdir" install >"$DIR/make.log" 2>&1
(cd "$DIR/destdir" && find . -type f | sed 's|^\.||' | sort) >"$DIR/make.files"
if diff "$DIR/make.files" "$DIR/deb.files" >"$DIR/files.diff"; then
	ok "the package installs the same files as make install ($(wc -l <"$DIR/deb.files") files)"
else
	cat "$DIR/files.diff"
	not_ok "the package installs the same files as make install"
fi
check "the package holds the library, the control file and every extension script" bash -c '
	grep -qx "/usr/lib/postgresql/$2/lib/pix_fdw.so" "$1" && grep -qx "/usr/share/postgresql/$2/extension/pix_fdw.control" "$1" &&
	for s in "$3"/sql/pix_fdw--*.sql; do grep -qx "/usr/share/postgresql/$2/extension/$(basename "$s")" "$1" || exit 1; done' \
	_ "$DIR/deb.files" "$PGVER" "$ROOT"

if [ "$(id -u)" != 0 ]; then
	ok "not root: dpkg -i and the fresh cluster are left out (they run in CI, as root)"
	exit 0
fi

# 3. Install it into the system's PostgreSQL, keeping what was there.
mkdir -p "$DIR/backup"
while read -r f; do
	[ -f "$f" ] && mkdir -p "$DIR/backup$(dirname "$f")" && cp -p "$f" "$DIR/backup$f"
done <"$DIR/deb.files"
dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null | grep -q '^installed' && had_pkg=1 || had_pkg=""
if ! dpkg_retry -i "$DEB" >"$DIR/dpkg.log" 2>&1; then
	cat "$DIR/dpkg.log"
	not_ok "dpkg -i installs the package"
	exit 0
fi
[ -z "$had_pkg" ] && INSTALLED=1
check "dpkg -i installs the package" bash -c 'dpkg-query -W -f "\${db:Status-Status}" "$1" | grep -q "^installed"' _ "$PKG"
check "dpkg knows the library as the package's" bash -c 'dpkg -S "/usr/lib/postgresql/$1/lib/pix_fdw.so" | grep -q "^$2:"' _ "$PGVER" "$PKG"

# 4. A fresh cluster of the system's PostgreSQL, the extension, a query against the mock bank.
chown postgres: "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$SYSBIN/initdb" -D "$DIR/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR'
fsync = off
CONF
STARTED=1
if ! as_pg "$SYSBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w start >/dev/null; then
	cat "$DIR/postgres.log"
	not_ok "a fresh cluster of the system's PostgreSQL starts"
	exit 0
fi
fresh() { PGHOST=$DIR PGPORT=$PORT PGDATABASE=postgres psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
if ! fresh -v url="$PIX_MOCK_URL" -v certs="$PIX_CERTS" >"$DIR/setup.out" 2>&1 <<'SQL'; then
CREATE EXTENSION pix_fdw;
CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url :'url', rate_limits 'off', cache_ttl '0');
SELECT format('ALTER SERVER inter OPTIONS (ADD ca_file %L)', :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
CREATE SCHEMA inter;
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter;
SQL
	cat "$DIR/setup.out"
	not_ok "CREATE EXTENSION, a server, a user mapping and IMPORT FOREIGN SCHEMA on the fresh cluster"
	exit 0
fi
ok "CREATE EXTENSION, a server, a user mapping and IMPORT FOREIGN SCHEMA on the fresh cluster"
check "the extension's version is the control file's default_version" bash -c '
	[ "$1" = "$(sed -n "s/^default_version *= *.\([^'\'']*\).*/\1/p" "$2/pix_fdw.control")" ]' \
	_ "$(fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'pix_fdw'")" "$ROOT"
SQLQ="SELECT count(*) || ' ' || sum(valor) || ' ' || string_agg(id_transacao, ',' ORDER BY id_transacao) FROM inter.extrato WHERE data_transacao = '2024-06-20'"
answer=$(fresh -c "$SQLQ" 2>&1)
want=$(q "$SQLQ" 2>&1)
check "a statement query on the fresh cluster answers as on the suite's cluster ($(cut -d' ' -f1-2 <<<"$answer"))" \
	bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && [ "${1%% *}" -gt 0 ]' _ "$answer" "$want"
# The library a backend loaded is the file dpkg installed (the same inode), not another copy.
so=/usr/lib/postgresql/$PGVER/lib/pix_fdw.so
maps=$(fresh -c "SELECT count(*) FROM inter.saldo" -c "SELECT pg_read_file('/proc/self/maps')" 2>&1)
check "the backend runs the packaged pix_fdw.so" bash -c '
	awk -v f="$2" "\$6 == f {print \$5}" <<<"$1" | grep -qx "$(stat -c %i "$2")"' _ "$maps" "$so"
bal=$(fresh -c "SELECT count(*) FROM inter.saldo WHERE disponivel IS NOT NULL" 2>&1)
check "the balance reads one row on the fresh cluster" test "$bal" = 1
