-- Where credentials go: a query sends the user mapping's client_secret to the server's url,
-- so a non-superuser may point a server only at the bank's own hosts (production, sandbox),
-- and only a superuser may change the url of a server that has user mappings. For everyone,
-- url is the base URL, without a path.
\getenv mock_url PIX_MOCK_URL
CREATE ROLE pix_owner;
CREATE ROLE pix_other;
GRANT USAGE ON FOREIGN DATA WRAPPER pix_fdw TO pix_owner;
SET ROLE pix_owner;

-- Other hosts, however close to the bank's, are refused.
CREATE SERVER s_evil FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://evil.example.com');
CREATE SERVER s_evil FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br.evil.example.com');
CREATE SERVER s_evil FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br:8443');
CREATE SERVER s_evil FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.uatbi.com.br');
CREATE SERVER s_evil FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br@evil.example.com');
\set ECHO none
SELECT format('CREATE SERVER s_mock FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L)', :'mock_url') \gexec
\set ECHO all
-- The bank's hosts are fine: production, sandbox, the default, any case, port 443, a final /.
CREATE SERVER s_prod FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br');
CREATE SERVER s_sandbox FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://CDPJ-Sandbox.partners.uatinter.co:443/');
CREATE SERVER s_default FOREIGN DATA WRAPPER pix_fdw;

-- Without user mappings the owner may move a server between the bank's hosts, not elsewhere.
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj-sandbox.partners.uatinter.co');
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj.partners.bancointer.com.br');
ALTER SERVER s_prod OPTIONS (SET url 'https://evil.example.com');
ALTER SERVER s_default OPTIONS (ADD url 'https://evil.example.com');

-- Once another role's user mapping hangs off it, its url no longer changes, not even to the
-- other bank host, nor to the default (production) by dropping the option.
CREATE USER MAPPING FOR pix_other SERVER s_prod OPTIONS (client_id 'other', client_secret 'other-secret');
CREATE USER MAPPING FOR pix_other SERVER s_sandbox OPTIONS (client_id 'other', client_secret 'other-secret');
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj-sandbox.partners.uatinter.co');
ALTER SERVER s_sandbox OPTIONS (DROP url);
-- Other options still change, and the same url written again is no change (a final / or
-- the default spelled out).
ALTER SERVER s_prod OPTIONS (ADD conta_corrente '12345678');
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj.partners.bancointer.com.br/');
ALTER SERVER s_prod OPTIONS (DROP url);
ALTER SERVER s_prod OPTIONS (ADD url 'https://cdpj.partners.bancointer.com.br');
ALTER SERVER s_prod RENAME TO s_prod2;
ALTER SERVER s_prod2 RENAME TO s_prod;
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 's_prod';

-- A superuser may change it, and may point it anywhere.
RESET ROLE;
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj-sandbox.partners.uatinter.co');
ALTER SERVER s_prod OPTIONS (SET url 'https://127.0.0.1:1');
-- Handed to a non-superuser, such a server keeps its other options editable, not its url.
ALTER SERVER s_prod OWNER TO pix_owner;
SET ROLE pix_owner;
ALTER SERVER s_prod OPTIONS (SET conta_corrente '87654321');
ALTER SERVER s_prod OPTIONS (SET url 'https://127.0.0.1:2');
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj.partners.bancointer.com.br');
-- Without the user mappings, the owner may move it back to the bank.
DROP USER MAPPING FOR pix_other SERVER s_prod;
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj.partners.bancointer.com.br');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname LIKE 's\_%' ORDER BY srvname;

-- url is the base URL: a path is refused for everyone, with the reason.
ALTER SERVER s_prod OPTIONS (SET url 'https://cdpj.partners.bancointer.com.br/banking/v2');
RESET ROLE;
CREATE SERVER s_path FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br/banking/v2');
CREATE SERVER s_path FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://user:pw@cdpj.partners.bancointer.com.br');

-- Servers of other wrappers are not pix_fdw's concern.
CREATE FOREIGN DATA WRAPPER other_fdw;
GRANT USAGE ON FOREIGN DATA WRAPPER other_fdw TO pix_owner;
SET ROLE pix_owner;
CREATE SERVER s_other FOREIGN DATA WRAPPER other_fdw OPTIONS (url 'https://evil.example.com');
ALTER SERVER s_other OPTIONS (SET url 'https://evil2.example.com');
DROP SERVER s_other;
DROP SERVER s_prod CASCADE;
DROP SERVER s_sandbox CASCADE;
DROP SERVER s_default;
RESET ROLE;
DROP FOREIGN DATA WRAPPER other_fdw;
REVOKE USAGE ON FOREIGN DATA WRAPPER pix_fdw FROM pix_owner;
DROP ROLE pix_owner;
DROP ROLE pix_other;
