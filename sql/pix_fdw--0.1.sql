-- pix_fdw 0.1: Banco Inter (statement, balance, Pix) as foreign tables.
\echo Use "CREATE EXTENSION pix_fdw" to load this file. \quit

CREATE FUNCTION @extschema@.pix_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'pix_fdw_handler'
LANGUAGE C STRICT;

CREATE FUNCTION @extschema@.pix_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'pix_fdw_validator'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER pix_fdw
  HANDLER @extschema@.pix_fdw_handler
  VALIDATOR @extschema@.pix_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER pix_fdw IS 'Banco Inter business API (statement, balance, Pix) over mutual TLS';

-- This session's cached connections to the bank (one keep-alive TLS connection and its tokens
-- per user mapping), and closing them, as postgres_fdw_get_connections/_disconnect do.
CREATE FUNCTION @extschema@.connections(OUT server text, OUT "user" text, OUT valid boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pix_fdw_connections'
LANGUAGE C STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.disconnect(server text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pix_fdw_disconnect'
LANGUAGE C PARALLEL RESTRICTED;

-- The current user's client certificate for a server (no call to the bank): Inter's
-- integration certificates last one year.
CREATE FUNCTION @extschema@.certificate_info(server text, OUT subject text, OUT issuer text, OUT serial text,
                                             OUT not_before timestamptz, OUT not_after timestamptz,
                                             OUT days_left integer)
RETURNS record
AS 'MODULE_PATHNAME', 'pix_fdw_certificate_info'
LANGUAGE C STRICT STABLE;

-- The schema's functions and tables carry their own grants (pay, the ledger, ... are not
-- PUBLIC); reaching them needs USAGE on the schema.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- ---- Paying -------------------------------------------------------------------------------
-- The ledger: one row per idempotency key. pix_fdw.pay() writes a row in the caller's
-- transaction; after that transaction commits, a background worker ("pix_fdw sender") sends
-- it once with x-id-idempotente = its key and follows it to a terminal state. Nothing else may
-- write here: a trigger refuses every other INSERT, UPDATE, DELETE or TRUNCATE, and each row
-- carries a seal (an HMAC over the request) that the sender checks, so a row written by any
-- other means is never sent. Reading it is a matter of grants (none to PUBLIC).
CREATE TABLE @extschema@.payments (
    idempotency_key    uuid PRIMARY KEY,
    server             name NOT NULL,
    chave              text NOT NULL,
    valor              numeric(15,2) NOT NULL CHECK (valor > 0),
    descricao          text,
    data_pagamento     date,
    requested_by       regrole NOT NULL,
    state              text NOT NULL DEFAULT 'queued'
                       CHECK (state IN ('queued', 'sending', 'sent', 'paid', 'failed', 'uncertain')),
    attempts           integer NOT NULL DEFAULT 0,
    unanswered         integer NOT NULL DEFAULT 0,
    codigo_solicitacao uuid,
    tipo_retorno       text,
    status             text,
    end_to_end_id      text,
    last_error         text,
    queued_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    sent_at            timestamptz,
    checked_at         timestamptz,
    finished_at        timestamptz,
    next_attempt_at    timestamptz,
    counted_on         date NOT NULL,
    seal               bytea NOT NULL
);
CREATE INDEX payments_pending ON @extschema@.payments (next_attempt_at)
    WHERE state IN ('queued', 'sending', 'sent');
CREATE INDEX payments_daily ON @extschema@.payments (server, counted_on);
CREATE UNIQUE INDEX payments_codigo ON @extschema@.payments (codigo_solicitacao);
REVOKE ALL ON @extschema@.payments FROM PUBLIC;
COMMENT ON TABLE @extschema@.payments IS
  'Pix payments queued with pix_fdw.pay(): one row per idempotency key, written only by pix_fdw';
COMMENT ON COLUMN @extschema@.payments.state IS
  'queued: committed, not yet sent; sending: a POST is (or may have been) on its way; sent: the bank '
  'accepted it (see tipo_retorno, status); paid: the bank says PAGO; failed: the bank refused it or it '
  'ended unpaid (last_error); uncertain: refused on a retry after an attempt whose answer was lost - '
  'check Internet Banking';
COMMENT ON COLUMN @extschema@.payments.unanswered IS
  'attempts that got no answer (timeout, lost connection, 5xx): the bank may or may not have recorded them';
COMMENT ON COLUMN @extschema@.payments.counted_on IS
  'the Brasília day this payment counts against the server option max_valor_diario';

-- The key of the seals (random, made at CREATE EXTENSION; readable by its owner only).
CREATE TABLE @extschema@.ledger_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key      bytea NOT NULL
);
REVOKE ALL ON @extschema@.ledger_key FROM PUBLIC;
INSERT INTO @extschema@.ledger_key (key)
SELECT pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text
                                            || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex');

-- Kept by pg_dump (a restore must not forget which keys were paid).
SELECT pg_catalog.pg_extension_config_dump('@extschema@.payments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger_key', '');

CREATE FUNCTION @extschema@.ledger_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pix_fdw_ledger_guard'
LANGUAGE C;
CREATE TRIGGER ledger_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.payments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_guard();
CREATE TRIGGER ledger_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.ledger_key
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_guard();

-- Queue a Pix payment; it is sent only after the calling transaction commits, once per key.
CREATE FUNCTION @extschema@.pay(server name, chave text, valor numeric, descricao text DEFAULT NULL,
                                data_pagamento date DEFAULT NULL, idempotency_key uuid DEFAULT NULL)
RETURNS @extschema@.payments
AS 'MODULE_PATHNAME', 'pix_fdw_pay'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE EXECUTE ON FUNCTION @extschema@.pay(name, text, numeric, text, date, uuid) FROM PUBLIC;

-- Block until the bank has answered for that key (or the timeout passes); the ledger row.
CREATE FUNCTION @extschema@.wait(idempotency_key uuid, timeout interval DEFAULT '30 s')
RETURNS @extschema@.payments
AS 'MODULE_PATHNAME', 'pix_fdw_wait'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- ---- Counters -----------------------------------------------------------------------------
-- Calls to the bank per server and endpoint, in memory only (shared by every session when
-- pix_fdw is preloaded, else this session's own); nothing is written to a table for them.
CREATE FUNCTION @extschema@.counters_snapshot(
    OUT server text, OUT endpoint text, OUT calls bigint, OUT pages bigint, OUT bytes bigint,
    OUT status_2xx bigint, OUT status_4xx bigint, OUT status_5xx bigint, OUT status_429 bigint,
    OUT retries bigint, OUT rate_waits bigint, OUT tokens bigint, OUT cache_hits bigint,
    OUT since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pix_fdw_counters'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE VIEW @extschema@.counters AS
    SELECT * FROM @extschema@.counters_snapshot() ORDER BY server, endpoint;
COMMENT ON VIEW @extschema@.counters IS
  'Calls to the bank per server and endpoint since the counters started (or were reset): HTTP '
  'requests (retries included), pages of rows, body bytes, answers by status class (status_4xx '
  'includes status_429), retries, client-side rate-limit waits, tokens minted, result-cache hits';

-- Forget the counters of one server (of every server when NULL) in this database.
CREATE FUNCTION @extschema@.counters_reset(server text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pix_fdw_counters_reset'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION @extschema@.counters_snapshot() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.counters_reset(text) FROM PUBLIC;
GRANT SELECT ON @extschema@.counters TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION @extschema@.counters_snapshot() TO pg_read_all_stats;

-- ---- Result cache -------------------------------------------------------------------------
-- Empties the result cache (cache_ttl, cache_ttl_closed): this session's, and the shared one
-- when pix_fdw is preloaded. Returns the answers dropped. Not for PUBLIC: a role allowed to
-- run it makes every session call the bank again; GRANT EXECUTE to whoever should.
CREATE FUNCTION @extschema@.cache_clear()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pix_fdw_cache_clear'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION @extschema@.cache_clear() FROM PUBLIC;
