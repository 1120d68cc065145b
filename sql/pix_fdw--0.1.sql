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
