-- Issue 6, point 3: joins on the date. data_transacao = outer.col has a parameterized path,
-- so a join or LATERAL against a small local table makes one request per distinct date
-- (and needs no history_start: the join supplies the bound). test.orders6 (51_trust_setup):
-- five orders on four days between 2023-03 and 2025-11, order 4 never paid.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';

-- The reconciliation of the issue: each paid order matched, the unpaid one NULL; one
-- request per distinct day (2023-03-15 has two orders, not next to each other).
SELECT test.reset();
SELECT o.id, o.dia, e.valor, e.valor = o.valor AS amount_ok, e.id_transacao IS NOT NULL AS paid
FROM test.orders6 o
LEFT JOIN inter.extrato e ON e.end_to_end_id = o.e2e AND e.data_transacao = o.dia
ORDER BY o.id;
SELECT test.calls('extrato') AS calls;
SELECT * FROM test.t6_windows();

-- Inner join, and the orders still unpaid (anti-join): four requests each.
SELECT test.reset();
SELECT o.id, e.tipo_operacao, e.valor FROM test.orders6 o
JOIN inter.extrato e ON e.data_transacao = o.dia AND e.end_to_end_id = o.e2e ORDER BY o.id;
SELECT test.calls('extrato') AS calls;
SELECT test.reset();
SELECT o.id FROM test.orders6 o
WHERE NOT EXISTS (SELECT 1 FROM inter.extrato e WHERE e.data_transacao = o.dia AND e.end_to_end_id = o.e2e)
ORDER BY o.id;
SELECT test.calls('extrato') AS calls;

-- LATERAL: each order's whole day, equal to the bank's own count and sums for that day.
SELECT test.reset();
SELECT o.id, d.n, d.n = s.n AS count_ok, d.credits = s.sum_c AS credits_ok, d.debits = s.sum_d AS debits_ok
FROM test.orders6 o,
     LATERAL (SELECT count(*) AS n, sum(valor) FILTER (WHERE tipo_operacao = 'C') AS credits,
                     sum(valor) FILTER (WHERE tipo_operacao = 'D') AS debits
              FROM inter.extrato e WHERE e.data_transacao = o.dia) d,
     LATERAL test.t6_summary(o.dia, o.dia) s
ORDER BY o.id;
SELECT test.calls('extrato') AS calls;

-- The date column on the other side of the equality, and a cross-type join column
-- (timestamp): still one request per distinct date.
CREATE TEMP TABLE visits (at timestamp, who text);
INSERT INTO visits VALUES ('2024-06-20 00:00', 'a'), ('2024-01-10 00:00', 'b'), ('2024-06-20 00:00', 'c');
ANALYZE visits;
SELECT test.reset();
SELECT v.who, count(e.id_transacao) AS n FROM visits v
LEFT JOIN inter.extrato e ON v.at = e.data_transacao GROUP BY v.who ORDER BY v.who;
SELECT test.calls('extrato') AS calls;

-- A join on the date plus a range: both apply (only the orders of 2024 are read).
SELECT test.reset();
SELECT o.id, count(e.*) AS n FROM test.orders6 o
JOIN inter.extrato e ON e.data_transacao = o.dia
WHERE e.data_transacao BETWEEN '2024-01-01' AND '2024-12-31'
GROUP BY o.id ORDER BY o.id;
SELECT * FROM test.t6_windows();

-- Same answer as PostgreSQL over the local copy, for a join with a larger local table
-- (20 distinct days): whatever the plan, the rows are right and no day is read twice.
CREATE TEMP TABLE days20 AS
SELECT ('2024-02-01'::date + 7 * g) AS dia FROM generate_series(0, 19) g;
ANALYZE days20;
SELECT test.reset();
SELECT (SELECT count(*) FROM days20 d JOIN inter.extrato e ON e.data_transacao = d.dia)
     = (SELECT count(*) FROM days20 d JOIN test.t6_hist h ON h.data_transacao = d.dia) AS same_count,
       (SELECT sum(e.valor) FROM days20 d JOIN inter.extrato e ON e.data_transacao = d.dia)
     = (SELECT sum(h.valor) FROM days20 d JOIN test.t6_hist h ON h.data_transacao = d.dia) AS same_total;
SELECT test.calls('extrato') <= 40 AS at_most_one_call_per_day_and_query;
