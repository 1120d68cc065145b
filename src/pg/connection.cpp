// Per-backend cache of bank clients, keyed by user mapping (as postgres_fdw keys its
// connections): one keep-alive TLS connection and its OAuth tokens per mapping, dropped when
// the server or the user mapping changes. Also the latch-based waiter used during calls.
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

#include <unordered_map>

namespace pix::pg {

namespace {

struct Entry {
	std::shared_ptr<BankClient> client;
	uint32 server_hash;
	uint32 mapping_hash;
	bool invalid;
	Oid serverid;
	Oid userid;  // the mapping's user (InvalidOid for PUBLIC)
};

// Allocated once, never freed: it lives as long as the backend.
std::unordered_map<Oid, Entry> *entries = nullptr;

// At the end of every transaction, entries made stale by an ALTER or DROP release their TLS
// connection and secrets at once (no scan holds them any more), as postgres_fdw's
// pgfdw_xact_callback does. Must not raise.
void
XactCallback(XactEvent event, void *)
{
	if (!entries || (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT))
		return;
	for (auto it = entries->begin(); it != entries->end();)
		it = it->second.invalid ? entries->erase(it) : std::next(it);
}

// Syscache invalidation: mark entries stale; they are dropped at next use. Must not raise.
void
InvalidateCallback(Datum, int cacheid, uint32 hashvalue)
{
	if (!entries)
		return;
	for (auto &kv : *entries) {
		Entry &e = kv.second;
		if (hashvalue == 0 || (cacheid == FOREIGNSERVEROID && e.server_hash == hashvalue) ||
		    (cacheid == USERMAPPINGOID && e.mapping_hash == hashvalue))
			e.invalid = true;
	}
}

// Waits once on the latch, postmaster death and the given sockets. Plain PostgreSQL code.
int
WaitOnce(const SocketInterest *sockets, int nsockets, long timeout_ms, WaitEvent *events, int nevents)
{
#if PG_VERSION_NUM >= 170000
	WaitEventSet *volatile set = CreateWaitEventSet(NULL, nsockets + 2);
#else
	WaitEventSet *volatile set = CreateWaitEventSet(CurrentMemoryContext, nsockets + 2);
#endif
	int n = 0;
	PG_TRY();
	{
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		if (IsUnderPostmaster)  // a single-user backend has no postmaster to watch
			AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < nsockets; i++) {
			uint32 what = (sockets[i].read ? WL_SOCKET_READABLE : 0) | (sockets[i].write ? WL_SOCKET_WRITEABLE : 0);
			if (what)
				AddWaitEventToSet(set, what, sockets[i].fd, NULL, NULL);
		}
		n = WaitEventSetWait(set, timeout_ms, events, nevents, PG_WAIT_EXTENSION);
	}
	PG_FINALLY();
	{
		FreeWaitEventSet(set);
	}
	PG_END_TRY();
	for (int i = 0; i < n; i++)
		if (events[i].events & WL_LATCH_SET)
			ResetLatch(MyLatch);
	return n;
}

}  // namespace

std::vector<SocketReady>
PgWaiter::Wait(const std::vector<SocketInterest> &sockets, long timeout_ms)
{
	WaitEvent events[16];
	int n = PgGuard([&] {
		int got = WaitOnce(sockets.data(), static_cast<int>(sockets.size()), timeout_ms, events, lengthof(events));
		// Service every other interrupt now, as postgres_fdw's pgfdw_get_result does: barriers
		// (DROP DATABASE waits on them), pg_log_backend_memory_contexts,
		// client_connection_check_interval. It may raise (an ERROR becomes PgError here) or
		// exit (FATAL). Cancel and terminate are left to Interrupted(), so that the C++
		// frames unwind before PostgreSQL ends the statement or the backend.
		if (!QueryCancelPending && !ProcDiePending)
			CHECK_FOR_INTERRUPTS();
		return got;
	});
	std::vector<SocketReady> ready;
	for (int i = 0; i < n; i++) {
		if (events[i].fd == PGINVALID_SOCKET)
			continue;
		bool r = (events[i].events & WL_SOCKET_READABLE) != 0;
		bool w = (events[i].events & WL_SOCKET_WRITEABLE) != 0;
		if (r || w)
			ready.push_back(SocketReady{events[i].fd, r, w});
	}
	return ready;
}

bool
PgWaiter::Interrupted()
{
	return QueryCancelPending || ProcDiePending;
}

long
PgWaiter::RemainingMs()
{
	if (!get_timeout_active(STATEMENT_TIMEOUT))
		return -1;
	TimestampTz left = get_timeout_finish_time(STATEMENT_TIMEOUT) - GetCurrentTimestamp();
	return left > 0 ? static_cast<long>(left / 1000) : 0;
}

void
PrepareBankClient(ForeignServer *server, UserMapping *um)
{
	if (!entries) {
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, InvalidateCallback, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, InvalidateCallback, (Datum) 0);
		RegisterXactCallback(XactCallback, NULL);
		entries = CppGuard([] { return new std::unordered_map<Oid, Entry>(); });
	}
	// Process pending invalidations before looking, so an ALTER just made counts.
	AcceptInvalidationMessages();
	uint32 server_hash = GetSysCacheHashValue1(FOREIGNSERVEROID, ObjectIdGetDatum(server->serverid));
	uint32 mapping_hash = GetSysCacheHashValue1(USERMAPPINGOID, ObjectIdGetDatum(um->umid));
	Oid key = um->umid;

	bool cached = CppGuard([&] {
		auto it = entries->find(key);
		if (it == entries->end())
			return false;
		if (it->second.invalid) {
			entries->erase(it);  // running scans keep their own reference
			return false;
		}
		return true;
	});
	if (cached)
		return;
	ServerOptions opts = ReadServerOptions(server, um);
	long days_left = CppGuard([&] {
		auto client = std::make_shared<BankClient>(MakeServerConfig(opts));
		long days = client->CertificateDaysLeft();
		(*entries)[key] = Entry{std::move(client), server_hash, mapping_hash, false, server->serverid, um->userid};
		return days;
	});
	if (days_left >= 0 && days_left < 30)
		ereport(WARNING, (errmsg("the client certificate for server \"%s\" expires in %ld days",
		                         server->servername, days_left),
		                  errhint("Create a new certificate for the integration in Internet Banking before "
		                          "it expires and update the user mapping.")));
}

std::shared_ptr<BankClient>
CachedBankClient(Oid umid)
{
	auto it = entries ? entries->find(umid) : decltype(entries->end()){};
	if (!entries || it == entries->end())
		throw Error(sqlstate::kInternal, "no bank client prepared for this user mapping");
	return it->second.client;
}

}  // namespace pix::pg

using namespace pix::pg;

// Entry points PostgreSQL looks up by name: default visibility (the rest is hidden).
#pragma GCC visibility push(default)
extern "C" {

PG_FUNCTION_INFO_V1(pix_fdw_disconnect);
PG_FUNCTION_INFO_V1(pix_fdw_certificate_info);
PG_FUNCTION_INFO_V1(pix_fdw_connections);

// pix_fdw.disconnect(server text DEFAULT NULL): closes this session's cached connections
// (TLS connection and tokens) to that server, or to every server; true when one was open.
// One still used by a running scan is closed when the scan ends.
Datum
pix_fdw_disconnect(PG_FUNCTION_ARGS)
{
	ResumePayments();
	Oid serverid = InvalidOid;
	if (!PG_ARGISNULL(0))
		serverid = GetForeignServerByName(text_to_cstring(PG_GETARG_TEXT_PP(0)), false)->serverid;
	bool closed = CppGuard([&] {
		bool any = false;
		if (!entries)
			return any;
		for (auto it = entries->begin(); it != entries->end();) {
			if (OidIsValid(serverid) && it->second.serverid != serverid) {
				++it;
				continue;
			}
			any = true;
			it = entries->erase(it);  // a running scan keeps its own reference until it ends
		}
		return any;
	});
	PG_RETURN_BOOL(closed);
}

// pix_fdw.certificate_info(server text): the current user's client certificate for that
// server: subject, issuer, serial, validity and the days left (negative once expired). Reads
// only the certificate the user mapping names; makes no call to the bank.
Datum
pix_fdw_certificate_info(PG_FUNCTION_ARGS)
{
	ResumePayments();
	ForeignServer *server = GetForeignServerByName(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	UserMapping *um = GetUserMapping(GetUserId(), server->serverid);
	ServerOptions opts = ReadServerOptions(server, um);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	struct {
		char subject[1024], issuer[1024], serial[128];
		long long not_before, not_after;
	} out;
	CppGuard([&] {
		pix::CertificateInfo info = pix::ReadCertificateInfo(MakeServerConfig(opts).tls);
		snprintf(out.subject, sizeof out.subject, "%s", info.subject.c_str());
		snprintf(out.issuer, sizeof out.issuer, "%s", info.issuer.c_str());
		snprintf(out.serial, sizeof out.serial, "%s", info.serial.c_str());
		out.not_before = info.not_before;
		out.not_after = info.not_after;
	});
	Datum values[6];
	bool nulls[6] = {false, false, false, false, false, false};
	values[0] = CStringGetTextDatum(out.subject);
	values[1] = CStringGetTextDatum(out.issuer);
	values[2] = CStringGetTextDatum(out.serial);
	values[3] = TimestampTzGetDatum(time_t_to_timestamptz(static_cast<pg_time_t>(out.not_before)));
	values[4] = TimestampTzGetDatum(time_t_to_timestamptz(static_cast<pg_time_t>(out.not_after)));
	long long left = out.not_after - static_cast<long long>(time(NULL));
	values[5] = Int32GetDatum(static_cast<int32>(left >= 0 ? left / 86400 : -((-left + 86399) / 86400)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

// pix_fdw.connections(): this session's cached connections, one row per user mapping.
Datum
pix_fdw_connections(PG_FUNCTION_ARGS)
{
	ResumePayments();
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	if (!rsinfo || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("materialize mode required")));
	MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = desc;
	MemoryContextSwitchTo(old);
#endif
	struct Row {
		Oid serverid, userid;
		bool valid;
	};
	int n = CppGuard([] { return entries ? static_cast<int>(entries->size()) : 0; });
	Row *rows = static_cast<Row *>(palloc(sizeof(Row) * Max(n, 1)));
	CppGuard([&] {
		int i = 0;
		if (entries)
			for (const auto &kv : *entries)
				rows[i++] = Row{kv.second.serverid, kv.second.userid, !kv.second.invalid};
	});
	for (int i = 0; i < n; i++) {
		Datum values[3];
		bool nulls[3] = {false, false, false};
		ForeignServer *server = GetForeignServerExtended(rows[i].serverid, FSV_MISSING_OK);
		if (server)
			values[0] = CStringGetTextDatum(server->servername);
		else
			nulls[0] = true;
		const char *user = OidIsValid(rows[i].userid) ? GetUserNameFromId(rows[i].userid, true) : "public";
		values[1] = CStringGetTextDatum(user ? user : "?");
		values[2] = BoolGetDatum(rows[i].valid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

}  // extern "C"
#pragma GCC visibility pop
