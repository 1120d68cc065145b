-- Multi-page windows and scroll mode past 10 000 rows; exact totals against the bank's own.
SELECT test.reset();
CREATE SCHEMA pages;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO pages OPTIONS (page_size '50');

-- Ten days in pages of 50: every row once, the bank's exact total, one call per page.
SELECT count(*) AS n, count(DISTINCT id_transacao) AS distinct_ids, sum(valor) AS total
FROM pages.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT (s ->> 'count')::int AS bank_count, (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric AS bank_total,
       ceil((s ->> 'count')::numeric / 50) AS pages_needed
FROM test.mock('GET', '/summary?dataInicio=2024-05-01&dataFim=2024-05-10') s;
SELECT test.calls('extrato') AS calls;
SELECT * FROM test.requests('extrato') LIMIT 3;

-- 13 000 transactions in five days: one window's pages cannot reach them all, so the
-- window is read again as two smaller ones (3 + 2 days), without the bank's scroll.
SELECT test.reset();
SELECT count(*) AS n, count(DISTINCT id_transacao) AS distinct_ids, sum(valor) AS total,
       sum(valor) = (SELECT (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric
                     FROM test.mock('GET', '/summary?dataInicio=2025-03-10&dataFim=2025-03-14') s) AS exact
FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14';
SELECT regexp_replace(q, 'scrollId=[0-9a-f-]+', 'scrollId=...') AS request FROM test.requests('extrato') q;

-- A year in one query: five windows, all rows, exact sums.
SELECT test.reset();
SELECT count(*) AS n, sum(valor) = (SELECT (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric
       FROM test.mock('GET', '/summary?dataInicio=2024-01-01&dataFim=2024-12-31') s) AS exact
FROM inter.extrato WHERE data_transacao BETWEEN '2024-01-01' AND '2024-12-31';
SELECT test.calls('extrato') AS calls;
