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

-- The default window is an explicit table option (7 days here): it applies only to a query
-- with no date condition at all, ending today in Brasília. Without it, no lower bound is an
-- error, never a guessed window.
SELECT test.reset();
SELECT count(*) >= 0 AS ok FROM imp_b.extrato WHERE tipo_operacao = 'C';
SELECT count(*) >= 0 AS ok FROM inter.extrato WHERE tipo_operacao = 'C';
WITH today AS (SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date AS d)
SELECT q = format('dataInicio=%s&dataFim=%s&pagina=0&tamanhoPagina=10000&tipoOperacao=C',
                  to_char(d - 7, 'YYYY-MM-DD'), to_char(d, 'YYYY-MM-DD')) AS seven_days
FROM test.requests('extrato') q, today;
SELECT * FROM test.explain($$SELECT * FROM imp_b.extrato WHERE tipo_operacao = 'C'$$) l
WHERE l LIKE '%Default Window%';
-- Only an upper bound is a date condition: the default window does not apply, the error
-- says what to add.
SELECT test.reset();
SELECT count(*) FROM imp_b.extrato WHERE data_transacao <= '2024-06-20';
SELECT * FROM test.requests('extrato');
-- history_start, as an import option, is where the history of every imported table begins.
CREATE SCHEMA imp_c;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO imp_c OPTIONS (history_start '2024-06-18');
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO imp_a OPTIONS (history_start '2024-13-01');
SELECT test.reset();
SELECT count(*) FROM imp_c.extrato WHERE data_transacao <= '2024-06-20';
SELECT * FROM test.requests('extrato');
SELECT count(*) = (SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-18' AND '2024-06-20')
  AS same_as_explicit_range
FROM imp_c.extrato WHERE data_transacao <= '2024-06-20';
DROP SCHEMA imp_c CASCADE;
