-- Who may see or set what (issue 9, "Secrets"), beyond what other files cover:
--   file options set by a non-superuser on CREATE: 01_options; pay() without EXECUTE, USAGE or
--   a mapping and reading the ledger: test/integration/payments.sh; another role's cached
--   rows: 95_cache.
\getenv certs PIX_CERTS
CREATE ROLE pix96_a;
CREATE ROLE pix96_b;
CREATE ROLE pix96_owner;
GRANT USAGE ON FOREIGN SERVER inter TO pix96_a, pix96_b;
GRANT USAGE ON FOREIGN DATA WRAPPER pix_fdw TO pix96_owner;
SELECT pg_read_file(:'certs' || '/client.crt') AS cert_pem, pg_read_file(:'certs' || '/client.key') AS key_pem \gset

-- A non-superuser cannot add a file option to a mapping that has none (ALTER USER MAPPING
-- validates the whole new list), nor swap a PEM option for a file.
\set ECHO none
SET ROLE pix96_a;
CREATE USER MAPPING FOR pix96_a SERVER inter
  OPTIONS (client_id 'pix-test-client', client_secret 'pix96-a-secret', cert_pem :'cert_pem', key_pem :'key_pem');
RESET ROLE;
\set ECHO all
SET ROLE pix96_a;
ALTER USER MAPPING FOR pix96_a SERVER inter OPTIONS (DROP cert_pem, DROP key_pem, ADD cert_file '/etc/ssl/certs/ssl-cert-snakeoil.pem', ADD key_file '/etc/ssl/private/ssl-cert-snakeoil.key');
ALTER USER MAPPING FOR pix96_a SERVER inter OPTIONS (ADD key_file '/etc/ssl/private/ssl-cert-snakeoil.key');
ALTER USER MAPPING FOR pix96_a SERVER inter OPTIONS (SET client_secret 'pix96-a-secret2');
RESET ROLE;
-- ... and nothing changed but the secret.
SELECT (SELECT array_agg(split_part(o, '=', 1) ORDER BY o) FROM unnest(umoptions) o) AS options
FROM pg_user_mappings WHERE usename = 'pix96_a' AND srvname = 'inter';

-- Another role never reads a role's mapping options: pg_user_mappings shows NULL, the
-- information schema shows the option names with NULL values (PostgreSQL's rule: names are
-- visible to any role with USAGE on the server), the catalog is refused; its own it sees.
\set ECHO none
SET ROLE pix96_b;
CREATE USER MAPPING FOR pix96_b SERVER inter
  OPTIONS (client_id 'pix-test-client', client_secret 'pix96-b-secret', cert_pem :'cert_pem', key_pem :'key_pem');
RESET ROLE;
\set ECHO all
SET ROLE pix96_b;
SELECT usename, umoptions IS NULL AS options_hidden FROM pg_user_mappings
WHERE srvname = 'inter' AND usename IN ('pix96_a', 'pix96_b', 'postgres') ORDER BY usename;
SELECT authorization_identifier, count(*) AS options, count(option_value) AS values_visible
FROM information_schema.user_mapping_options
WHERE foreign_server_name = 'inter' AND authorization_identifier IN ('pix96_a', 'pix96_b', 'postgres')
GROUP BY 1 ORDER BY 1;
SELECT umoptions FROM pg_user_mapping;
-- pix_fdw's own functions read the caller's mapping only: without one, an error, not another's.
DROP USER MAPPING FOR pix96_b SERVER inter;
SELECT subject FROM pix_fdw.certificate_info('inter');
RESET ROLE;

-- The owner of a server (not a superuser) sees the options of its PUBLIC mapping, not those of
-- another role's mapping on it (PostgreSQL's rule since 9.6.3; the README says so).
SET ROLE pix96_owner;
CREATE SERVER s96 FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br');
CREATE USER MAPPING FOR public SERVER s96 OPTIONS (client_id 'shared', client_secret 'pix96-public-secret');
GRANT USAGE ON FOREIGN SERVER s96 TO pix96_a;
RESET ROLE;
CREATE USER MAPPING FOR pix96_a SERVER s96 OPTIONS (client_id 'a', client_secret 'pix96-a-s96-secret');
SET ROLE pix96_owner;
SELECT usename, umoptions IS NULL AS options_hidden,
       (SELECT array_agg(split_part(o, '=', 1) ORDER BY o) FROM unnest(umoptions) o) AS options
FROM pg_user_mappings WHERE srvname = 's96' ORDER BY usename;
RESET ROLE;

-- The ledger's HMAC key: readable by its owner (a superuser) only, whatever else a role holds.
GRANT USAGE ON FOREIGN SERVER inter TO pix96_owner;
SELECT has_table_privilege('public', 'pix_fdw.ledger_key', 'SELECT') AS public_may_read,
       has_table_privilege('pix96_owner', 'pix_fdw.ledger_key', 'SELECT') AS owner_role_may_read;
SET ROLE pix96_owner;
SELECT key FROM pix_fdw.ledger_key;
COPY pix_fdw.ledger_key TO STDOUT;
RESET ROLE;

SET client_min_messages = warning;
DROP USER MAPPING FOR pix96_a SERVER inter;
DROP SERVER s96 CASCADE;
REVOKE ALL ON FOREIGN SERVER inter FROM pix96_a, pix96_b, pix96_owner;
REVOKE ALL ON FOREIGN DATA WRAPPER pix_fdw FROM pix96_owner;
DROP ROLE pix96_a;
DROP ROLE pix96_b;
DROP ROLE pix96_owner;
RESET client_min_messages;
