-- A scan reads one page ahead (server option prefetch, on by default): the next page's request
-- goes out on the scan's thread once half of the first page was read, and as soon as each later
-- page arrives. Answers are the same with it on and off; the calls are the ones the answer
-- needs, except that a scan stopped past the middle of its first page made one call ahead.
SET client_min_messages = warning;
SET TimeZone = 'America/Sao_Paulo';
CREATE SCHEMA pf17;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO pf17 OPTIONS (page_size '10');
-- The option is a boolean.
ALTER SERVER inter OPTIONS (ADD prefetch 'sometimes');
CREATE TEMP TABLE answers (prefetch text, n bigint, total numeric, digest text, calls int);
-- 97 rows in 10 pages of 10 (2024-05-01 .. 10), every column.
CREATE FUNCTION pg_temp.read(p text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM test.reset();
	INSERT INTO answers
	SELECT p, count(*), sum(valor),
	       md5(string_agg(concat_ws('|', id_transacao, data_inclusao, data_transacao, tipo_transacao, tipo_operacao,
	                                valor, titulo, descricao, detalhes::text, end_to_end_id, nome_pagador),
	                      ',' ORDER BY id_transacao, data_inclusao, valor)),
	       NULL
	FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
	UPDATE answers SET calls = test.calls('extrato') WHERE prefetch = p;
END $$;
SELECT pg_temp.read('default');
ALTER SERVER inter OPTIONS (ADD prefetch 'off');
SELECT pg_temp.read('off');
ALTER SERVER inter OPTIONS (SET prefetch 'on');
SELECT pg_temp.read('on');
SELECT prefetch, n, total, calls, digest = (SELECT digest FROM answers WHERE prefetch = 'off') AS same_rows
FROM answers ORDER BY prefetch;
-- LIMIT inside the first half of the first page: nothing sent ahead.
SELECT test.reset();
SELECT count(*) FROM (SELECT * FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10' LIMIT 3) s;
SELECT test.calls('extrato') AS calls;
-- LIMIT in the second page: pages 1 and 2, and page 3 sent ahead when page 2 arrived.
SELECT test.reset();
SELECT count(*) FROM (SELECT * FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10' LIMIT 15) s;
SELECT test.calls('extrato') AS calls;
-- ... and without prefetch, only the two pages read.
ALTER SERVER inter OPTIONS (SET prefetch 'off');
SELECT test.reset();
SELECT count(*) FROM (SELECT * FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10' LIMIT 15) s;
SELECT test.calls('extrato') AS calls;
ALTER SERVER inter OPTIONS (DROP prefetch);
-- The pages go by the scan's thread also when the bank refuses them twice (503): the same
-- rows, two calls more.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":503,"count":2}');
SELECT count(*), sum(valor) FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT test.calls('extrato') AS calls;
-- max_calls counts the call sent ahead once: 10 pages fit in 10 calls.
ALTER SERVER inter OPTIONS (ADD max_calls '10');
SELECT test.reset();
SELECT count(*) FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT test.calls('extrato') AS calls;
ALTER SERVER inter OPTIONS (SET max_calls '9');
SELECT test.reset();
SELECT count(*) FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT test.calls('extrato') AS calls;
ALTER SERVER inter OPTIONS (DROP max_calls);
-- statement_timeout while the scan waits for a page sent ahead (every page takes 400 ms): the
-- statement ends on time, and the next query reads everything again.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"delay","ms":400,"count":-1}');
CREATE TEMP TABLE timing (ms float8, message text);
SET statement_timeout = '1000ms';
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	PERFORM count(*) FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
EXCEPTION WHEN query_canceled THEN
	INSERT INTO timing VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000, SQLERRM);
END $$;
RESET statement_timeout;
SELECT message, ms < 1600 AS on_time FROM timing;
SELECT test.mock('DELETE', '/fault');
SELECT test.reset();
SELECT count(*), sum(valor) FROM pf17.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT test.calls('extrato') AS calls;
-- While the scan waits for a page sent ahead (each takes 100 ms) and it reads few columns,
-- the first page of the next window goes out as soon as that page's answer is received,
-- before it is parsed. A year is five windows of one page each: five calls, each request
-- once, and the answer of prefetch 'off'.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"delay","ms":100,"count":-1}');
CREATE TEMP TABLE year AS
SELECT count(*) AS n, sum(valor) AS total FROM inter.extrato WHERE data_transacao BETWEEN '2024-01-01' AND '2024-12-31';
SELECT test.calls('extrato') AS calls, (SELECT count(DISTINCT q) FROM test.requests('extrato') q) AS distinct_requests;
ALTER SERVER inter OPTIONS (ADD prefetch 'off');
SELECT test.reset();
SELECT n > 1000 AS many, (n, total) = (SELECT count(*), sum(valor) FROM inter.extrato
                                       WHERE data_transacao BETWEEN '2024-01-01' AND '2024-12-31') AS same
FROM year;
SELECT test.calls('extrato') AS calls;
ALTER SERVER inter OPTIONS (DROP prefetch);
SELECT test.mock('DELETE', '/fault');
DROP SCHEMA pf17 CASCADE;
