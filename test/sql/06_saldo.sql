-- The balance: current (one row, today) or for a given day (dataSaldo).
SELECT test.reset();
SELECT data_saldo = (now() AT TIME ZONE 'America/Sao_Paulo')::date AS today,
       disponivel IS NOT NULL AS has_disponivel, pg_typeof(disponivel), limite IS NOT NULL AS has_limite,
       data_referencia
FROM inter.saldo;
SELECT * FROM test.requests('saldo');

SELECT test.reset();
SELECT data_saldo, disponivel IS NOT NULL AS has_disponivel, bloqueado_cheque, limite, data_referencia
FROM inter.saldo WHERE data_saldo = '2024-06-20';
-- A Saturday: the bank answers with the last business day as data_referencia.
SELECT data_saldo, data_referencia FROM inter.saldo WHERE data_saldo = '2024-06-22';
SELECT * FROM test.requests('saldo');
-- Amounts are exact numerics as the bank wrote them.
SELECT disponivel = (SELECT disponivel FROM inter.saldo WHERE data_saldo = '2024-06-20') AS stable,
       scale(disponivel) <= 2 AS two_decimals
FROM inter.saldo WHERE data_saldo = '2024-06-20';
-- A range is not pushed: the current balance is read and rechecked.
SELECT count(*) FROM inter.saldo WHERE data_saldo BETWEEN '2024-06-01' AND '2024-06-05';
EXPLAIN (COSTS OFF) SELECT * FROM inter.saldo WHERE data_saldo = '2024-06-20';
