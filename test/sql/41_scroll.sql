-- The bank's statement scroll: one per account, freed only when read to its end. Windows over
-- 10 000 rows are read as smaller windows; only a single day over 10 000 (2025-03-17 has
-- 12 000) scrolls, and a scan that stops early reads its scroll to the end.
CREATE FUNCTION test.scrolls() RETURNS jsonb LANGUAGE sql AS $$ SELECT test.mock('GET', '/scrolls') $$;
CREATE FUNCTION test.bank_total(d1 text, d2 text) RETURNS numeric LANGUAGE sql AS $$
  SELECT (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric
  FROM test.mock('GET', '/summary?dataInicio=' || d1 || '&dataFim=' || d2) s $$;
CREATE FUNCTION test.statement_requests() RETURNS SETOF text LANGUAGE sql AS
  $$ SELECT regexp_replace(q, 'scrollId=[0-9a-f-]+', 'scrollId=...') FROM test.requests('extrato') q $$;

-- Five days around the big one (14 620 rows): split in two, the part with 2025-03-17 split
-- again into single days, and only the big day scrolled. Exact rows, seven calls (three
-- first pages that count too many, four that read), no scroll left open.
SELECT test.reset();
SELECT count(*) AS n, count(DISTINCT id_transacao) AS distinct_ids,
       sum(valor) = test.bank_total('2025-03-14', '2025-03-18') AS exact,
       count(*) = (test.mock('GET', '/summary?dataInicio=2025-03-14&dataFim=2025-03-18') ->> 'count')::int AS all_rows
FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-14' AND '2025-03-18';
SELECT * FROM test.statement_requests();
SELECT test.calls('extrato') AS calls, test.scrolls() AS open_scrolls;

-- A LIMIT over the scrolled day: the scan stops after the first scroll page, and its end
-- reads the rest so the bank frees the account's scroll.
SELECT test.reset();
SELECT count(*) FROM (SELECT * FROM inter.extrato WHERE data_transacao = '2025-03-17' LIMIT 5) s;
SELECT * FROM test.statement_requests();
SELECT test.scrolls() AS open_scrolls;
-- At once, a second session reads the same day: every row.
\c -
SELECT count(*) AS n, count(DISTINCT id_transacao) AS distinct_ids,
       sum(valor) = test.bank_total('2025-03-17', '2025-03-17') AS exact
FROM inter.extrato WHERE data_transacao = '2025-03-17';
SELECT test.calls('extrato') AS calls, test.scrolls() AS open_scrolls;

-- A cursor closed early frees the scroll too.
SELECT test.reset();
BEGIN;
DECLARE c CURSOR FOR SELECT id_transacao FROM inter.extrato WHERE data_transacao = '2025-03-17';
FETCH 2 FROM c \g /dev/null
SELECT jsonb_array_length(test.scrolls()) AS open_while_fetching;
-- Two scans of one session both needing the scroll: the second one is refused, never sent.
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2025-03-17';
ROLLBACK;
SELECT * FROM test.statement_requests();
-- The failed transaction left its scroll open at the bank (nothing could read it then);
-- this session's next scroll reads it to its end first.
SELECT jsonb_array_length(test.scrolls()) AS left_open;
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2025-03-17';
SELECT * FROM test.statement_requests();
SELECT test.scrolls() AS open_scrolls;

SELECT test.reset();
BEGIN;
DECLARE c CURSOR FOR SELECT id_transacao FROM inter.extrato WHERE data_transacao = '2025-03-17';
FETCH 2 FROM c \g /dev/null
CLOSE c;
SELECT test.scrolls() AS open_after_close;
COMMIT;
SELECT test.calls('extrato') AS calls;

-- An error mid-scroll (the bank fails the second scroll page): the next scroll of this
-- session frees the stale one first, then reads the day whole.
SELECT test.reset();
BEGIN;
DECLARE c CURSOR FOR SELECT id_transacao FROM inter.extrato WHERE data_transacao = '2025-03-17';
FETCH 1 FROM c \g /dev/null
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":500,"count":1}');
FETCH ALL FROM c;
ROLLBACK;
SELECT jsonb_array_length(test.scrolls()) AS left_open;
SELECT count(*) AS n, sum(valor) = test.bank_total('2025-03-17', '2025-03-17') AS exact
FROM inter.extrato WHERE data_transacao = '2025-03-17';
SELECT * FROM test.statement_requests();
SELECT test.scrolls() AS open_scrolls;

-- totalElementos missing or not a count: never 10 000 rows silently. Without a usable
-- total a full first page is read again with the scroll, which ends by itself.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","count":-1}');
SELECT count(*) AS n, sum(valor) = test.bank_total('2025-03-10', '2025-03-14') AS exact
FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14';
SELECT * FROM test.statement_requests();
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":"muitos","count":1}');
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14';
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":-1,"count":1}');
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14';
-- Fewer than the first page holds: not a count either.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":5,"count":1}');
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14';
SELECT test.calls('extrato') AS calls;
-- Without a total, totalPaginas still bounds a small window: plain pages, no scroll.
SELECT test.reset();
CREATE SCHEMA scroll41;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO scroll41 OPTIONS (page_size '50');
SELECT test.fault('{"endpoint":"extrato","kind":"total","count":-1}');
SELECT count(*) AS n, sum(valor) = test.bank_total('2024-05-01', '2024-05-10') AS exact
FROM scroll41.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT * FROM test.statement_requests();
-- A total that claims exactly 10 000 while the pages go on: an error, not 10 000 rows.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":10000,"count":-1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14';
-- A scroll that ends before the count its first page gave: an error, not a short answer.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":20000,"count":-1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2025-03-17';
SELECT test.scrolls() AS open_scrolls;
SELECT test.mock('DELETE', '/fault');
SELECT test.reset();
