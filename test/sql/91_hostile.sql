-- Hostile and broken answers never crash the backend (issue 9, item 7): for every table,
-- truncated and malformed JSON, the wrong JSON type in each family of fields, NUL bytes and
-- \u0000, invalid UTF-8, deep nesting, huge strings; each is a clear error (or, where the
-- answer is still well-formed, the exact rows), and the next query of the session works.
SET client_min_messages = warning;
SET TimeZone = 'America/Sao_Paulo';
SET DateStyle = 'ISO, YMD';
SELECT test.reset();

-- A fault whose answer is exact bytes (any size: the spec goes to curl's stdin, base64).
CREATE FUNCTION test.fault_bytes(endpoint text, body bytea, count int DEFAULT 1) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  spec text := json_build_object('endpoint', endpoint, 'kind', 'body', 'count', count,
                                 'body_b64', translate(encode(body, 'base64'), E'\n', ''))::text;
BEGIN
  EXECUTE format('COPY (SELECT %L) TO PROGRAM %L', spec,
                 format('curl -sS -o /dev/null -X POST -H ''Content-Type: application/json'' --data-binary @- %s/fault',
                        (SELECT v FROM test.settings WHERE k = 'control')));
END $$;

-- Each table: a query over all its columns (a whole-row reference converts every one), the
-- mock's endpoint, and how many rows the healthy answer has.
CREATE TABLE test.hostile_tables (tbl text PRIMARY KEY, endpoint text, query text, healthy bigint);
INSERT INTO test.hostile_tables VALUES
  ('extrato', 'extrato', $$SELECT count(t::text) FROM inter.extrato t WHERE data_transacao = '2024-06-20'$$, 5),
  ('saldo', 'saldo', $$SELECT count(t::text) FROM inter.saldo t$$, 1),
  ('pix', 'pix_recebidos', $$SELECT count(t::text) FROM inter.pix t WHERE horario >= '2024-06-20' AND horario < '2024-06-21'$$, 1),
  ('cobrancas', 'cob', $$SELECT count(t::text) FROM inter.cobrancas t WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21'$$, 5),
  ('pix_enviados', 'pix_consulta', $$SELECT count(t::text) FROM inter.pix_enviados t WHERE codigo_solicitacao = 'e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f'$$, 1);

-- A well-formed answer of each table with one row, and where its rows are.
CREATE TABLE test.hostile_shapes (tbl text PRIMARY KEY, answer jsonb, rows_path text[], row jsonb);
INSERT INTO test.hostile_shapes VALUES
  ('extrato',
   '{"totalPaginas":1,"totalElementos":1,"ultimaPagina":true,"primeiraPagina":true,"tamanhoPagina":100,"numeroDeElementos":1,"transacoes":[]}',
   '{transacoes}',
   '{"idTransacao":"0395e47d-e036-55bc-9dc7-c3a4ee97f537","dataInclusao":"2024-06-20 23:30:00.123","dataTransacao":"2024-06-20","tipoTransacao":"PIX","tipoOperacao":"C","valor":"1400.0","titulo":"Pix recebido","descricao":"PIX RECEBIDO","numeroDocumento":"0","detalhes":{"tipoDetalhe":"INCOMPLETE","endToEndId":"E18236120202406210230Xq7LmN2pR4s","nomeRecebedor":"EMPRESA TESTE PIX LTDA"}}'),
  ('saldo', NULL, NULL,
   '{"disponivel":70547752.76,"bloqueadoCheque":240.25,"bloqueadoJudicialmente":510.35,"bloqueadoAdministrativo":0.00,"limite":5000.00}'),
  ('pix',
   '{"parametros":{"inicio":"2024-06-20T00:00:00-03:00","fim":"2024-06-21T00:00:00-03:00","paginacao":{"paginaAtual":0,"itensPorPagina":100,"quantidadeDePaginas":1,"quantidadeTotalDeItens":1}},"pix":[]}',
   '{pix}',
   '{"endToEndId":"E00416968202406201436ghzKRVgnb7A","txid":"Rv1pt4pjd2jtjdzx5nafhtjks7","valor":"24.90","chave":"financeiro@empresateste.com.br","componentesValor":{"original":{"valor":"24.90"}},"horario":"2024-06-20T17:36:12.000Z","infoPagador":"Pagamento do aluguel","pagador":{"nome":"Nome Pagador","cpfCnpj":"***057092**"},"devolucoes":[]}'),
  ('cobrancas',
   '{"parametros":{"inicio":"2024-06-20T00:00:00-03:00","fim":"2024-06-21T00:00:00-03:00","paginacao":{"paginaAtual":0,"itensPorPagina":100,"quantidadeDePaginas":1,"quantidadeTotalDeItens":1}},"cobs":[]}',
   '{cobs}',
   '{"calendario":{"criacao":"2024-06-20T03:00:00.000Z","expiracao":1800},"txid":"fixtureCobRemovidaPsp2024062000003","revisao":0,"location":"spi-qrcode.bancointer.com.br/spi/pj/v2/dc09","status":"REMOVIDA_PELO_PSP","devedor":{"cpf":"11144477735","nome":"BRUNO LIMA"},"valor":{"original":"0.01","modalidadeAlteracao":0},"chave":"financeiro@empresateste.com.br"}'),
  ('pix_enviados', NULL, NULL,
   '{"transacaoPix":{"contaCorrente":"12345678","recebedor":{"cpfCnpj":"***.533.447-**","nome":"Hugo Braga"},"erros":[],"endToEnd":"E00416968202611301315yiah0IcGKly","valor":314.15,"status":"FALHA","dataHoraSolicitacao":"2026-11-30T10:15:00.000","chave":"+5531999990000","codigoSolicitacao":"e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f"},"historico":[{"status":"CRIADO","dataHoraEvento":"2026-11-30T10:15:00.000"}]}');

-- The answer of a table with `rows` (a JSON array, or anything else) as its rows.
CREATE FUNCTION test.answer_with(t text, rows jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT CASE WHEN s.answer IS NULL THEN rows -> 0 ELSE jsonb_set(s.answer, s.rows_path, rows) END
  FROM test.hostile_shapes s WHERE s.tbl = t
$$;
-- The answer of a table whose one row has `value` at `path`.
CREATE FUNCTION test.answer_field(t text, path text[], value jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT test.answer_with(t, jsonb_build_array(jsonb_set(s.row, path, value)))
  FROM test.hostile_shapes s WHERE s.tbl = t
$$;

-- Runs one case: the answer as the table's next answer, its query (the outcome: rows or
-- SQLSTATE and message), then the healthy query in the same session.
CREATE FUNCTION test.hostile(t text, body bytea, count int DEFAULT 1) RETURNS TABLE (outcome text, next_ok boolean)
LANGUAGE plpgsql AS $$
DECLARE
  h test.hostile_tables;
  st text; msg text; n bigint;
BEGIN
  SELECT * INTO h FROM test.hostile_tables WHERE tbl = t;
  PERFORM test.mock('DELETE', '/fault');
  PERFORM test.fault_bytes(h.endpoint, body, count);
  BEGIN
    EXECUTE h.query INTO n;
    outcome := 'rows: ' || n;
  EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    outcome := st || ': ' || msg;
  END;
  PERFORM test.mock('DELETE', '/fault');
  EXECUTE h.query INTO n;
  next_ok := n = h.healthy;
  RETURN NEXT;
END $$;

-- The well-formed answers themselves are read (the cases below change one thing each).
SELECT t.tbl, r.* FROM test.hostile_tables t,
  LATERAL test.hostile(t.tbl, convert_to(test.answer_field(t.tbl, '{}', (SELECT row FROM test.hostile_shapes s WHERE s.tbl = t.tbl))::text, 'UTF8')) r
ORDER BY t.tbl;

-- Broken JSON, the same for every table.
CREATE TABLE test.broken (label text, body bytea);
INSERT INTO test.broken VALUES
  ('empty', ''),
  ('truncated', convert_to('{"totalPaginas":1,"transacoes":[{"idTransacao":"0395e47d', 'UTF8')),
  ('trailing comma', convert_to('{"a":[1,2,],"b":1}', 'UTF8')),
  ('not JSON', convert_to('<html><body>Bad Gateway</body></html>', 'UTF8')),
  ('a string', convert_to('"ok"', 'UTF8')),
  ('an array', convert_to('[]', 'UTF8')),
  ('null', convert_to('null', 'UTF8')),
  ('two documents', convert_to('{} {}', 'UTF8')),
  ('raw NUL byte after a document', '\x7b7d00207b7d'::bytea),
  ('raw NUL byte inside a string', '\x7b2261223a2261006222207d'::bytea),
  ('deep nesting (1 000 000 levels)', convert_to(repeat('[', 1000000) || repeat(']', 1000000), 'UTF8')),
  ('deep nesting inside a row', convert_to('{"transacoes":[{"detalhes":' || repeat('{"a":', 100) || '1' || repeat('}', 100) || '}],"pix":[{"devolucoes":' || repeat('[', 100) || repeat(']', 100) || '}]}', 'UTF8'));
SELECT b.label, t.tbl, r.* FROM test.broken b CROSS JOIN test.hostile_tables t, LATERAL test.hostile(t.tbl, b.body) r
ORDER BY b.label, t.tbl;

-- The wrong JSON type in each family of fields: text, amounts, dates and timestamps,
-- integers, uuids, jsonb, nested objects. null is SQL NULL.
CREATE TABLE test.wrong (tbl text, label text, path text[], value jsonb);
INSERT INTO test.wrong VALUES
  ('extrato', 'text: a number', '{descricao}', '12'),
  ('extrato', 'text: an object', '{descricao}', '{"a":1}'),
  ('extrato', 'text: an array', '{titulo}', '["x"]'),
  ('extrato', 'text: true', '{tipoOperacao}', 'true'),
  ('extrato', 'text: null', '{descricao}', 'null'),
  ('extrato', 'amount: a word', '{valor}', '"abc"'),
  ('extrato', 'amount: an object', '{valor}', '{"v":1}'),
  ('extrato', 'amount: an array', '{valor}', '[1]'),
  ('extrato', 'amount: true', '{valor}', 'true'),
  ('extrato', 'amount: null', '{valor}', 'null'),
  ('extrato', 'date: a number', '{dataTransacao}', '20240620'),
  ('extrato', 'date: 2024-02-30', '{dataTransacao}', '"2024-02-30"'),
  ('extrato', 'date: trailing text', '{dataTransacao}', '"2024-06-20junk"'),
  ('extrato', 'date: an object', '{dataTransacao}', '{"d":"2024-06-20"}'),
  ('extrato', 'timestamp: garbage', '{dataInclusao}', '"2024-06-20 25:61:00"'),
  ('extrato', 'nested object: a string', '{detalhes}', '"x"'),
  ('extrato', 'nested object: an array', '{detalhes}', '[{"endToEndId":"E1"}]'),
  ('extrato', 'nested text: an object', '{detalhes,endToEndId}', '{"id":"E1"}'),
  ('saldo', 'amount: a word', '{disponivel}', '"muito"'),
  ('saldo', 'amount: an object', '{disponivel}', '{"v":1}'),
  ('saldo', 'amount: decimal comma', '{limite}', '"5000,00"'),
  ('saldo', 'amount: null', '{limite}', 'null'),
  ('pix', 'text: an object', '{txid}', '{"a":1}'),
  ('pix', 'amount: an array', '{valor}', '["24.90"]'),
  ('pix', 'timestamp: a number', '{horario}', '1718904972'),
  ('pix', 'timestamp: a cut offset', '{horario}', '"2024-06-20T17:36:12+"'),
  ('pix', 'jsonb: a string', '{devolucoes}', '"none"'),
  ('pix', 'jsonb: an object', '{devolucoes}', '{"a":[1,{"b":null}]}'),
  ('pix', 'nested object: a number', '{pagador}', '7'),
  ('cobrancas', 'integer: a fraction', '{revisao}', '1.5'),
  ('cobrancas', 'integer: too big', '{revisao}', '99999999999'),
  ('cobrancas', 'integer: a word', '{calendario,expiracao}', '"soon"'),
  ('cobrancas', 'nested amount: a string', '{valor}', '"0.01"'),
  ('cobrancas', 'nested timestamp: null', '{calendario,criacao}', 'null'),
  ('cobrancas', 'text: false', '{status}', 'false'),
  ('pix_enviados', 'uuid: not one', '{transacaoPix,codigoSolicitacao}', '"not-a-uuid"'),
  ('pix_enviados', 'amount: a word', '{transacaoPix,valor}', '"x"'),
  ('pix_enviados', 'jsonb: a number', '{historico}', '42'),
  ('pix_enviados', 'nested object: an array', '{transacaoPix}', '[]'),
  ('pix_enviados', 'timestamp: an array', '{transacaoPix,dataHoraSolicitacao}', '["2026-11-30"]');
SELECT w.tbl, w.label, r.* FROM test.wrong w,
  LATERAL test.hostile(w.tbl, convert_to(test.answer_field(w.tbl, w.path, w.value)::text, 'UTF8')) r
ORDER BY w.tbl, w.label;

-- The rows themselves of the wrong type (the tables that have a list of rows).
SELECT t.tbl, v.label, r.* FROM test.hostile_shapes t
CROSS JOIN (VALUES ('rows: an object', '{"a":1}'::jsonb), ('rows: a string', '"rows"'), ('rows: null', 'null'),
                   ('rows: a number in the array', '[1]'), ('rows: a string in the array', '["x"]'),
                   ('rows: null in the array', '[null]'), ('rows: an array in the array', '[[]]')) v(label, value),
LATERAL test.hostile(t.tbl, convert_to(test.answer_with(t.tbl, v.value)::text, 'UTF8')) r
WHERE t.answer IS NOT NULL
ORDER BY t.tbl, v.label;

-- Values a jsonb literal cannot hold: \u0000, invalid UTF-8, numbers past numeric's range,
-- huge strings. The row's field is a marker, replaced in the answer's bytes.
CREATE FUNCTION test.answer_raw(t text, path text[], raw bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT decode(replace(encode(convert_to(test.answer_field(t, path, '"@@"')::text, 'UTF8'), 'hex'),
                        encode('"@@"', 'hex'), encode(raw, 'hex')), 'hex')
$$;
SELECT v.tbl, v.label, r.* FROM (VALUES
  ('extrato', 'text: \u0000', '{descricao}', convert_to('"a\u0000b"', 'UTF8')),
  ('pix', 'jsonb: \u0000', '{devolucoes}', convert_to('["a\u0000b"]', 'UTF8')),
  ('pix', 'jsonb key: \u0000', '{devolucoes}', convert_to('[{"a\u0000b":1}]', 'UTF8')),
  ('extrato', 'text: invalid UTF-8', '{descricao}', '\x2261ff6222'::bytea),
  ('cobrancas', 'text: a lone continuation byte', '{status}', '\x22618022'::bytea),
  ('pix_enviados', 'jsonb: invalid UTF-8', '{historico}', '\x5b22c328225d'::bytea),
  ('pix', 'jsonb: a lone surrogate \ud800', '{devolucoes}', convert_to('["\ud800"]', 'UTF8')),
  ('extrato', 'text: a lone surrogate \udc00', '{descricao}', convert_to('"\udc00"', 'UTF8')),
  ('extrato', 'amount: 1e400000', '{valor}', convert_to('1e400000', 'UTF8')),
  ('saldo', 'amount: 3 MB of digits', '{limite}', convert_to(repeat('9', 3000000), 'UTF8')),
  ('extrato', 'text: a 3 MB string', '{descricao}', convert_to('"' || repeat('x', 3000000) || '"', 'UTF8'))
) v(tbl, label, path, raw), LATERAL test.hostile(v.tbl, test.answer_raw(v.tbl, v.path::text[], v.raw)) r
ORDER BY v.tbl, v.label;
