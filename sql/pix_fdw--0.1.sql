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
