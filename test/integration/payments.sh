#!/usr/bin/env bash
# Payments from SQL (issue 8), checked against the mock bank's own record of what it received
# (GET /payments on its control port), not against the ledger alone: a rollback sends nothing;
# every fault (timeout, 5xx before and after the bank recorded it, a lost answer, the sender
# killed before and after the bank recorded it) ends with exactly one payment per key; key
# reuse; the daily limit across two concurrent transactions; the sender uses the mapping of the
# role that queued; a hand-written ledger row is never sent; approval followed to the end; a
# paid payment reads in pix_enviados and extrato; wait() semantics; a 100-payment batch at the
# bank's pace (1 call per second) with no 429.
set -u
. "$(dirname "$0")/common.sh"
OUT=$(mktemp -d)
chmod 755 "$OUT"
trap 'rm -rf "$OUT"' EXIT
CERTS=$PIX_CERTS

# --- helpers --------------------------------------------------------------------------------
newkey() { python3 -c 'import uuid; print(uuid.uuid4())'; }
# pay KEY VALOR [more SQL args]: queues and commits; prints the ledger state returned
pay() { q "SELECT state FROM pix_fdw.pay('pay', 'fornecedor@example.com', $2, 'teste', idempotency_key => '$1'${3:+, $3})"; }
state() { q "SELECT state FROM pix_fdw.payments WHERE idempotency_key = '$1'"; }
# wait_for KEY STATES SECONDS: polls the ledger until the state is one of STATES (regex)
wait_for() {
	local s i
	for i in $(seq $(($3 * 10))); do
		s=$(state "$1")
		[[ $s =~ ^($2)$ ]] && return 0
		sleep 0.1
	done
	echo "# $1 is still '$s' after $3 s"
	return 1
}
# bank KEY FIELD: what the mock recorded for the key: "count" (payments created with it),
# "posts" (POSTs that arrived with it), or a field of the payment
bank() {
	mock GET /payments | python3 -c "
import json, sys
ps = [p for p in json.load(sys.stdin) if p.get('key') == '$1']
f = '$2'
if f == 'count': print(len(ps))
elif not ps: print('')
elif f == 'posts': print(sum(p.get('posts', 0) for p in ps))
else: print(ps[0].get(f))"
}
# arrived KEY: POSTs with this key in the mock's request log (faults before processing included)
arrived() {
	mock GET "/requests?endpoint=pix_pagamento" | python3 -c "
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r.get('idempotency_key') == '$1'))"
}
sender_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pix_fdw sender' AND datname = current_database()"; }
# waits until the mock has recorded a payment with this key
wait_bank() {
	for _ in $(seq 100); do
		[ "$(bank "$1" count)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
once() { # once NAME KEY: the ledger ends paid, and the bank has exactly one payment for the key
	local n
	check "$1: the ledger shows it paid" wait_for "$2" paid 30
	n=$(bank "$2" count)
	check "$1: exactly one payment at the bank for its key (found $n, after $(bank "$2" posts) POSTs)" test "$n" = 1
}

mock POST /reset >/dev/null
mock DELETE /payments >/dev/null
mock DELETE /fault >/dev/null
q "DROP SERVER IF EXISTS pay CASCADE" 2>/dev/null
q "CREATE SERVER pay FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$CERTS/ca.crt', rate_limits 'off', request_timeout '2 s')"
q "CREATE USER MAPPING FOR CURRENT_USER SERVER pay OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$CERTS/client.crt', key_file '$CERTS/client.key')"
q "CREATE SCHEMA IF NOT EXISTS paid"
q "IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato, pix_enviados) FROM SERVER pay INTO paid"

# --- 1. transactional: rollback and rollback to savepoint send nothing --------------------
K1=$(newkey)
K2=$(newkey)
K3=$(newkey)
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 10.00, 'rolled back', idempotency_key => '$K1');
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 11.00, 'rolled back to savepoint', idempotency_key => '$K2');
ROLLBACK TO SAVEPOINT s;
SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 12.00, 'kept', idempotency_key => '$K3');
COMMIT;
SQL
check "a committed payment is answered by the bank (wait returns it sent or paid)" \
	test "$(q "SELECT state FROM pix_fdw.wait('$K3', '20 s')")" != queued
once "commit" "$K3"
check "a rolled-back payment never reaches the bank" test "$(bank "$K1" count)" = 0
check "a payment rolled back to its savepoint never reaches the bank" test "$(bank "$K2" count)" = 0
check "rolled-back payments leave no ledger row" test "$(q "SELECT count(*) FROM pix_fdw.payments WHERE idempotency_key IN ('$K1', '$K2')")" = 0
check "the key is sent as x-id-idempotente and the body carries the exact amount" \
	test "$(bank "$K3" valor)" = "12.00"
sleep 1.5
check "nothing is sent before the commit: the bank saw the kept key once, nothing else" \
	test "$(mock GET /payments | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1

# --- 2. each fault ends with one payment per key ------------------------------------------
fault() { mock POST /fault "{\"endpoint\":\"pix_pagamento\",$1}" >/dev/null; }
K=$(newkey); fault '"kind":"status","status":503,"count":1'
pay "$K" 20.00 >/dev/null
once "503 before the bank recorded it" "$K"
check "503: the POST was repeated with the same key (2 POSTs arrived: $(arrived "$K"))" test "$(arrived "$K")" = 2

K=$(newkey); fault '"kind":"status_after","status":500,"count":1'
pay "$K" 21.00 >/dev/null
once "500 after the bank recorded it" "$K"
check "500 after recording: the retry with the same key was answered from the first (posts = 2)" test "$(bank "$K" posts)" = 2
check "500 after recording: the ledger counts one unanswered attempt" test "$(q "SELECT unanswered FROM pix_fdw.payments WHERE idempotency_key = '$K'")" = 1

K=$(newkey); fault '"kind":"drop","count":1'
pay "$K" 22.00 >/dev/null
once "lost answer (connection cut after the bank recorded it)" "$K"
check "lost answer: re-sent with the same key (posts = 2)" test "$(bank "$K" posts)" = 2

K=$(newkey); fault '"kind":"delay","ms":3000,"count":1'
pay "$K" 23.00 >/dev/null
once "timeout (the bank answers after request_timeout)" "$K"
check "timeout: the retry reused the key ($(arrived "$K") POSTs arrived)" test "$(arrived "$K")" -ge 2

K=$(newkey); fault '"kind":"hang_after","count":1'
pay "$K" 24.00 >/dev/null
once "timeout after the bank recorded it (answer never comes)" "$K"

# A refusal (400) on the retry of an attempt that got no answer (503): the first attempt may
# have gone through, so the ledger says uncertain, not failed.
K=$(newkey); fault '"kind":"status","status":503,"count":1'; fault '"kind":"status","status":400,"count":1'
pay "$K" 24.50 >/dev/null
check "a 4xx after an unanswered attempt ends uncertain (not failed)" wait_for "$K" uncertain 20
check "uncertain: the ledger counts the unanswered attempt and keeps the bank's reason" \
	test "$(q "SELECT unanswered || ' ' || (last_error LIKE '%HTTP 400%') FROM pix_fdw.payments WHERE idempotency_key = '$K'")" = "1 true"

# The sender killed mid-send, before and after the bank recorded the payment: it comes back
# (the postmaster restarts it) and re-sends the same key.
K=$(newkey); fault '"kind":"hang","count":1'
pay "$K" 25.00 >/dev/null
for _ in $(seq 50); do [ "$(state "$K")" = sending ] && break; sleep 0.1; done
PID=$(sender_pid)
check "killed before recording: the sender was mid-send (state sending, pid ${PID:-none})" test -n "$PID"
[ -n "$PID" ] && q "SELECT pg_terminate_backend($PID)" >/dev/null
mock DELETE /fault >/dev/null
check "killed before recording: back after the restart and paid" wait_for "$K" paid 30
once "killed before recording" "$K"

K=$(newkey); fault '"kind":"hang_after","count":1'
q "ALTER SERVER pay OPTIONS (SET request_timeout '60 s')"
pay "$K" 26.00 >/dev/null
wait_bank "$K"
PID=$(sender_pid)
check "killed after recording: the bank has it and the sender waits for the answer (pid ${PID:-none})" test -n "$PID"
[ -n "$PID" ] && q "SELECT pg_terminate_backend($PID)" >/dev/null
mock DELETE /fault >/dev/null
check "killed after recording: back after the restart and paid" wait_for "$K" paid 30
once "killed after recording" "$K"
check "killed after recording: the retry reused the key (posts = 2)" test "$(bank "$K" posts)" = 2
q "ALTER SERVER pay OPTIONS (SET request_timeout '2 s')"

# --- 3. idempotent at the SQL level --------------------------------------------------------
K=$(newkey)
pay "$K" 30.00 >/dev/null
again=$(q "SELECT idempotency_key FROM pix_fdw.pay('pay', 'fornecedor@example.com', 30.0, 'teste', idempotency_key => '$K')")
check "pay() with a key in the ledger returns that row" test "$again" = "$K"
psql -X -q -c "SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 31.00, 'teste', idempotency_key => '$K')" >/dev/null 2>"$OUT/err"
check "the same key with another amount is an error naming valor" grep -q 'differs in: valor' "$OUT/err"
psql -X -q -c "SELECT pix_fdw.pay('pay', 'outro@example.com', 30.00, 'outra', idempotency_key => '$K')" >/dev/null 2>"$OUT/err"
check "the same key with another payee and description names both" grep -q 'differs in: chave, descricao' "$OUT/err"
once "a repeated pay()" "$K"
check "a repeated pay() queued nothing more (one POST)" test "$(bank "$K" posts)" = 1
gen=$(q "SELECT idempotency_key FROM pix_fdw.pay('pay', 'fornecedor@example.com', 1.00)")
check "without a key, pay() makes a version-4 UUID and returns it ($gen)" \
	grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$gen"
once "a generated key" "$gen"

# --- 4. the daily limit, two concurrent transactions -----------------------------------------
q "ALTER SERVER pay OPTIONS (ADD max_valor_diario '1000.00', ADD max_valor '700.00')"
DAY=$(q "SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date + 7")
KA=$(newkey)
KB=$(newkey)
psql -X -q -v ON_ERROR_STOP=1 >"$OUT/a.out" 2>"$OUT/a.err" <<SQL &
BEGIN;
SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 600.00, 'A', data_pagamento => '$DAY', idempotency_key => '$KA');
SELECT pg_sleep(1.5);
COMMIT;
SQL
A=$!
sleep 0.5
psql -X -q -v ON_ERROR_STOP=1 >"$OUT/b.out" 2>"$OUT/b.err" <<SQL
BEGIN;
SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 600.00, 'B', data_pagamento => '$DAY', idempotency_key => '$KB');
COMMIT;
SQL
wait $A
check "two concurrent transactions: the first one's 600.00 is queued ($(state "$KA"))" test -n "$(state "$KA")"
[ -s "$OUT/a.err" ] && sed 's/^/# A: /' "$OUT/a.err"
check "two concurrent transactions: the second one's 600.00 would pass max_valor_diario and is refused" grep -q 'max_valor_diario' "$OUT/b.err"
check "the refusal gives the day's total" grep -q 'already total 600.00' "$OUT/b.err"
check "the refused payment left no row" test "$(q "SELECT count(*) FROM pix_fdw.payments WHERE idempotency_key = '$KB'")" = 0
psql -X -q -c "SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 700.01)" >/dev/null 2>"$OUT/err"
check "max_valor refuses a payment over it" grep -q 'over the server option max_valor ' "$OUT/err"
check "a scheduled payment (future data_pagamento) is AGENDADO at the bank" wait_for "$KA" sent 20
check "its tipo_retorno is AGENDADO" test "$(q "SELECT tipo_retorno FROM pix_fdw.payments WHERE idempotency_key = '$KA'")" = AGENDADO
q "ALTER SERVER pay OPTIONS (DROP max_valor_diario, DROP max_valor)"
codigo=$(q "SELECT codigo_solicitacao FROM pix_fdw.payments WHERE idempotency_key = '$KA'")
mock POST /payment_status "{\"codigo\":\"$codigo\",\"status\":\"PAGO\"}" >/dev/null
check "the scheduled payment, paid on its day, ends paid" wait_for "$KA" paid 60

# --- 5. who may pay, and with whose credentials --------------------------------------------
q "DROP ROLE IF EXISTS pix_payer"
q "DROP ROLE IF EXISTS pix_limited"
q "CREATE ROLE pix_payer LOGIN"
q "CREATE ROLE pix_limited LOGIN"
as() { psql -X -q -U "$1" -c "$2" 2>&1 >/dev/null; }
check "without EXECUTE on pay a role is refused" grep -q 'permission denied for function pay' <<<"$(as pix_payer "SELECT pix_fdw.pay('pay', 'a@example.com', 1)")"
q "GRANT EXECUTE ON FUNCTION pix_fdw.pay(name, text, numeric, text, date, uuid) TO pix_payer, pix_limited"
check "with EXECUTE but no USAGE on the server it is refused" grep -q 'permission denied for foreign server pay' <<<"$(as pix_payer "SELECT pix_fdw.pay('pay', 'a@example.com', 1)")"
q "GRANT USAGE ON FOREIGN SERVER pay TO pix_payer, pix_limited"
check "with USAGE but no user mapping it is refused" grep -q 'user mapping not found' <<<"$(as pix_payer "SELECT pix_fdw.pay('pay', 'a@example.com', 1)")"
check "a role without SELECT on the ledger cannot read it" grep -q 'permission denied for table payments' <<<"$(as pix_payer "SELECT * FROM pix_fdw.payments")"
q "CREATE USER MAPPING FOR pix_limited SERVER pay OPTIONS (client_id 'pix-limited-client', client_secret 'pix-limited-secret', cert_file '$CERTS/client.crt', key_file '$CERTS/client.key')"
KL=$(newkey)
psql -X -q -U pix_limited -c "SELECT pix_fdw.pay('pay', 'a@example.com', 5.00, idempotency_key => '$KL')" >/dev/null 2>"$OUT/err"
check "a role with EXECUTE, USAGE and a mapping queues a payment" test "$(q "SELECT requested_by FROM pix_fdw.payments WHERE idempotency_key = '$KL'")" = pix_limited
check "the sender uses the queuing role's mapping (its integration lacks pagamento-pix.write: failed)" wait_for "$KL" failed 20
check "the failure names the missing scope" grep -q 'pagamento-pix.write' <<<"$(q "SELECT last_error FROM pix_fdw.payments WHERE idempotency_key = '$KL'")"
check "a failed POST created nothing at the bank" test "$(bank "$KL" count)" = 0
check "hand-written INSERT into the ledger is refused" grep -q 'written only by pix_fdw' <<<"$(as postgres "INSERT INTO pix_fdw.payments (idempotency_key, server, chave, valor, requested_by, counted_on, seal) VALUES (gen_random_uuid(), 'pay', 'x@example.com', 1, 'postgres', current_date, '\\x00')")"
check "hand-written UPDATE of the ledger is refused" grep -q 'written only by pix_fdw' <<<"$(as postgres "UPDATE pix_fdw.payments SET valor = 1 WHERE idempotency_key = '$K3'")"
check "hand-written DELETE from the ledger is refused" grep -q 'written only by pix_fdw' <<<"$(as postgres "DELETE FROM pix_fdw.payments")"
check "TRUNCATE of the ledger is refused" grep -q 'written only by pix_fdw' <<<"$(as postgres "TRUNCATE pix_fdw.payments")"
# A superuser can get past the trigger (session_replication_role = replica): such a row, here a
# copy of a real row under another key (and of its origin: this database's, so that the sender
# takes it up), is still never sent, since its seal does not match.
KF=$(newkey)
q "SET session_replication_role = replica; INSERT INTO pix_fdw.payments (idempotency_key, server, chave, valor, descricao, requested_by, counted_on, seal, origin) SELECT '$KF', server, chave, 999.00, descricao, requested_by, counted_on, seal, origin FROM pix_fdw.payments WHERE idempotency_key = '$K3'" >/dev/null
q "SELECT pix_fdw.pay('pay', 'fornecedor@example.com', 1.00)" >/dev/null  # starts the sender
check "a hand-written row (trigger bypassed) is marked failed, not sent" wait_for "$KF" failed 20
check "its last_error says it was not written by pay()" grep -q 'not written by pix_fdw.pay' <<<"$(q "SELECT last_error FROM pix_fdw.payments WHERE idempotency_key = '$KF'")"
check "the bank never saw the hand-written row" test "$(bank "$KF" count)" = 0

# --- 6. approval (APROVACAO) followed to a terminal state -----------------------------------
mock POST /config '{"approval_above":"1000.00"}' >/dev/null
KP=$(newkey)
KR=$(newkey)
pay "$KP" 5000.00 >/dev/null
pay "$KR" 6000.00 >/dev/null
check "a payment over the approval threshold is sent with tipo_retorno APROVACAO" wait_for "$KP" sent 20
check "its tipo_retorno is APROVACAO" test "$(q "SELECT tipo_retorno FROM pix_fdw.payments WHERE idempotency_key = '$KP'")" = APROVACAO
for _ in $(seq 50); do [ "$(q "SELECT status FROM pix_fdw.payments WHERE idempotency_key = '$KP'")" = AGUARDANDO_APROVACAO ] && break; sleep 0.2; done
check "the ledger shows the bank's status AGUARDANDO_APROVACAO" test "$(q "SELECT status FROM pix_fdw.payments WHERE idempotency_key = '$KP'")" = AGUARDANDO_APROVACAO
wait_for "$KR" sent 20 >/dev/null
mock POST /config '{"approval_above":null}' >/dev/null
mock POST /payment_status "{\"codigo\":\"$(q "SELECT codigo_solicitacao FROM pix_fdw.payments WHERE idempotency_key = '$KP'")\",\"status\":\"PAGO\"}" >/dev/null
mock POST /payment_status "{\"codigo\":\"$(q "SELECT codigo_solicitacao FROM pix_fdw.payments WHERE idempotency_key = '$KR'")\",\"status\":\"REPROVADO\"}" >/dev/null
check "approved in Internet Banking: the ledger ends paid" wait_for "$KP" paid 30
check "rejected in Internet Banking: the ledger ends failed" wait_for "$KR" failed 30
check "a paid payment has its end-to-end id" grep -qE '^E[0-9A-Za-z]{31}$' <<<"$(q "SELECT end_to_end_id FROM pix_fdw.payments WHERE idempotency_key = '$KP'")"

# --- 7. visible in pix_enviados and extrato -------------------------------------------------
codigo=$(q "SELECT codigo_solicitacao FROM pix_fdw.payments WHERE idempotency_key = '$K3'")
check "a paid payment reads in pix_enviados by its codigo_solicitacao, PAGO and 12.00" \
	test "$(q "SELECT status || ' ' || valor FROM paid.pix_enviados WHERE codigo_solicitacao = '$codigo'")" = "PAGO 12.00"
TODAY=$(q "SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date")
check "settled, it is a debit in extrato on its day" \
	test "$(q "SELECT count(*) FROM paid.extrato WHERE data_transacao = '$TODAY' AND tipo_operacao = 'D' AND valor = 12.00 AND codigo_solicitacao = '$codigo'")" = 1

# --- 8. wait() -------------------------------------------------------------------------------
psql -X -q >/dev/null 2>"$OUT/err" <<SQL
BEGIN;
SELECT idempotency_key FROM pix_fdw.pay('pay', 'fornecedor@example.com', 2.00) \\gset
SELECT pix_fdw.wait(:'idempotency_key', '1 s');
ROLLBACK;
SQL
check "wait() in the transaction that queued the payment is an error (not committed yet)" grep -q 'not committed yet' "$OUT/err"
check "wait() for an unknown key is an error" grep -q 'no payment with idempotency key' <<<"$(psql -X -q -c "SELECT pix_fdw.wait('$(newkey)')" 2>&1)"
K=$(newkey); fault '"kind":"hang","count":1'
pay "$K" 3.00 >/dev/null
t0=$(now_ms)
st=$(q "SELECT state FROM pix_fdw.wait('$K', '1 s')")
el=$(($(now_ms) - t0))
check "wait() returns the row when its timeout passes ($st after $el ms)" test "$st" = sending -a "$el" -ge 900 -a "$el" -lt 3000
t0=$(now_ms)
psql -X -q -c "SET statement_timeout = '300ms'" -c "SELECT pix_fdw.wait('$K', '1 min')" >/dev/null 2>"$OUT/err"
el=$(($(now_ms) - t0))
check "wait() is cancellable: statement_timeout ends it (${el} ms)" test "$el" -lt 1500
check "the timeout is reported" grep -q 'statement timeout' "$OUT/err"
mock DELETE /fault >/dev/null
once "after the wait tests" "$K"

# --- 9. a batch of 100 at the bank's pace ----------------------------------------------------
q "CREATE SERVER pace FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$CERTS/ca.crt', rate_limits 'pix_enviados=1000/min')"
q "CREATE USER MAPPING FOR CURRENT_USER SERVER pace OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '$CERTS/client.crt', key_file '$CERTS/client.key')"
mock POST /config '{"rate_limits":true,"limits":{"pix_consulta":0,"token":0}}' >/dev/null
mock POST /reset >/dev/null
q "CREATE TABLE IF NOT EXISTS payouts (n int, key uuid)"
q "TRUNCATE payouts; INSERT INTO payouts SELECT n, gen_random_uuid() FROM generate_series(1, 100) n"
t0=$(now_ms)
n=$(q "SELECT count(*) FROM (SELECT pix_fdw.pay('pace', 'fornecedor@example.com', n + 0.01, 'lote ' || n, idempotency_key => key) FROM payouts) p")
el=$(($(now_ms) - t0))
echo "# 100 payments queued in $el ms"
check "SELECT pay() FROM payouts with 100 rows returns at once ($el ms)" test "$n" = 100 -a "$el" -lt 5000
sleep 20
progress=$(q "SELECT count(*) FILTER (WHERE state IN ('sent', 'paid')) || ' ' || count(*) FILTER (WHERE state = 'queued') FROM pix_fdw.payments p JOIN payouts o ON o.key = p.idempotency_key")
echo "# after 20 s: sent or paid, queued = $progress"
check "the ledger shows the batch's progress (some sent, some still queued after 20 s: $progress)" \
	test "$(cut -d' ' -f1 <<<"$progress")" -gt 5 -a "$(cut -d' ' -f2 <<<"$progress")" -gt 5
for _ in $(seq 150); do
	[ "$(q "SELECT count(*) FROM pix_fdw.payments p JOIN payouts o ON o.key = p.idempotency_key WHERE state = 'paid'")" = 100 ] && break
	sleep 1
done
check "all 100 end paid" test "$(q "SELECT count(*) FROM pix_fdw.payments p JOIN payouts o ON o.key = p.idempotency_key WHERE state = 'paid'")" = 100
mock GET /payments >"$OUT/payments.json"
mock GET "/requests?endpoint=pix_pagamento" >"$OUT/requests.json"
q "SELECT key FROM payouts" >"$OUT/keys"
python3 - "$OUT" >"$OUT/pace" <<'PY'
import json, sys
d = sys.argv[1]
keys = set(open(d + "/keys").read().split())
pays = [p for p in json.load(open(d + "/payments.json")) if p.get("key") in keys]
reqs = sorted((r for r in json.load(open(d + "/requests.json")) if r.get("idempotency_key") in keys), key=lambda r: r["t"])
gaps = [b["t"] - a["t"] for a, b in zip(reqs, reqs[1:])]
print(len(pays), len({p["key"] for p in pays}), sum(p.get("posts", 0) for p in pays), len(reqs),
      sum(1 for r in reqs if r.get("status") == 429), "%.3f" % min(gaps), "%.1f" % (reqs[-1]["t"] - reqs[0]["t"]))
PY
read -r npay nkeys nposts nreq n429 mingap span <"$OUT/pace"
echo "# batch: $npay payments, $nposts POSTs, $n429 answered 429, smallest gap ${mingap} s, ${span} s from first to last"
check "the bank received 100 payments, one per key, each POSTed once" test "$npay" = 100 -a "$nkeys" = 100 -a "$nposts" = 100
check "no POST was refused with 429 (the mock enforces 1 call per second)" test "$n429" = 0
check "POSTs were at least a second apart (smallest gap $mingap s)" python3 -c "import sys; sys.exit(0 if $mingap >= 0.98 else 1)"
mock POST /config '{"rate_limits":false}' >/dev/null

# --- the end: nothing pending, and the sender leaves -----------------------------------------
check "nothing is left pending in the ledger" test "$(q "SELECT count(*) FROM pix_fdw.payments WHERE state IN ('queued', 'sending', 'sent')")" = 0
for _ in $(seq 50); do [ -z "$(sender_pid)" ] && break; sleep 0.1; done
check "the sender exits when nothing is pending" test -z "$(sender_pid)"
q "DROP SERVER pace CASCADE; DROP USER MAPPING FOR pix_limited SERVER pay; REVOKE ALL ON FOREIGN SERVER pay FROM pix_payer, pix_limited; REVOKE ALL ON FUNCTION pix_fdw.pay(name, text, numeric, text, date, uuid) FROM pix_payer, pix_limited; DROP ROLE pix_payer; DROP ROLE pix_limited" >/dev/null
mock POST /reset >/dev/null
