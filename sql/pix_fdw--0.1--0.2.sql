-- pix_fdw 0.1 -> 0.2: the ledger survives pg_dump / pg_restore, and a restored copy never sends
-- the payments of the database it was copied from.
--
-- Each database that has pix_fdw gets a random id (ledger_origin, NOT dumped: a restore, a
-- CREATE EXTENSION anywhere, or a copy under another database OID gets a new one). Every
-- ledger row records the id of the database that queued it (payments.origin), and a sender
-- sends only its own database's rows. Rows restored from elsewhere stay as they are until an
-- operator adopts them with pix_fdw.adopt(origin). The seal keys are kept per origin
-- (ledger_key, dumped), so restored rows still verify.
\echo Use "ALTER EXTENSION pix_fdw UPDATE TO '0.2'" to load this file. \quit

-- This database's id: one row, made here, never dumped.
CREATE TABLE @extschema@.ledger_origin (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    id       uuid NOT NULL,
    datoid   oid NOT NULL
);
REVOKE ALL ON @extschema@.ledger_origin FROM PUBLIC;
GRANT SELECT ON @extschema@.ledger_origin TO PUBLIC;
COMMENT ON TABLE @extschema@.ledger_origin IS
  'This database''s pix_fdw id (random, not dumped) and the database OID it was made for; the '
  'sender sends only ledger rows whose origin is this id';
INSERT INTO @extschema@.ledger_origin (id, datoid)
SELECT pg_catalog.gen_random_uuid(), d.oid FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database();

-- The rows already in the ledger were queued here. New columns with a constant default fire
-- no trigger; the default then becomes the nil uuid (an unknown origin: never sent).
DO $do$
BEGIN
  EXECUTE pg_catalog.format('ALTER TABLE @extschema@.payments ADD COLUMN origin uuid NOT NULL DEFAULT %L',
                            (SELECT id FROM @extschema@.ledger_origin));
  EXECUTE pg_catalog.format('ALTER TABLE @extschema@.ledger_key ADD COLUMN origin uuid NOT NULL DEFAULT %L',
                            (SELECT id FROM @extschema@.ledger_origin));
END
$do$;
ALTER TABLE @extschema@.payments ALTER COLUMN origin SET DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE @extschema@.ledger_key ALTER COLUMN origin DROP DEFAULT;
ALTER TABLE @extschema@.ledger_key DROP COLUMN only_row;
ALTER TABLE @extschema@.ledger_key ADD PRIMARY KEY (origin);
COMMENT ON COLUMN @extschema@.payments.origin IS
  'the pix_fdw id of the database that queued it (pix_fdw.database_id() there); a sender sends only '
  'its own database''s rows: rows restored from another database wait for pix_fdw.adopt(origin)';
COMMENT ON TABLE @extschema@.ledger_key IS
  'The keys of the seals, one per database id that queued payments (readable by its owner only)';

-- The guard: UPDATE, DELETE and TRUNCATE only by pix_fdw; INSERT only by pix_fdw, or, for
-- pg_restore, by a superuser writing another database's sealed rows (and their keys).
DROP TRIGGER ledger_guard ON @extschema@.payments;
DROP TRIGGER ledger_guard ON @extschema@.ledger_key;
CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.payments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_guard();
CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.ledger_key
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_guard();
CREATE TRIGGER ledger_guard_insert BEFORE INSERT ON @extschema@.payments
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_guard();
CREATE TRIGGER ledger_guard_insert BEFORE INSERT ON @extschema@.ledger_key
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_guard();
CREATE TRIGGER ledger_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.ledger_origin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_guard();

-- This database's pix_fdw id (NULL in a copy of a database made under another OID, until its
-- first pix_fdw.pay() makes one).
CREATE FUNCTION @extschema@.database_id()
RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT o.id FROM @extschema@.ledger_origin o
      WHERE o.datoid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) $$;

-- Make the rows that another database queued (restored here) this database's own: their
-- pending ones are then sent from here. Only for rows whose original will never send them.
CREATE FUNCTION @extschema@.adopt(origin uuid)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pix_fdw_adopt'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE EXECUTE ON FUNCTION @extschema@.adopt(uuid) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.adopt(uuid) IS
  'Adopt the ledger rows queued in another database (a restored dump): pending ones are then sent from here';

-- The set-up check: one row per step of the chain a new user gets wrong (url, tls,
-- certificate, token, scopes, conta_corrente, clock), each with what to do, in order; steps
-- that depend on a failed one are 'skipped'. The last row ("calls") says how many calls to
-- the bank it made. Uses the caller's user mapping (and needs USAGE on the server).
CREATE FUNCTION @extschema@.check(server text, OUT n integer, OUT step text, OUT status text,
                                  OUT detail text, OUT hint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pix_fdw_check'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
