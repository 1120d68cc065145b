-- Found by the fuzzer (test/fuzz/fuzz_page, issue 9): statement pages that give a number of
-- transactions other than their first page counted (totalElementos) are an error, as the API
-- Pix lists already were, never a partial answer; and the next query works.
SET client_min_messages = warning;
SET TimeZone = 'America/Sao_Paulo';
SELECT test.reset();
-- 2024-06-20 has 5 transactions; its one page says 6.
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":6,"count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20';
-- Over pages of 2: the first counts 4, the second 5: an error after 2 calls.
CREATE FOREIGN TABLE public.extrato_fuzz93 (id_transacao text, data_transacao date)
SERVER inter OPTIONS (endpoint 'extrato', page_size '2');
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":4,"count":1}');
SELECT count(*) FROM public.extrato_fuzz93 WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS calls;
SELECT count(*) AS n FROM public.extrato_fuzz93 WHERE data_transacao = '2024-06-20';
-- A count the pages agree with is no error: 5 rows.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":5,"count":1}');
SELECT count(*) AS n FROM public.extrato_fuzz93 WHERE data_transacao = '2024-06-20';
DROP FOREIGN TABLE public.extrato_fuzz93;
SELECT test.reset();
