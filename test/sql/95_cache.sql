-- The result cache (issue 9, item 4): the same request within cache_ttl is answered without
-- calling the bank; pix_fdw.cache_clear() and the ttl end it; cache_ttl '0' turns it off;
-- another role's mapping never gets the first role's answers; a statement window of closed
-- days lives for cache_ttl_closed; EXPLAIN ANALYZE counts the hits. (00_setup turns the
-- cache off on server inter; this file uses its own server.)
\getenv certs PIX_CERTS
SET client_min_messages = warning;
\set ECHO none
SELECT format('CREATE SERVER cached FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L, rate_limits %L, cache_ttl %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/ca.crt', 'off', '60 s') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER cached OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
CREATE SCHEMA c95;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato, saldo) FROM SERVER cached INTO c95;
CREATE FOREIGN TABLE c95.extrato_p2 (valor numeric, data_transacao date, descricao text)
  SERVER cached OPTIONS (endpoint 'extrato', page_size '2');
RESET client_min_messages;
-- Today in Brasília, as the bank counts days.
SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date AS today \gset

-- The options: durations with a unit, '0' allowed.
ALTER SERVER cached OPTIONS (ADD cache_ttl_closed '1 h');
ALTER SERVER cached OPTIONS (SET cache_ttl_closed '5');
ALTER SERVER cached OPTIONS (SET cache_ttl_closed 'soon');
ALTER SERVER cached OPTIONS (SET cache_ttl '-1 s');
SELECT pix_fdw.cache_clear() >= 0 AS cleared;
SELECT test.reset();

-- A repeated query within the ttl: one call, then none.
SELECT count(*), sum(valor) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*), sum(valor) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
-- EXPLAIN ANALYZE shows the hit, and no HTTP call.
SELECT line FROM test.explain_analyze($$SELECT * FROM c95.extrato WHERE data_transacao = '2024-06-20'$$) line
WHERE line ~ 'HTTP Calls|Pages|Cache Hits';
SELECT test.calls('extrato') AS extrato_calls;
-- Another request (another day) is its own entry.
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-21';
SELECT test.calls('extrato') AS extrato_calls;

-- cache_clear() empties it: the next query calls again.
SELECT pix_fdw.cache_clear() > 0 AS dropped_some;
SELECT count(*), sum(valor) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
-- Only superusers, and roles granted EXECUTE, may empty it.
CREATE ROLE pix_cache_other;
GRANT USAGE ON SCHEMA pix_fdw TO pix_cache_other;
SET ROLE pix_cache_other;
SELECT pix_fdw.cache_clear();
RESET ROLE;

-- A multi-page answer is served from the cache only as a whole run: a LIMIT that read the
-- first of three pages leaves nothing to serve; a complete read is served page by page.
SELECT test.reset();
SELECT descricao FROM c95.extrato_p2 WHERE data_transacao = '2024-06-20' LIMIT 1;
SELECT test.requests('extrato');
SELECT count(*), sum(valor) FROM c95.extrato_p2 WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
SELECT line FROM test.explain_analyze($$SELECT * FROM c95.extrato_p2 WHERE data_transacao = '2024-06-20'$$) line
WHERE line ~ 'HTTP Calls|Pages|Cache Hits';
SELECT count(*), sum(valor) FROM c95.extrato_p2 WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;

-- Another role with its own user mapping (the very same credential) makes its own call: the
-- first role is still served from the cache (0 calls), the other role calls once, then is
-- served its own answer.
GRANT USAGE ON FOREIGN SERVER cached TO pix_cache_other;
GRANT USAGE ON SCHEMA c95 TO pix_cache_other;
GRANT SELECT ON c95.extrato TO pix_cache_other;
\set ECHO none
SELECT format('CREATE USER MAPPING FOR pix_cache_other SERVER cached OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
SELECT test.reset();
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
SET ROLE pix_cache_other;
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-20';
RESET ROLE;
SELECT test.calls('extrato') AS extrato_calls;

-- The ttl: an answer older than cache_ttl is asked for again.
ALTER SERVER cached OPTIONS (SET cache_ttl '1 s', SET cache_ttl_closed '1 s');
SELECT test.reset();
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-22';
SELECT pg_sleep(1.2);
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-22';
SELECT test.calls('extrato') AS extrato_calls;

-- Closed days (before today in Brasília) are kept for cache_ttl_closed; a window with
-- today is kept only for cache_ttl.
ALTER SERVER cached OPTIONS (SET cache_ttl_closed '1 h');
SELECT pix_fdw.cache_clear() >= 0 AS cleared;
SELECT test.reset();
SELECT count(*) >= 0 AS ok FROM c95.extrato WHERE data_transacao = :'today';
SELECT count(*) >= 0 AS ok FROM c95.extrato WHERE data_transacao = :'today'::date - 1;
SELECT count(*) >= 0 AS ok FROM c95.extrato WHERE data_transacao BETWEEN :'today'::date - 1 AND :'today';
SELECT test.calls('extrato') AS extrato_calls;
SELECT pg_sleep(1.2);
SELECT count(*) >= 0 AS ok FROM c95.extrato WHERE data_transacao = :'today';
SELECT count(*) >= 0 AS ok FROM c95.extrato WHERE data_transacao = :'today'::date - 1;
SELECT count(*) >= 0 AS ok FROM c95.extrato WHERE data_transacao BETWEEN :'today'::date - 1 AND :'today';
-- Only today's and the window that reaches today were asked for again.
SELECT test.calls('extrato') AS extrato_calls;

-- cache_ttl '0' turns it off, closed days included.
ALTER SERVER cached OPTIONS (SET cache_ttl '0');
SELECT test.reset();
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) FROM c95.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
SELECT line FROM test.explain_analyze($$SELECT * FROM c95.extrato WHERE data_transacao = '2024-06-20'$$) line
WHERE line ~ 'HTTP Calls|Cache Hits';

-- Single-object answers (saldo) are cached like pages.
ALTER SERVER cached OPTIONS (SET cache_ttl '60 s');
SELECT test.reset();
SELECT disponivel IS NOT NULL AS has_balance FROM c95.saldo;
SELECT disponivel IS NOT NULL AS has_balance FROM c95.saldo;
SELECT test.calls('saldo') AS saldo_calls;

SET client_min_messages = warning;
DROP SCHEMA c95 CASCADE;
DROP USER MAPPING FOR pix_cache_other SERVER cached;
DROP SERVER cached CASCADE;
REVOKE USAGE ON SCHEMA pix_fdw FROM pix_cache_other;
DROP ROLE pix_cache_other;
RESET client_min_messages;
