# Shared by test/run_all.sh and test/demo.sh (source it): installs what is needed, builds and
# installs the extension, starts a throwaway PostgreSQL as the postgres OS user and the mock
# bank on loopback, and cleans both up on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGVER=${PGVER:-15}
PGBIN=/usr/lib/postgresql/$PGVER/bin
# PIX_PGROOT=/some/dir: build, install and run against a private, relocated copy of the
# PostgreSQL installation there, so several checkouts can test side by side without
# overwriting each other's installed pix_fdw.so. Unset (CI, the README): the system one.
if [ -n "${PIX_PGROOT:-}" ]; then
	PGBIN=$PIX_PGROOT/usr/lib/postgresql/$PGVER/bin
fi
PYTHON=/usr/bin/python3

log() { printf '== %s\n' "$*" >&2; }

# Runs a command as the postgres OS user (PostgreSQL refuses to run as root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_deps() {
	if [ "$(id -u)" != 0 ]; then
		log "not root: assuming the build dependencies are installed"
		return
	fi
	log "installing dependencies (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
		"postgresql-$PGVER" "postgresql-server-dev-$PGVER" libcurl4-openssl-dev libssl-dev \
		rapidjson-dev openssl curl python3 make g++ ca-certificates \
		clang libclang-rt-dev locales >/dev/null  # test/fuzz: libFuzzer runtime, a Latin-1 locale's sources
	# BI clients (test/integration/bi_clients.sh): pgjdbc with a JDK (java File.java compiles
	# in memory: a JRE is not enough) and psycopg 3 for Debian's python3.
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
		libpostgresql-jdbc-java default-jdk-headless python3-psycopg >/dev/null
}

private_pgroot() {
	[ -n "${PIX_PGROOT:-}" ] || return 0
	[ -x "$PGBIN/postgres" ] && return 0
	log "copying PostgreSQL $PGVER into $PIX_PGROOT"
	mkdir -p "$PIX_PGROOT/usr/lib/postgresql" "$PIX_PGROOT/usr/share/postgresql" "$PIX_PGROOT/usr/include"
	cp -a "/usr/lib/postgresql/$PGVER" "$PIX_PGROOT/usr/lib/postgresql/"
	cp -a "/usr/share/postgresql/$PGVER" "$PIX_PGROOT/usr/share/postgresql/"
	cp -a /usr/include/postgresql "$PIX_PGROOT/usr/include/"
	chmod -R a+rX "$PIX_PGROOT"
}

build_install() {
	private_pgroot
	log "building pix_fdw"
	make -s -C "$ROOT" PG_CONFIG="$PGBIN/pg_config" >/dev/null
	make -s -C "$ROOT" PG_CONFIG="$PGBIN/pg_config" install >/dev/null
}

free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cleanup() {
	set +e
	[ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
	[ -n "${PGDATA:-}" ] && [ -d "$PGDATA" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
	if [ -n "${WORK:-}" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; fi
}

# The most a test cluster's log shows (test/integration/zz_secrets.sh searches it for
# secrets): every statement, the statement of every message, bind parameters on errors.
verbose_logging() {
	cat <<'CONF'
log_min_messages = debug1
log_statement = 'all'
log_min_error_statement = debug5
log_parameter_max_length_on_error = -1
CONF
}

start_postgres() {
	WORK=$(mktemp -d "${PIX_TMP:-/tmp}/pix_fdw.XXXXXX")
	chmod 755 "$WORK"
	[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
	PGDATA=$WORK/data
	PGPORT=$(free_port)
	log "starting PostgreSQL $PGVER on port $PGPORT in $WORK"
	as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
	cat >>"$PGDATA/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$WORK'
fsync = off
log_line_prefix = '%m [%p] '
$(verbose_logging)
CONF
	as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgres.log" -w start >/dev/null
	export PGHOST=$WORK PGPORT PGUSER=postgres PGDATABASE=postgres
	PIX_LOG_CONF=$(verbose_logging)
	export PIX_LOG_CONF
}

start_mock() {
	log "generating certificates and starting the mock bank"
	bash "$ROOT/test/mock/gen_certs.sh" "$WORK/certs" >/dev/null
	"$PYTHON" "$ROOT/test/mock/mock_bank.py" --certs "$WORK/certs" --port-file "$WORK/mock.port" \
		--control-port-file "$WORK/control.port" --rate-limits off --log "$WORK/mock.log" &
	MOCK_PID=$!
	for _ in $(seq 100); do
		[ -s "$WORK/mock.port" ] && [ -s "$WORK/control.port" ] && break
		sleep 0.1
	done
	[ -s "$WORK/mock.port" ] || { log "mock bank did not start"; cat "$WORK/mock.log" >&2; return 1; }
	export PIX_MOCK_URL="https://127.0.0.1:$(cat "$WORK/mock.port")"
	export PIX_MOCK_CONTROL="http://127.0.0.1:$(cat "$WORK/control.port")"
	export PIX_CERTS="$WORK/certs"
}
