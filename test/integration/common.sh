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
