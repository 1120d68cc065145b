-- Issue 7 against the mock's Pix data (its hand-written fixtures of 2024-06-20 and the
-- generated days): exact rows, and the calls the mock saw.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';
SET client_min_messages = warning;

-- Payments sent, by id: REPROVADO and FALHA keep their erros and historico; an id the bank
-- does not know (404) is no row: the fixture c42f0787-... of 2024-06-20 is past the bank's
-- 90-day lookback, 00000000-... never existed. One call per id.
SELECT test.reset();
SELECT codigo_solicitacao, status, valor, end_to_end_id IS NOT NULL AS has_e2e,
       jsonb_array_length(erros) AS n_erros, erros -> 0 ->> 'codigoErro' AS erro,
       historico -> -1 ->> 'status' AS last_event
FROM inter.pix_enviados
WHERE codigo_solicitacao = ANY('{c42f0787-02cb-4b31-827e-459ec9d7ece1,e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f,f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f,00000000-0000-4000-8000-000000000000}')
ORDER BY status;
SELECT test.calls('pix_consulta') AS calls;

-- Pix received through a QR code: fixture (a) by its end-to-end id, with its refund; the
-- statement's fixture (b), a plain Pix to a key, is not in this API (404: no row).
SELECT test.reset();
SELECT end_to_end_id, txid, valor, horario, pagador_nome IS NOT NULL AS has_payer,
       devolucoes -> 0 ->> 'valor' AS refunded, devolucoes -> 0 ->> 'status' AS refund_status
FROM inter.pix WHERE end_to_end_id IN ('E00416968202406201436ghzKRVgnb7A', 'E18236120202406210230Xq7LmN2pR4s');
SELECT test.calls('pix_recebidos') AS list_calls, test.calls('pix_recebido') AS lookups;

-- The charge it paid, by txid, and the fixtures' charges of that day in every status; the
-- debtor's CPF or CNPJ in one column.
SELECT txid, status, valor_original, devedor_cpf_cnpj IS NOT NULL AS has_doc, length(devedor_cpf_cnpj) AS doc_len,
       jsonb_array_length(pix) AS n_pix
FROM inter.cobrancas
WHERE txid = ANY('{Rv1pt4pjd2jtjdzx5nafhtjks7,fixtureCobAtiva20240620000001,fixtureCobAtivaCnpj2024062000002,fixtureCobRemovidaUsuario20240620,fixtureCobRemovidaPsp2024062000003}')
ORDER BY txid;

-- The list of a day equals the lookups of its rows; status = is sent, a status the API does
-- not know is not sent and matches nothing.
SELECT test.reset();
SELECT status, count(*) FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21'
GROUP BY status ORDER BY status;
SELECT count(*) FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21' AND status = 'ATIVA';
SELECT count(*) FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21' AND status = 'ativa';
SELECT * FROM test.requests('cob');

-- A multi-page list: page_size 2 over a week of Pix; every row once, as many calls as pages.
CREATE FOREIGN TABLE public.pix_small (end_to_end_id text, horario timestamptz, valor numeric)
SERVER inter OPTIONS (endpoint 'pix', page_size '2');
SELECT test.reset();
SELECT count(*) AS n, count(DISTINCT end_to_end_id) AS distinct_ids, sum(valor) AS total
FROM public.pix_small WHERE horario >= '2024-06-17' AND horario < '2024-06-24';
SELECT count(*) = (SELECT count(*) FROM inter.pix WHERE horario >= '2024-06-17' AND horario < '2024-06-24') AS same_as_one_page,
       sum(valor) = (SELECT sum(valor) FROM inter.pix WHERE horario >= '2024-06-17' AND horario < '2024-06-24') AS same_total
FROM public.pix_small WHERE horario >= '2024-06-17' AND horario < '2024-06-24';
SELECT test.reset();
SELECT count(*) FROM public.pix_small WHERE horario >= '2024-06-17' AND horario < '2024-06-24';
SELECT test.calls('pix_recebidos') = ceil((SELECT count(*) FROM inter.pix WHERE horario >= '2024-06-17' AND horario < '2024-06-24') / 2.0)
       AS one_call_per_page;
DROP FOREIGN TABLE public.pix_small;

-- A time-zone boundary: the Pix E90400888202406100034GFc3PGzx2Fc was paid at 21:34:20 on
-- 2024-06-09 in Brasília, 00:34:20 UTC on the 10th. Asked in UTC for the first hour of the
-- 10th (and in Tokyo), it is found with one call per query, for the Brasília day of the 9th.
SELECT test.reset();
SET TimeZone = 'UTC';
SELECT end_to_end_id, horario FROM inter.pix WHERE horario >= '2024-06-10 00:00' AND horario < '2024-06-10 01:00';
SET TimeZone = 'Asia/Tokyo';
SELECT end_to_end_id, horario FROM inter.pix WHERE horario >= '2024-06-10 09:00' AND horario < '2024-06-10 10:00';
SET TimeZone = 'America/Sao_Paulo';
SELECT test.calls('pix_recebidos') AS calls;
SELECT * FROM test.requests('pix_recebidos');

-- Join-driven lookups: the planner looks a few ids up (one call per distinct id, none
-- repeated) rather than reading a range.
CREATE TEMP TABLE recibos62 (id int, e2e text);
INSERT INTO recibos62 VALUES (1, 'E00416968202406201436ghzKRVgnb7A'), (2, 'E18236120202406210230Xq7LmN2pR4s'),
                             (3, 'E00416968202406201436ghzKRVgnb7A');
ANALYZE recibos62;
SELECT test.reset();
SELECT r.id, p.valor FROM recibos62 r LEFT JOIN inter.pix p ON p.end_to_end_id = r.e2e
WHERE p.horario >= '2024-01-01' OR p.horario IS NULL ORDER BY r.id;
SELECT test.calls('pix_recebidos') AS list_calls, test.calls('pix_recebido') AS lookups;

-- Errors: a missing scope names the scope to tick; the API Pix's RFC 7807 errors are
-- reported with their title, type and violacoes.
\getenv mock_url PIX_MOCK_URL
\getenv certs PIX_CERTS
CREATE SERVER limited62 FOREIGN DATA WRAPPER pix_fdw OPTIONS (url :'mock_url');
\set ECHO none
SELECT format('ALTER SERVER limited62 OPTIONS (ADD ca_file %L)', :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER limited62 OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-limited-client', 'pix-limited-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
CREATE SCHEMA lim62;
IMPORT FOREIGN SCHEMA inter LIMIT TO (cobrancas, pix) FROM SERVER limited62 INTO lim62;
SELECT count(*) FROM lim62.cobrancas WHERE txid = 'Rv1pt4pjd2jtjdzx5nafhtjks7';
SELECT count(*) FROM lim62.pix WHERE end_to_end_id = 'E00416968202406201436ghzKRVgnb7A';
DROP SCHEMA lim62 CASCADE;
DROP SERVER limited62 CASCADE;
SELECT test.fault('{"endpoint":"cob","kind":"status","status":400,"count":1}');
SELECT count(*) FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21';
SELECT test.fault('{"endpoint":"pix_consulta","kind":"status","status":503,"count":5}');
SELECT count(*) FROM inter.pix_enviados WHERE codigo_solicitacao = 'c42f0787-02cb-4b31-827e-459ec9d7ece1';
SELECT test.reset();
RESET TimeZone;
