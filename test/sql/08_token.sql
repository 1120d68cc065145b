-- OAuth: one token per backend and scope, reused until shortly before it expires, renewed
-- once on a 401, dropped when the server or the user mapping changes.
\c
SELECT test.mock('POST', '/reset?tokens=1') ->> 'ok' AS reset;

-- Twenty queries in a session mint one token.
DO $$
BEGIN
  FOR i IN 1..20 LOOP
    PERFORM count(*) FROM inter.extrato WHERE data_transacao = '2024-06-01'::date + i;
  END LOOP;
END $$;
SELECT test.calls('token') AS tokens, test.calls('extrato') AS extrato_calls;
-- ... over two keep-alive TLS connections: the token's, and the row pages' (whose thread
-- receives and parses them while the rows before them are read).
SELECT test.calls('connections') AS tls_connections;
-- saldo needs the same scope: same token.
SELECT count(*) FROM inter.saldo WHERE data_saldo = '2024-06-20';
SELECT test.calls('token') AS tokens;

-- The bank revokes the token: the next call gets 401, a new token is minted once, and the
-- query succeeds.
SELECT test.mock('POST', '/revoke') ->> 'ok' AS revoked;
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens;
SELECT array_agg(r ->> 'status') AS last_statuses
FROM (SELECT r FROM jsonb_array_elements(test.mock('GET', '/requests?endpoint=extrato')) WITH ORDINALITY AS x(r, n)
      ORDER BY n DESC LIMIT 2) t;

-- Changing the user mapping or the server drops the cached token.
ALTER USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (SET client_id 'pix-test-client');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens;
ALTER SERVER inter OPTIONS (ADD connect_timeout '5 s');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens;
ALTER SERVER inter OPTIONS (DROP connect_timeout);

-- A token is renewed shortly before it expires (here the bank gives 4-second tokens,
-- renewed after half their life).
SELECT test.mock('POST', '/config', '{"token_ttl":4}') IS NOT NULL AS configured;
\c
SELECT test.reset();
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens_before_expiry;
SELECT pg_sleep(2.2);
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens_after_expiry;
SELECT test.mock('POST', '/config', '{"token_ttl":3600}') IS NOT NULL AS restored;
