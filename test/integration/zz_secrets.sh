#!/usr/bin/env bash
# Secrets (issue 9): runs last (run_all.sh runs the scripts in name order). The whole suite ran
# with verbose logging (test/lib.sh verbose_logging: log_statement = 'all',
# log_min_error_statement = debug5, log_min_messages = debug1); this script
# adds a round at log_min_messages = debug5 for the whole cluster (failing and succeeding
# scans, cache hits, a payment sent by the sender worker, certificate_info), then searches
#   the server log, the other clusters' logs (preload, cache, payments_restart: kept in
#   $PIX_CLUSTER_LOGS), every pg_regress result file (test/results/*.out: EXPLAIN outputs and
#   error texts), every integration script's output ($PIX_OUTPUTS) and this round's EXPLAIN
#   ANALYZE VERBOSE outputs
# for every client_secret the tests use, every access token the mock issued (its GET
# /secrets), every line of every private key under $PIX_CERTS, the ledger HMAC keys and the
# Authorization header (test/integration/secret_scan.py). It also checks what PostgreSQL
# itself exposes, as the README says (statements in the log, pg_dump).
set -u
. "$(dirname "$0")/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
TEST=$(dirname "$HERE")
LOG=${PIX_SERVER_LOG:?}
PGBIN=${PIX_PGROOT:-}/usr/lib/postgresql/${PGVER:-15}/bin
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
start=$(stat -c %s "$LOG")

# --- a round at log_min_messages = debug5 ---------------------------------------------------
q "ALTER SYSTEM SET log_min_messages = 'debug5'" && q "SELECT pg_reload_conf()" >/dev/null
sleep 1
mock POST /reset >/dev/null
for t in inter.extrato wrong_secret_extrato no_scope_extrato wrong_ca_extrato no_cert_extrato expired_extrato; do
	psql -X -q -c "SELECT count(*) FROM $t WHERE data_transacao = '2024-06-20'" >/dev/null 2>&1
done
mock POST /fault '{"endpoint":"extrato","kind":"status","status":401,"count":-1}' >/dev/null
psql -X -q -c "SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'" >/dev/null 2>&1
mock POST /reset >/dev/null
q "DROP SCHEMA IF EXISTS zz_secrets CASCADE" 2>/dev/null
for srv in zz_secrets zz_wrong zz_limited; do q "DROP SERVER IF EXISTS $srv CASCADE" 2>/dev/null; done
# zz_secrets works and caches; zz_wrong has a wrong secret; zz_limited lacks the scope.
for srv in zz_secrets zz_wrong zz_limited; do
	q "CREATE SERVER $srv FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt', rate_limits 'off', cache_ttl '5 min')"
done
um() { q "CREATE USER MAPPING FOR CURRENT_USER SERVER $1 OPTIONS (client_id '$2', client_secret '$3', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"; }
um zz_secrets pix-test-client pix-test-secret
um zz_wrong pix-test-client zz-wrong-secret
um zz_limited pix-limited-client pix-limited-secret
q "CREATE SCHEMA zz_secrets"
q "IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato, saldo) FROM SERVER zz_secrets INTO zz_secrets"
q "CREATE FOREIGN TABLE zz_secrets.wrong (valor numeric, data_transacao date) SERVER zz_wrong OPTIONS (endpoint 'extrato')"
q "CREATE FOREIGN TABLE zz_secrets.limited (valor numeric, data_transacao date) SERVER zz_limited OPTIONS (endpoint 'extrato')"
for t in wrong limited; do
	psql -X -q -c "SELECT count(*) FROM zz_secrets.$t WHERE data_transacao = '2024-06-20'" >>"$OUT/explain.txt" 2>&1
done
# Not preloaded, the cache is per backend: the hit is in the same session.
psql -X -At -c "SELECT pix_fdw.cache_clear() >= 0" -c "SELECT count(*) FROM zz_secrets.extrato WHERE data_transacao = '2024-06-20'" \
	-c "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF) SELECT * FROM zz_secrets.extrato WHERE data_transacao = '2024-06-20'" \
	-c "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF) SELECT * FROM zz_secrets.saldo" >>"$OUT/explain.txt" 2>&1
check "the round has a cache hit (EXPLAIN ANALYZE: Cache Hits)" grep -qE "Cache Hits: [1-9]" "$OUT/explain.txt"
K=$(python3 -c 'import uuid; print(uuid.uuid4())')
q "SELECT state FROM pix_fdw.pay('zz_secrets', 'fornecedor@example.com', 1.23, 'zz_secrets', idempotency_key => '$K')" >/dev/null
state=$(q "SELECT state FROM pix_fdw.wait('$K', '30 s')")
check "the round has a payment sent by the sender worker (state $state, at the bank)" \
	bash -c '[[ "$1" =~ ^(sent|paid)$ ]] && grep -q "$2" <<<"$3"' _ "$state" "$K" "$(mock GET /payments)"
q "SELECT subject, days_left FROM pix_fdw.certificate_info('zz_secrets')" >>"$OUT/explain.txt" 2>&1
q "ALTER SYSTEM RESET log_min_messages" && q "SELECT pg_reload_conf()" >/dev/null
new=$(tail -c +"$((start + 1))" "$LOG")
check "the round's log has the errors of its scans" grep -q "could not obtain an access token" <<<"$new"
check "the round's log is at debug5" grep -qE "DEBUG:  ([0-9A-Z]{5}: )?StartTransaction" <<<"$new"
check "the log has the sender worker's start" grep -q 'starting background worker process "pix_fdw sender' "$LOG"

# --- what PostgreSQL itself exposes (README, "What PostgreSQL itself shows") ------------
# A rejected CREATE USER MAPPING is logged with its text at the default
# log_min_error_statement (error), even with log_statement = 'none'...
psql -X -q -c "SET log_statement = 'none'; SET log_min_error_statement = error" \
	-c "CREATE USER MAPPING FOR no_such_role SERVER inter OPTIONS (client_secret 'zz-rejected-secret')" >/dev/null 2>&1
# ... unless log_min_error_statement is raised above error (superusers: per session).
psql -X -q -c "SET log_statement = 'none'; SET log_min_error_statement = panic" \
	-c "CREATE USER MAPPING FOR no_such_role SERVER inter OPTIONS (client_secret 'zz-hidden-secret')" >/dev/null 2>&1
# log_statement = 'ddl' logs a successful CREATE USER MAPPING with the secret.
psql -X -q -c "SET log_statement = 'ddl'" \
	-c "CREATE USER MAPPING FOR public SERVER zz_secrets OPTIONS (client_id 'x', client_secret 'zz-ddl-secret')" >/dev/null 2>&1
psql -X -q -c "SET log_statement = 'none'" \
	-c "ALTER USER MAPPING FOR public SERVER zz_secrets OPTIONS (SET client_secret 'zz-quiet-secret')" >/dev/null 2>&1
sleep 0.5
check "PostgreSQL logs a rejected CREATE USER MAPPING with its secret at log_min_error_statement = error" \
	grep -q "STATEMENT:  CREATE USER MAPPING FOR no_such_role .*zz-rejected-secret" "$LOG"
check "... and not with log_min_error_statement = panic" bash -c '! grep -q zz-hidden-secret "$1"' _ "$LOG"
check "PostgreSQL logs CREATE USER MAPPING with its secret at log_statement = ddl" grep -q "statement: CREATE USER MAPPING.*zz-ddl-secret" "$LOG"
check "... and not with SET log_statement = 'none'" bash -c '! grep -q zz-quiet-secret "$1"' _ "$LOG"
"$PGBIN/pg_dump" -d "$PGDATABASE" >"$OUT/dump.sql" 2>"$OUT/dump.err"
"$PGBIN/pg_dump" -d "$PGDATABASE" -n zz_secrets >"$OUT/dump_n.sql" 2>>"$OUT/dump.err"
"$PGBIN/pg_dump" -d "$PGDATABASE" --exclude-table-data=pix_fdw.ledger_key >"$OUT/dump_x.sql" 2>>"$OUT/dump.err"
check "pg_dump writes the user mappings with their secrets" \
	bash -c 'grep -q "^CREATE USER MAPPING FOR postgres SERVER inter" "$1" && grep -q "client_secret '"'pix-test-secret'"'" "$1"' _ "$OUT/dump.sql"
check "pg_dump writes the ledger key (pix_fdw.ledger_key is an extension config table)" grep -q "^COPY pix_fdw.ledger_key" "$OUT/dump.sql"
check "pg_dump --exclude-table-data=pix_fdw.ledger_key does not" bash -c '! grep -q "^COPY pix_fdw.ledger_key" "$1"' _ "$OUT/dump_x.sql"
check "pg_dump -n SCHEMA writes no server and no user mapping" \
	bash -c 'grep -q "CREATE FOREIGN TABLE" "$1" && ! grep -qE "CREATE (SERVER|USER MAPPING)" "$1"' _ "$OUT/dump_n.sql"
q "DROP USER MAPPING FOR public SERVER zz_secrets"

# --- the search --------------------------------------------------------------------------
{
	mock GET /secrets | python3 -c '
import json, sys
d = json.load(sys.stdin)
for t in d["tokens"]: print("token\t" + t)
for s in d["client_secrets"]: print("secret\t" + s)'
	# every client_secret written in the tests (hunter2, other-secret, pix96-..., zz-...)
	grep -rhoE "client_secret[ ,]+'[^']+'" "$TEST/sql" "$TEST/integration" | sed -E "s/.*'([^']+)'/secret\t\1/" |
		grep -vE $'^secret\t(.{0,5}|.*[$"].*)$'   # not '$3' or '"' (SQL built by the scripts)
	grep -rlZ "PRIVATE KEY" "$PIX_CERTS" | xargs -0 -r sed -n '/-----BEGIN/,/-----END/{/-----/!p}' | sed 's/^/key\t/'
	q "SELECT 'ledger' || chr(9) || encode(key, 'hex') FROM pix_fdw.ledger_key"
	cat "${PIX_CLUSTER_LOGS:-/nonexistent}"/*.ledger_key 2>/dev/null | sed 's/^/ledger\t/'
} | sort -u >"$OUT/secrets"
ntok=$(grep -c '^token' "$OUT/secrets")
nkey=$(grep -c '^key' "$OUT/secrets")
nled=$(grep -c '^ledger' "$OUT/secrets")
nsec=$(grep -c '^secret' "$OUT/secrets")
echo "# searching for $nsec client secrets, $ntok tokens, $nkey key lines, $nled ledger keys"
check "the mock lists the tokens it issued (got $ntok)" test "$ntok" -ge 1
check "the private keys' lines are known (got $nkey)" test "$nkey" -ge 10
check "the ledger key is known" test "$nled" -ge 1

args=(--log "$LOG" --plain "$OUT/explain.txt")
for name in preload cache payments_restart; do
	[ -f "${PIX_OUTPUTS:-/nonexistent}/$name.out" ] || continue
	check "the $name cluster left its log" test -s "$PIX_CLUSTER_LOGS/$name.log"
	check "... and its ledger key" test -s "$PIX_CLUSTER_LOGS/$name.ledger_key"
	args+=(--log "$PIX_CLUSTER_LOGS/$name.log")
done
nres=0
for r in "$TEST"/results/*.out; do
	[ -f "$r" ] || continue
	args+=(--result "$TEST/sql/$(basename "$r" .out).sql" "$r")
	nres=$((nres + 1))
done
nout=0
for o in "${PIX_OUTPUTS:-/nonexistent}"/*.out; do
	[ -f "$o" ] || continue
	args+=(--plain "$o")
	nout=$((nout + 1))
done
echo "# $nres pg_regress result files, $nout integration outputs, $(wc -c <"$LOG") bytes of server log"
python3 "$HERE/secret_scan.py" "$OUT/secrets" "${args[@]}" >"$OUT/scan" 2>&1
scan_rc=$?
head -40 "$OUT/scan" | sed 's/^/# /'
check "no client secret, token, private key line, ledger key or Authorization header in any of them" test "$scan_rc" -eq 0
echoes=$(sed -n 's/.*; echoes \([0-9]*\)$/\1/p' "$OUT/scan")
check "the search sees PostgreSQL's own statement logging of the secrets (${echoes:-?} echoes)" test "${echoes:-0}" -gt 0

# The search finds what it looks for: a copy of the log with one pix_fdw-style error line per
# kind of secret (the secret inside an ERROR, not in the client's statement) leaks each.
for kind in secret token key ledger; do
	v=$(grep -m1 "^$kind	" "$OUT/secrets" | cut -f2)
	{ echo "2026-01-01 00:00:00.000 UTC [1] LOG:  statement: SELECT 1"
	  echo "2026-01-01 00:00:00.000 UTC [1] ERROR:  the bank said $v"; } >"$OUT/planted.log"
	python3 "$HERE/secret_scan.py" "$OUT/secrets" --log "$OUT/planted.log" >"$OUT/planted" 2>&1
	check "the search finds a planted $kind" grep -q "^leak $kind " "$OUT/planted"
done
printf '%s\n' "Authorization: Bearer abcdefgh12345678" >"$OUT/planted.txt"
python3 "$HERE/secret_scan.py" "$OUT/secrets" --plain "$OUT/planted.txt" >"$OUT/planted" 2>&1
check "the search finds a planted Authorization header" grep -q "^leak auth " "$OUT/planted"

q "DROP SCHEMA zz_secrets CASCADE" >/dev/null 2>&1
for srv in zz_secrets zz_wrong zz_limited; do q "DROP SERVER $srv CASCADE" >/dev/null 2>&1; done
