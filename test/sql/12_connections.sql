-- The session's cached bank connections: listed, closed on demand, and released at the end
-- of the transaction that made them stale (an ALTER of the server or the user mapping).
SELECT pix_fdw.disconnect();  -- start from none
SELECT * FROM pix_fdw.connections();
SELECT count(*) > 0 AS has_rows FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT * FROM pix_fdw.connections();
-- Closing drops the TLS connection and the tokens: the next query mints one again.
SELECT test.reset();
SELECT pix_fdw.disconnect('inter') AS closed, pix_fdw.disconnect('inter') AS closed_again;
SELECT * FROM pix_fdw.connections();
SELECT count(*) > 0 AS has_rows FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens;
SELECT pix_fdw.disconnect('no_such_server');
-- ALTER USER MAPPING makes the entry stale; it is gone when that transaction ends, without
-- waiting for the mapping's next use.
SELECT * FROM pix_fdw.connections();
ALTER USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (SET client_id 'pix-test-client');
SELECT * FROM pix_fdw.connections();
BEGIN;
SELECT count(*) > 0 AS has_rows FROM inter.extrato WHERE data_transacao = '2024-06-20';
ALTER SERVER inter OPTIONS (ADD max_calls '100');
SELECT * FROM pix_fdw.connections();
COMMIT;
SELECT * FROM pix_fdw.connections();
ALTER SERVER inter OPTIONS (DROP max_calls);
