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
};

// Allocated once, never freed: it lives as long as the backend.
std::unordered_map<Oid, Entry> *entries = nullptr;

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

void
PrepareBankClient(ForeignServer *server, UserMapping *um)
{
	if (!entries) {
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, InvalidateCallback, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, InvalidateCallback, (Datum) 0);
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
		(*entries)[key] = Entry{std::move(client), server_hash, mapping_hash, false};
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
