-- Shared set-up for the regression tests: the extension, a server pointing at the mock
-- bank, a user mapping, the imported schema, and helpers that talk to the mock's control
-- API (COPY FROM PROGRAM curl) so tests can assert what the bank received.
\getenv mock_url PIX_MOCK_URL
\getenv control_url PIX_MOCK_CONTROL
\getenv certs PIX_CERTS
SET client_min_messages = warning;

CREATE EXTENSION pix_fdw;
\dx pix_fdw
SELECT fdwname, fdwhandler::regproc, fdwvalidator::regproc FROM pg_foreign_data_wrapper;

CREATE SCHEMA test;
CREATE TABLE test.settings (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO test.settings VALUES ('control', :'control_url'), ('certs', :'certs'), ('url', :'mock_url');

-- Calls the mock's control API; returns its one-line JSON answer.
CREATE FUNCTION test.mock(method text, path text, body text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
  cmd text := format('curl -sS -X %s ''%s%s''', method,
                     (SELECT v FROM test.settings WHERE k = 'control'), path);
  answer text;
BEGIN
  IF body IS NOT NULL THEN
    cmd := cmd || ' -H ''Content-Type: application/json'' --data-binary ''' || body || '''';
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS mock_out (line text);
  TRUNCATE mock_out;
  EXECUTE format('COPY mock_out FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')', cmd);
  SELECT string_agg(line, E'\n') INTO answer FROM mock_out;
  RETURN answer::jsonb;
END $$;

CREATE FUNCTION test.reset() RETURNS void LANGUAGE sql AS $$ SELECT test.mock('POST', '/reset') $$;
CREATE FUNCTION test.calls(endpoint text) RETURNS int LANGUAGE sql AS
  $$ SELECT coalesce((test.mock('GET', '/calls') ->> endpoint)::int, 0) $$;
CREATE FUNCTION test.requests(endpoint text) RETURNS SETOF text LANGUAGE sql AS
  $$ SELECT r ->> 'query' FROM jsonb_array_elements(test.mock('GET', '/requests?endpoint=' || endpoint)) r $$;
CREATE FUNCTION test.fault(spec text) RETURNS void LANGUAGE sql AS $$ SELECT test.mock('POST', '/fault', spec) $$;
-- EXPLAIN output as text lines, to assert on parts of it.
CREATE FUNCTION test.explain(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP RETURN NEXT line; END LOOP;
END $$;
CREATE FUNCTION test.explain_analyze(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
    RETURN NEXT line;
  END LOOP;
END $$;

SELECT test.reset();

-- The server and the user mapping, as the README shows them (paths and port vary: not echoed).
\set ECHO none
SELECT format('CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L)',
              :'mock_url', :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all

-- The mock runs without its limits and the suite's call counts assume no client-side
-- waiting: the test server turns pix_fdw's rate limits off (71_rate_limits tests them).
ALTER SERVER inter OPTIONS (ADD rate_limits 'off');
-- Likewise the result cache (9x_cache tests turn it on): every query below calls the bank.
ALTER SERVER inter OPTIONS (ADD cache_ttl '0');

CREATE SCHEMA inter;
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter;
\d inter.extrato
\d inter.saldo

-- A first query works end to end.
SELECT count(*) > 0 AS has_rows FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS tokens, test.calls('extrato') AS extrato_calls;
