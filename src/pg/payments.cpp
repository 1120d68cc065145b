// Paying from SQL: pix_fdw.pay() writes the ledger (pix_fdw.payments) in the caller's
// transaction; after that transaction commits, a dynamic background worker, the sender, sends
// each queued payment once with x-id-idempotente = its key, paced by the client-side rate
// limits, and follows it with GET /banking/v2/pix/{codigoSolicitacao} to a terminal state.
//
// Exactly once per key: the sender commits "sending" before each POST, so after any failure
// (timeout, 5xx, lost answer, a killed sender, a restart) the row is still sending or queued
// and the next POST reuses the key; the bank answers a repeated key with its first answer.
// One sender per database (a session advisory lock); it exits when nothing is pending, after
// a last look that closes the race with a commit that arrives as it leaves.
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

#include "bank/payment.hpp"

extern "C" {
#include "access/xact.h"
#include "access/genam.h"
#include "access/parallel.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
}

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace pix::pg {

namespace {

// Advisory lock keys (bigint): "pixfSEND" for the one sender of a database, and "pixd" plus
// the server's OID for the daily total of a server.
constexpr int64 kSenderLock = 0x7069786653454E44LL;
constexpr int64 kDailyLockBase = 0x7069786400000000LL;

// Non-zero while pix_fdw itself writes the ledger; the guard trigger refuses all else.
int ledger_writes = 0;
// This transaction queued a payment: start the sender when it commits.
bool queued_in_xact = false;
bool xact_callback_registered = false;
// Pending payments were looked for once in this backend (the resume on first use).
bool resume_checked = false;

struct Ledger {
	Oid nsp;
	Oid relid;
	Oid owner;
	const char *schema;  // quoted
	bool origins;        // the 0.2 catalog: rows carry their origin, keys are per origin (0.1: neither)
};

// The schema pix_fdw was created in (InvalidOid when it is not installed here).
Oid
ExtensionSchema()
{
	Oid nsp = InvalidOid;
	Relation rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("pix_fdw"));
	SysScanDesc scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	HeapTuple tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

Ledger
FindLedger(bool missing_ok)
{
	Ledger l = {InvalidOid, InvalidOid, InvalidOid, nullptr, false};
	l.nsp = ExtensionSchema();
	if (OidIsValid(l.nsp))
		l.relid = get_relname_relid("payments", l.nsp);
	if (!OidIsValid(l.relid)) {
		if (!missing_ok)
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("the pix_fdw ledger (payments) does not exist"),
			                errhint("Run CREATE EXTENSION pix_fdw (or ALTER EXTENSION pix_fdw UPDATE).")));
		return l;
	}
	HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(l.relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", l.relid);
	l.owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	l.schema = quote_identifier(get_namespace_name(l.nsp));
	l.origins = get_attnum(l.relid, "origin") != InvalidAttrNumber;
	return l;
}

// The sender's view of the ledger, looked up again in each of its transactions (an ALTER
// EXTENSION UPDATE may change the catalog under a running sender), allocated in cxt.
Ledger
SenderLedger(MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Ledger l = FindLedger(false);
	MemoryContextSwitchTo(old);
	return l;
}

// The condition that keeps a query to this database's own rows: a sender sends, follows and
// waits for nothing else (rows restored from another database keep their origin until
// pix_fdw.adopt()). Empty on a 0.1 catalog, which has no origins.
char *
OwnRows(const Ledger &l)
{
	if (!l.origins)
		return pstrdup("");
	return psprintf(" AND origin = (SELECT o.id FROM %s.ledger_origin o WHERE o.datoid = %u)", l.schema, MyDatabaseId);
}

// Runs SPI work as the ledger's owner with search_path = pg_catalog, pg_temp, restoring the
// caller's identity and settings however it ends.
struct AsOwner {
	Oid save_user;
	int save_sec;
	int guc_level;
};

AsOwner
BecomeOwner(const Ledger &l)
{
	AsOwner a;
	GetUserIdAndSecContext(&a.save_user, &a.save_sec);
	SetUserIdAndSecContext(l.owner, a.save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	a.guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
	                         true, 0, false);
	return a;
}

void
RestoreUser(const AsOwner &a)
{
	AtEOXact_GUC(true, a.guc_level);
	SetUserIdAndSecContext(a.save_user, a.save_sec);
}

// SPI_execute_with_args with the ledger open for pix_fdw's own writes.
int
LedgerExec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, bool read_only, long count)
{
	int rc;
	ledger_writes++;
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, count);
	}
	PG_FINALLY();
	{
		ledger_writes--;
	}
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed (%d): %s", rc, sql);
	return rc;
}

// A read with the latest committed state (whatever the caller's isolation level): what
// other transactions committed after ours began counts for limits and keys.
int
ExecLatest(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
	if (!plan)
		elog(ERROR, "SPI_prepare failed: %s", sql);
	int rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot, false, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_snapshot failed (%d): %s", rc, sql);
	return rc;
}

char *
Sql(const Ledger &l, const char *fmt)
{
	// fmt has one %s for the schema, used as many times as it appears (positional %1$s).
	return psprintf(fmt, l.schema);
}

// "YYYY-MM-DD" of a date (the bank's format; independent of DateStyle).
char *
DateText(DateADT d)
{
	int y, m, dd;
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	return psprintf("%04d-%02d-%02d", y, m, dd);
}

// The seal of a ledger row: HMAC-SHA256 under the ledger key over the request, each field
// length-prefixed. pay() seals what it writes; the sender sends only rows whose seal matches.
// v1 (pix_fdw 0.1) names the role that queued it by OID; v2 (0.2) by name, as pg_dump does, so
// that a row restored into another cluster (where the role has another OID) still verifies.
// nullptr when the role no longer exists (v2).
bytea *
Seal(const bytea *key, const char *idem, const char *server, const char *chave, const char *valor,
     const char *descricao, const char *data_pagamento, Oid requested_by, bool by_name = false)
{
	const char *role = by_name ? GetUserNameFromId(requested_by, true) : nullptr;
	if (by_name && !role)
		return nullptr;
	StringInfoData buf;
	initStringInfo(&buf);
	const char *fields[] = {by_name ? "pix_fdw ledger v2" : "pix_fdw ledger v1", idem, server, chave, valor, descricao,
	                        data_pagamento};
	for (const char *f : fields) {
		if (f)
			appendStringInfo(&buf, "%zu:%s|", strlen(f), f);
		else
			appendStringInfoString(&buf, "-|");
	}
	if (by_name)
		appendStringInfo(&buf, "%zu:%s", strlen(role), role);
	else
		appendStringInfo(&buf, "%u", requested_by);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!HMAC(EVP_sha256(), VARDATA_ANY(key), static_cast<int>(VARSIZE_ANY_EXHDR(key)),
	          reinterpret_cast<const unsigned char *>(buf.data), buf.len, mac, &len))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not compute the ledger seal")));
	bytea *out = static_cast<bytea *>(palloc(VARHDRSZ + len));
	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), mac, len);
	return out;
}

// Does a stored seal match the one computed under key?
bool
SealMatches(const bytea *stored, const bytea *expected)
{
	return stored && expected && VARSIZE_ANY_EXHDR(stored) == VARSIZE_ANY_EXHDR(expected) &&
	       memcmp(VARDATA_ANY(stored), VARDATA_ANY(expected), VARSIZE_ANY_EXHDR(expected)) == 0;
}

// The seal pix_fdw 0.2 writes: the v2 seal followed by the v1 seal, so that a row verifies
// after a restore into another cluster (the role's name is the same, its OID is not) and after
// ALTER ROLE ... RENAME (its OID is the same). nullptr when the role no longer exists.
bytea *
SealBoth(const bytea *key, const char *idem, const char *server, const char *chave, const char *valor,
         const char *descricao, const char *data_pagamento, Oid requested_by)
{
	bytea *v2 = Seal(key, idem, server, chave, valor, descricao, data_pagamento, requested_by, true);
	if (!v2)
		return nullptr;
	bytea *v1 = Seal(key, idem, server, chave, valor, descricao, data_pagamento, requested_by, false);
	size_t n2 = VARSIZE_ANY_EXHDR(v2), n1 = VARSIZE_ANY_EXHDR(v1);
	bytea *out = static_cast<bytea *>(palloc(VARHDRSZ + n2 + n1));
	SET_VARSIZE(out, VARHDRSZ + n2 + n1);
	memcpy(VARDATA(out), VARDATA_ANY(v2), n2);
	memcpy(VARDATA(out) + n2, VARDATA_ANY(v1), n1);
	return out;
}

// Does a row's stored seal verify under key? A 0.1 row has the v1 seal alone; a 0.2 row
// verifies if either of its two halves does.
bool
RowSealOk(const bytea *key, const char *idem, const char *server, const char *chave, const char *valor,
          const char *descricao, const char *data_pagamento, Oid requested_by, const bytea *stored)
{
	if (!key || !idem || !server || !chave || !valor || !stored)
		return false;
	bytea *v1 = Seal(key, idem, server, chave, valor, descricao, data_pagamento, requested_by, false);
	size_t n = VARSIZE_ANY_EXHDR(v1);
	size_t len = VARSIZE_ANY_EXHDR(stored);
	if (len == n)
		return SealMatches(stored, v1);
	if (len != 2 * n)
		return false;
	const char *data = VARDATA_ANY(stored);
	if (memcmp(data + n, VARDATA_ANY(v1), n) == 0)
		return true;
	bytea *v2 = Seal(key, idem, server, chave, valor, descricao, data_pagamento, requested_by, true);
	return v2 && VARSIZE_ANY_EXHDR(v2) == n && memcmp(data, VARDATA_ANY(v2), n) == 0;
}

// The seal key of the rows queued under origin (0.2), or the one key (0.1: origin unused).
// nullptr when that origin has no key and missing_ok.
bytea *
LedgerKey(const Ledger &l, const pg_uuid_t *origin, bool missing_ok = false)
{
	int rc;
	if (l.origins) {
		Oid types[1] = {UUIDOID};
		Datum values[1] = {UUIDPGetDatum(const_cast<pg_uuid_t *>(origin))};
		// Not read-only: a key OwnOrigin() has just made in this transaction must be seen.
		rc = LedgerExec(Sql(l, "SELECT key FROM %s.ledger_key WHERE origin = $1"), 1, types, values, nullptr, false, 1);
	} else {
		rc = LedgerExec(Sql(l, "SELECT key FROM %s.ledger_key"), 0, nullptr, nullptr, nullptr, true, 1);
	}
	if (rc != SPI_OK_SELECT || SPI_processed != 1) {
		if (missing_ok)
			return nullptr;
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("the pix_fdw ledger key is missing"),
		                errhint("Recreate the extension; the ledger key is made by CREATE EXTENSION pix_fdw.")));
	}
	bool isnull;
	Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? nullptr : DatumGetByteaPCopy(d);
}

// This database's pix_fdw id (0.2 catalog), or nullptr when it has none: a copy of a database
// made under another OID (CREATE DATABASE ... TEMPLATE) carries the original's row, which is
// not its own. With create, such a database gets a new id, and a seal key for it.
pg_uuid_t *
OwnOrigin(const Ledger &l, bool create)
{
	Oid types[2] = {OIDOID, UUIDOID};
	Datum values[2] = {ObjectIdGetDatum(MyDatabaseId), (Datum) 0};
	const char *read = Sql(l, "SELECT id FROM %s.ledger_origin WHERE datoid = $1");
	for (int round = 0; round < 2; round++) {
		if (ExecLatest(read, 1, types, values, nullptr) != SPI_OK_SELECT)
			elog(ERROR, "could not read the pix_fdw database id");
		if (SPI_processed == 1) {
			bool isnull;
			Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			pg_uuid_t *id = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
			memcpy(id, DatumGetUUIDP(d), sizeof(pg_uuid_t));
			return id;
		}
		if (!create || round > 0)
			break;
		pg_uuid_t *id = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
		unsigned char key[48];
		if (!pg_strong_random(id->data, UUID_LEN) || !pg_strong_random(key, sizeof key))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a pix_fdw database id")));
		id->data[6] = (id->data[6] & 0x0f) | 0x40;
		id->data[8] = (id->data[8] & 0x3f) | 0x80;
		Oid t2[2] = {UUIDOID, OIDOID};
		Datum v2[2] = {UUIDPGetDatum(id), ObjectIdGetDatum(MyDatabaseId)};
		// A concurrent first pay() may make it at the same time: the row lock decides.
		if (LedgerExec(Sql(l, "INSERT INTO %s.ledger_origin AS o (only_row, id, datoid) VALUES (true, $1, $2) "
		                      "ON CONFLICT (only_row) DO UPDATE SET id = excluded.id, datoid = excluded.datoid "
		                      "WHERE o.datoid <> excluded.datoid RETURNING id"),
		               2, t2, v2, nullptr, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not write the pix_fdw database id");
		if (SPI_processed == 1) {
			bytea *k = static_cast<bytea *>(palloc(VARHDRSZ + sizeof key));
			SET_VARSIZE(k, VARHDRSZ + sizeof key);
			memcpy(VARDATA(k), key, sizeof key);
			Oid t3[2] = {UUIDOID, BYTEAOID};
			Datum v3[2] = {UUIDPGetDatum(id), PointerGetDatum(k)};
			LedgerExec(Sql(l, "INSERT INTO %s.ledger_key (origin, key) VALUES ($1, $2)"), 2, t3, v3, nullptr, false, 0);
			return id;
		}
	}
	return nullptr;
}

// A row that pg_restore's COPY inserts (as a superuser, outside pix_fdw): nullptr when it may
// go in, else why not. It may if it belongs to another database (its origin is not this
// database's id) and, for a payment, its seal verifies under that origin's key (restore
// pix_fdw.ledger_key before pix_fdw.payments, as pg_restore does: it loads them in name order).
const char *
RestoredRowRefused(TriggerData *td)
{
	Relation rel = td->tg_relation;
	TupleDesc d = RelationGetDescr(rel);
	HeapTuple t = td->tg_trigtuple;
	int origin_att = SPI_fnumber(d, "origin");
	if (origin_att <= 0)
		return "Only the 0.2 ledger takes restored rows.";
	bool isnull;
	Datum od = SPI_getbinval(t, d, origin_att, &isnull);
	if (isnull)
		return "The row has no origin.";
	pg_uuid_t *origin = DatumGetUUIDP(od);
	Ledger l = FindLedger(false);
	if (RelationGetRelid(rel) != l.relid && strcmp(RelationGetRelationName(rel), "ledger_key") != 0)
		return "Only pix_fdw.payments and pix_fdw.ledger_key take restored rows.";
	const char *why = nullptr;
	AsOwner as_owner = BecomeOwner(l);  // the caller's search_path never resolves these queries
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pg_uuid_t *own = OwnOrigin(l, false);
	if (own && memcmp(own, origin, sizeof(pg_uuid_t)) == 0) {
		why = "Its origin is this database's own pix_fdw id: such rows come only from pix_fdw.pay().";
	} else if (RelationGetRelid(rel) == l.relid) {
		bytea *key = LedgerKey(l, origin, true);
		char *f[5];
		const char *names[5] = {"idempotency_key", "server", "chave", "valor", "descricao"};
		for (int i = 0; i < 5; i++)
			f[i] = SPI_getvalue(t, d, SPI_fnumber(d, names[i]));
		Datum dd = SPI_getbinval(t, d, SPI_fnumber(d, "data_pagamento"), &isnull);
		char *date = isnull ? nullptr : DateText(DatumGetDateADT(dd));
		Datum rd = SPI_getbinval(t, d, SPI_fnumber(d, "requested_by"), &isnull);
		Oid role = isnull ? InvalidOid : DatumGetObjectId(rd);
		Datum sd = SPI_getbinval(t, d, SPI_fnumber(d, "seal"), &isnull);
		bytea *stored = isnull ? nullptr : DatumGetByteaPP(sd);
		char *st = SPI_getvalue(t, d, SPI_fnumber(d, "state"));
		bool pending = !st || strcmp(st, "queued") == 0 || strcmp(st, "sending") == 0 || strcmp(st, "sent") == 0;
		// A finished row is never sent: only a pending one must verify.
		if (!key)
			why = "pix_fdw.ledger_key has no key for its origin (restore the keys before the payments).";
		else if (pending && !RowSealOk(key, f[0], f[1], f[2], f[3], f[4], date, role, stored))
			why = "Its seal does not match its contents under its origin's key.";
	}
	SPI_finish();
	RestoreUser(as_owner);
	return why;
}

// ---- starting the sender ----------------------------------------------------------------

// Registers the sender of this database. Raises nothing (it runs in a commit callback):
// false when no background worker slot is free; the next call of a pix_fdw function tries
// again.
bool
LaunchSender(Oid dboid)
{
	BackgroundWorker w;
	memset(&w, 0, sizeof w);
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;  // a sender that dies (killed, crashed) comes back after 5 s
	snprintf(w.bgw_library_name, BGW_MAXLEN, "pix_fdw");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "pix_fdw_sender_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "pix_fdw sender for database %u", dboid);
	snprintf(w.bgw_type, BGW_MAXLEN, "pix_fdw sender");
	w.bgw_main_arg = ObjectIdGetDatum(dboid);
	w.bgw_notify_pid = 0;
	return RegisterDynamicBackgroundWorker(&w, nullptr);
}

void
PaymentsXactCallback(XactEvent event, void *)
{
	if (event == XACT_EVENT_COMMIT && queued_in_xact)
		(void) LaunchSender(MyDatabaseId);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		queued_in_xact = false;
	if (event == XACT_EVENT_ABORT)
		ledger_writes = 0;
}

void
RegisterCallbacks()
{
	if (!xact_callback_registered) {
		RegisterXactCallback(PaymentsXactCallback, nullptr);
		xact_callback_registered = true;
	}
}

// Is a sender running in this database? (It holds the sender lock for its whole life.)
bool
SenderRunning()
{
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(kSenderLock)};
	if (SPI_execute_with_args("SELECT pg_catalog.pg_try_advisory_lock($1)", 1, types, values, nullptr, false, 1) !=
	    SPI_OK_SELECT)
		elog(ERROR, "could not probe the pix_fdw sender lock");
	bool isnull;
	bool got = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (got)
		(void) SPI_execute_with_args("SELECT pg_catalog.pg_advisory_unlock($1)", 1, types, values, nullptr, false, 1);
	return !got;
}

// Resume on first use: once per backend (and whenever force is set), if committed payments
// are pending and no sender runs, start one.
void
EnsureSender(bool force)
{
	if ((resume_checked && !force) || RecoveryInProgress() || !IsTransactionState() || IsParallelWorker() ||
	    !IsUnderPostmaster)
		return;
	resume_checked = true;
	Ledger l = FindLedger(true);
	if (!OidIsValid(l.relid))
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	AsOwner a = BecomeOwner(l);
	bool pending = false;
	if (ExecLatest(psprintf("SELECT 1 FROM %s.payments WHERE state IN ('queued', 'sending', 'sent')%s LIMIT 1",
	                        l.schema, OwnRows(l)),
	               0, nullptr, nullptr, nullptr) == SPI_OK_SELECT)
		pending = SPI_processed > 0;
	bool running = pending && SenderRunning();
	RestoreUser(a);
	SPI_finish();
	if (pending && !running && !LaunchSender(MyDatabaseId))
		ereport(WARNING, (errmsg("could not start the pix_fdw sender: no background worker slot is free"),
		                  errhint("Pending payments wait until one is; raise max_worker_processes.")));
}

// ---- pay() ------------------------------------------------------------------------------

// The ledger row as the function's result, formed in the caller's memory context (SPI's
// goes away at SPI_finish). The SPI row may carry extra columns after the ledger's.
Datum
FormResult(FunctionCallInfo fcinfo, MemoryContext caller_cxt, HeapTuple spi_tuple, TupleDesc spi_desc)
{
	TupleDesc desc;
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * spi_desc->natts));
	bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * spi_desc->natts));
	heap_deform_tuple(spi_tuple, spi_desc, values, nulls);
	if (spi_desc->natts < desc->natts)
		elog(ERROR, "the ledger row has %d columns, its type %d", spi_desc->natts, desc->natts);
	MemoryContext old = MemoryContextSwitchTo(caller_cxt);
	HeapTuple t = heap_form_tuple(BlessTupleDesc(desc), values, nulls);
	Datum d = HeapTupleGetDatum(t);
	MemoryContextSwitchTo(old);
	return d;
}

Datum
NumericFromText(const char *s)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

// A key already in the ledger: the same request returns its row; anything else is an error
// that names what differs. Returns false when the key is not there.
bool
ExistingKey(const Ledger &l, Datum key, Datum *args, const char *nulls, Oid caller, HeapTuple *row, TupleDesc *desc)
{
	Oid types[7] = {UUIDOID, NAMEOID, TEXTOID, NUMERICOID, TEXTOID, DATEOID, OIDOID};
	Datum values[7] = {key, args[0], args[1], args[2], args[3], args[4], ObjectIdGetDatum(caller)};
	char n[8] = "       ";
	for (int i = 0; i < 5; i++)
		n[i + 1] = nulls[i];
	const char *sql =
	    "SELECT p.*, p.server = $2, p.chave = $3, p.valor = $4, p.descricao IS NOT DISTINCT FROM $5, "
	    "p.data_pagamento IS NOT DISTINCT FROM $6, p.requested_by::oid = $7 "
	    "FROM %s.payments p WHERE p.idempotency_key = $1";
	if (ExecLatest(Sql(l, sql), 7, types, values, n) != SPI_OK_SELECT)
		elog(ERROR, "could not read the ledger");
	if (SPI_processed == 0)
		return false;
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc d = SPI_tuptable->tupdesc;
	int base = d->natts - 6;
	const char *what[6] = {"server", "chave", "valor", "descricao", "data_pagamento", "requested_by"};
	StringInfoData diff;
	initStringInfo(&diff);
	for (int i = 0; i < 6; i++) {
		bool isnull;
		Datum same = SPI_getbinval(t, d, base + i + 1, &isnull);
		if (isnull || !DatumGetBool(same))
			appendStringInfo(&diff, "%s%s", diff.len ? ", " : "", what[i]);
	}
	if (diff.len)
		ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
		                errmsg("idempotency key %s is already in the ledger for another payment",
		                       DatumGetCString(DirectFunctionCall1(uuid_out, key))),
		                errdetail("The ledger's payment differs in: %s.", diff.data),
		                errhint("Reuse a key only to repeat the same payment; give a new payment a new key (or none, "
		                        "and pix_fdw makes one).")));
	*row = t;
	*desc = d;
	return true;
}

[[noreturn]] void
RefuseLimit(const char *option, const char *limit, const char *detail)
{
	ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("payment refused: over the server option %s (%s)", option, limit),
	                errdetail("%s", detail),
	                errhint("A superuser or the server's owner can raise it with ALTER SERVER ... OPTIONS (SET %s '...').",
	                        option)));
	pg_unreachable();
}


// ---- the sender ---------------------------------------------------------------------------

constexpr const char *kPayPath = "/banking/v2/pix";
constexpr const char *kPayScope = "pagamento-pix.write";
constexpr const char *kStatusScope = "pagamento-pix.read";

// Everything the sender needs from a ledger row between its transactions (step context).
struct Payment {
	char *key, *server, *chave, *valor, *descricao, *data_pagamento, *codigo;
	Oid requested_by;
	int attempts, unanswered;
	int64 age_ms;  // since sent_at (status checks)
};

enum class Answer { kAccepted, kRateLimited, kUnknown, kRefused };

struct SendResult {
	Answer answer = Answer::kUnknown;
	long retry_after = -1;
	char tipo_retorno[64] = "";
	char codigo[64] = "";
	char end_to_end[64] = "";
	char error[2048] = "";
};

struct CheckResult {
	bool ok = false;
	int outcome = 0;  // 0 pending, 1 paid, 2 failed
	char status[64] = "";
	char end_to_end[64] = "";
	char error[2048] = "";
};

char *
Col(HeapTuple t, TupleDesc d, int i, MemoryContext cxt)
{
	char *v = SPI_getvalue(t, d, i);
	return v ? MemoryContextStrdup(cxt, v) : nullptr;
}

// A transaction of the sender. now() is the transaction's start, taken from the statement
// start time, which only a client backend's loop sets: set it, or now() stays frozen.
void
StartSenderTransaction()
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
}

void
Begin()
{
	StartSenderTransaction();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
End()
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
}

// The message of the error being handled (in PG_CATCH), copied into buf; then the error
// state is cleared and the transaction aborted.
int
TakeError(char *buf, size_t size, MemoryContext cxt)
{
	MemoryContextSwitchTo(cxt);
	ErrorData *e = CopyErrorData();
	int code = e->sqlerrcode;
	FlushErrorState();
	snprintf(buf, size, "%s%s%s", e->message ? e->message : "error", e->detail ? " — " : "", e->detail ? e->detail : "");
	FreeErrorData(e);
	AbortOutOfAnyTransaction();
	return code;
}

// Errors raised before the payment's POST could be sent: the token was refused (no scope,
// wrong credentials) or the role has no usable user mapping. Nothing reached the bank.
bool
RefusedBeforeSending(int code)
{
	return code == ERRCODE_INSUFFICIENT_PRIVILEGE || code == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ||
	       code == ERRCODE_UNDEFINED_OBJECT || code == ERRCODE_FDW_OPTION_NAME_NOT_FOUND;
}

// The user mapping of the role that queued the payment, and its cached bank client.
Oid
PrepareClientFor(const char *server_name, Oid role)
{
	ForeignServer *server = GetForeignServerByName(server_name, false);
	UserMapping *um = GetUserMapping(role, server->serverid);
	PrepareBankClient(server, um);
	return um->umid;
}

void
Post(const Payment &p, SendResult &r)
{
	Oid umid = PrepareClientFor(p.server, p.requested_by);
	CppGuard([&] {
		auto client = CachedBankClient(umid);
		std::string desc = p.descricao ? p.descricao : "";
		std::string date = p.data_pagamento ? p.data_pagamento : "";
		std::string body = pix::PaymentBody(p.valor, p.chave, p.descricao ? &desc : nullptr,
		                                    p.data_pagamento ? &date : nullptr);
		PgWaiter waiter;
		pix::CallStats stats;
		pix::HttpResponse resp = client->PostAny(kPayPath, body, {std::string("x-id-idempotente: ") + p.key},
		                                         kPayScope, waiter, stats, pix::Retry::kOnce);
		if (resp.status >= 200 && resp.status < 300) {
			pix::PaymentAnswer a = pix::ParsePaymentAnswer(resp.body);  // throws: outcome unknown
			r.answer = Answer::kAccepted;
			snprintf(r.tipo_retorno, sizeof r.tipo_retorno, "%s", a.tipo_retorno.c_str());
			snprintf(r.codigo, sizeof r.codigo, "%s", a.codigo_solicitacao.c_str());
			snprintf(r.end_to_end, sizeof r.end_to_end, "%s", a.end_to_end.c_str());
			return;
		}
		pix::Error e = pix::HttpError(resp, std::string("POST ") + kPayPath, kPayScope);
		snprintf(r.error, sizeof r.error, "%s: %s", e.what(), e.Detail().c_str());
		r.retry_after = resp.retry_after;
		if (resp.status == 429)
			r.answer = Answer::kRateLimited;
		else if (resp.status >= 500 || resp.status == 408)
			r.answer = Answer::kUnknown;  // the bank may have recorded it
		else
			r.answer = Answer::kRefused;  // 4xx: nothing was created
	});
}

void
CheckStatus(const Payment &p, CheckResult &r)
{
	Oid umid = PrepareClientFor(p.server, p.requested_by);
	CppGuard([&] {
		auto client = CachedBankClient(umid);
		PgWaiter waiter;
		pix::CallStats stats;
		pix::HttpResponse resp =
		    client->Get(std::string(kPayPath) + "/" + p.codigo, kStatusScope, waiter, stats, pix::Retry::kRead);
		pix::PaymentStatus st = pix::ParsePaymentStatus(resp.body);
		r.ok = true;
		snprintf(r.status, sizeof r.status, "%s", st.status.c_str());
		snprintf(r.end_to_end, sizeof r.end_to_end, "%s", st.end_to_end.c_str());
		snprintf(r.error, sizeof r.error, "%s", st.errors.c_str());
		pix::Outcome o = pix::OutcomeOf(st.status);
		r.outcome = o == pix::Outcome::kPaid ? 1 : o == pix::Outcome::kFailed ? 2 : 0;
	});
}

// Runs a bank call for a payment in a transaction of its own. Returns 0, or the SQLSTATE of
// the error it raised, whose text goes into r.error (the transaction is then aborted). r must
// not live on this frame's stack (it is written inside PG_TRY and read after a longjmp).
template <typename R>
int
BankCall(void (*call)(const Payment &, R &), const Payment &p, R &r, MemoryContext cxt)
{
	volatile int code = 0;
	StartSenderTransaction();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		call(p, r);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		code = TakeError(r.error, sizeof r.error, cxt);
	}
	PG_END_TRY();
	return code;
}

Datum
TextOrNull(const char *s, char &null)
{
	null = s && *s ? ' ' : 'n';
	return null == ' ' ? PointerGetDatum(cstring_to_text(s)) : (Datum) 0;
}

// One payment that is due to be sent: mark it sending (committed), POST it, record the answer.
bool
SendStep(const char *schema, MemoryContext cxt)
{
	Begin();
	Ledger l = SenderLedger(cxt);
	int rc = LedgerExec(psprintf("SELECT idempotency_key::text, server::text, chave, valor::text, descricao, "
	                             "to_char(data_pagamento, 'YYYY-MM-DD'), requested_by::oid::text, attempts, unanswered, seal "
	                             "FROM %s.payments WHERE state IN ('queued', 'sending') AND "
	                             "(next_attempt_at IS NULL OR next_attempt_at <= now())%s "
	                             "ORDER BY queued_at, idempotency_key LIMIT 1 FOR UPDATE SKIP LOCKED",
	                             l.schema, OwnRows(l)),
	                    0, nullptr, nullptr, nullptr, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0) {
		End();
		return false;
	}
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc d = SPI_tuptable->tupdesc;
	Payment p;
	p.key = Col(t, d, 1, cxt);
	p.server = Col(t, d, 2, cxt);
	p.chave = Col(t, d, 3, cxt);
	p.valor = Col(t, d, 4, cxt);
	p.descricao = Col(t, d, 5, cxt);
	p.data_pagamento = Col(t, d, 6, cxt);
	p.requested_by = static_cast<Oid>(strtoul(Col(t, d, 7, cxt), nullptr, 10));
	p.attempts = atoi(Col(t, d, 8, cxt));
	p.unanswered = atoi(Col(t, d, 9, cxt));
	p.codigo = nullptr;
	bool isnull;
	Datum seal_d = SPI_getbinval(t, d, 10, &isnull);
	bytea *stored = isnull ? nullptr : DatumGetByteaPP(seal_d);
	bytea *own_key = LedgerKey(l, l.origins ? OwnOrigin(l, false) : nullptr, true);
	Oid kt[1] = {TEXTOID};
	Datum kv[1] = {PointerGetDatum(cstring_to_text(p.key))};
	if (!RowSealOk(own_key, p.key, p.server, p.chave, p.valor, p.descricao, p.data_pagamento, p.requested_by, stored)) {
		LedgerExec(Sql(l, "UPDATE %s.payments SET state = 'failed', finished_at = now(), next_attempt_at = NULL, "
		                  "last_error = 'not sent: this row was not written by pix_fdw.pay() (its seal does not match "
		                  "its contents)' WHERE idempotency_key = $1::uuid"),
		           1, kt, kv, nullptr, false, 0);
		End();
		ereport(WARNING, (errmsg("pix_fdw sender: ledger row %s was not written by pix_fdw.pay(); not sent", p.key)));
		return true;
	}
	LedgerExec(Sql(l, "UPDATE %s.payments SET state = 'sending', attempts = attempts + 1, next_attempt_at = NULL "
	                  "WHERE idempotency_key = $1::uuid"),
	           1, kt, kv, nullptr, false, 0);
	End();  // committed before the POST: whatever happens next, the key is re-sent

	static SendResult r;  // static: written inside PG_TRY, read after a longjmp
	r = SendResult();
	if (int code = BankCall(Post, p, r, cxt))
		r.answer = RefusedBeforeSending(code) ? Answer::kRefused : Answer::kUnknown;

	Begin();
	Datum v[6];
	char n[7] = "      ";
	Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
	v[0] = PointerGetDatum(cstring_to_text(p.key));
	v[1] = TextOrNull(r.codigo, n[1]);
	v[2] = TextOrNull(r.tipo_retorno, n[2]);
	v[3] = TextOrNull(r.end_to_end, n[3]);
	v[4] = TextOrNull(r.error, n[4]);
	const char *sql = nullptr;
	switch (r.answer) {
	case Answer::kAccepted:
		v[5] = Int32GetDatum(0);
		sql = "UPDATE %s.payments SET state = 'sent', codigo_solicitacao = $2::uuid, tipo_retorno = $3, "
		      "end_to_end_id = coalesce($4, end_to_end_id), last_error = NULL, sent_at = now(), "
		      "next_attempt_at = now() + interval '1 s' * (1 + $6) WHERE idempotency_key = $1::uuid";
		break;
	case Answer::kRateLimited:
		v[5] = Int32GetDatum(r.retry_after > 0 ? static_cast<int>(Min(r.retry_after, 3600L)) : 60);
		sql = "UPDATE %s.payments SET state = 'queued', last_error = $5, "
		      "next_attempt_at = now() + interval '1 s' * $6 WHERE idempotency_key = $1::uuid";
		break;
	case Answer::kUnknown:
		v[5] = Int32GetDatum(Min(1 << Min(p.attempts, 9), 300));  // 1, 2, 4 ... 300 s
		sql = "UPDATE %s.payments SET state = 'queued', unanswered = unanswered + 1, last_error = $5, "
		      "next_attempt_at = now() + interval '1 s' * $6 WHERE idempotency_key = $1::uuid";
		break;
	case Answer::kRefused:
		v[5] = Int32GetDatum(0);
		sql = "UPDATE %s.payments SET state = CASE WHEN unanswered > 0 THEN 'uncertain' ELSE 'failed' END, "
		      "last_error = $5, finished_at = now(), next_attempt_at = NULL WHERE idempotency_key = $1::uuid";
		break;
	}
	LedgerExec(Sql(l, sql), 6, types, v, n, false, 0);
	End();
	return true;
}

// One sent payment whose status is due: ask the bank, record it, plan the next look.
bool
CheckStep(const char *schema, MemoryContext cxt)
{
	Begin();
	Ledger l = SenderLedger(cxt);
	int rc = LedgerExec(psprintf("SELECT idempotency_key::text, server::text, requested_by::oid::text, "
	                             "codigo_solicitacao::text, (extract(epoch FROM now() - sent_at) * 1000)::bigint::text "
	                             "FROM %s.payments WHERE state = 'sent' AND next_attempt_at <= now()%s "
	                             "ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED",
	                             l.schema, OwnRows(l)),
	                    0, nullptr, nullptr, nullptr, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed == 0) {
		End();
		return false;
	}
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc d = SPI_tuptable->tupdesc;
	Payment p;
	memset(&p, 0, sizeof p);
	p.key = Col(t, d, 1, cxt);
	p.server = Col(t, d, 2, cxt);
	p.requested_by = static_cast<Oid>(strtoul(Col(t, d, 3, cxt), nullptr, 10));
	p.codigo = Col(t, d, 4, cxt);
	char *age = Col(t, d, 5, cxt);
	p.age_ms = age ? strtoll(age, nullptr, 10) : 0;
	End();

	static CheckResult r;  // static: written inside PG_TRY, read after a longjmp
	r = CheckResult();
	if (BankCall(CheckStatus, p, r, cxt))
		r.ok = false;

	// Look again after a quarter of the payment's age: soon for a fresh one, every 10 minutes
	// at most for one that waits for approval for hours.
	int next_s = static_cast<int>(Max(Min(p.age_ms / 4000, (int64) 600), (int64) 2));
	Begin();
	Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID};
	Datum v[6];
	char n[7] = "      ";
	v[0] = PointerGetDatum(cstring_to_text(p.key));
	v[1] = TextOrNull(r.status, n[1]);
	v[2] = TextOrNull(r.end_to_end, n[2]);
	v[3] = TextOrNull(r.error, n[3]);
	v[4] = Int32GetDatum(r.ok ? r.outcome : -1);
	v[5] = Int32GetDatum(next_s);
	LedgerExec(Sql(l, "UPDATE %s.payments SET checked_at = now(), "
	                  "status = CASE WHEN $5 >= 0 THEN $2 ELSE status END, "
	                  "end_to_end_id = coalesce($3, end_to_end_id), "
	                  "last_error = CASE $5 WHEN 2 THEN coalesce($4, 'the bank says ' || $2) WHEN -1 THEN $4 END, "
	                  "state = CASE $5 WHEN 1 THEN 'paid' WHEN 2 THEN 'failed' ELSE state END, "
	                  "finished_at = CASE WHEN $5 IN (1, 2) THEN now() END, "
	                  "next_attempt_at = CASE WHEN $5 IN (1, 2) THEN NULL ELSE now() + interval '1 s' * $6 END "
	                  "WHERE idempotency_key = $1::uuid"),
	           6, types, v, n, false, 0);
	End();
	return true;
}

// Seconds until the next payment is due (0: now; -1: nothing is pending at all).
double
NextDue(const char *schema)
{
	Begin();
	Ledger l = FindLedger(false);  // used inside this transaction only
	LedgerExec(psprintf("SELECT count(*), bool_or(next_attempt_at IS NULL), "
	                    "extract(epoch FROM min(next_attempt_at) - clock_timestamp())::float8 "
	                    "FROM %s.payments WHERE state IN ('queued', 'sending', 'sent')%s",
	                    l.schema, OwnRows(l)),
	           0, nullptr, nullptr, nullptr, true, 1);
	HeapTuple t = SPI_tuptable->vals[0];
	TupleDesc d = SPI_tuptable->tupdesc;
	bool isnull;
	int64 count = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	bool undated = DatumGetBool(SPI_getbinval(t, d, 2, &isnull)) && !isnull;
	Datum due = SPI_getbinval(t, d, 3, &isnull);
	double s = count == 0 ? -1 : undated || isnull ? 0 : Max(DatumGetFloat8(due), 0.0);
	End();
	return s;
}

bool
SenderLock(bool take)
{
	Begin();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(kSenderLock)};
	SPI_execute_with_args(take ? "SELECT pg_catalog.pg_try_advisory_lock($1)" : "SELECT pg_catalog.pg_advisory_unlock($1)",
	                      1, types, values, nullptr, false, 1);
	bool isnull;
	bool got = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	End();
	return got;
}

}  // namespace

void
ResumePayments()
{
	EnsureSender(false);
}

void
InstallPaymentLauncher()
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	BackgroundWorker w;
	memset(&w, 0, sizeof w);
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "pix_fdw");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "pix_fdw_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "pix_fdw launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "pix_fdw launcher");
	RegisterBackgroundWorker(&w);
}

}  // namespace pix::pg

using namespace pix::pg;

#pragma GCC visibility push(default)
extern "C" {

PG_FUNCTION_INFO_V1(pix_fdw_pay);
PG_FUNCTION_INFO_V1(pix_fdw_wait);
PG_FUNCTION_INFO_V1(pix_fdw_ledger_guard);
PG_FUNCTION_INFO_V1(pix_fdw_adopt);
void pix_fdw_sender_main(Datum arg);
void pix_fdw_launcher_main(Datum arg);

// The triggers on the ledger: only pix_fdw writes it (statement triggers, and on 0.2 a row
// trigger for INSERT). The one exception is pg_restore's COPY of a dump (0.2): a superuser may
// insert rows that another database queued, each with a seal that verifies under that
// database's key, and the keys of other databases. Such rows are never sent from here unless
// pix_fdw.adopt() takes them; a row of this database's own origin comes only from pay().
Datum
pix_fdw_ledger_guard(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("ledger_guard must be called as a trigger")));
	TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
	bool row_insert = TRIGGER_FIRED_FOR_ROW(td->tg_event) && TRIGGER_FIRED_BY_INSERT(td->tg_event);
	// A BEFORE ROW trigger that returns NULL skips the row: return it.
	Datum accept = row_insert ? PointerGetDatum(td->tg_trigtuple) : PointerGetDatum(NULL);
	if (ledger_writes > 0)
		return accept;
	const char *why = row_insert && superuser() ? RestoredRowRefused(td) : nullptr;
	if (row_insert && superuser() && !why)
		return accept;
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("%s.%s is written only by pix_fdw (pix_fdw.pay() and its sender)",
	                       get_namespace_name(RelationGetNamespace(td->tg_relation)),
	                       RelationGetRelationName(td->tg_relation)),
	                why ? errdetail("%s", why) : 0,
	                errhint("Queue a payment with pix_fdw.pay(server, chave, valor, ...). A row written by any "
	                        "other means is never sent.")));
	return PointerGetDatum(NULL);
}

// pix_fdw.adopt(origin): the ledger rows queued in the database whose pix_fdw id is origin
// (restored here from its dump) become this database's own, re-sealed under this database's
// key; the pending ones are sent from here after the transaction commits. Every pending row
// must verify under its origin's key, or nothing is adopted (a finished row that does not
// verify keeps its seal: it is never sent). Returns the rows adopted.
Datum
pix_fdw_adopt(PG_FUNCTION_ARGS)
{
	pg_uuid_t *from = PG_GETARG_UUID_P(0);
	Ledger l = FindLedger(false);
	if (!l.origins)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("pix_fdw.adopt needs the pix_fdw 0.2 catalog"),
		                errhint("Run ALTER EXTENSION pix_fdw UPDATE.")));
	RegisterCallbacks();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	AsOwner as_owner = BecomeOwner(l);
	pg_uuid_t *own = OwnOrigin(l, true);
	char *from_text = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(from)));
	if (memcmp(own, from, sizeof(pg_uuid_t)) == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("%s is this database's own pix_fdw id: its rows are sent from here already", from_text)));
	Oid t1[1] = {UUIDOID};
	Datum v1[1] = {UUIDPGetDatum(from)};
	LedgerExec(Sql(l, "SELECT idempotency_key::text, server::text, chave, valor::text, descricao, "
	                  "to_char(data_pagamento, 'YYYY-MM-DD'), requested_by::oid::text, seal, "
	                  "state IN ('queued', 'sending', 'sent') "
	                  "FROM %s.payments WHERE origin = $1 ORDER BY idempotency_key FOR UPDATE"),
	           1, t1, v1, nullptr, false, 0);
	SPITupleTable *rows = SPI_tuptable;
	uint64 nrows = SPI_processed, npending = 0;
	bytea *from_key = nrows ? LedgerKey(l, from, true) : nullptr;
	bytea *own_key = LedgerKey(l, own);
	uint64 bad = 0;
	List *keys = NIL, *seals = NIL;
	for (uint64 i = 0; i < nrows; i++) {
		HeapTuple t = rows->vals[i];
		TupleDesc d = rows->tupdesc;
		char *f[7];
		for (int c = 0; c < 7; c++)
			f[c] = SPI_getvalue(t, d, c + 1);
		Oid role = static_cast<Oid>(strtoul(f[6], nullptr, 10));
		bool isnull;
		Datum sd = SPI_getbinval(t, d, 8, &isnull);
		bytea *stored = isnull ? nullptr : DatumGetByteaPP(sd);
		bool is_pending = DatumGetBool(SPI_getbinval(t, d, 9, &isnull));
		npending += is_pending;
		bytea *resealed = SealBoth(own_key, f[0], f[1], f[2], f[3], f[4], f[5], role);
		if (!resealed || !RowSealOk(from_key, f[0], f[1], f[2], f[3], f[4], f[5], role, stored)) {
			bad += is_pending;
			continue;
		}
		keys = lappend(keys, f[0]);
		seals = lappend(seals, resealed);
	}
	if (bad)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("%llu of the %llu pending ledger rows of origin %s do not verify; nothing was adopted",
		                       (unsigned long long) bad, (unsigned long long) npending, from_text),
		                errdetail(from_key ? "Their seals do not match their contents under that origin's key."
		                                   : "pix_fdw.ledger_key has no key for that origin (restore it with the ledger)."),
		                errhint("A row the ledger cannot verify is never sent.")));
	ListCell *kc, *sc;
	forboth (kc, keys, sc, seals) {
		Oid t3[3] = {TEXTOID, BYTEAOID, UUIDOID};
		Datum v3[3] = {PointerGetDatum(cstring_to_text(static_cast<char *>(lfirst(kc)))), PointerGetDatum(lfirst(sc)),
		               UUIDPGetDatum(own)};
		LedgerExec(Sql(l, "UPDATE %s.payments SET origin = $3, seal = $2 WHERE idempotency_key = $1::uuid"), 3, t3, v3,
		           nullptr, false, 0);
	}
	Oid t2[2] = {UUIDOID, UUIDOID};
	Datum v2[2] = {UUIDPGetDatum(from), UUIDPGetDatum(own)};
	LedgerExec(Sql(l, "UPDATE %s.payments SET origin = $2 WHERE origin = $1"), 2, t2, v2, nullptr, false, 0);
	uint64 adopted = static_cast<uint64>(list_length(keys)) + SPI_processed;  // re-sealed + the rest
	if (npending)
		queued_in_xact = true;  // the sender starts when this transaction commits
	RestoreUser(as_owner);
	SPI_finish();
	PG_RETURN_INT64(static_cast<int64>(adopted));
}

// pix_fdw.pay(server, chave, valor, descricao, data_pagamento, idempotency_key): checks the
// caller's rights and the request, then writes the ledger row (state queued) in the caller's
// transaction and returns it. The sender starts when the transaction commits.
Datum
pix_fdw_pay(PG_FUNCTION_ARGS)
{
	const char *argname[3] = {"server", "chave", "valor"};
	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("pix_fdw.pay: %s must not be null", argname[i])));
	Name server_name = PG_GETARG_NAME(0);
	char *chave = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Datum valor_in = PG_GETARG_DATUM(2);
	char *descricao = PG_ARGISNULL(3) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool has_date = !PG_ARGISNULL(4);
	DateADT data_pagamento = has_date ? PG_GETARG_DATEADT(4) : 0;

	// Who may pay: USAGE on the server and a user mapping (EXECUTE was checked by the call).
	Oid caller = GetUserId();
	ForeignServer *server = GetForeignServerByName(NameStr(*server_name), false);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	if (strcmp(fdw->fdwname, "pix_fdw") != 0)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		                errmsg("server \"%s\" is not a pix_fdw server", server->servername)));
#if PG_VERSION_NUM >= 160000
	AclResult acl = object_aclcheck(ForeignServerRelationId, server->serverid, caller, ACL_USAGE);
#else
	AclResult acl = pg_foreign_server_aclcheck(server->serverid, caller, ACL_USAGE);
#endif
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_FOREIGN_SERVER, server->servername);
	(void) GetUserMapping(caller, server->serverid);  // errors when the caller has none

	Ledger l = FindLedger(false);
	RegisterCallbacks();
	MemoryContext caller_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	AsOwner as_owner = BecomeOwner(l);

	pg_uuid_t *key = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
	bool given_key = !PG_ARGISNULL(5);
	if (given_key) {
		memcpy(key, PG_GETARG_UUID_P(5), sizeof(pg_uuid_t));
	} else {
		if (!pg_strong_random(key->data, UUID_LEN))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate an idempotency key")));
		key->data[6] = (key->data[6] & 0x0f) | 0x40;  // version 4
		key->data[8] = (key->data[8] & 0x3f) | 0x80;  // RFC 4122 variant
	}
	Datum key_d = UUIDPGetDatum(key);
	Datum args[5] = {PG_GETARG_DATUM(0), PointerGetDatum(cstring_to_text(chave)), valor_in,
	                 descricao ? PointerGetDatum(cstring_to_text(descricao)) : (Datum) 0,
	                 has_date ? DateADTGetDatum(data_pagamento) : (Datum) 0};
	char nulls[5] = {' ', ' ', ' ', descricao ? ' ' : 'n', has_date ? ' ' : 'n'};
	HeapTuple row;
	TupleDesc row_desc;
	// A key already in the ledger: the same request gets its row back and queues nothing,
	// whatever has happened since (even if its date is now past).
	if (given_key && ExistingKey(l, key_d, args, nulls, caller, &row, &row_desc)) {
		RestoreUser(as_owner);
		Datum result = FormResult(fcinfo, caller_cxt, row, row_desc);
		SPI_finish();
		PG_RETURN_DATUM(result);
	}

	// Validate the request (each error names its field).
	char *valor_text = DatumGetCString(DirectFunctionCall1(numeric_out, valor_in));
	struct {
		char valor[32];
	} v;
	CppGuard([&] {
		std::string s = pix::ValidateValor(valor_text);
		snprintf(v.valor, sizeof v.valor, "%s", s.c_str());
		(void) pix::ValidateChave(chave);
		if (descricao)
			pix::ValidateDescricao(descricao);
	});
	DateADT today = BankToday();
	if (has_date && data_pagamento < today)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid data_pagamento: %s is before today in Brasília (%s)", DateText(data_pagamento),
		                       DateText(today)),
		                errhint("Leave data_pagamento out to pay today; a later date schedules the payment.")));
	DateADT counted_on = has_date ? data_pagamento : today;

	// The server's limits, with the ledger's latest committed state (and this transaction's).
	const char *max_valor = Opt(server->options, "max_valor");
	const char *max_diario = Opt(server->options, "max_valor_diario");
	Datum valor2 = NumericFromText(v.valor);
	if (max_valor &&
	    DatumGetInt32(DirectFunctionCall2(numeric_cmp, valor2, NumericFromText(max_valor))) > 0)
		RefuseLimit("max_valor", max_valor, psprintf("This payment is %s.", v.valor));
	if (max_diario) {
		Oid t1[1] = {INT8OID};
		Datum v1[1] = {Int64GetDatum(kDailyLockBase + server->serverid)};
		LedgerExec("SELECT pg_catalog.pg_advisory_xact_lock($1)", 1, t1, v1, nullptr, false, 1);
		Oid t2[2] = {NAMEOID, DATEOID};
		Datum v2[2] = {PG_GETARG_DATUM(0), DateADTGetDatum(counted_on)};
		if (ExecLatest(Sql(l, "SELECT coalesce(sum(valor), 0)::text FROM %s.payments WHERE server = $1 AND "
		                      "counted_on = $2 AND state NOT IN ('failed')"),
		               2, t2, v2, nullptr) != SPI_OK_SELECT)
			elog(ERROR, "could not read the ledger's daily total");
		char *total = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		Datum after = DirectFunctionCall2(numeric_add, NumericFromText(total), valor2);
		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, after, NumericFromText(max_diario))) > 0)
			RefuseLimit("max_valor_diario", max_diario,
			            psprintf("Payments of server \"%s\" for %s already total %s (failed ones excluded); this "
			                     "one of %s would make %s.",
			                     server->servername, DateText(counted_on), total, v.valor,
			                     DatumGetCString(DirectFunctionCall1(numeric_out, after))));
	}

	// Write the row. A concurrent pay() with the same key waits here for the other
	// transaction; if it committed, its row is compared like any existing key.
	char *key_text = DatumGetCString(DirectFunctionCall1(uuid_out, key_d));
	// 0.2: the row records this database's id and is sealed with its key.
	pg_uuid_t *origin = l.origins ? OwnOrigin(l, true) : nullptr;
	const char *date_text = has_date ? DateText(data_pagamento) : nullptr;
	bytea *seal = l.origins ? SealBoth(LedgerKey(l, origin), key_text, NameStr(*server_name), chave, v.valor, descricao,
	                                   date_text, caller)
	                        : Seal(LedgerKey(l, origin), key_text, NameStr(*server_name), chave, v.valor, descricao,
	                               date_text, caller);
	Oid types[10] = {UUIDOID, NAMEOID, TEXTOID, NUMERICOID, TEXTOID, DATEOID, OIDOID, DATEOID, BYTEAOID, UUIDOID};
	Datum values[10] = {key_d, args[0], args[1], valor2, args[3], args[4], ObjectIdGetDatum(caller),
	                    DateADTGetDatum(counted_on), PointerGetDatum(seal), origin ? UUIDPGetDatum(origin) : (Datum) 0};
	char n10[11] = {' ', ' ', ' ', ' ', nulls[3], nulls[4], ' ', ' ', ' ', ' ', '\0'};
	int rc = LedgerExec(l.origins ? Sql(l, "INSERT INTO %s.payments (idempotency_key, server, chave, valor, descricao, "
	                                       "data_pagamento, requested_by, counted_on, seal, origin) VALUES ($1, $2, $3, $4, "
	                                       "$5, $6, $7, $8, $9, $10) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *")
	                              : Sql(l, "INSERT INTO %s.payments (idempotency_key, server, chave, valor, descricao, "
	                                       "data_pagamento, requested_by, counted_on, seal) VALUES ($1, $2, $3, $4, $5, "
	                                       "$6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *"),
	                    l.origins ? 10 : 9, types, values, n10, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not write the ledger");
	if (SPI_processed == 1) {
		row = SPI_tuptable->vals[0];
		row_desc = SPI_tuptable->tupdesc;
		queued_in_xact = true;
	} else if (!ExistingKey(l, key_d, args, nulls, caller, &row, &row_desc)) {
		elog(ERROR, "idempotency key %s conflicted but is not in the ledger", key_text);
	}
	RestoreUser(as_owner);
	Datum result = FormResult(fcinfo, caller_cxt, row, row_desc);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

// pix_fdw.wait(idempotency_key, timeout): waits until the bank has answered for the key (the
// ledger row leaves queued and sending) or the timeout passes, and returns the row. Reads
// with the caller's rights (SELECT on the ledger). Cancellable.
Datum
pix_fdw_wait(PG_FUNCTION_ARGS)
{
	Datum key = PG_GETARG_DATUM(0);
	Interval *timeout = PG_GETARG_INTERVAL_P(1);
	int64 us = timeout->time + (int64) timeout->day * USECS_PER_DAY + (int64) timeout->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (us < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("pix_fdw.wait: timeout must not be negative")));
	TimestampTz deadline = GetCurrentTimestamp() + us;
	Ledger l = FindLedger(false);
	MemoryContext caller_cxt = CurrentMemoryContext;
	bool kicked = false;
	for (;;) {
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		Oid types[1] = {UUIDOID};
		Datum values[1] = {key};
		if (ExecLatest(Sql(l, "SELECT p.*, p.xmin::text::bigint, p.state IN ('queued', 'sending') "
		                      "FROM %s.payments p WHERE p.idempotency_key = $1"),
		               1, types, values, nullptr) != SPI_OK_SELECT)
			elog(ERROR, "could not read the ledger");
		if (SPI_processed == 0)
			ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
			                errmsg("no payment with idempotency key %s in the ledger",
			                       DatumGetCString(DirectFunctionCall1(uuid_out, key)))));
		HeapTuple t = SPI_tuptable->vals[0];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool isnull;
		TransactionId xmin = static_cast<TransactionId>(DatumGetInt64(SPI_getbinval(t, d, d->natts - 1, &isnull)));
		bool waiting = DatumGetBool(SPI_getbinval(t, d, d->natts, &isnull));
		if (waiting && TransactionIdIsCurrentTransactionId(xmin))
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			                errmsg("the payment %s is not committed yet", DatumGetCString(DirectFunctionCall1(uuid_out, key))),
			                errdetail("A payment is sent only after the transaction that queued it commits."),
			                errhint("Commit, then call pix_fdw.wait() in a new transaction.")));
		if (!waiting || GetCurrentTimestamp() >= deadline) {
			Datum result = FormResult(fcinfo, caller_cxt, t, d);
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
		SPI_finish();
		if (!kicked) {
			EnsureSender(true);  // e.g. after a restart, or if no worker slot was free at commit
			kicked = true;
		}
		long left_ms = static_cast<long>((deadline - GetCurrentTimestamp()) / 1000);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, Max(Min(left_ms, 100L), 1L),
		                 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

// The sender of one database (bgw_main_arg): sends queued payments, follows sent ones, and
// exits when none is pending. Started at commit, on first use after a restart, or by the
// launcher when preloaded; restarted by the postmaster 5 s after it dies.
void
pix_fdw_sender_main(Datum arg)
{
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", "pix_fdw sender", PGC_USERSET, PGC_S_SESSION);
	pgstat_report_appname("pix_fdw sender");

	StartSenderTransaction();
	Ledger l = FindLedger(true);
	char *schema = OidIsValid(l.relid) ? MemoryContextStrdup(TopMemoryContext, l.schema) : nullptr;
	CommitTransactionCommand();
	if (!schema || !SenderLock(true))
		proc_exit(0);  // no ledger here, or another sender runs
	MemoryContext step = AllocSetContextCreate(TopMemoryContext, "pix_fdw sender", ALLOCSET_DEFAULT_SIZES);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(step);
		MemoryContextSwitchTo(step);
		volatile bool did = false;
		PG_TRY();
		{
			did = SendStep(schema, step);
			did = CheckStep(schema, step) || did;
		}
		PG_CATCH();
		{
			// An error outside a bank call (those are recorded on their row): log it, pause, go on.
			HOLD_INTERRUPTS();
			MemoryContextSwitchTo(step);
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			RESUME_INTERRUPTS();
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		PG_END_TRY();
		if (did)
			continue;
		double due = NextDue(schema);
		if (due < 0) {
			// Nothing pending: leave, but look once more after letting go of the lock, so
			// that a payment committed meanwhile (whose own sender found the lock taken) is
			// not left behind.
			SenderLock(false);
			if (NextDue(schema) < 0 || !SenderLock(true))
				proc_exit(0);
			continue;
		}
		// New commits are seen within a second; never a busy loop.
		long ms = static_cast<long>(Max(Min(due * 1000.0, 1000.0), 10.0));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

// Preloaded: once at start-up, a sender for every database that accepts connections (each
// leaves at once if it has no ledger or nothing pending).
void
pix_fdw_launcher_main(Datum)
{
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	StartTransactionCommand();
	List *dbs = NIL;
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tup;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		Form_pg_database db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
		if (db->datallowconn && !db->datistemplate)
			dbs = lappend_oid(dbs, db->oid);
	}
	MemoryContextSwitchTo(old);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	ListCell *lc;
	foreach (lc, dbs) {
		for (int tries = 0; !LaunchSender(lfirst_oid(lc)) && tries < 600; tries++) {
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	proc_exit(0);
}

}  // extern "C"
#pragma GCC visibility pop
