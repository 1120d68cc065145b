#!/usr/bin/env bash
# Interrupts other than cancel and terminate are serviced while a call waits on the bank:
# DROP DATABASE (which waits for every backend to absorb a procsignal barrier) does not stall
# behind a hung call, pg_log_backend_memory_contexts answers at once, and
# client_connection_check_interval ends a backend whose client went away. The hung call
# itself is unaffected: it is still cancellable afterwards and the session stays usable.
set -u
. "$(dirname "$0")/common.sh"
LOG=${PIX_SERVER_LOG:?}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
QUERY="SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'"
APP=pix_interrupts_test

# Starts a session (extra psql environment in $1) that hangs on the bank; sets SESSION and PID.
start_hanging_session() {
	mock POST /reset >/dev/null
	mock POST /fault '{"endpoint":"extrato","kind":"hang","count":1}' >/dev/null
	env $1 PGAPPNAME=$APP psql -X -At -c "$QUERY" -c "$QUERY" >"$OUT/out" 2>"$OUT/err" &
	SESSION=$!
	PID=""
	for _ in $(seq 200); do
		PID=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = '$APP' AND state = 'active' AND wait_event_type = 'Extension'")
		[ -n "$PID" ] && break
		sleep 0.05
	done
}
hung() { [ -n "$(q "SELECT 1 FROM pg_stat_activity WHERE pid = $PID AND state = 'active' AND wait_event_type = 'Extension'")" ]; }
# Runs "DROP DATABASE pix_scratch" from database postgres; waits at most 5 s; sets ELAPSED
# (ms, or 99999 when it did not finish) and leaves DROPPER running when it did not finish.
timed_drop() {
	q "CREATE DATABASE pix_scratch" >/dev/null
	local t0
	t0=$(now_ms)
	PGDATABASE=postgres psql -X -q -c "DROP DATABASE pix_scratch" >"$OUT/drop" 2>&1 &
	DROPPER=$!
	ELAPSED=99999
	while [ "$(now_ms)" -lt $((t0 + 5000)) ]; do
		if ! kill -0 "$DROPPER" 2>/dev/null; then
			ELAPSED=$(($(now_ms) - t0))
			wait "$DROPPER"
			DROPPER=""
			return
		fi
		sleep 0.02
	done
}

q "DROP DATABASE IF EXISTS pix_scratch" >/dev/null 2>&1
timed_drop
base=$ELAPSED
echo "# DROP DATABASE with no call in flight: ${base} ms"

# DROP DATABASE while another backend waits on the bank.
start_hanging_session ""
check "a session hangs on the bank (wait event of type Extension)" test -n "$PID"
timed_drop
echo "# DROP DATABASE while a call hangs: ${ELAPSED} ms"
check "DROP DATABASE completes within a second of its usual time while a call hangs (${ELAPSED} ms, usual ${base} ms)" \
	test "$ELAPSED" -lt $((base + 1000))
check "the hung call is still waiting after the barrier was absorbed" hung

# pg_log_backend_memory_contexts on the hung backend logs at once, while it still waits.
before=$(grep -c "logging memory contexts of PID $PID" "$LOG")
t0=$(now_ms)
q "SELECT pg_log_backend_memory_contexts($PID)" >/dev/null
logged=""
while [ "$(now_ms)" -lt $((t0 + 4000)) ]; do
	[ "$(grep -c "logging memory contexts of PID $PID" "$LOG")" -gt "$before" ] && { logged=1; break; }
	sleep 0.02
done
elapsed=$(($(now_ms) - t0))
echo "# pg_log_backend_memory_contexts: in the server log after ${elapsed} ms"
check "pg_log_backend_memory_contexts on a hung backend reaches the server log within 2 s (${elapsed} ms)" \
	test -n "$logged" -a "$elapsed" -lt 2000
check "the memory context dump comes from the hung call, which still waits" hung

# The call is still cancellable, with the cancel's own message, and the session goes on.
q "SELECT pg_cancel_backend($PID)" >/dev/null
wait "$SESSION"
[ -n "${DROPPER:-}" ] && wait "$DROPPER"
check "after those interrupts the hung call still ends with a cancel" grep -q "canceling statement due to user request" "$OUT/err"
check "and the next query in the session returns the rows" grep -qx 5 "$OUT/out"

# client_connection_check_interval: the client of a hung backend disappears.
start_hanging_session "PGOPTIONS=-cclient_connection_check_interval=100ms"
check "a second session hangs on the bank" test -n "$PID"
t0=$(now_ms)
kill -KILL "$SESSION"
wait "$SESSION" 2>/dev/null
gone=""
while [ "$(now_ms)" -lt $((t0 + 4000)) ]; do
	[ -z "$(q "SELECT 1 FROM pg_stat_activity WHERE pid = $PID")" ] && { gone=1; break; }
	sleep 0.02
done
elapsed=$(($(now_ms) - t0))
echo "# client_connection_check_interval 100ms: backend gone ${elapsed} ms after its client died"
check "with client_connection_check_interval a hung backend whose client died exits within 2 s (${elapsed} ms)" \
	test -n "$gone" -a "$elapsed" -lt 2000
check "the server log says the connection to the client was lost" grep -q "\[$PID\] FATAL:  connection to client lost" "$LOG"
check "and the backend exited normally (no crash, no restart)" test -z "$(grep -E "terminated by signal|was terminated|PANIC" "$LOG")"
mock POST /reset >/dev/null
q "DROP DATABASE IF EXISTS pix_scratch" >/dev/null 2>&1
