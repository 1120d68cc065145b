-- Statement pages: every row the first page counted (totalElementos), or an error. A later
-- page that counts differently means the statement changed while it was read.
SELECT test.reset();
CREATE SCHEMA counts93;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO counts93 OPTIONS (page_size '50');
SELECT count(*), sum(valor)
FROM counts93.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT test.calls('extrato') AS calls;
-- Every page counts 9 999: the pages run out first.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":9999,"count":-1}');
SELECT count(*) FROM counts93.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
-- Only the first page counts 9 999: the second page's count differs; no more pages are asked.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"total","total":9999,"count":1}');
SELECT count(*) FROM counts93.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
SELECT test.calls('extrato') AS calls;
-- And the next query is whole again.
SELECT test.reset();
SELECT count(*), sum(valor)
FROM counts93.extrato WHERE data_transacao BETWEEN '2024-05-01' AND '2024-05-10';
DROP SCHEMA counts93 CASCADE;
