#!/usr/bin/env bash
# pg_dump -Fc / pg_restore of a database with pix_fdw (issue 11, point 7): the extension, a
# server, a user mapping, imported tables and a ledger with paid, failed and queued payments
# restore into a fresh database, which queries the bank, keeps every ledger row (seals
# included) and pays from there; and no payment is ever sent twice because of a restore:
# - restored next to the original (which goes on): the original sends its queued payments,
#   the copy sends none of them (they keep the original's origin);
# - restored after the original is gone: pix_fdw.adopt(origin) sends them, once;
# - restored into itself (pg_restore --clean): its queued payments wait for adopt() too;
# - restored into another cluster, where the role that queued a payment has another OID: the
#   restored rows still verify, and none of them is sent;
# - copied with CREATE DATABASE ... TEMPLATE: the copy gets an id of its own at its first pay().
# The bank's side is the mock's request log: exactly one POST per idempotency key in all.
set -u
. "$(dirname "$0")/common.sh"
PGBIN=${PIX_PGROOT:-}/usr/lib/postgresql/${PGVER:-15}/bin
DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_dump.XXXXXX")
chmod 755 "$DIR"
SRC=pix_dump_src_$$
DST=pix_dump_dst_$$
DST2=pix_dump_dst2_$$
TPL=pix_dump_tpl_$$
PAYER=pix_dump_payer_$$
HOLDERS=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
finish() {
	mock DELETE /fault >/dev/null 2>&1
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	for db in "$SRC" "$DST" "$DST2" "$TPL"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	[ -d "$DIR/c2/data" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/c2/data" -m immediate stop >/dev/null 2>&1
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $PAYER" >/dev/null 2>&1
	[ -z "${KEEP_WORK:-}" ] && rm -rf "$DIR"
}
trap finish EXIT

qd() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
newkey() { python3 -c 'import uuid; print(uuid.uuid4())'; }
pay() { qd "$1" "SELECT state FROM pix_fdw.pay('inter', 'fornecedor@example.com', $3, 'dump', idempotency_key => '$2')" >/dev/null; }
state() { qd "$1" "SELECT state FROM pix_fdw.payments WHERE idempotency_key = '$2'"; }
wait_for() { # wait_for DB KEY STATES SECONDS
	for _ in $(seq $(($4 * 10))); do
		[[ $(state "$1" "$2") =~ ^($3)$ ]] && return 0
		sleep 0.1
	done
	echo "# $2 in $1 is still '$(state "$1" "$2")' after $4 s"
	return 1
}
# posts KEY: POSTs with that x-id-idempotente in the mock's request log (any database, faults too)
posts() {
	mock GET "/requests?endpoint=pix_pagamento" | python3 -c "
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r.get('idempotency_key') == '$1' and r.get('method') == 'POST'))"
}
# hold DB: keeps the database's sender from running (a session holds the sender's advisory
# lock, "pixfSEND"), so that its payments stay queued while it is dumped; release DB ends it.
hold() {
	PGAPPNAME=pix_dump_hold psql -X -q -d "$1" -c "SELECT pg_advisory_lock(x'7069786653454E44'::bigint)" \
		-c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
	HOLDERS+=($!)
	for _ in $(seq 100); do
		[ "$(qd "$1" "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.application_name = 'pix_dump_hold' AND a.datname = current_database()")" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
release() { qd "$1" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pix_dump_hold' AND datname = current_database()" >/dev/null; }
ledger() { qd "$1" "SELECT idempotency_key, state, valor, seal FROM pix_fdw.payments ORDER BY 1"; }
dump() { "$PGBIN/pg_dump" -Fc -d "$1" -f "$2" 2>"$DIR/dump.err" || { cat "$DIR/dump.err"; return 1; }; }
restore() { # restore DB FILE [pg_restore options]
	local db=$1 f=$2
	shift 2
	"$PGBIN/pg_restore" --exit-on-error "$@" -d "$db" "$f" >"$DIR/restore.err" 2>&1 || { cat "$DIR/restore.err"; return 1; }
}

mock DELETE /fault >/dev/null
qd postgres "CREATE DATABASE $SRC"
qd "$SRC" "CREATE EXTENSION pix_fdw"
qd "$SRC" "CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt', cache_ttl '0')"
qd "$SRC" "CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"
qd "$SRC" "CREATE SCHEMA inter; IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter"
# A second role that pays (not the bootstrap superuser: its OID differs from cluster to cluster).
qd postgres "CREATE ROLE $PAYER LOGIN"
qd "$SRC" "GRANT EXECUTE ON FUNCTION pix_fdw.pay(name, text, numeric, text, date, uuid) TO $PAYER; GRANT USAGE ON FOREIGN SERVER inter TO $PAYER"
qd "$SRC" "CREATE USER MAPPING FOR $PAYER SERVER inter OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"
SALDO="SELECT disponivel FROM inter.saldo"
check "the original reads the balance" test -n "$(qd "$SRC" "$SALDO")"

# The ledger: one paid, one failed (the bank refused it), two queued (its sender held off).
KPAID=$(newkey) KFAIL=$(newkey) KQ1=$(newkey) KQ2=$(newkey)
pay "$SRC" "$KPAID" 10.00
check "a payment is paid in the original" wait_for "$SRC" "$KPAID" paid 30
mock POST /fault '{"endpoint":"pix_pagamento","kind":"status","status":400,"count":1}' >/dev/null
pay "$SRC" "$KFAIL" 11.00
check "a payment the bank refused is failed in the original" wait_for "$SRC" "$KFAIL" failed 30
mock DELETE /fault >/dev/null
check "the original's sender is held off" hold "$SRC"
pay "$SRC" "$KQ1" 12.00
pay "$SRC" "$KQ2" 13.00
sleep 1
check "two payments stay queued in the original" test "$(state "$SRC" "$KQ1")$(state "$SRC" "$KQ2")" = queuedqueued
check "pg_dump -Fc of the original" dump "$SRC" "$DIR/src.dump"

# --- restored next to the original ---------------------------------------------------------
qd postgres "CREATE DATABASE $DST"
check "pg_restore into a fresh database" restore "$DST" "$DIR/src.dump"
check "the copy has the server, the user mapping and the imported tables, and reads the balance" \
	test "$(qd "$DST" "$SALDO")" = "$(qd "$SRC" "$SALDO")"
check "the copy's ledger has every row, each with the same state, amount and seal" \
	test "$(ledger "$DST")" = "$(ledger "$SRC")" -a "$(qd "$DST" "SELECT count(*) FROM pix_fdw.payments")" = 4
ORIG=$(qd "$SRC" "SELECT pix_fdw.database_id()")
check "the copy has a pix_fdw id of its own" test -n "$(qd "$DST" "SELECT pix_fdw.database_id()")" -a \
	"$(qd "$DST" "SELECT pix_fdw.database_id()")" != "$ORIG"
check "every restored row names the original as its origin" \
	test "$(qd "$DST" "SELECT count(*) FILTER (WHERE origin = '$ORIG') || '/' || count(*) FILTER (WHERE origin = pix_fdw.database_id()) FROM pix_fdw.payments")" = 4/0
check "the original's seal key came along" \
	test "$(qd "$DST" "SELECT key FROM pix_fdw.ledger_key WHERE origin = '$ORIG'")" = "$(qd "$SRC" "SELECT key FROM pix_fdw.ledger_key")"
release "$SRC"
qd "$SRC" "SELECT state FROM pix_fdw.wait('$KQ1', '30 s')" >/dev/null  # starts its sender
check "the original sends its queued payments" wait_for "$SRC" "$KQ1" paid 30
check "... both" wait_for "$SRC" "$KQ2" paid 30
qd "$DST" "SELECT state FROM pix_fdw.wait('$KQ1', '2 s')" >/dev/null  # would start a sender
sleep 2
check "the copy sends none of the original's queued payments (still queued there)" \
	test "$(state "$DST" "$KQ1")$(state "$DST" "$KQ2")" = queuedqueued
check "no sender runs in the copy" test "$(qd "$DST" "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pix_fdw sender' AND datname = current_database()")" = 0
KNEW=$(newkey)
pay "$DST" "$KNEW" 14.00
check "the copy pays a payment of its own" wait_for "$DST" "$KNEW" paid 30
# The guard lets a superuser insert only another database's rows that verify (what a restore
# writes): a row claiming this database as its origin, or with a seal that does not match, is refused.
copy_row() { # copy_row KEY ORIGIN-EXPR: inserts a copy of the row under a new key
	psql -X -q -d "$DST" -c "INSERT INTO pix_fdw.payments (idempotency_key, server, chave, valor, requested_by, counted_on, seal, origin)
		SELECT gen_random_uuid(), server, chave, valor, requested_by, counted_on, seal, $2 FROM pix_fdw.payments WHERE idempotency_key = '$1'" 2>&1
}
check "a superuser cannot insert a row of this database's own origin" \
	grep -q "own pix_fdw id" <<<"$(copy_row "$KQ1" "pix_fdw.database_id()")"
check "nor a row of the original's origin whose seal does not match it" \
	grep -q "seal does not match" <<<"$(copy_row "$KQ1" "origin")"
check "the ledger still has 5 rows" test "$(qd "$DST" "SELECT count(*) FROM pix_fdw.payments")" = 5
check "adopt() refuses this database's own id" \
	bash -c "psql -X -q -d $DST -c \"SELECT pix_fdw.adopt(pix_fdw.database_id())\" 2>&1 | grep -q \"own pix_fdw id\""

# --- copied with CREATE DATABASE ... TEMPLATE (no session may be connected to the template) ---
for _ in $(seq 40); do
	qd postgres "CREATE DATABASE $TPL TEMPLATE $DST" 2>/dev/null && break
	sleep 0.5
done
check "a template copy of the restored database has no pix_fdw id of its own yet" \
	test -z "$(qd "$TPL" "SELECT pix_fdw.database_id()")"
KTPL=$(newkey)
pay "$TPL" "$KTPL" 17.00
check "the template copy pays a payment of its own" wait_for "$TPL" "$KTPL" paid 30
check "... under a new id, neither the template's nor the original's" test "$(qd "$TPL" "SELECT count(DISTINCT origin) || '/' || count(*) FILTER (WHERE origin = pix_fdw.database_id()) FROM pix_fdw.payments WHERE origin <> '$ORIG' AND origin <> '$(qd "$DST" "SELECT pix_fdw.database_id()")'")" = 1/1
check "the template copy sends none of the original's queued payments" \
	test "$(state "$TPL" "$KQ1")$(state "$TPL" "$KQ2")" = queuedqueued

# --- restored after the original is gone ----------------------------------------------------
KQ3=$(newkey)
check "the original's sender is held off again" hold "$SRC"
PGUSER=$PAYER pay "$SRC" "$KQ3" 15.00
PAYER_OID=$(qd "$SRC" "SELECT requested_by::oid FROM pix_fdw.payments WHERE idempotency_key = '$KQ3'")
check "pg_dump of the original with a queued payment (queued by $PAYER)" dump "$SRC" "$DIR/src2.dump"

# --- restored into another cluster -----------------------------------------------------------
mkdir -p "$DIR/c2" && chmod 755 "$DIR/c2"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR/c2"
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$DIR/c2/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n" "$PORT2" "$DIR/c2" >>"$DIR/c2/data/postgresql.conf"
if as_pg "$PGBIN/pg_ctl" -D "$DIR/c2/data" -l "$DIR/c2/postgres.log" -w start >/dev/null; then
	(
		export PGHOST=$DIR/c2 PGPORT=$PORT2
		qd postgres "CREATE ROLE pix_dump_other; CREATE ROLE $PAYER LOGIN"  # another OID than in the original's cluster
		check "the paying role has another OID in the other cluster" \
			test "$(qd postgres "SELECT '$PAYER'::regrole::oid")" != "$PAYER_OID"
		qd postgres "CREATE DATABASE $DST"
		check "pg_restore into another cluster (a queued payment of that role among the rows)" restore "$DST" "$DIR/src2.dump"
		check "the other cluster's copy reads the balance" test -n "$(qd "$DST" "$SALDO")"
		check "its ledger has the original's 5 rows, none of them its own" \
			test "$(qd "$DST" "SELECT count(*) FILTER (WHERE origin = '$ORIG') || '/' || count(*) FILTER (WHERE origin = pix_fdw.database_id()) FROM pix_fdw.payments")" = 5/0
		check "the rows verify there (adopt() in a transaction rolled back)" \
			test "$(psql -X -q -At -d "$DST" -c "BEGIN" -c "SELECT pix_fdw.adopt('$ORIG')" -c "ROLLBACK")" = 5
		qd "$DST" "SELECT state FROM pix_fdw.wait('$KQ3', '2 s')" >/dev/null
		sleep 1
		check "the other cluster sends none of the original's payments" test "$(state "$DST" "$KQ3")" = queued
	)
else
	cat "$DIR/c2/postgres.log"
	not_ok "a second cluster starts"
fi

qd postgres "DROP DATABASE $SRC WITH (FORCE)"
qd postgres "CREATE DATABASE $DST2"
check "pg_restore after the original was dropped" restore "$DST2" "$DIR/src2.dump"
sleep 2
check "the queued payment waits in the restored database" test "$(state "$DST2" "$KQ3")" = queued
check "adopt() takes the original's rows (4 paid or failed, 1 queued)" \
	test "$(qd "$DST2" "SELECT pix_fdw.adopt('$ORIG')")" = 5
check "the adopted payment is sent from the restored database" wait_for "$DST2" "$KQ3" paid 30
check "adopt() again finds nothing" test "$(qd "$DST2" "SELECT pix_fdw.adopt('$ORIG')")" = 0

# --- restored into itself --------------------------------------------------------------------
KQ4=$(newkey)
check "the restored database's sender is held off" hold "$DST2"
pay "$DST2" "$KQ4" 16.00
check "pg_dump with a queued payment of its own" dump "$DST2" "$DIR/self.dump"
release "$DST2"
check "pg_restore --clean into itself" restore "$DST2" "$DIR/self.dump" --clean --if-exists
OWN=$(qd "$DST2" "SELECT pix_fdw.database_id()")
SELF=$(qd "$DST2" "SELECT DISTINCT origin FROM pix_fdw.payments WHERE idempotency_key = '$KQ4'")
check "restored into itself, the database has a new pix_fdw id" test -n "$OWN" -a "$OWN" != "$SELF"
qd "$DST2" "SELECT state FROM pix_fdw.wait('$KQ4', '2 s')" >/dev/null
sleep 1
check "... so its queued payment waits for adopt()" test "$(state "$DST2" "$KQ4")" = queued
check "adopt() of its former id takes its 6 rows" test "$(qd "$DST2" "SELECT pix_fdw.adopt('$SELF')")" = 6
check "... paid" wait_for "$DST2" "$KQ4" paid 30

# --- the bank's side --------------------------------------------------------------------------
counts=""
for k in "$KPAID" "$KFAIL" "$KQ1" "$KQ2" "$KNEW" "$KTPL" "$KQ3" "$KQ4"; do counts="$counts$(posts "$k")"; done
check "exactly one POST per idempotency key across all the databases (got $counts)" test "$counts" = 11111111
