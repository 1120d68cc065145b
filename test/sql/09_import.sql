-- IMPORT FOREIGN SCHEMA inter: LIMIT TO, EXCEPT, import options, errors.
CREATE SCHEMA imp_a;
IMPORT FOREIGN SCHEMA inter LIMIT TO (saldo) FROM SERVER inter INTO imp_a;
\det imp_a.*
CREATE SCHEMA imp_b;
IMPORT FOREIGN SCHEMA inter EXCEPT (saldo) FROM SERVER inter INTO imp_b OPTIONS (default_window '7 days');
\det+ imp_b.*
IMPORT FOREIGN SCHEMA banking FROM SERVER inter INTO imp_a;
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO imp_a OPTIONS (bogus 'x');
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO imp_a OPTIONS (endpoint 'saldo');
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO imp_a OPTIONS (default_window 'soon');

-- Without a date bound the default window applies: 7 days here, 30 by default, ending today
-- in Brasília.
SELECT test.reset();
SELECT count(*) >= 0 AS ok FROM imp_b.extrato WHERE tipo_operacao = 'C';
SELECT count(*) >= 0 AS ok FROM inter.extrato WHERE tipo_operacao = 'C';
WITH today AS (SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date AS d)
SELECT q = format('dataInicio=%s&dataFim=%s&pagina=0&tamanhoPagina=10000&tipoOperacao=C',
                  to_char(d - 7, 'YYYY-MM-DD'), to_char(d, 'YYYY-MM-DD')) AS seven_days,
       q = format('dataInicio=%s&dataFim=%s&pagina=0&tamanhoPagina=10000&tipoOperacao=C',
                  to_char(d - 30, 'YYYY-MM-DD'), to_char(d, 'YYYY-MM-DD')) AS thirty_days
FROM test.requests('extrato') q, today;
-- Only an upper bound: the window ends there.
SELECT test.reset();
SELECT count(*) FROM imp_b.extrato WHERE data_transacao <= '2024-06-20';
SELECT * FROM test.requests('extrato');
