-- A scan's pages keep of each row only the members its columns read (the rest of the page is
-- parsed, so still checked as JSON, but not built): every value a query reads is the one it
-- reads when every column is read, with the same calls.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';
SET client_min_messages = warning;
CREATE TEMP TABLE reads (what text, n bigint, digest text, calls int);
-- A few columns of extrato (one from inside detalhes, the jsonb detalhes itself) ...
SELECT test.reset();
INSERT INTO reads
SELECT 'columns', count(*),
       md5(string_agg(concat_ws('|', id_transacao, valor, data_inclusao, end_to_end_id, nome_pagador, detalhes::text),
                      ',' ORDER BY id_transacao, valor, data_inclusao)),
       NULL
FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30';
UPDATE reads SET calls = test.calls('extrato') WHERE what = 'columns';
-- ... against the same values taken from whole rows (to_jsonb of the row reads every column).
SELECT test.reset();
INSERT INTO reads
SELECT 'whole rows', count(*),
       md5(string_agg(concat_ws('|', j ->> 'id_transacao', (j ->> 'valor')::numeric, (j ->> 'data_inclusao')::timestamptz,
                                j ->> 'end_to_end_id', j ->> 'nome_pagador', nullif(j -> 'detalhes', 'null')::text),
                      ',' ORDER BY j ->> 'id_transacao', (j ->> 'valor')::numeric, (j ->> 'data_inclusao')::timestamptz)),
       NULL
FROM (SELECT to_jsonb(e) AS j FROM inter.extrato e WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30') s;
UPDATE reads SET calls = test.calls('extrato') WHERE what = 'whole rows';
-- ... and count(*), which reads no column but the date it rechecks.
SELECT test.reset();
INSERT INTO reads
SELECT 'count', count(*), NULL, NULL FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30';
UPDATE reads SET calls = test.calls('extrato') WHERE what = 'count';
SELECT what, n > 100 AS many, n = (SELECT n FROM reads WHERE what = 'whole rows') AS same_count,
       digest IS NOT DISTINCT FROM (SELECT digest FROM reads WHERE what = 'whole rows') OR digest IS NULL AS same_values,
       calls = (SELECT calls FROM reads WHERE what = 'whole rows') AS same_calls
FROM reads ORDER BY what;
-- Charges: the debtor's document is a member the bank names cpf or cnpj, renamed after the
-- parse; kept under either name when only that column is read.
SELECT c.txid, c.devedor_cpf_cnpj, c.devedor_cpf_cnpj = w.j ->> 'devedor_cpf_cnpj' AS same
FROM inter.cobrancas c
JOIN (SELECT to_jsonb(x) AS j FROM inter.cobrancas x WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21') w
  ON w.j ->> 'txid' = c.txid
WHERE c.criacao >= '2024-06-20' AND c.criacao < '2024-06-21' AND c.devedor_cpf_cnpj IS NOT NULL
ORDER BY c.txid;
-- A row field that must be an object but is not is still an error when only a column under
-- it is read.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"body","body":"{\"totalPaginas\":1,\"totalElementos\":1,\"ultimaPagina\":true,\"primeiraPagina\":true,\"tamanhoPagina\":10000,\"numeroDeElementos\":1,\"transacoes\":[{\"dataTransacao\":\"2024-06-03\",\"valor\":1,\"detalhes\":\"x\"}]}"}');
SELECT test.try($$SELECT end_to_end_id FROM inter.extrato WHERE data_transacao = '2024-06-03'$$);
SELECT test.mock('DELETE', '/fault');
