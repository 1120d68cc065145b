#!/usr/bin/env bash
# bash test/mock/serve.sh, the mock bank on its own: it starts, prints SQL that, run as it is
# in a new database, makes a working server "inter" (balance and statement rows from the mock),
# and it stops the mock when it is stopped itself.
set -u
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_serve.XXXXXX")
chmod 755 "$DIR"
DB=pix_serve_test
finish() {
	[ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	[ -z "${KEEP_WORK:-}" ] && rm -rf "$DIR"
}
trap finish EXIT
bash "$ROOT/test/mock/serve.sh" "$DIR/mock" >"$DIR/out.sql" 2>"$DIR/err" &
SERVE_PID=$!
for _ in $(seq 1200); do  # certificates are made first: RSA keys take a while on a loaded machine
	grep -q 'Ctrl-C here' "$DIR/out.sql" 2>/dev/null && break
	sleep 0.1
done
check "serve.sh prints the SQL to point a server at the mock" grep -q "^CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw" "$DIR/out.sql"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -f "$DIR/out.sql" 2>&1)
check "the printed SQL runs as it is and reads the balance and a day of statement" \
	bash -c '[ "$(grep -c "|" <<<"$1")" -ge 2 ] && ! grep -q ERROR <<<"$1"' _ "$out"
want=$(q "SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'")
got=$(psql -X -q -At -d "$DB" -c "SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'" 2>&1)
check "the served mock has the suite mock's data ($got rows on 2024-06-20)" bash -c '[ "$1" = "$2" ] && [ "$1" -gt 0 ]' _ "$got" "$want"
mock_pid=$(pgrep -P "$SERVE_PID" -f mock_bank.py | head -1)
kill -TERM "$SERVE_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
check "stopping serve.sh (SIGTERM; the trap is the one Ctrl-C runs) ends it" bash -c '! kill -0 "$1" 2>/dev/null' _ "$SERVE_PID"
check "and the mock bank with it" bash -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' _ "$mock_pid"
SERVE_PID=""
