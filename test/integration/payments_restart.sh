#!/usr/bin/env bash
# Payments survive a PostgreSQL restart in the middle (issue 8, guarantee 3), on a second
# throwaway cluster that this script stops with -m immediate (a crash, for PostgreSQL):
# - not preloaded: a payment in flight (the bank never answered) and two queued ones are all
#   sent, each once, after the restart, started by the next call of a pix_fdw function;
# - preloaded (shared_preload_libraries): a payment the bank recorded whose answer was lost,
#   and a queued one, are resumed at start-up with no call at all.
# The bank's record (the mock's GET /payments) must show exactly one payment per key.
set -u
. "$(dirname "$0")/common.sh"
finish() {
	mock DELETE /fault >/dev/null 2>&1
	stop_cluster
}
trap finish EXIT
start() { cluster_ctl start; }
crash() { cluster_ctl stop immediate; }
if ! start_cluster payments_restart; then
	not_ok "a second cluster starts"
	exit 0
fi
DIR=$CLUSTER_DIR
q "CREATE EXTENSION pix_fdw"
q "CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt', rate_limits 'off', request_timeout '60 s')"
q "CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key')"

newkey() { python3 -c 'import uuid; print(uuid.uuid4())'; }
pay() { q "SELECT state FROM pix_fdw.pay('inter', 'fornecedor@example.com', $2, 'restart', idempotency_key => '$1')" >/dev/null; }
state() { q "SELECT state FROM pix_fdw.payments WHERE idempotency_key = '$1'"; }
wait_for() {
	for _ in $(seq $(($3 * 10))); do
		[[ $(state "$1") =~ ^($2)$ ]] && return 0
		sleep 0.1
	done
	echo "# $1 is still '$(state "$1")' after $3 s"
	return 1
}
bank() {
	mock GET /payments | python3 -c "
import json, sys
print(sum(1 for p in json.load(sys.stdin) if p.get('key') == '$1'))"
}
once() {
	check "$1: exactly one payment at the bank for its key ($(bank "$2"))" test "$(bank "$2")" = 1
	check "$1: the ledger shows it paid" wait_for "$2" paid 30
}
sender() { q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pix_fdw sender'"; }

# --- not preloaded -----------------------------------------------------------------------
K1=$(newkey)
K2=$(newkey)
K3=$(newkey)
mock POST /fault '{"endpoint":"pix_pagamento","kind":"hang","count":1}' >/dev/null
pay "$K1" 40.00
check "in flight: the first payment is being sent when the server goes down" wait_for "$K1" sending 10
pay "$K2" 41.00
pay "$K3" 42.00
crash
mock DELETE /fault >/dev/null
check "not preloaded: the bank has nothing yet for the three keys" test "$(($(bank "$K1") + $(bank "$K2") + $(bank "$K3")))" = 0
start
sleep 2
check "not preloaded: no sender runs after the restart until pix_fdw is used" test "$(sender)" = 0
check "the in-flight payment is still sending, the queued ones queued" \
	test "$(state "$K1") $(state "$K2") $(state "$K3")" = "sending queued queued"
q "SELECT count(*) FROM pix_fdw.connections()" >/dev/null
once "in flight at the restart" "$K1"
once "queued at the restart (1)" "$K2"
once "queued at the restart (2)" "$K3"
check "the in-flight payment took two attempts, one unanswered" \
	test "$(q "SELECT attempts || '/' || unanswered FROM pix_fdw.payments WHERE idempotency_key = '$K1'")" = "2/0"

# --- preloaded -----------------------------------------------------------------------------
q "ALTER SYSTEM SET shared_preload_libraries = 'pix_fdw'"
cluster_ctl stop fast
start
K4=$(newkey)
K5=$(newkey)
mock POST /fault '{"endpoint":"pix_pagamento","kind":"hang_after","count":1}' >/dev/null
pay "$K4" 43.00
for _ in $(seq 100); do [ "$(bank "$K4")" = 1 ] && break; sleep 0.1; done
check "preloaded: the bank recorded the first payment, its answer never came" test "$(bank "$K4")" = 1
pay "$K5" 44.00
crash
mock DELETE /fault >/dev/null
start
# Only plain reads of the ledger from here on (no pix_fdw function is called).
once "preloaded, recorded but unanswered at the restart" "$K4"
once "preloaded, queued at the restart" "$K5"
