#!/usr/bin/env bash
# Upgrades (issue 11, point 8): pix_fdw 0.1 (the first release, frozen) installed with
# CREATE EXTENSION ... VERSION '0.1' runs on the current library (one .so for all versions):
# it queries, pays and its sender sends. With a server, imported tables and a ledger of paid,
# failed and queued payments, ALTER EXTENSION pix_fdw UPDATE keeps every ledger row (the 0.1
# seals still verify: the queued payment is sent after the update), payments go on, and the
# extension's objects are those of a fresh CREATE EXTENSION pix_fdw (0.2).
set -u
. "$(dirname "$0")/common.sh"
UPG=pix_upgrade_$$
FRESH=pix_upgrade_fresh_$$
HOLDER=
finish() {
	mock DELETE /fault >/dev/null 2>&1
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	for db in "$UPG" "$FRESH"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
}
trap finish EXIT

qd() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
newkey() { python3 -c 'import uuid; print(uuid.uuid4())'; }
pay() { qd "$UPG" "SELECT state FROM pix_fdw.pay('inter', 'fornecedor@example.com', $2, 'upgrade', idempotency_key => '$1')" >/dev/null; }
state() { qd "$UPG" "SELECT state FROM pix_fdw.payments WHERE idempotency_key = '$1'"; }
wait_for() { # wait_for KEY STATES SECONDS
	for _ in $(seq $(($3 * 10))); do
		[[ $(state "$1") =~ ^($2)$ ]] && return 0
		sleep 0.1
	done
	echo "# $1 is still '$(state "$1")' after $3 s"
	return 1
}
posts() {
	mock GET "/requests?endpoint=pix_pagamento" | python3 -c "
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r.get('idempotency_key') == '$1' and r.get('method') == 'POST'))"
}
version() { qd "$1" "SELECT extversion FROM pg_extension WHERE extname = 'pix_fdw'"; }
# Every column of the ledger that 0.1 has, per row.
LEDGER="SELECT idempotency_key, server, chave, valor, descricao, data_pagamento, requested_by, state, attempts,
               unanswered, codigo_solicitacao, tipo_retorno, status, end_to_end_id, last_error, queued_at, sent_at,
               checked_at, finished_at, counted_on, seal FROM pix_fdw.payments ORDER BY idempotency_key"
# The extension's objects: members, and for each member table its columns, constraints,
# indexes, triggers, grants and comments; for each function its definition, grants and comment;
# the tables pg_dump keeps.
OBJECTS="
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pix_fdw') AND deptype = 'e'
UNION ALL
SELECT format('column %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid))
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'pix_fdw'::regnamespace
UNION ALL
SELECT format('order %s %s', c.relname, string_agg(a.attname, ',' ORDER BY a.attnum))
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'pix_fdw'::regnamespace GROUP BY c.relname
UNION ALL
SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) FROM pg_constraint
WHERE connamespace = 'pix_fdw'::regnamespace
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'pix_fdw'::regnamespace)
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'pix_fdw'::regnamespace
UNION ALL
SELECT format('relation %s %s %s %s', relname, relkind, relacl, obj_description(oid, 'pg_class')) FROM pg_class WHERE relnamespace = 'pix_fdw'::regnamespace
UNION ALL
SELECT format('comment %s.%s %s', c.relname, a.attname, col_description(c.oid, a.attnum))
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'pix_fdw'::regnamespace AND col_description(c.oid, a.attnum) IS NOT NULL
UNION ALL
SELECT format('function %s %s %s %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)), p.proacl, obj_description(p.oid, 'pg_proc'))
FROM pg_proc p WHERE p.pronamespace = 'pix_fdw'::regnamespace
UNION ALL
SELECT format('fdw %s %s %s %s', fdwname, fdwhandler::regproc, fdwvalidator::regproc, obj_description(oid, 'pg_foreign_data_wrapper'))
FROM pg_foreign_data_wrapper WHERE fdwname = 'pix_fdw'
UNION ALL
SELECT format('schema %s %s', nspname, nspacl) FROM pg_namespace WHERE nspname = 'pix_fdw'
UNION ALL
SELECT format('dumped %s %s', c::regclass, w) FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w) WHERE e.extname = 'pix_fdw'
ORDER BY 1"

mock DELETE /fault >/dev/null
qd postgres "CREATE DATABASE $UPG"
qd "$UPG" "CREATE EXTENSION pix_fdw VERSION '0.1'"
check "CREATE EXTENSION pix_fdw VERSION '0.1' installs the first release" test "$(version "$UPG")" = 0.1
check "0.1 has no pix_fdw.adopt" test "$(qd "$UPG" "SELECT count(*) FROM pg_proc WHERE proname = 'adopt' AND pronamespace = 'pix_fdw'::regnamespace")" = 0
qd "$UPG" "CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt', cache_ttl '0')"
qd "$UPG" "CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"
qd "$UPG" "CREATE SCHEMA inter; IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter"
check "0.1 on the current library reads the balance" test -n "$(qd "$UPG" "SELECT disponivel FROM inter.saldo")"

KPAID=$(newkey) KFAIL=$(newkey) KQ=$(newkey) KNEW=$(newkey)
pay "$KPAID" 20.00
check "0.1: a payment is sent and paid" wait_for "$KPAID" paid 30
mock POST /fault '{"endpoint":"pix_pagamento","kind":"status","status":400,"count":1}' >/dev/null
pay "$KFAIL" 21.00
check "0.1: a payment the bank refuses is failed" wait_for "$KFAIL" failed 30
mock DELETE /fault >/dev/null
# A queued payment across the update: the sender is held off (a session holds its advisory lock).
PGAPPNAME=pix_upgrade_hold psql -X -q -d "$UPG" -c "SELECT pg_advisory_lock(x'7069786653454E44'::bigint)" \
	-c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
HOLDER=$!
for _ in $(seq 100); do
	[ "$(qd "$UPG" "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.application_name = 'pix_upgrade_hold'")" = 1 ] && break
	sleep 0.1
done
pay "$KQ" 22.00
sleep 1
check "0.1: a payment stays queued while the sender is held off" test "$(state "$KQ")" = queued
BEFORE=$(qd "$UPG" "$LEDGER")

qd "$UPG" "ALTER EXTENSION pix_fdw UPDATE"
check "ALTER EXTENSION pix_fdw UPDATE goes to 0.2" test "$(version "$UPG")" = 0.2
check "the ledger is intact (every row, every 0.1 column, seals included)" test "$(qd "$UPG" "$LEDGER")" = "$BEFORE"
check "the ledger has its 3 rows, all of this database's origin" \
	test "$(qd "$UPG" "SELECT count(*) FILTER (WHERE origin = pix_fdw.database_id()) || '/' || count(*) FROM pix_fdw.payments")" = 3/3
qd "$UPG" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pix_upgrade_hold'" >/dev/null
qd "$UPG" "SELECT state FROM pix_fdw.wait('$KQ', '30 s')" >/dev/null
check "the payment queued under 0.1 is sent after the update (its seal verifies)" wait_for "$KQ" paid 30
pay "$KNEW" 23.00
check "0.2: a new payment is paid" wait_for "$KNEW" paid 30
counts=""
for k in "$KPAID" "$KFAIL" "$KQ" "$KNEW"; do counts="$counts$(posts "$k")"; done
check "exactly one POST per key (got $counts)" test "$counts" = 1111
check "the imported tables still read" test -n "$(qd "$UPG" "SELECT disponivel FROM inter.saldo")"

qd postgres "CREATE DATABASE $FRESH"
qd "$FRESH" "CREATE EXTENSION pix_fdw"
check "a fresh CREATE EXTENSION pix_fdw is 0.2" test "$(version "$FRESH")" = 0.2
qd "$UPG" "$OBJECTS" >"${PIX_TMP:-/tmp}/pix_upgrade_$$.upg"
qd "$FRESH" "$OBJECTS" >"${PIX_TMP:-/tmp}/pix_upgrade_$$.fresh"
check "the listing covers the ledger's tables and functions ($(wc -l <"${PIX_TMP:-/tmp}/pix_upgrade_$$.fresh") lines)" \
	grep -q "^function pix_fdw.adopt(uuid)" "${PIX_TMP:-/tmp}/pix_upgrade_$$.fresh"
if diff "${PIX_TMP:-/tmp}/pix_upgrade_$$.upg" "${PIX_TMP:-/tmp}/pix_upgrade_$$.fresh" >"${PIX_TMP:-/tmp}/pix_upgrade_$$.diff"; then
	ok "the updated extension's objects equal a fresh 0.2's"
else
	sed 's/^/# /' "${PIX_TMP:-/tmp}/pix_upgrade_$$.diff" | head -40
	not_ok "the updated extension's objects equal a fresh 0.2's"
fi
check "\\dx+ pix_fdw lists the same objects" \
	test "$(psql -X -d "$UPG" -c '\dx+ pix_fdw')" = "$(psql -X -d "$FRESH" -c '\dx+ pix_fdw')"
rm -f "${PIX_TMP:-/tmp}/pix_upgrade_$$".*
