# Helpers for the integration scripts: TAP-like "ok - name" / "not ok - name" lines, which
# test/run_all.sh counts. Needs PGHOST/PGPORT/PGUSER and PIX_MOCK_CONTROL in the environment
# and the objects that the regression tests create in database contrib_regression.
export PGDATABASE=${PGDATABASE_TEST:-contrib_regression}

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() { # check NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
mock() { curl -sS -X "$1" "$PIX_MOCK_CONTROL$2" ${3:+-H 'Content-Type: application/json' --data-binary "$3"}; }
calls() { mock GET /calls | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1', 0))"; }
now_ms() { date +%s%3N; }
# For a script's own throwaway cluster: cluster_log_conf appends the suite's verbose logging
# settings (test/lib.sh verbose_logging) to its postgresql.conf; keep_cluster_log NAME LOG,
# in its exit trap while the cluster still runs, leaves a copy of its log and its ledger key
# (hex) in $PIX_CLUSTER_LOGS for test/integration/zz_secrets.sh.
cluster_log_conf() { [ -n "${PIX_LOG_CONF:-}" ] && printf '%s\n' "$PIX_LOG_CONF" >>"$1"; return 0; }
keep_cluster_log() {
	[ -n "${PIX_CLUSTER_LOGS:-}" ] || return 0
	psql -X -q -At -c "SELECT encode(key, 'hex') FROM pix_fdw.ledger_key" >"$PIX_CLUSTER_LOGS/$1.ledger_key" 2>/dev/null
	cp "$2" "$PIX_CLUSTER_LOGS/$1.log"
}

# --- a second, throwaway cluster (preloading pix_fdw, say) --------------------------------
PGBIN=${PIX_PGROOT:-}/usr/lib/postgresql/${PGVER:-15}/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# start_cluster NAME [postgresql.conf line ...]: initdb in a new directory CLUSTER_DIR
# (PIX_TMP/pix_NAME.XXXXXX), the usual settings plus the given lines, start it and point
# PGHOST/PGPORT/PGDATABASE at it. On failure: prints the server log, returns 1. Set
# `trap stop_cluster EXIT` (or call it from your own EXIT trap) before calling it.
start_cluster() {
	local name=$1
	shift
	CLUSTER_NAME=$name
	CLUSTER_DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_$name.XXXXXX")
	chmod 755 "$CLUSTER_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$CLUSTER_DIR"
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	as_pg "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null || return 1
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$CLUSTER_DIR'"
		echo "fsync = off"
		echo "log_line_prefix = '%m [%p] '"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >>"$CLUSTER_DIR/data/postgresql.conf"
	cluster_log_conf "$CLUSTER_DIR/data/postgresql.conf"
	if ! cluster_ctl start; then
		cat "$CLUSTER_DIR/postgres.log"
		return 1
	fi
	export PGHOST=$CLUSTER_DIR PGPORT=$port PGDATABASE=postgres
}
# cluster_ctl start | cluster_ctl stop [MODE (fast)]: (re)start or stop that cluster.
cluster_ctl() {
	case $1 in
	start) as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/postgres.log" -w start >/dev/null ;;
	stop) as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m "${2:-fast}" stop >/dev/null ;;
	esac
}
# stop_cluster: keeps a copy of its log (keep_cluster_log), stops it at once and removes its
# directory (kept with KEEP_WORK set).
stop_cluster() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	keep_cluster_log "$CLUSTER_NAME" "$CLUSTER_DIR/postgres.log"
	as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1
	[ -z "${KEEP_WORK:-}" ] && rm -rf "$CLUSTER_DIR"
	return 0
}
