-- Issue 7: the Pix tables (pix, cobrancas, pix_enviados). What is planned and sent, checked
-- without depending on the mock's Pix data: the requests EXPLAIN shows (the one builder of
-- requests), the calls the bank saw, and the errors.
SET DateStyle = 'ISO, YMD';
SET client_min_messages = warning;
-- API calls the mock saw since the last reset (tokens not counted).
CREATE FUNCTION test.t61_api_calls() RETURNS int LANGUAGE sql AS
  $$ SELECT (test.mock('GET', '/calls') ->> 'total')::int - test.calls('token') $$;

-- IMPORT FOREIGN SCHEMA creates all five tables of the contract, LIMIT TO / EXCEPT work.
CREATE SCHEMA imp61;
IMPORT FOREIGN SCHEMA inter LIMIT TO (pix, cobrancas) FROM SERVER inter INTO imp61;
IMPORT FOREIGN SCHEMA inter EXCEPT (extrato, saldo, pix, cobrancas) FROM SERVER inter INTO imp61;
\det imp61.*
\d inter.cobrancas
\d inter.pix_enviados
DROP SCHEMA imp61 CASCADE;

-- pix: horario bounds written in any time zone become whole Brasília days in RFC 3339 with
-- the bank's -03:00 offset. 00:00 in Tokyo on 2025-03-18 is noon of 2025-03-17 in Brasília:
-- the window starts on the 17th, never the 18th (a superset; rows are rechecked).
SET TimeZone = 'Asia/Tokyo';
SELECT * FROM test.explain($$SELECT * FROM inter.pix WHERE horario >= '2025-03-18 00:00' AND horario < '2025-03-19 00:00'$$) l
WHERE l LIKE '%Pix %';
-- 23:30 on 2025-03-17 in Brasília is 02:30 UTC on the 18th: written in UTC, the day is still the 17th.
SET TimeZone = 'UTC';
SELECT * FROM test.explain($$SELECT * FROM inter.pix WHERE horario BETWEEN '2025-03-18 02:30' AND '2025-03-18 02:31'$$) l
WHERE l LIKE '%Pix Requests%';
SET TimeZone = 'America/Sao_Paulo';
-- txid = is sent as txId; a value that cannot be a txid (26-35 letters and digits) is not.
SELECT * FROM test.explain($$SELECT * FROM inter.pix WHERE horario >= '2025-03-17' AND horario < '2025-03-18' AND txid = 'cd1fe328c875481285a6f233ae41b662'$$) l
WHERE l LIKE '%Pix Requests%';
SELECT * FROM test.explain($$SELECT * FROM inter.pix WHERE horario >= '2025-03-17' AND horario < '2025-03-18' AND txid = 'not a txid'$$) l
WHERE l LIKE '%Pix Requests%';
-- No lower bound on horario: the history_start rule of every dated table.
SELECT count(*) FROM inter.pix WHERE horario < '2025-03-18';

-- end_to_end_id = x reads GET /pix/v2/pix/{e2eId} (no date needed); an id that cannot be an
-- end-to-end id (32 letters and digits) makes no call and gives no row.
SELECT * FROM test.explain($$SELECT * FROM inter.pix WHERE end_to_end_id = 'E12345678202009091221abcdef12345'$$) l
WHERE l LIKE '%Pix %';
SELECT test.reset();
SELECT count(*) FROM inter.pix WHERE end_to_end_id = 'E1234';
SELECT test.t61_api_calls() AS calls;

-- cobrancas: criacao ranges and status = ATIVA pushed; a status the API does not know is
-- filtered locally (not sent); txid = is GET /pix/v2/cob/{txid}.
SELECT * FROM test.explain($$SELECT * FROM inter.cobrancas WHERE criacao >= '2025-03-01' AND criacao < '2025-03-08' AND status = 'ATIVA'$$) l
WHERE l LIKE '%Pix %';
SELECT * FROM test.explain($$SELECT * FROM inter.cobrancas WHERE criacao >= '2025-03-01' AND criacao < '2025-03-08' AND status = 'ativa'$$) l
WHERE l LIKE '%Pix Requests%';
SELECT * FROM test.explain($$SELECT * FROM inter.cobrancas WHERE txid = ANY(ARRAY['655dfdb1a4514b8fbb58254b958913fb', 'short', '655dfdb1a4514b8fbb58254b958913fb'])$$) l
WHERE l LIKE '%Pix %';

-- pix_enviados answers only by codigo_solicitacao: without one, an error whose hint shows how.
SELECT * FROM inter.pix_enviados;
SELECT * FROM inter.pix_enviados WHERE status = 'PAGO';
SELECT * FROM test.explain('SELECT * FROM inter.pix_enviados') l WHERE l LIKE '%Pix %';
-- = ANY: one lookup per distinct value, in order; two equal conditions intersect.
SELECT * FROM test.explain($$SELECT * FROM inter.pix_enviados
  WHERE codigo_solicitacao = ANY('{d42f0787-02cb-4b31-827e-459ec9d7ece1,c42f0787-02cb-4b31-827e-459ec9d7ece1,d42f0787-02cb-4b31-827e-459ec9d7ece1}')$$) l
WHERE l LIKE '%Pix %';
SELECT * FROM test.explain($$SELECT * FROM inter.pix_enviados
  WHERE codigo_solicitacao = ANY('{d42f0787-02cb-4b31-827e-459ec9d7ece1,c42f0787-02cb-4b31-827e-459ec9d7ece1}')
    AND codigo_solicitacao = 'c42f0787-02cb-4b31-827e-459ec9d7ece1'$$) l
WHERE l LIKE '%Pix Requests%';
SELECT test.reset();
SELECT count(*) FROM inter.pix_enviados
WHERE codigo_solicitacao = ANY('{d42f0787-02cb-4b31-827e-459ec9d7ece1,c42f0787-02cb-4b31-827e-459ec9d7ece1,d42f0787-02cb-4b31-827e-459ec9d7ece1}');
SELECT test.t61_api_calls() AS calls;
-- A prepared statement's parameter is a key too.
PREPARE env61(uuid) AS SELECT count(*) FROM inter.pix_enviados WHERE codigo_solicitacao = $1;
SELECT test.reset();
EXECUTE env61('c42f0787-02cb-4b31-827e-459ec9d7ece1');
SELECT test.t61_api_calls() AS calls;
DEALLOCATE env61;

-- A join against a local table: a parameterized path, one lookup per distinct outer value,
-- none repeated within the statement (5 rows, 3 distinct ids, one NULL).
CREATE TEMP TABLE pagamentos61 (id int, codigo uuid);
INSERT INTO pagamentos61 VALUES
  (1, 'c42f0787-02cb-4b31-827e-459ec9d7ece1'), (2, 'd42f0787-02cb-4b31-827e-459ec9d7ece1'),
  (3, 'c42f0787-02cb-4b31-827e-459ec9d7ece1'), (4, 'e42f0787-02cb-4b31-827e-459ec9d7ece1'), (5, NULL);
ANALYZE pagamentos61;
SELECT * FROM test.explain($$SELECT g.id, e.status FROM pagamentos61 g LEFT JOIN inter.pix_enviados e ON e.codigo_solicitacao = g.codigo$$) l
WHERE l LIKE '%Foreign Scan%' OR l LIKE '%Pix %' OR l LIKE '%Nested Loop%';
SELECT test.reset();
SELECT g.id, e.status IS NULL AS no_row FROM pagamentos61 g
LEFT JOIN inter.pix_enviados e ON e.codigo_solicitacao = g.codigo ORDER BY g.id;
SELECT test.t61_api_calls() AS calls;
-- The same with Memoize off: the scan itself replays a value it has already asked for.
SET enable_memoize = off;
SELECT test.reset();
SELECT count(*) FROM pagamentos61 g JOIN inter.pix_enviados e ON e.codigo_solicitacao = g.codigo;
SELECT test.t61_api_calls() AS calls;
RESET enable_memoize;
RESET TimeZone;
