#!/usr/bin/env bash
# The result cache in shared memory (pix_fdw preloaded, on a throwaway cluster with
# pix_fdw.cache_size = 1MB): a second session is served from the first one's answer without
# a call; EXPLAIN ANALYZE counts the hit; pix_fdw.cache_clear() empties it for every session;
# filling it far beyond its size evicts the least recently used answers without an error,
# keeps the region at its size, and every answer stays right.
set -u
. "$(dirname "$0")/common.sh"
PGBIN=${PIX_PGROOT:-}/usr/lib/postgresql/${PGVER:-15}/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_cache.XXXXXX")
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
finish() {
	keep_cluster_log cache "$DIR/postgres.log"
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
pix_fdw.cache_size = '1MB'
log_line_prefix = '%m [%p] '
CONF
cluster_log_conf "$DIR/data/postgresql.conf"
if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w start >/dev/null; then
	cat "$DIR/postgres.log"
	not_ok "a cluster with shared_preload_libraries = 'pix_fdw' and pix_fdw.cache_size starts"
	exit 0
fi
export PGHOST=$DIR PGPORT=$PORT PGDATABASE=postgres
q "CREATE EXTENSION pix_fdw"
q "CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt', rate_limits 'off', cache_ttl '10 min', cache_ttl_closed '10 min')"
q "CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"
q "CREATE FOREIGN TABLE ex (valor numeric, data_transacao date) SERVER inter OPTIONS (endpoint 'extrato')"
expected() { mock GET "/summary?dataInicio=$1&dataFim=$2" | python3 -c "import json,sys; print(json.load(sys.stdin)['count'])"; }
count() { q "SELECT count(*) FROM ex WHERE data_transacao BETWEEN '$1' AND '$2'"; }

# --- a second session is served from the shared cache ------------------------------------
mock POST /reset >/dev/null
want=$(expected 2024-03-01 2024-03-07)
first=$(count 2024-03-01 2024-03-07)
c1=$(calls extrato)
second=$(count 2024-03-01 2024-03-07)  # another psql: another backend
c2=$(calls extrato)
check "a first session's week is the bank's ($first of $want rows) with one call (got $c1)" test "$first" = "$want" -a "$c1" -eq 1
check "a second session gets the same rows ($second) with 0 calls (got $((c2 - c1)))" test "$second" = "$want" -a "$c2" -eq "$c1"
plan=$(q "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM ex WHERE data_transacao BETWEEN '2024-03-01' AND '2024-03-07'")
check "a third session's EXPLAIN ANALYZE shows 1 cache hit and 0 HTTP calls" \
	bash -c 'grep -q "Cache Hits: 1" <<<"$1" && grep -q "HTTP Calls: 0" <<<"$1"' _ "$plan"
dropped=$(q "SELECT pix_fdw.cache_clear()")
third=$(count 2024-03-01 2024-03-07)
c3=$(calls extrato)
check "cache_clear() in one session (dropped $dropped) empties it for the next one: one call again (got $((c3 - c2)))" \
	test "$dropped" -ge 1 -a "$third" = "$want" -a "$c3" -eq $((c2 + 1))

# --- eviction: 60 weekly windows (about 40 kB each) through a 1 MB cache ------------------
: >"$DIR/fill.sql"
: >"$DIR/fill.expected"
for i in $(seq 0 59); do
	a=$(date -d "2023-01-02 + $((7 * i)) days" +%F)
	b=$(date -d "$a + 6 days" +%F)
	echo "SELECT count(*) FROM ex WHERE data_transacao BETWEEN '$a' AND '$b';" >>"$DIR/fill.sql"
	expected "$a" "$b" >>"$DIR/fill.expected"
done
first_a=2023-01-02
first_b=2023-01-08
last_a=$(date -d "2023-01-02 + 413 days" +%F)
last_b=$(date -d "$last_a + 6 days" +%F)
mock POST /reset >/dev/null
psql -X -At -v ON_ERROR_STOP=1 -f "$DIR/fill.sql" >"$DIR/fill.out" 2>&1
fill_calls=$(calls extrato)
check "60 windows through a 1 MB cache: no error, the bank's count for each, 60 calls (got $fill_calls)" \
	bash -c 'cmp -s "$1" "$2" && test "$3" -eq 60' _ "$DIR/fill.out" "$DIR/fill.expected" "$fill_calls"
size=$(q "SELECT size FROM pg_shmem_allocations WHERE name = 'pix_fdw_cache'")
check "the shared region stays at pix_fdw.cache_size (${size} bytes, at most 1 MB)" test "${size:-0}" -gt 0 -a "${size:-0}" -le 1048576
again_last=$(count "$last_a" "$last_b")
c_last=$(calls extrato)
again_first=$(count "$first_a" "$first_b")
c_first=$(calls extrato)
check "the newest window is still served from the cache (0 calls, got $((c_last - fill_calls)))" \
	test "$again_last" = "$(tail -1 "$DIR/fill.expected")" -a "$c_last" -eq "$fill_calls"
check "the oldest was evicted: asked for again (1 call, got $((c_first - c_last))), with the right count" \
	test "$again_first" = "$(head -1 "$DIR/fill.expected")" -a "$c_first" -eq $((c_last + 1))
check "the server log has no error" bash -c '! grep -E "ERROR|PANIC|TRAP" "$1"' _ "$DIR/postgres.log"
