#!/usr/bin/env bash
# Network waits are cancellable: pg_cancel_backend and statement_timeout stop a call the
# bank never answers within a fraction of a second, the session stays usable, and
# pg_terminate_backend ends it.
set -u
. "$(dirname "$0")/common.sh"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
QUERY="SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'"

# Starts a session that hangs on the bank and returns when it is waiting.
start_hanging_session() {
	mock POST /reset >/dev/null
	mock POST /fault '{"endpoint":"extrato","kind":"hang","count":1}' >/dev/null
	PGAPPNAME=pix_cancel_test psql -X -At -c "$QUERY" -c "$QUERY" >"$OUT/out" 2>"$OUT/err" &
	SESSION=$!
	PID=""
	for _ in $(seq 100); do
		PID=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'pix_cancel_test' AND state = 'active' AND wait_event_type = 'Extension'")
		[ -n "$PID" ] && break
		sleep 0.05
	done
}

start_hanging_session
check "a hung bank call waits in a wait event of type Extension" test -n "$PID"
t0=$(now_ms)
q "SELECT pg_cancel_backend($PID)" >/dev/null
wait "$SESSION"
elapsed=$(($(now_ms) - t0))
echo "# pg_cancel_backend: session finished ${elapsed} ms after the cancel"
check "pg_cancel_backend stops a hung call within 500 ms (took ${elapsed} ms)" test "$elapsed" -lt 500
check "the cancelled query reports a cancel (57014 message)" grep -q "canceling statement due to user request" "$OUT/err"
check "the next query in the same session works" grep -qx 5 "$OUT/out"

# statement_timeout, measured from outside.
mock POST /reset >/dev/null
mock POST /fault '{"endpoint":"extrato","kind":"hang","count":1}' >/dev/null
t0=$(now_ms)
psql -X -At -c "SET statement_timeout = '300ms'" -c "$QUERY" -c "RESET statement_timeout" -c "$QUERY" >"$OUT/out" 2>"$OUT/err"
elapsed=$(($(now_ms) - t0))
echo "# statement_timeout 300ms: both statements done in ${elapsed} ms"
check "statement_timeout 300ms ends a hung call and the session goes on (${elapsed} ms)" test "$elapsed" -lt 1500
check "statement_timeout reports a timeout" grep -q "canceling statement due to statement timeout" "$OUT/err"
check "the query after the timeout returns the rows" grep -qx 5 "$OUT/out"

# pg_terminate_backend ends the backend promptly.
start_hanging_session
t0=$(now_ms)
q "SELECT pg_terminate_backend($PID)" >/dev/null
wait "$SESSION"
elapsed=$(($(now_ms) - t0))
check "pg_terminate_backend ends a hung backend within 500 ms (took ${elapsed} ms)" test "$elapsed" -lt 500
check "the terminated session reports the termination" grep -q "terminating connection due to administrator command" "$OUT/err"
mock POST /reset >/dev/null
