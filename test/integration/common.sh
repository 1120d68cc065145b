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
