-- The statement's odd formats read exactly: valor text without fixed scale -> numeric,
-- dataInclusao local Brasília time (with or without fraction) -> timestamptz, detalhes
-- absent, null or INCOMPLETE -> NULL flattened columns and the raw jsonb.
SET timezone = 'UTC';
SELECT test.reset();

-- The fixture day 2024-06-20 (five hand-written rows in the mock).
SELECT data_inclusao, data_transacao, tipo_transacao, tipo_operacao, valor, titulo,
       end_to_end_id, txid, nome_pagador, cpf_cnpj_pagador, codigo_solicitacao, chave_pix_recebedor,
       detalhes IS NULL AS detalhes_null, detalhes ->> 'tipoDetalhe' AS tipo_detalhe
FROM inter.extrato WHERE data_transacao = '2024-06-20' ORDER BY data_inclusao;

-- Amounts: exact decimals, the scale the bank wrote, never float.
SELECT valor, scale(valor), pg_typeof(valor) FROM inter.extrato
WHERE data_transacao = '2024-06-20' ORDER BY valor;
SELECT sum(valor) AS total, sum(valor) = 24.9 + 1400.0 + 130.00 + 0.01 + 1234567890.12 AS exact,
       sum(CASE tipo_operacao WHEN 'C' THEN valor ELSE -valor END) AS net
FROM inter.extrato WHERE data_transacao = '2024-06-20';

-- Time zones: 23:30 in Brasília is 02:30 the next day in UTC, whatever the session zone.
SELECT valor, data_inclusao, (data_inclusao AT TIME ZONE 'America/Sao_Paulo') AS local_time
FROM inter.extrato WHERE data_transacao = '2024-06-20' AND valor = 1400.0;
SET timezone = 'Asia/Tokyo';
SELECT valor, data_inclusao FROM inter.extrato WHERE data_transacao = '2024-06-20' AND valor = 1400.0;
SET timezone = 'UTC';

-- Bounds on data_inclusao (timestamptz) push as Brasília dates and are rechecked exactly.
SELECT test.reset();
SELECT valor FROM inter.extrato
WHERE data_inclusao >= '2024-06-20 12:00:00-03' AND data_inclusao < '2024-06-20 23:30:00.123-03'
ORDER BY valor;
SELECT * FROM test.requests('extrato');

-- The raw detalhes is the bank's object, as jsonb.
SELECT jsonb_typeof(detalhes), detalhes ->> 'endToEndId' AS e2e, detalhes ? 'nomePagador' AS has_payer
FROM inter.extrato WHERE data_transacao = '2024-06-20' ORDER BY data_inclusao;

-- Only the columns a query needs are converted; the answer is the same.
SELECT count(*), count(detalhes), count(end_to_end_id), count(DISTINCT id_transacao)
FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS calls;
