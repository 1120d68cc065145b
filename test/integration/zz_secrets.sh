#!/usr/bin/env bash
# Secrets never reach the server log: failing and succeeding scans with the secret in the
# user mapping leave no trace of it, nor of the private key, in what pix_fdw logs.
set -u
. "$(dirname "$0")/common.sh"
LOG=${PIX_SERVER_LOG:?}
start=$(stat -c %s "$LOG")
mock POST /reset >/dev/null
for t in inter.extrato wrong_secret_extrato no_scope_extrato wrong_ca_extrato no_cert_extrato expired_extrato; do
	psql -X -q -c "SET log_min_messages = debug5; SELECT count(*) FROM $t WHERE data_transacao = '2024-06-20'" >/dev/null 2>&1
done
mock POST /fault '{"endpoint":"extrato","kind":"status","status":401,"count":-1}' >/dev/null
psql -X -q -c "SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'" >/dev/null 2>&1
mock POST /reset >/dev/null
new=$(tail -c +"$((start + 1))" "$LOG")
check "the server log got the errors of these scans" grep -q "could not obtain an access token" <<<"$new"
check "no client_secret in the server log" bash -c '! grep -q -e "pix-test-secret" -e "pix-limited-secret" <<<"$1"' _ "$new"
check "no private key in the server log" bash -c '! grep -q "PRIVATE KEY" <<<"$1"' _ "$new"
check "no bearer token in the server log" bash -c '! grep -qi "bearer" <<<"$1"' _ "$new"
