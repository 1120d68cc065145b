-- Reconciliation joins: the statement is read once per distinct request, rescans with
-- unchanged parameters replay stored rows, and estimates keep multi-page scans off the
-- inner side of nested loops.
CREATE TABLE test.orders (id int PRIMARY KEY, e2e text, valor numeric, dia date);
INSERT INTO test.orders VALUES
  (1, 'E00416968202406201436ghzKRVgnb7A', 24.90, '2024-06-20'),
  (2, 'E18236120202406210230Xq7LmN2pR4s', 1400.00, '2024-06-20'),
  (3, 'E00000000000000000000notpaid0000', 99.00, '2024-06-21');
ANALYZE test.orders;

-- Join on end-to-end id: one call, exact amounts compared as numeric.
SELECT test.reset();
SELECT o.id, e.valor, e.valor = o.valor AS amount_ok, e.nome_pagador
FROM test.orders o JOIN inter.extrato e ON e.end_to_end_id = o.e2e
WHERE e.data_transacao BETWEEN '2024-06-01' AND '2024-06-30' ORDER BY o.id;
SELECT test.calls('extrato') AS calls;
EXPLAIN (COSTS OFF)
SELECT o.id FROM test.orders o JOIN inter.extrato e ON e.end_to_end_id = o.e2e
WHERE e.data_transacao BETWEEN '2024-06-01' AND '2024-06-30';

-- Orders not yet paid: anti-join on amount and date.
SELECT o.id FROM test.orders o
WHERE NOT EXISTS (SELECT 1 FROM inter.extrato e
                  WHERE e.data_transacao BETWEEN '2024-06-01' AND '2024-06-30'
                    AND e.tipo_operacao = 'C' AND e.valor = o.valor AND e.data_transacao = o.dia)
ORDER BY o.id;

-- Even with only nested loops allowed, the planner keeps the statement scan outside:
-- it is read once.
SELECT test.reset();
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT count(*) FROM test.orders o JOIN inter.extrato e ON e.valor = o.valor
WHERE e.data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS calls;
EXPLAIN (COSTS OFF) SELECT count(*) FROM test.orders o JOIN inter.extrato e ON e.valor = o.valor
WHERE e.data_transacao = '2024-06-20';
RESET enable_hashjoin;
RESET enable_mergejoin;

-- A subplan rescanned for every outer row with unchanged parameters (no Material node):
-- the rows stored on the first pass are replayed, so the bank is called once.
SELECT test.reset();
SELECT o.id, o.valor <= ANY (SELECT valor FROM inter.extrato WHERE data_transacao = '2024-06-20') AS covered
FROM test.orders o ORDER BY o.id;
SELECT test.calls('extrato') AS calls;
EXPLAIN (COSTS OFF) SELECT o.id, o.valor <= ANY (SELECT valor FROM inter.extrato WHERE data_transacao = '2024-06-20')
FROM test.orders o;
RESET enable_material;

-- A correlated subquery: each changed parameter is a new request; repeats are not.
SELECT test.reset();
SELECT o.id, (SELECT count(*) FROM inter.extrato e WHERE e.data_transacao = o.dia) AS n
FROM test.orders o ORDER BY o.id;
SELECT * FROM test.requests('extrato');

-- Estimates: about 50 rows a day, one call per 90-day window; a multi-page scan is the
-- outer (or hashed) side, never rescanned per outer row.
CREATE FUNCTION test.plan_rows(query text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric;
END $$;
SELECT test.plan_rows($$SELECT * FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30'$$) AS june,
       test.plan_rows($$SELECT * FROM inter.extrato WHERE data_transacao = '2024-06-20'$$) AS one_day,
       test.plan_rows($$SELECT * FROM inter.saldo$$) AS saldo;
CREATE TABLE test.many_orders AS SELECT g AS id, (g % 500)::numeric AS valor FROM generate_series(1, 5000) g;
ANALYZE test.many_orders;
EXPLAIN (COSTS OFF) SELECT count(*) FROM test.many_orders o JOIN inter.extrato e ON e.valor = o.valor
WHERE e.data_transacao BETWEEN '2024-01-01' AND '2024-06-30';
