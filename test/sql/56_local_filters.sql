-- Issue 6, point 5: a pushed condition never changes the result, including turning an
-- empty result into an error. A value the bank would refuse is filtered locally and is not
-- sent (no request carries it).
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';
ALTER SERVER inter OPTIONS (ADD history_start '2023-01-01');

-- tipo_operacao is 'C' or 'D' for the bank: lower case or anything else matches no row.
SELECT test.reset();
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'c';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'X';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = '';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'CD';
SELECT count(*) AS requests_with_a_refused_value FROM test.requests('extrato') q
WHERE q ~ 'tipoOperacao=(c|X|CD)?(&|$)';
-- The valid value is still exact: the two credits of the fixture day.
SELECT valor FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'C' ORDER BY valor;

-- An unknown tipo_transacao: no rows, not sent; a known one still works.
SELECT test.reset();
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_transacao = 'NAO_EXISTE';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_transacao = 'pix';
SELECT count(*) AS requests_with_a_refused_value FROM test.requests('extrato') q
WHERE q ~ 'tipoTransacao=(NAO_EXISTE|pix)';
SELECT valor FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_transacao = 'PIX' ORDER BY valor;

-- Mixed with valid conditions and IN lists, the answer is PostgreSQL's over the local copy
-- (one window: June 2024).
SELECT n, same, calls FROM test.t6_check($$data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND tipo_operacao IN ('c', 'C')$$);
SELECT n, same FROM test.t6_check($$data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND tipo_operacao = ANY (ARRAY['d', 'x'])$$);
SELECT n, same, calls FROM test.t6_check($$data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND tipo_transacao IN ('TARIFA', 'tarifa', 'NAO_EXISTE')$$);

-- Dates the bank cannot take: infinite, or before the history. No rows, no error.
SELECT test.reset();
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao = '-infinity';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao > 'infinity';
SELECT count(*) AS n FROM inter.extrato WHERE data_transacao BETWEEN '0900-01-01' AND '0900-01-31';
SELECT count(*) AS n FROM inter.extrato WHERE data_inclusao = '-infinity';
SELECT count(*) AS n FROM inter.saldo WHERE data_saldo = '-infinity';

ALTER SERVER inter OPTIONS (DROP history_start);
