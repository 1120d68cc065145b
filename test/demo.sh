#!/usr/bin/env bash
# The demo: installs what is needed, builds pix_fdw, starts PostgreSQL and the mock bank, and
# reconciles a small orders table against the bank statement from SQL (paid, unpaid, Pix that
# match no order), shows the balance and queues a Pix payment that the sender then pays.
. "$(dirname "$0")/lib.sh"
trap cleanup EXIT
install_deps
build_install
start_postgres
start_mock

psql -X -q -v ON_ERROR_STOP=1 -v url="$PIX_MOCK_URL" -v certs="$PIX_CERTS" <<'SQL'
\pset footer off
\echo '-- 1. Install, point a server at the bank (here: the mock) and map a user with the integration credentials'
CREATE EXTENSION pix_fdw;
CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url :'url');
SELECT format('ALTER SERVER inter OPTIONS (ADD ca_file %L)', :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
CREATE SCHEMA inter;
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter;
-- The set-up check, where this version of pix_fdw has it.
SELECT to_regproc('pix_fdw.check') IS NOT NULL AS has_check \gset
\if :has_check
\echo
\echo '-- 1b. The set-up check: one row per step, each with what to do'
SELECT * FROM pix_fdw.check('inter');
\endif
\echo
\echo '-- 2. The balance, live'
SELECT data_saldo, disponivel, bloqueado_cheque, limite FROM inter.saldo;
\echo
\echo '-- 3. A day of statement'
SELECT data_inclusao AT TIME ZONE 'America/Sao_Paulo' AS hora_local, tipo_operacao AS op, valor, titulo, nome_pagador
FROM inter.extrato WHERE data_transacao = '2024-06-20' ORDER BY data_inclusao;
\echo
\echo '-- 4. Reconcile orders against the Pix received (join on end-to-end id, exact numeric amounts)'
CREATE TABLE orders (id int PRIMARY KEY, e2e text, valor numeric, dia date);
INSERT INTO orders VALUES
  (101, 'E00416968202406201436ghzKRVgnb7A', 24.90, '2024-06-20'),
  (102, 'E18236120202406210230Xq7LmN2pR4s', 1400.00, '2024-06-20'),
  (103, 'E99999999202406201200notpaid0000', 75.00, '2024-06-20');
SELECT o.id, o.valor AS esperado, e.valor AS recebido,
       CASE WHEN e.valor IS NULL THEN 'NOT PAID' WHEN e.valor = o.valor THEN 'ok' ELSE 'AMOUNT DIFFERS' END AS status
FROM orders o
LEFT JOIN inter.extrato e ON e.end_to_end_id = o.e2e
  AND e.data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND e.tipo_operacao = 'C'
ORDER BY o.id;
\echo
\echo '-- 4a. Pix received that match no order (that month)'
SELECT e.data_transacao AS dia, e.valor, e.nome_pagador, e.end_to_end_id
FROM inter.extrato e
WHERE e.data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND e.tipo_transacao = 'PIX' AND e.tipo_operacao = 'C'
  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.e2e = e.end_to_end_id)
ORDER BY e.data_inclusao LIMIT 5;
\echo
\echo '-- 4b. The same, joined on the order date: one request per distinct date, nothing guessed'
SELECT o.id, e.valor AS recebido, e.end_to_end_id IS NOT NULL AS paid
FROM orders o LEFT JOIN inter.extrato e ON e.end_to_end_id = o.e2e AND e.data_transacao = o.dia
ORDER BY o.id;
\echo
\echo '-- 5. What was sent to the bank: one request for the whole join (answered by the result cache here, as step 4 asked the same)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT o.id FROM orders o LEFT JOIN inter.extrato e ON e.end_to_end_id = o.e2e
  AND e.data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND e.tipo_operacao = 'C';
\echo
\echo '-- 6. Six months in one query (split into 90-day windows, all pages), exact totals'
SELECT tipo_operacao AS op, count(*), sum(valor) FROM inter.extrato
WHERE data_transacao BETWEEN '2024-01-01' AND '2024-06-30' GROUP BY 1 ORDER BY 1;
\echo
\echo '-- 7. A Pix payment: queued inside the transaction, sent by the background sender after COMMIT (once per key)'
BEGIN;
SELECT idempotency_key AS key, state FROM pix_fdw.pay(server => 'inter', chave => 'fornecedor@example.com', valor => 150.00,
       descricao => 'NF 1234', idempotency_key => '6f1c2a4e-8b7d-4c3e-9a10-5d2b7e8f9a01') \gset
\echo 'queued, before COMMIT:' :state
COMMIT;
SELECT state, status, tipo_retorno, codigo_solicitacao IS NOT NULL AS has_bank_id, attempts
FROM pix_fdw.wait(:'key', timeout => '30 s');
\echo '-- 7b. The same payment as the bank reports it (pix_enviados, looked up by its codigo_solicitacao)'
SELECT e.status, e.valor, e.chave, e.recebedor_nome
FROM pix_fdw.payments p JOIN inter.pix_enviados e ON e.codigo_solicitacao = p.codigo_solicitacao
WHERE p.idempotency_key = :'key';
SQL
status=$?
log "demo finished (PostgreSQL on $PGHOST port $PGPORT, mock bank at $PIX_MOCK_URL)"
if [ -t 0 ]; then
	read -r -p "Press Enter to stop PostgreSQL and the mock bank (psql -h $PGHOST -p $PGPORT -U postgres meanwhile)... " _
fi
exit $status
