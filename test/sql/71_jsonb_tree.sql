-- jsonb columns are built from the parsed page (no JSON text written and parsed again): the
-- result must be exactly what jsonb_in makes of the bank's raw text. Duplicate keys (the last
-- wins), keys of different lengths, nesting, empty containers, booleans, null, escapes,
-- surrogate pairs, raw Unicode, numbers with exponents or trailing zeros, scalars.
SELECT test.reset();
\set raw '{"zeta":1,"b":"dup-1","a":[],"b":"dup-2","nested":{"y":[1,2.50,{"k":null}],"x":{},"y":"last"},"t":true,"f":false,"n":null,"esc":"tab\\there \\"q\\" back\\\\slash\\nnl \\u00e9 \\ud83d\\ude00","raw":"São João ½","num":[1E+2,-0,0.0,-12.50e-3,123456789012345678901234567890.5],"":"empty key","longer key name":"v"}'
SELECT test.fault(jsonb_build_object('endpoint', 'extrato', 'kind', 'body', 'body',
  '{"totalPaginas":1,"totalElementos":2,"ultimaPagina":true,"transacoes":['
  || '{"idTransacao":"j1","dataInclusao":"2024-06-20 10:00:00","dataTransacao":"2024-06-20","tipoTransacao":"PIX","tipoOperacao":"C","valor":"24.90","titulo":"Pix recebido","descricao":"x","numeroDocumento":"0","detalhes":' || :'raw' || '},'
  || '{"idTransacao":"j2","dataInclusao":"2024-06-20 11:00:00","dataTransacao":"2024-06-20","tipoTransacao":"PIX","tipoOperacao":"C","valor":7.5,"titulo":"T","descricao":"y","numeroDocumento":"0","detalhes":{"nested":[{"b":2,"a":1},"s",3]}}'
  || ']}')::text);
CREATE FOREIGN TABLE test.h7_json (
  id_transacao text, data_transacao date, detalhes jsonb, valor jsonb, titulo jsonb,
  detalhes_json json OPTIONS (field 'detalhes'), nested jsonb OPTIONS (field 'detalhes.nested'),
  num jsonb OPTIONS (field 'detalhes.num'), esc jsonb OPTIONS (field 'detalhes.esc'),
  n jsonb OPTIONS (field 'detalhes.n')
) SERVER inter OPTIONS (endpoint 'extrato');
CREATE TEMP TABLE h7_rows AS SELECT * FROM test.h7_json WHERE data_transacao = '2024-06-20';
SELECT id_transacao, detalhes = :'raw'::jsonb AS equals_jsonb_in, detalhes::text = (:'raw'::jsonb)::text AS same_text
FROM h7_rows WHERE id_transacao = 'j1';
SELECT id_transacao, detalhes, valor, jsonb_typeof(valor) AS valor_type, titulo, jsonb_typeof(titulo) AS titulo_type,
       nested, num, esc, esc #>> '{}' AS esc_text, n IS NULL AS n_is_sql_null
FROM h7_rows ORDER BY id_transacao;
-- The json column keeps the text path: the bank's object, compact, duplicates and order kept.
SELECT id_transacao, detalhes_json::text = detalhes_json::jsonb::text AS normalized, detalhes_json::jsonb = detalhes AS same_value
FROM h7_rows ORDER BY id_transacao;
-- \u0000 in a key: the error jsonb_in gives (22P05).
SELECT test.fault(jsonb_build_object('endpoint', 'extrato', 'kind', 'body', 'body',
  '{"totalPaginas":1,"totalElementos":1,"ultimaPagina":true,"transacoes":[{"idTransacao":"j3","dataInclusao":"2024-06-20 10:00:00","dataTransacao":"2024-06-20","tipoTransacao":"PIX","tipoOperacao":"C","valor":"1","titulo":"t","descricao":"x","numeroDocumento":"0","detalhes":{"a\u0000b":1}}]}')::text);
\set VERBOSITY sqlstate
SELECT detalhes FROM test.h7_json WHERE data_transacao = '2024-06-20';
\set VERBOSITY default
-- jsonb's binary form itself, as jsonb_in makes it: the same size, containment both ways; and
-- an object and arrays past 32 entries (where jsonb keeps offsets instead of lengths).
SELECT id_transacao, pg_column_size(detalhes) = pg_column_size(:'raw'::jsonb) AS same_size,
       detalhes @> :'raw'::jsonb AND :'raw'::jsonb @> detalhes AS contains_both
FROM h7_rows WHERE id_transacao = 'j1';
SELECT '{' || string_agg(format('"k%s":%s', i, CASE i % 3 WHEN 0 THEN i::text WHEN 1 THEN format('"%s"', repeat('x', i))
                                               ELSE format('[%s]', (SELECT string_agg(j || '.5', ',') FROM generate_series(1, i) j)) END),
                         ',') || '}' AS wide
FROM generate_series(1, 40) i \gset
SELECT test.fault(jsonb_build_object('endpoint', 'extrato', 'kind', 'body', 'body',
  '{"totalPaginas":1,"totalElementos":1,"ultimaPagina":true,"transacoes":[{"idTransacao":"j4","dataInclusao":"2024-06-20 10:00:00","dataTransacao":"2024-06-20","tipoTransacao":"PIX","tipoOperacao":"C","valor":"1","titulo":"t","descricao":"x","numeroDocumento":"0","detalhes":'
  || :'wide' || '}]}')::text);
SELECT detalhes = :'wide'::jsonb AS equals_jsonb_in, detalhes::text = (:'wide'::jsonb)::text AS same_text,
       pg_column_size(detalhes) = pg_column_size(:'wide'::jsonb) AS same_size,
       detalhes -> 'k35' AS k35, detalhes -> 'k37' AS k37, detalhes #> '{k38,36}' AS k38_36,
       (SELECT count(*) FROM jsonb_object_keys(detalhes)) AS keys
FROM test.h7_json WHERE data_transacao = '2024-06-20';
SELECT test.reset();
DROP FOREIGN TABLE test.h7_json;
