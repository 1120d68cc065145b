-- pix_fdw.check(server): the set-up check, one row per step, against the mock bank.
-- Paths, ports, dates, day counts and the clock's second vary between runs: the helper masks
-- them (and the masked parts are asserted separately where they matter).
\getenv certs PIX_CERTS
SELECT test.reset();
CREATE FUNCTION test.check(server text) RETURNS TABLE (n int, step text, status text, detail text)
LANGUAGE sql AS $$
  SELECT n, step, status,
         regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
           replace(replace(detail, (SELECT v FROM test.settings WHERE k = 'url'), '<url>'),
                   (SELECT v FROM test.settings WHERE k = 'certs'), '<certs>'),
           '\d{4}-\d\d-\d\d', '<date>', 'g'),
           '\(in \d+ days\)', '(in <n> days)', 'g'),
           'clock is \d+ s (ahead of|behind)', 'clock is <n> s <ahead of/behind>', 'g'),
           '127\.0\.0\.1:\d+', '127.0.0.1:<port>', 'g'),
           'after \d+ ms', 'after <n> ms', 'g')
  FROM pix_fdw.check(server)
$$;

-- 1. All green: the token request tells url, tls, certificate, token, scopes and clock at
-- once; no conta_corrente, so no second call.
SELECT * FROM test.check('inter');
SELECT hint FROM pix_fdw.check('inter') WHERE step = 'conta_corrente';
-- The certificate's expiry is the one certificate_info reads.
SELECT (regexp_match(detail, 'expires on (\d{4}-\d\d-\d\d)'))[1]::date =
       (SELECT (not_after AT TIME ZONE 'UTC')::date FROM pix_fdw.certificate_info('inter'))
       AS expiry_matches
FROM pix_fdw.check('inter') WHERE step = 'certificate';
-- The number of calls it says is the number the bank received: one per check above.
SELECT test.reset();
SELECT detail FROM pix_fdw.check('inter') WHERE step = 'calls';
SELECT test.calls('token') AS token_calls, test.calls('total') AS bank_calls;
-- No secret in any row.
SELECT count(*) AS rows_with_secret FROM pix_fdw.check('inter')
WHERE detail LIKE '%pix-test-secret%' OR hint LIKE '%pix-test-secret%';

-- 2. With conta_corrente: one GET /banking/v2/saldo with the same token (2 calls in all).
\set ECHO none
SELECT format('CREATE SERVER chk_conta FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L, conta_corrente %L, rate_limits %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/ca.crt', '12345678', 'off') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER chk_conta OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
SELECT test.reset();
SELECT * FROM test.check('chk_conta');
SELECT test.calls('token') AS token_calls, test.calls('saldo') AS saldo_calls, test.calls('total') AS bank_calls;
SELECT r ->> 'conta' AS conta_sent FROM jsonb_array_elements(test.mock('GET', '/requests?endpoint=saldo')) r;

-- 3. A wrong x-conta-corrente: the bank refuses an account of another integration.
SELECT test.mock('POST', '/config', '{"contas": ["12345678"]}') ->> 'contas' AS contas;
ALTER SERVER chk_conta OPTIONS (SET conta_corrente '87654321');
SELECT * FROM test.check('chk_conta') WHERE step IN ('token', 'scopes', 'conta_corrente');
SELECT hint FROM pix_fdw.check('chk_conta') WHERE step = 'conta_corrente';
SELECT test.mock('POST', '/config', '{"contas": null}') ->> 'contas' AS contas;

-- 4. A wrong client_secret: the token step fails and the steps that need a token are
-- skipped; the clock is still read from the bank's answer.
ALTER USER MAPPING FOR CURRENT_USER SERVER chk_conta OPTIONS (SET client_secret 'not-the-secret');
SELECT test.reset();
SELECT * FROM test.check('chk_conta');
SELECT test.calls('token') AS token_calls, test.calls('saldo') AS saldo_calls;
SELECT hint FROM pix_fdw.check('chk_conta') WHERE step = 'token';
SELECT count(*) AS rows_with_secret FROM pix_fdw.check('chk_conta')
WHERE detail LIKE '%not-the-secret%' OR hint LIKE '%not-the-secret%';

-- 5. Scopes not enabled: pix-limited-client has only pix.read. The bank names the ones the
-- integration lacks; one more request for the rest confirms them (2 token requests), and
-- x-conta-corrente cannot be checked without extrato.read.
ALTER USER MAPPING FOR CURRENT_USER SERVER chk_conta
  OPTIONS (SET client_id 'pix-limited-client', SET client_secret 'pix-limited-secret');
SELECT test.reset();
SELECT * FROM test.check('chk_conta');
SELECT hint FROM pix_fdw.check('chk_conta') WHERE step = 'scopes';
SELECT test.reset();
SELECT detail FROM pix_fdw.check('chk_conta') WHERE step = 'calls';
SELECT test.calls('token') AS token_calls, test.calls('total') AS bank_calls;
-- When the bank's refusal names no scope (here a bare 403), each scope is asked for alone:
-- 1 + 5 token requests.
SELECT test.reset();
SELECT test.fault('{"endpoint": "token", "kind": "status", "status": 403, "count": 1}');
SELECT step, status, detail FROM test.check('chk_conta') WHERE step IN ('token', 'scopes', 'calls');
SELECT test.calls('token') AS token_calls;
DROP SERVER chk_conta CASCADE;

-- 6. A URL that does not answer: everything after it is skipped.
CREATE SERVER chk_down FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://127.0.0.1:1', connect_timeout '2 s');
CREATE USER MAPPING FOR CURRENT_USER SERVER chk_down OPTIONS (client_id 'pix-test-client', client_secret 'x');
SELECT * FROM test.check('chk_down');
SELECT hint FROM pix_fdw.check('chk_down') WHERE step = 'url';
DROP SERVER chk_down CASCADE;

-- 7. The wrong CA: TLS does not verify the bank.
\set ECHO none
SELECT format('CREATE SERVER chk_ca FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L, rate_limits %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/other_ca.crt', 'off') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER chk_ca OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
SELECT test.reset();
SELECT * FROM test.check('chk_ca');
SELECT replace(hint, (SELECT v FROM test.settings WHERE k = 'certs'), '<certs>') AS hint
FROM pix_fdw.check('chk_ca') WHERE step = 'tls';
SELECT test.calls('total') AS bank_calls, (test.mock('GET', '/calls') ->> 'tls_fail')::int > 0 AS handshake_failed;

-- 8. An expired client certificate: the handshake is tried without it (the URL answers and
-- TLS verifies), the certificate step says when it expired, the rest is skipped.
\set ECHO none
SELECT format('ALTER USER MAPPING FOR CURRENT_USER SERVER chk_ca OPTIONS (SET cert_file %L, SET key_file %L)',
              :'certs' || '/expired_client.crt', :'certs' || '/expired_client.key') \gexec
SELECT format('ALTER SERVER chk_ca OPTIONS (SET ca_file %L)', :'certs' || '/ca.crt') \gexec
\set ECHO all
SELECT test.reset();
SELECT * FROM test.check('chk_ca');
SELECT hint FROM pix_fdw.check('chk_ca') WHERE step = 'certificate';

-- 9. A certificate that expires in 10 days (signed by the test CA now, for the mock's
-- client key): accepted, with a warning.
CREATE TEMP TABLE soon_pem (line text);
\set ECHO none
SELECT format('COPY soon_pem FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')',
              format('openssl req -new -key %s/client.key -subj "/O=pix_fdw tests/CN=pix-test-client" 2>/dev/null | '
                     'openssl x509 -req -CA %s/ca.crt -CAkey %s/ca.key -set_serial 4242 -days 10 2>/dev/null',
                     :'certs', :'certs', :'certs')) \gexec
SELECT format('ALTER USER MAPPING FOR CURRENT_USER SERVER chk_ca OPTIONS (DROP cert_file, DROP key_file, ADD cert_pem %L, ADD key_pem %L)',
              (SELECT string_agg(line, E'\n') || E'\n' FROM soon_pem), pg_read_file(:'certs' || '/client.key')) \gexec
\set ECHO all
SELECT * FROM test.check('chk_ca') WHERE step IN ('certificate', 'token', 'scopes');
SELECT (regexp_match(detail, '\(in (\d+) days\)'))[1]::int BETWEEN 9 AND 10 AS ten_days_left, hint
FROM pix_fdw.check('chk_ca') WHERE step = 'certificate';

-- 10. A clock an hour off: a warning (the mock shifts its Date header).
SELECT test.mock('POST', '/config', '{"clock_skew": 3600}') ->> 'clock_skew' AS clock_skew;
SELECT status, (regexp_match(detail, 'is (\d+) s behind'))[1]::int BETWEEN 3590 AND 3610 AS an_hour_behind, hint
FROM pix_fdw.check('inter') WHERE step = 'clock';
SELECT test.mock('POST', '/config', '{"clock_skew": 0}') ->> 'clock_skew' AS clock_skew;
SELECT status FROM pix_fdw.check('inter') WHERE step = 'clock';
DROP SERVER chk_ca CASCADE;

-- 11. Who may run it: USAGE on the server and a user mapping, as for a query.
SELECT * FROM pix_fdw.check('no_such_server');
CREATE ROLE chk_user;
SET ROLE chk_user;
SELECT * FROM pix_fdw.check('inter');
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER inter TO chk_user;
SET ROLE chk_user;
SELECT * FROM pix_fdw.check('inter');
RESET ROLE;
REVOKE USAGE ON FOREIGN SERVER inter FROM chk_user;
DROP ROLE chk_user;
