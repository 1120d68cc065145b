-- A reconciliation users can copy: a local orders table against inter.extrato, inter.pix and
-- inter.cobrancas, one query per question, each bank call counted. Orders (from the mock's
-- data): 1 paid through its charge's QR code and partly refunded, 2 paid by a plain Pix to the
-- key (the shop kept its end-to-end id), 3 a charge still open, 4 a plain Pix never made, 5 a
-- charge paid with the wrong amount, 6 paid twice (its charge, and a plain Pix as well).
CREATE TABLE test.orders_r (id int PRIMARY KEY, valor numeric NOT NULL, dia date NOT NULL, txid text, e2e text);
INSERT INTO test.orders_r VALUES
  (1, 24.90, '2024-06-20', 'Rv1pt4pjd2jtjdzx5nafhtjks7', NULL),
  (2, 1400.00, '2024-06-20', NULL, 'E18236120202406210230Xq7LmN2pR4s'),
  (3, 150.00, '2024-06-20', 'fixtureCobAtiva20240620000001', NULL),
  (4, 75.00, '2024-06-20', NULL, 'E99999999202406201200notpaid0000'),
  (5, 8.28, '2024-06-10', 'rhE9V254c5bllXwh0U0SO2qVSy0n9NynFK', NULL),
  (6, 420.00, '2024-06-12', '4mLp5gXvkI5cyYqZSsjFlaMCY68m7XT', 'E90400888202406121524TzD1ZdteTKE');
ANALYZE test.orders_r;

-- 1. Which orders are paid, and how: every Pix received on the orders' days (one statement
-- request per distinct day, no date range to write), matched by the charge's txid or by the
-- end-to-end id.
SELECT test.reset();
SELECT o.id, o.valor, count(e.end_to_end_id) AS payments, coalesce(sum(e.valor), 0) AS received,
       CASE WHEN count(e.end_to_end_id) = 0 THEN 'NOT PAID'
            WHEN count(e.end_to_end_id) > 1 THEN 'PAID TWICE'
            WHEN sum(e.valor) <> o.valor THEN 'WRONG AMOUNT'
            ELSE 'PAID' END AS status
FROM test.orders_r o
LEFT JOIN inter.extrato e
  ON e.data_transacao = o.dia AND e.tipo_transacao = 'PIX' AND e.tipo_operacao = 'C'
 AND (e.txid = o.txid OR e.end_to_end_id = o.e2e)
GROUP BY o.id, o.valor ORDER BY o.id;
SELECT test.calls('extrato') AS statement_calls, string_agg(r, ' | ' ORDER BY r) AS days
FROM test.requests('extrato') r;

-- 2. Which are not paid, and why: the charge's own status (one lookup per txid), or no Pix
-- with the end-to-end id the customer gave on that day.
SELECT test.reset();
SELECT o.id, c.status AS charge_status, c.valor_original
FROM test.orders_r o JOIN inter.cobrancas c ON c.txid = o.txid
WHERE c.status <> 'CONCLUIDA' ORDER BY o.id;
SELECT test.calls('cob_txid') AS charge_lookups, test.calls('cob') AS charge_lists;
SELECT o.id FROM test.orders_r o
WHERE o.txid IS NULL
  AND NOT EXISTS (SELECT 1 FROM inter.extrato e WHERE e.data_transacao = o.dia AND e.end_to_end_id = o.e2e)
ORDER BY o.id;

-- 3. Which payments match no order: Pix received on those days that no order claims.
SELECT e.data_transacao, e.valor, e.end_to_end_id, e.txid IS NOT NULL AS through_a_charge
FROM inter.extrato e
WHERE e.data_transacao IN (SELECT dia FROM test.orders_r)
  AND e.tipo_transacao = 'PIX' AND e.tipo_operacao = 'C'
  AND NOT EXISTS (SELECT 1 FROM test.orders_r o WHERE o.txid = e.txid OR o.e2e = e.end_to_end_id)
ORDER BY 1, 3;

-- 4. Which were refunded: the Pix behind each order's payment, looked up by end-to-end id
-- (one call per Pix), with its refunds.
SELECT test.reset();
SELECT o.id, p.valor AS paid, d ->> 'valor' AS refunded, d ->> 'status' AS refund_status
FROM test.orders_r o
JOIN inter.extrato e ON e.data_transacao = o.dia AND e.txid = o.txid
JOIN inter.pix p ON p.end_to_end_id = e.end_to_end_id
CROSS JOIN LATERAL jsonb_array_elements(p.devolucoes) d
ORDER BY o.id;
SELECT test.calls('pix_recebido') AS pix_lookups, test.calls('pix_recebidos') AS pix_lists;

-- The same answers as the bank's own ids say: order 1's refund is the mock's fixture.
SELECT d ->> 'id' AS refund_id FROM inter.pix p, jsonb_array_elements(p.devolucoes) d
WHERE p.end_to_end_id = 'E00416968202406201436ghzKRVgnb7A';
-- Lookups by key are chosen only when cheaper than a range scan: with a week's range to read
-- in one call, 5 000 (or even 3) ids are matched against that list, not looked up one by one.
CREATE TABLE test.many_e2e AS SELECT 'E' || lpad(g::text, 31, '0') AS e2e FROM generate_series(1, 5000) g;
ANALYZE test.many_e2e;
SELECT l FROM test.explain($$SELECT count(*) FROM test.many_e2e m JOIN inter.pix p ON p.end_to_end_id = m.e2e
  WHERE p.horario >= '2024-06-01' AND p.horario < '2024-06-08'$$) l WHERE l ~ 'Join|Nested|Calls Planned';
SELECT test.reset();
SELECT count(*) FROM (SELECT * FROM test.many_e2e LIMIT 3) m JOIN inter.pix p ON p.end_to_end_id = m.e2e
WHERE p.horario >= '2024-06-01' AND p.horario < '2024-06-08';
SELECT test.calls('pix_recebidos') AS list_calls, test.calls('pix_recebido') AS lookups;
-- Without a range, a few ids are looked up one by one.
SELECT test.reset();
SELECT count(*) FROM (SELECT * FROM test.many_e2e LIMIT 3) m JOIN inter.pix p ON p.end_to_end_id = m.e2e;
SELECT test.calls('pix_recebidos') AS list_calls, test.calls('pix_recebido') AS lookups;
DROP TABLE test.many_e2e;
DROP TABLE test.orders_r;
