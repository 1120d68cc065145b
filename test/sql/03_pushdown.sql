-- Quals on the date become dataInicio/dataFim (intersected, split into <= 90-day windows,
-- no call for an empty window); tipo_operacao/tipo_transacao push as parameters; every
-- qual is rechecked locally; LIMIT never drops rows a local filter would keep.
SELECT test.reset();

-- 91 days (both ends) -> two windows, two calls; the rows match the bank's own count.
SELECT count(*) AS n, sum(valor) AS total FROM inter.extrato
WHERE data_transacao BETWEEN '2024-01-01' AND '2024-03-31';
SELECT * FROM test.requests('extrato');
SELECT s ->> 'count' AS bank_count, (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric AS bank_total
FROM test.mock('GET', '/summary?dataInicio=2024-01-01&dataFim=2024-03-31') s;

-- Two lower bounds and two upper bounds intersect into one window.
SELECT test.reset();
SELECT count(*) FROM inter.extrato
WHERE data_transacao >= '2024-06-01' AND data_transacao > '2024-06-10'
  AND data_transacao < '2024-06-20' AND data_transacao <= '2024-06-25';
SELECT * FROM test.requests('extrato');

-- Constant on the left, and an expression evaluated once at execution.
SELECT test.reset();
SELECT count(*) > 0 FROM inter.extrato WHERE '2024-06-20' <= data_transacao AND data_transacao < date '2024-06-20' + 1;
SELECT * FROM test.requests('extrato');

-- An empty window makes no call at all.
SELECT test.reset();
SELECT count(*) FROM inter.extrato WHERE data_transacao > '2024-06-20' AND data_transacao < '2024-06-21';
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20' AND data_transacao = '2024-06-21';
SELECT count(*) FROM inter.extrato WHERE data_transacao = NULL::date;
SELECT count(*) FROM inter.extrato WHERE data_transacao >= current_date + 10;
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'C' AND tipo_operacao = 'D';
SELECT test.calls('extrato') AS calls, test.calls('token') AS tokens;

-- IN / = ANY on the date: one window per run of listed days (a NULL element matches nothing).
SELECT test.reset();
SELECT count(*) FROM inter.extrato WHERE data_transacao IN ('2024-06-22', '2024-06-20');
SELECT count(*) FROM inter.extrato WHERE data_inclusao = ANY (ARRAY['2024-06-20 14:36:12-03', NULL]::timestamptz[]);
SELECT count(*) FROM inter.extrato WHERE data_transacao = ANY (ARRAY[NULL]::date[]);
SELECT * FROM test.requests('extrato');
-- An OR of bounded arms is bounded by their hull, then asked day by day exactly: the two
-- adjacent days make one window.
SELECT test.reset();
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20' OR data_transacao = '2024-06-21';
SELECT * FROM test.requests('extrato');
SELECT count(*) AS bank_count FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-20' AND '2024-06-21';

-- Equality parameters push down; other quals stay local and are rechecked.
SELECT test.reset();
SELECT tipo_operacao, count(*) FROM inter.extrato
WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND tipo_operacao = 'C' AND tipo_transacao = 'PIX'
  AND valor > 10 GROUP BY 1;
SELECT * FROM test.requests('extrato');
SELECT count(*) = (SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30'
                   AND tipo_operacao = 'C' AND tipo_transacao = 'PIX' AND valor > 10) AS same_as_local
FROM (SELECT * FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30') t
WHERE (tipo_operacao || '') = 'C' AND (tipo_transacao || '') = 'PIX' AND valor > 10;

-- Quals the bank cannot apply (OR, functions of the column) are local only.
SELECT count(*) FROM inter.extrato
WHERE data_transacao BETWEEN '2024-06-20' AND '2024-06-20' AND (valor = 24.9 OR valor = 0.01);
SELECT count(*) FROM inter.extrato
WHERE data_transacao BETWEEN '2024-06-20' AND '2024-06-20' AND lower(tipo_operacao) = 'c';

-- LIMIT with a local filter keeps the row the filter wants, even on a later page.
SELECT test.reset();
CREATE SCHEMA small;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO small OPTIONS (page_size '2');
SELECT valor, titulo FROM small.extrato WHERE data_transacao = '2024-06-20' AND valor = 1400.0 LIMIT 1;
SELECT valor FROM small.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'D' ORDER BY valor DESC LIMIT 1;
-- A LIMIT without filter stops after the first page: rows stream page by page.
SELECT test.reset();
SELECT count(*) FROM (SELECT 1 FROM small.extrato WHERE data_transacao = '2024-06-20' LIMIT 2) t;
SELECT test.calls('extrato') AS calls;

-- EXPLAIN shows the endpoint and the requests; plain EXPLAIN calls nothing.
SELECT test.reset();
EXPLAIN (COSTS OFF) SELECT * FROM inter.extrato
WHERE data_transacao BETWEEN '2024-01-01' AND '2024-03-31' AND tipo_operacao = 'D' AND valor > 100;
EXPLAIN (COSTS OFF) SELECT * FROM inter.extrato WHERE data_transacao > '2024-06-20' AND data_transacao < '2024-06-21';
SELECT test.calls('total') AS calls_after_explain;
-- EXPLAIN ANALYZE adds what was sent and received.
SELECT * FROM test.explain_analyze($$SELECT * FROM small.extrato WHERE data_transacao = '2024-06-20'$$);
-- Secrets never appear in EXPLAIN.
SELECT count(*) AS lines_with_secret FROM test.explain_analyze(
  $$SELECT * FROM inter.extrato WHERE data_transacao = '2024-06-20'$$) l WHERE l LIKE '%secret%';
