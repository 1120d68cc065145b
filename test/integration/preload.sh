#!/usr/bin/env bash
# pix_fdw in shared_preload_libraries, on a second throwaway cluster: one token for every
# session (8 sessions x 200 queries mint one token; sessions that all need a token wait for
# one mint; a cancelled minter hands the mint over), and client-side rate limits counted
# across backends (a burst never collects 429s; calls wait their turn; a wait is cancellable).
set -u
. "$(dirname "$0")/common.sh"
PGBIN=${PIX_PGROOT:-}/usr/lib/postgresql/${PGVER:-15}/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_preload.XXXXXX")
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
finish() {
	keep_cluster_log preload "$DIR/postgres.log"
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1
	[ -z "${KEEP_WORK:-}" ] && rm -rf "$DIR"
}
trap finish EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR'
fsync = off
shared_preload_libraries = 'pix_fdw'
log_line_prefix = '%m [%p] '
CONF
cluster_log_conf "$DIR/data/postgresql.conf"
if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w start >/dev/null; then
	cat "$DIR/postgres.log"
	not_ok "a cluster with shared_preload_libraries = 'pix_fdw' starts"
	exit 0
fi
export PGHOST=$DIR PGPORT=$PORT PGDATABASE=postgres
# Copies of the client certificate and key: each test starts from credentials whose token
# nobody holds yet (tokens are shared per credential and scope set).
for n in 1 2 3 4 5; do
	cp "$PIX_CERTS/client.crt" "$DIR/c$n.crt"
	cp "$PIX_CERTS/client.key" "$DIR/c$n.key"
done
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"/c*
server() { # server NAME RATE_LIMITS CERT_N
	q "CREATE SERVER $1 FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt', rate_limits '$2', cache_ttl '0')"
	q "CREATE USER MAPPING FOR CURRENT_USER SERVER $1 OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$DIR/c$3.crt', key_file '$DIR/c$3.key')"
	q "CREATE FOREIGN TABLE ${1}_ex (valor numeric, data_transacao date) SERVER $1 OPTIONS (endpoint 'extrato')"
}
q "CREATE EXTENSION pix_fdw"
server inter off 1
OUT=$DIR/out
mkdir -p "$OUT"
statuses() { mock GET "/requests?endpoint=$1" | python3 -c "import json,sys; print(' '.join(str(r['status']) for r in json.load(sys.stdin)))"; }

# --- 8 sessions x 200 queries, started together while the (slowed) first mint runs ------
DAYS=20
for d in $(seq 1 $DAYS); do
	day=$(printf '2024-03-%02d' "$d")
	mock GET "/summary?dataInicio=$day&dataFim=$day" | python3 -c "import json,sys; print(json.load(sys.stdin)['count'])"
done >"$OUT/expected_counts"
for i in $(seq 0 199); do
	printf "SELECT count(*) FROM inter_ex WHERE data_transacao = '2024-03-%02d';\n" $((i % DAYS + 1))
done >"$OUT/q.sql"
for i in $(seq 0 199); do sed -n "$((i % DAYS + 1))p" "$OUT/expected_counts"; done >"$OUT/expected"
mock POST '/reset?tokens=1' >/dev/null
mock POST /fault '{"endpoint":"token","kind":"delay","ms":1000,"count":1}' >/dev/null
q "SELECT pix_fdw.counters_reset()" >/dev/null
t0=$(now_ms)
for s in 1 2 3 4 5 6 7 8; do
	psql -X -At -v ON_ERROR_STOP=1 -f "$OUT/q.sql" >"$OUT/s$s" 2>&1 &
done
wait
elapsed=$(($(now_ms) - t0))
bad=0
for s in 1 2 3 4 5 6 7 8; do cmp -s "$OUT/s$s" "$OUT/expected" || { bad=$((bad + 1)); head -3 "$OUT/s$s" | sed 's/^/# /'; }; done
tokens=$(calls token)
extrato=$(calls extrato)
echo "# 8 sessions x 200 queries: ${elapsed} ms, $tokens token mints, $extrato statement calls"
check "8 concurrent sessions x 200 queries each get the bank's exact counts" test "$bad" -eq 0
check "... and mint one token between them (got $tokens)" test "$tokens" -eq 1
check "... with one statement call per query (got $extrato)" test "$extrato" -eq 1600
# pix_fdw.counters, in shared memory, adds up the 8 sessions (read from a ninth).
counted=$(q "SELECT string_agg(endpoint || ' ' || calls || ' ' || pages || ' ' || status_2xx || ' ' || tokens, ', ' ORDER BY endpoint) FROM pix_fdw.counters WHERE server = 'inter'")
check "pix_fdw.counters adds up every session: 1600 statement calls and pages, 1 token ($counted)" \
	test "$counted" = "extrato 1600 1600 1600 0, token 1 0 1 1"

# --- a cancelled minter: the waiting session takes the mint over ---------------------------
q "ALTER USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (SET cert_file '$DIR/c2.crt', SET key_file '$DIR/c2.key')"
mock POST /reset >/dev/null
mock POST /fault '{"endpoint":"token","kind":"delay","ms":6000,"count":1}' >/dev/null
QUERY="SELECT count(*) FROM inter_ex WHERE data_transacao = '2024-03-01'"
active() { q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND state = 'active' AND wait_event_type = 'Extension'"; }
PGAPPNAME=pix_minter psql -X -At -q -c "$QUERY" >"$OUT/minter" 2>&1 &
MINTER=$!
for _ in $(seq 200); do
	[ "$(calls token)" -ge 1 ] && [ "$(active pix_minter)" -eq 1 ] && break
	sleep 0.05
done
PGAPPNAME=pix_waiter psql -X -At -q -c "SET statement_timeout = '30s'" -c "$QUERY" >"$OUT/waiter" 2>&1 &
WAITER=$!
for _ in $(seq 200); do
	[ "$(active pix_waiter)" -eq 1 ] && break
	sleep 0.05
done
sleep 0.3
waiting=$(active pix_waiter)
minting=$(active pix_minter)
t0=$(now_ms)
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'pix_minter'" >/dev/null
wait "$MINTER"
wait "$WAITER"
elapsed=$(($(now_ms) - t0))
echo "# waiter finished ${elapsed} ms after the minter was cancelled"
check "a session needing the token being minted waits for it (not an error)" test "$waiting" -eq 1 -a "$minting" -eq 1
check "the cancelled minter reports the cancel" grep -q "canceling statement due to user request" "$OUT/minter"
check "the waiting session mints in its place and gets the right answer" test "$(cat "$OUT/waiter")" = "$(sed -n 1p "$OUT/expected_counts")"
check "... at once, not after the cancelled mint's 6 s (took ${elapsed} ms)" test "$elapsed" -lt 4000
check "two token requests in all (got $(calls token))" test "$(calls token)" -eq 2

# --- rate limits across backends: the budget is the cluster's, not each session's ---------
# The bank (the mock, limits on) allows 6 statement calls a minute, and so does the server
# option. 8 sessions at once: 6 queries run; 2 would have to wait ~1 min, longer than their
# statement_timeout, and fail at once with the client-side limit. No 429 from the bank.
server rl6 'extrato=6/min' 3
mock POST /reset >/dev/null
mock POST /config '{"rate_limits":true,"limits":{"extrato":6}}' >/dev/null
t0=$(now_ms)
for s in 1 2 3 4 5 6 7 8; do
	psql -X -At -c "SET statement_timeout = '8s'" -c "SELECT count(*) FROM rl6_ex WHERE data_transacao = '2024-03-0$s'" >"$OUT/r$s" 2>&1 &
done
wait
elapsed=$(($(now_ms) - t0))
mock POST /config '{"rate_limits":false,"limits":{"extrato":10}}' >/dev/null
okq=0
limited=0
for s in 1 2 3 4 5 6 7 8; do
	grep -qx "$(sed -n "${s}p" "$OUT/expected_counts")" "$OUT/r$s" && okq=$((okq + 1))
	grep -q 'client-side rate limit for endpoint "extrato" of server "rl6": the next call may go in [0-9.]* s, after statement_timeout' "$OUT/r$s" && limited=$((limited + 1))
done
st=$(statuses extrato)
echo "# 8 sessions on a 6/min budget: $okq answered, $limited refused by the limiter, bank statuses: $st (${elapsed} ms)"
check "6 of 8 simultaneous sessions run within the shared 6/min budget (got $okq)" test "$okq" -eq 6
check "the other 2 fail at once naming the limit and the wait (got $limited)" test "$limited" -eq 2
check "... at once, well within their 8 s statement_timeout (${elapsed} ms)" test "$elapsed" -lt 8000
check "the bank saw 6 calls and no 429" test "$st" = "200 200 200 200 200 200"
counted=$(q "SELECT calls || ' ' || status_2xx || ' ' || status_429 || ' ' || rate_waits FROM pix_fdw.counters WHERE server = 'rl6' AND endpoint = 'extrato'")
check "pix_fdw.counters: 6 calls, 6 answers, no 429, no wait (the 2 refused never waited) ($counted)" test "$counted" = "6 6 0 0"

# 2 calls a second for the whole cluster: 4 sessions x 2 queries = 8 calls take >= 3 s
# (at 0, 0, 1, 1, 2, 2, 3, 3 s); counted per session they would go at once.
server rl2 'extrato=2/s' 4
mock POST /reset >/dev/null
q "SELECT count(*) FROM rl2_ex WHERE data_transacao = '2024-02-01'" >/dev/null   # token, and the log's first call
sleep 1.2
t0=$(now_ms)
for s in 1 2 3 4; do
	psql -X -At -c "SELECT count(*) FROM rl2_ex WHERE data_transacao = '2024-03-0$s'" \
		-c "SELECT count(*) FROM rl2_ex WHERE data_transacao = '2024-03-0$((s + 4))'" >"$OUT/w$s" 2>&1 &
done
wait
elapsed=$(($(now_ms) - t0))
answered=$(cat "$OUT"/w? | grep -cx '[0-9]*')
echo "# 8 calls on a shared 2/s budget: ${elapsed} ms"
check "8 calls on a shared 2/s budget all answer (got $answered)" test "$answered" -eq 8
check "... and wait their turn: >= 3 s in all (took ${elapsed} ms)" test "$elapsed" -ge 3000 -a "$elapsed" -lt 30000
check "... the bank saw no 429" test -z "$(statuses extrato | tr -d '20 ')"
counted=$(q "SELECT calls || ' ' || rate_waits FROM pix_fdw.counters WHERE server = 'rl2' AND endpoint = 'extrato'")
check "pix_fdw.counters: 9 calls of rl2, some of which waited for the shared limit ($counted)" \
	test "${counted% *}" = 9 -a "${counted#* }" -ge 1

# A wait for the limit is cancellable: 1 call a minute, the second query waits ~1 min.
server rl1 'extrato=1/min' 5
PGAPPNAME=pix_rl_wait psql -X -At -c "SELECT count(*) FROM rl1_ex WHERE data_transacao = '2024-03-01'" \
	-c "SELECT count(*) FROM rl1_ex WHERE data_transacao = '2024-03-02'" >"$OUT/c" 2>&1 &
SESSION=$!
PID=""
for _ in $(seq 200); do
	PID=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'pix_rl_wait' AND state = 'active' AND wait_event_type = 'Extension'")
	[ -n "$PID" ] && [ "$(calls extrato)" -ge 1 ] && break
	sleep 0.05
done
sleep 0.3
t0=$(now_ms)
q "SELECT pg_cancel_backend($PID)" >/dev/null
wait "$SESSION"
elapsed=$(($(now_ms) - t0))
check "a session waiting for the rate limit is cancelled within 1 s (took ${elapsed} ms)" test "$elapsed" -lt 1000
check "... and reports the cancel" grep -q "canceling statement due to user request" "$OUT/c"
check "the backends are healthy: no crash in the log" bash -c "! grep -qE 'terminated by signal|PANIC' '$DIR/postgres.log'"
