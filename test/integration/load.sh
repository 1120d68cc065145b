#!/usr/bin/env bash
# The load suite (issue 9): pix_fdw preloaded on a second throwaway cluster, a second mock
# bank of its own with the bank's real per-minute limits on (token 5, saldo 10, extrato 10,
# pix 120), and a server with rate_limits 'on' (the default) and the default cache settings.
# 8 pgbench sessions for a bounded time run a mix of the ordinary queries (a day and 30-day
# windows of extrato on more days than the statement budget allows in a minute, so the
# limiter must make some wait; the current balance; a day of received Pix; count(*)), and a
# ninth, long-lived session runs N rounds of checked queries, reads its own memory, then N
# more, and reads it again. Asserted from the mock's own record and pix_fdw.counters: no
# error reached any client, every checked answer is the bank's, the bank sent no 429, token
# mints and calls per endpoint in every rolling minute stay within the published budgets,
# and the long-lived backend's memory does not grow.
# LOAD_SECONDS (default 70) sets pgbench's -T; LOAD_ROUNDS (default 50) the rounds per half.
set -u
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_T=${LOAD_SECONDS:-70}
ROUNDS=${LOAD_ROUNDS:-50}
CLIENTS=8
PGBENCH=$PGBIN/pgbench
if [ ! -x "$PGBENCH" ]; then
	not_ok "pgbench is installed ($PGBENCH; Debian ships it in postgresql-15)"
	exit 0
fi
MOCK2=""
finish() {
	[ -n "$MOCK2" ] && kill "$MOCK2" 2>/dev/null && wait "$MOCK2" 2>/dev/null
	stop_cluster
}
trap finish EXIT
if ! start_cluster load "shared_preload_libraries = 'pix_fdw'"; then
	not_ok "a cluster with shared_preload_libraries = 'pix_fdw' starts"
	exit 0
fi
DIR=$CLUSTER_DIR
OUT=$DIR/out
mkdir -p "$OUT"

# --- a mock bank of our own, with the real limits on ----------------------------------------
python3 "$ROOT/test/mock/mock_bank.py" --certs "$PIX_CERTS" --port-file "$DIR/mock.port" \
	--control-port-file "$DIR/control.port" --rate-limits on --log "$DIR/mock.log" &
MOCK2=$!
for _ in $(seq 600); do  # up to 60 s: it builds its data first, slowly on a loaded machine
	[ -s "$DIR/mock.port" ] && [ -s "$DIR/control.port" ] && break
	kill -0 "$MOCK2" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$DIR/control.port" ]; then
	cat "$DIR/mock.log"
	not_ok "a second mock bank (--rate-limits on) starts"
	exit 0
fi
URL="https://127.0.0.1:$(cat "$DIR/mock.port")"
export PIX_MOCK_CONTROL="http://127.0.0.1:$(cat "$DIR/control.port")"  # mock() and calls() use it
limits=$(mock GET /config | python3 -c "import json,sys; c=json.load(sys.stdin); print(c['rate_limits'], c['limits']['token'], c['limits']['saldo'], c['limits']['extrato'], c['limits']['pix_recebidos'])")
check "the load mock runs with the bank's published limits (rate_limits, token, saldo, extrato, pix: $limits)" \
	test "$limits" = "True 5 10 10 120"

q "CREATE EXTENSION pix_fdw"
q "CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$URL', ca_file '$PIX_CERTS/ca.crt')"
q "CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"
q "CREATE SCHEMA inter"
q "IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter"

# --- one fetch per key: sessions missing the same answer wait for the one that fetches it ------
# On a server of its own (rate_limits off, certificate copies: its own credential, token and
# cache entries), so that the timed run below starts with untouched budgets and tokens.
cp "$PIX_CERTS/client.crt" "$DIR/pre.crt"
cp "$PIX_CERTS/client.key" "$DIR/pre.key"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"/pre.*
q "CREATE SERVER pre FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$URL', ca_file '$PIX_CERTS/ca.crt', rate_limits 'off')"
q "CREATE USER MAPPING FOR CURRENT_USER SERVER pre OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$DIR/pre.crt', key_file '$DIR/pre.key')"
q "CREATE FOREIGN TABLE pre_ex (valor numeric, data_transacao date) SERVER pre OPTIONS (endpoint 'extrato')"
expected() { mock GET "/summary?dataInicio=$1&dataFim=$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['count'])"; }
q "SELECT count(*) FROM pre_ex WHERE data_transacao = '2024-04-01'" >/dev/null  # the token
mock POST /reset >/dev/null
want=$(expected 2024-04-02)
mock POST /fault '{"endpoint":"extrato","kind":"delay","ms":4000,"count":1}' >/dev/null
SAME=()
for s in 1 2 3 4 5 6 7 8; do
	psql -X -At -c "SELECT count(*) FROM pre_ex WHERE data_transacao = '2024-04-02'" >"$OUT/same$s" 2>&1 &
	SAME+=($!)
	sleep 0.05
done
wait "${SAME[@]}"  # not the mock
same=$(cat "$OUT"/same? | grep -cx "$want")
check "8 sessions asking one uncached day at once (the first call slowed by 4 s) all get the bank's count ($same of 8)" test "$same" -eq 8
check "... from one bank call between them (got $(calls extrato))" test "$(calls extrato)" -eq 1
# The fetching session is cancelled: the waiting one fetches in its place, at once.
mock POST /reset >/dev/null
want=$(expected 2024-04-03)
mock POST /fault '{"endpoint":"extrato","kind":"delay","ms":20000,"count":1}' >/dev/null
PGAPPNAME=pix_pre_a psql -X -At -c "SELECT count(*) FROM pre_ex WHERE data_transacao = '2024-04-03'" >"$OUT/pre_a" 2>&1 &
PRE_A=$!
for _ in $(seq 200); do [ "$(calls extrato)" -ge 1 ] && break; sleep 0.05; done
PGAPPNAME=pix_pre_b psql -X -At -q -c "SET statement_timeout = '30s'" -c "SELECT count(*) FROM pre_ex WHERE data_transacao = '2024-04-03'" >"$OUT/pre_b" 2>&1 &
PRE_B=$!
sleep 0.5
b_active=$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pix_pre_b' AND state = 'active'")
b_calls=$(calls extrato)
t0=$(now_ms)
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'pix_pre_a'" >/dev/null
wait "$PRE_A"
wait "$PRE_B"
took=$(($(now_ms) - t0))
check "a second session waits for the answer being fetched instead of calling (active: $b_active, bank calls: $b_calls)" \
	test "$b_active" -eq 1 -a "$b_calls" -eq 1
check "the fetching session is cancelled; the waiting one fetches in its place and gets the bank's count ($(cat "$OUT/pre_b"))" \
	bash -c 'grep -q "canceling statement due to user request" "$1" && test "$(cat "$2")" = "$3"' _ "$OUT/pre_a" "$OUT/pre_b" "$want"
check "... at once, not after the cancelled call's 20 s (${took} ms), with 2 calls in all (got $(calls extrato))" \
	test "$took" -lt 10000 -a "$(calls extrato)" -eq 2

# --- the workload ----------------------------------------------------------------------------
# Statement keys: 12 single days (2024-03-10..21, for rows and for count(*)) and 4 30-day
# windows: 16 distinct calls, more than the 10 a minute the bank allows, so some queries wait
# for the limiter (closed days: cached for cache_ttl_closed, 1 h, once fetched). Pix: 5 days.
cat >"$OUT/day.sql" <<'SQL'
\set d random(10, 21)
SELECT * FROM inter.extrato WHERE data_transacao = '2024-03-:d';
SQL
cat >"$OUT/count.sql" <<'SQL'
\set d random(10, 21)
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-03-:d';
SQL
cat >"$OUT/month.sql" <<'SQL'
\set w random(0, 3)
SELECT tipo_operacao, count(*), sum(valor) FROM inter.extrato
 WHERE data_transacao BETWEEN date '2024-01-01' + 7 * :w AND date '2024-01-01' + 7 * :w + 29 GROUP BY 1;
SQL
cat >"$OUT/saldo.sql" <<'SQL'
SELECT * FROM inter.saldo;
SQL
cat >"$OUT/pix.sql" <<'SQL'
\set d random(17, 21)
\set e :d + 1
SELECT * FROM inter.pix WHERE horario >= '2024-06-:d 00:00-03' AND horario < '2024-06-:e 00:00-03';
SQL

# The long-lived session: per round, a day and a 30-day window of the same keys (their
# counts checked against the bank's own summary), the balance, and the received Pix of a
# day of its own (2024-02-01 + round: a bank call each, so the HTTP, TLS and JSON paths run
# in both halves, not only cache hits; 2 x ROUNDS calls within the 120 a minute of pix).
MEMQ="SELECT 'mem ' || (regexp_match(s, 'RssAnon:\s+(\d+)'))[1] || ' ' || (regexp_match(s, 'VmHWM:\s+(\d+)'))[1] || ' ' || (SELECT sum(total_bytes) FROM pg_backend_memory_contexts) FROM pg_read_file('/proc/self/status') s;"
python3 - "$PIX_MOCK_CONTROL" "$ROUNDS" "$OUT" "$MEMQ" <<'PY'
import datetime as dt, json, sys, urllib.parse, urllib.request
control, rounds, out, memq = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def get(path, **q):
    with urllib.request.urlopen(control + path + "?" + urllib.parse.urlencode(q)) as r:
        return json.load(r)
sql, expected = [], []
def add(query, answer):
    sql.append(query)
    expected.append(str(answer))
base = dt.datetime(2024, 2, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
for r in range(2 * rounds):
    if r == rounds:
        sql.append(memq)
    day = dt.date(2024, 3, 10 + r % 12)
    add(f"SELECT count(*) FROM inter.extrato WHERE data_transacao = '{day}';",
        get("/summary", dataInicio=day, dataFim=day)["count"])
    a = dt.date(2024, 1, 1) + dt.timedelta(days=7 * (r % 4))
    b = a + dt.timedelta(days=29)
    add(f"SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN '{a}' AND '{b}';",
        get("/summary", dataInicio=a, dataFim=b)["count"])
    add("SELECT count(*) FROM inter.saldo;", 1)
    h0 = base + dt.timedelta(days=r)
    h1 = h0 + dt.timedelta(hours=23, minutes=59, seconds=59)
    add(f"SELECT count(*) FROM inter.pix WHERE horario BETWEEN '{h0.isoformat()}' AND '{h1.isoformat()}';",
        get("/pix_summary", inicio=h0.isoformat(), fim=h1.isoformat())["pix"]["count"])
sql.append(memq)
open(f"{out}/mem.sql", "w").write("\n".join(sql) + "\n")
open(f"{out}/mem.expected", "w").write("\n".join(expected) + "\n")
PY

mock POST '/reset?tokens=1' >/dev/null
q "SELECT pix_fdw.counters_reset()" >/dev/null
# A wait for the limiter can last up to a minute (the 11th statement call of a minute waits
# for the first to leave the bank's window): statement_timeout leaves room for it.
export PGOPTIONS="-c statement_timeout=150s"
t0=$(now_ms)
PGAPPNAME=pix_load_mem psql -X -At -v ON_ERROR_STOP=1 -f "$OUT/mem.sql" >"$OUT/mem.out" 2>&1 &
MEMPID=$!
"$PGBENCH" -n -c "$CLIENTS" -j 2 -T "$SECONDS_T" --max-tries=1 \
	-f "$OUT/day.sql@3" -f "$OUT/count.sql@2" -f "$OUT/month.sql@2" -f "$OUT/saldo.sql@2" -f "$OUT/pix.sql@2" \
	>"$OUT/pgbench.out" 2>&1
bench_rc=$?
bench_ms=$(($(now_ms) - t0))
wait "$MEMPID"
mem_rc=$?
elapsed=$(($(now_ms) - t0))
unset PGOPTIONS

# --- what the clients saw ----------------------------------------------------------------------
sed -n '/^transaction type/,$p' "$OUT/pgbench.out" | grep -E 'processed|failed|latency average|^SQL script| - [0-9]+ transactions' | sed 's/^/# pgbench: /'
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$OUT/pgbench.out")
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$OUT/pgbench.out")
errors=$(grep -ciE 'error|aborted|fatal' "$OUT/pgbench.out")
check "pgbench: $CLIENTS sessions for ${SECONDS_T} s end without an error (rc $bench_rc, ${tx:-?} transactions, ${failed_tx:-?} failed, $errors error lines)" \
	test "$bench_rc" -eq 0 -a "${tx:-0}" -gt 0 -a "${failed_tx:-1}" -eq 0 -a "$errors" -eq 0
[ "$errors" -gt 0 ] && grep -iE 'error|aborted|fatal' "$OUT/pgbench.out" | head -5 | sed 's/^/# /'
grep -v '^mem ' "$OUT/mem.out" >"$OUT/mem.answers"
check "the long-lived session's $((8 * ROUNDS)) queries end without an error (rc $mem_rc) with the bank's counts" \
	cmp -s "$OUT/mem.answers" "$OUT/mem.expected"
[ "$mem_rc" -ne 0 ] && grep -v '^[0-9]*$' "$OUT/mem.out" | head -5 | sed 's/^/# /'

# --- what the bank saw (its own request log) ----------------------------------------------
# Per endpoint: calls, 429s and the most calls that arrived within any 60 s (the bank's
# sliding window), against its limit.
python3 - "$PIX_MOCK_CONTROL" >"$OUT/bank" <<'PY'
import json, sys, urllib.request
control = sys.argv[1]
def get(path):
    with urllib.request.urlopen(control + path) as r:
        return json.load(r)
limits = get("/config")["limits"]
calls = get("/calls")
total = get("/requests")
print("all", len(total), sum(1 for r in total if r["status"] == 429),
      sum(1 for r in total if r["status"] not in (200, 429)), calls.get("total", 0))
for name in sorted(limits):
    reqs = get("/requests?endpoint=" + name)
    if not reqs:
        continue
    t = sorted(r["t"] for r in reqs)
    peak, j = 0, 0
    for i in range(len(t)):
        while t[i] - t[j] >= 60.0:
            j += 1
        peak = max(peak, i - j + 1)
    print(name, len(reqs), sum(1 for r in reqs if r["status"] == 429), peak, limits[name])
PY
sed 's/^/# bank: /' "$OUT/bank"
read -r _ all_n all_429 all_other all_total < <(grep '^all ' "$OUT/bank")
check "the bank's log holds every call ($all_n of $all_total) and answered each 200 ($all_other other statuses)" \
	test "$all_n" -eq "$all_total" -a "$all_other" -eq 0 -a "$all_n" -gt 0
check "the bank sent no 429 with the limiter on (got $all_429)" test "$all_429" -eq 0
over=$(awk '$1 != "all" && $4 > $5 { print $1 " " $4 "/" $5 }' "$OUT/bank")
check "calls per endpoint in every rolling minute within the bank's budgets${over:+ (over: $over)}" test -z "$over"
# Closed statement days are kept for cache_ttl_closed (1 h) and one session fetches a key
# while the others wait for it: each of the 16 statement keys is asked of the bank once.
ex_calls=$(calls extrato)
check "one statement call per distinct window: 16 (got $ex_calls)" test "$ex_calls" -eq 16
for e in extrato saldo pix_recebidos token; do
	grep -q "^$e " "$OUT/bank" || not_ok "the bank saw calls of $e"
done
# Tokens: one per scope set, for the mock's 3600 s lifetime: extrato and saldo share
# extrato.read, the Pix list needs pix.read: 2 mints for the whole run, all sessions.
mints=$(calls token)
check "token mints: 2 (one per scope, extrato.read and pix.read, each good for 1 h) for all $((CLIENTS + 1)) sessions (got $mints)" \
	test "$mints" -eq 2

# --- what pix_fdw counted ----------------------------------------------------------------------
q "SELECT endpoint, calls, status_429, retries, rate_waits, tokens, cache_hits FROM pix_fdw.counters WHERE server = 'inter' ORDER BY endpoint" >"$OUT/counters"
sed 's/^/# counters (endpoint|calls|429|retries|rate_waits|tokens|cache_hits): /' "$OUT/counters"
waits=$(awk -F'|' '{ s += $5 } END { print s + 0 }' "$OUT/counters")
hits=$(awk -F'|' '{ s += $7 } END { print s + 0 }' "$OUT/counters")
c429=$(awk -F'|' '{ s += $3 } END { print s + 0 }' "$OUT/counters")
ccalls=$(awk -F'|' '{ s += $2 } END { print s + 0 }' "$OUT/counters")
ex_waits=$(awk -F'|' '$1 == "extrato" { print $5 + 0 }' "$OUT/counters")
check "pix_fdw.counters: as many calls as the bank logged ($ccalls), no 429 ($c429)" test "$ccalls" -eq "$all_n" -a "$c429" -eq 0
check "the statement budget made some queries wait their turn (extrato rate_waits ${ex_waits:-0})" test "${ex_waits:-0}" -ge 1
check "most queries were answered by the cache ($hits hits)" test "$hits" -gt "$ccalls"

# --- memory of the long-lived backend ----------------------------------------------------------
read -r _ rss1 hwm1 ctx1 < <(grep '^mem ' "$OUT/mem.out" | sed -n 1p)
read -r _ rss2 hwm2 ctx2 < <(grep '^mem ' "$OUT/mem.out" | sed -n 2p)
echo "# memory of the long-lived session after $((4 * ROUNDS)) and $((8 * ROUNDS)) queries: RssAnon ${rss1:-?} -> ${rss2:-?} kB, VmHWM ${hwm1:-?} -> ${hwm2:-?} kB, memory contexts ${ctx1:-?} -> ${ctx2:-?} bytes"
# A leaked page body or row set per query (kilobytes each, $((4 * ROUNDS)) queries) grows by
# megabytes; allocator noise after the first half's warm-up stays well under these bounds.
check "no growth of the backend's private memory across the second $((4 * ROUNDS)) queries (RssAnon +$((${rss2:-0} - ${rss1:-0})) kB, at most 1024)" \
	test -n "${rss1:-}" -a -n "${rss2:-}" -a $((${rss2:-0} - ${rss1:-0})) -le 1024
check "no growth of its memory contexts (+$((${ctx2:-0} - ${ctx1:-0})) bytes, at most 262144)" \
	test -n "${ctx1:-}" -a -n "${ctx2:-}" -a $((${ctx2:-0} - ${ctx1:-0})) -le 262144

echo "# load: $((CLIENTS + 1)) sessions ($CLIENTS pgbench, 1 long-lived), ${tx:-?} pgbench transactions + $((8 * ROUNDS)) queries, $((errors + failed_tx)) errors, $mints token mints, $all_n bank calls, $all_429 429s, $waits rate-limit waits, $hits cache hits; pgbench ${bench_ms} ms, all ${elapsed} ms"
check "the run stayed bounded (${elapsed} ms, under 150 s)" test "$elapsed" -lt 150000
check "no crash in the server log" bash -c "! grep -qE 'terminated by signal|PANIC|TRAP' '$DIR/postgres.log'"
