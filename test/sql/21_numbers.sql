-- Every number exactly as the bank wrote it, never through a double: saldo's amounts (JSON
-- numbers) in numeric, text and jsonb columns, and numbers inside a statement's detalhes.
SELECT test.reset();
-- An 18-digit balance (14 integer digits, 4 decimals), 21 decimals, an exponent, a negative, 30 digits.
SELECT test.fault('{"endpoint":"saldo","kind":"body","count":3,"body":"{\"disponivel\":90072023107594.7576,\"bloqueadoCheque\":0.123456789012345678901,\"bloqueadoJudicialmente\":1E+2,\"bloqueadoAdministrativo\":-0.01,\"limite\":123456789012345678901234567890}"}');
SELECT disponivel, disponivel = 90072023107594.7576 AS exact, bloqueado_cheque, bloqueado_judicialmente,
       bloqueado_administrativo, limite
FROM inter.saldo;
CREATE FOREIGN TABLE test.saldo_text (disponivel text, bloqueado_judicialmente text, limite text)
  SERVER inter OPTIONS (endpoint 'saldo');
SELECT * FROM test.saldo_text;
CREATE FOREIGN TABLE test.saldo_json (disponivel jsonb, bloqueado_cheque jsonb, limite jsonb)
  SERVER inter OPTIONS (endpoint 'saldo');
SELECT disponivel, jsonb_typeof(disponivel) AS type, bloqueado_cheque, limite FROM test.saldo_json;
SELECT test.calls('saldo') AS saldo_calls;

-- Numbers inside jsonb keep every digit and stay numbers; strings that look like numbers
-- stay strings. A number in a numeric column (valor) is exact too.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"body","body":"{\"totalPaginas\":1,\"totalElementos\":1,\"ultimaPagina\":true,\"transacoes\":[{\"idTransacao\":\"n1\",\"dataInclusao\":\"2024-06-20 10:00:00\",\"dataTransacao\":\"2024-06-20\",\"tipoTransacao\":\"PAGAMENTO\",\"tipoOperacao\":\"D\",\"valor\":90072023107594.7576,\"titulo\":\"Pagamento\",\"descricao\":\"x\",\"numeroDocumento\":\"0\",\"detalhes\":{\"valorTotal\":90072023107594.7576,\"juros\":0.10,\"lista\":[1E+2,-12.50,\"7\"],\"seuNumero\":\"00123.40\",\"grande\":12345678901234567890.123456789012345678901234}}]}"}');
SELECT valor, detalhes->'valorTotal' AS valor_total, detalhes->'juros' AS juros, detalhes->'lista' AS lista,
       jsonb_typeof(detalhes->'seuNumero') AS seu_numero_type, detalhes->>'seuNumero' AS seu_numero,
       detalhes->'grande' AS grande, (detalhes->>'grande')::numeric = 12345678901234567890.123456789012345678901234 AS grande_exact
FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.reset();
