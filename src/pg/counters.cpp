// pix_fdw.counters: the call counters of src/bank/counters.hpp in shared memory when pix_fdw
// is preloaded (one row per database, server and endpoint, added to by every backend and
// background worker), else this backend's own; the SQL functions that read and reset them.
// Nothing here writes to a table.
//
// The lock is held only to find a slot and add to it, or to copy the slots out: never
// across a call, never around code that can throw or raise.
#include "pg/fdw.hpp"

#include "bank/counters.hpp"
#include "pg/guard.hpp"

#include <cstring>

namespace pix::pg {

namespace {

constexpr int kEndpointLen = 32;

struct CounterSlot {
	bool used;
	Oid dbid;  // InvalidOid: the overflow row, shown in every database
	char server[NAMEDATALEN];
	char endpoint[kEndpointLen];
	int64 values[kNumCounters];
	int64 since_us;
};

struct CounterArea {
	LWLock *lock;
	CounterSlot slots[kMaxCounterRows];  // the last one is the overflow row
};

CounterArea *area = nullptr;  // set in the postmaster, inherited by every backend

void
Copy(char *dst, size_t size, const std::string &src)
{
	size_t n = src.size() < size - 1 ? src.size() : size - 1;
	memcpy(dst, src.data(), n);
	dst[n] = '\0';
}

bool
Same(const char *slot, size_t size, const std::string &s)
{
	return s.size() < size && strncmp(slot, s.c_str(), size) == 0;
}

class SharedCounterStore final : public CounterStore {
public:
	void
	Add(const std::string &server, const std::string &endpoint, Counter c, long long n) override
	{
		if (c < 0 || c >= kNumCounters || n == 0)
			return;
		char name[NAMEDATALEN], ep[kEndpointLen];
		Copy(name, sizeof name, server);
		Copy(ep, sizeof ep, endpoint);
		long long now = UnixMicros();
		Oid db = MyDatabaseId;
		PgGuard([&] { LWLockAcquire(area->lock, LW_EXCLUSIVE); });
		CounterSlot *slot = nullptr, *free_slot = nullptr;
		for (int i = 0; i < kMaxCounterRows - 1; i++) {
			CounterSlot &s = area->slots[i];
			if (!s.used) {
				if (!free_slot)
					free_slot = &s;
			} else if (s.dbid == db && strcmp(s.server, name) == 0 && strcmp(s.endpoint, ep) == 0) {
				slot = &s;
				break;
			}
		}
		if (!slot && free_slot) {
			slot = free_slot;
			memset(static_cast<void *>(slot), 0, sizeof *slot);
			slot->used = true;
			slot->dbid = db;
			memcpy(slot->server, name, sizeof name);
			memcpy(slot->endpoint, ep, sizeof ep);
			slot->since_us = now;
		}
		if (!slot) {
			slot = &area->slots[kMaxCounterRows - 1];
			if (!slot->used) {
				slot->used = true;
				slot->since_us = now;
			}
		}
		slot->values[c] += n;
		LWLockRelease(area->lock);
	}

	std::vector<CounterRow>
	Snapshot() override
	{
		static CounterSlot copy[kMaxCounterRows];
		int n = 0;
		Oid db = MyDatabaseId;
		PgGuard([&] { LWLockAcquire(area->lock, LW_SHARED); });
		for (const CounterSlot &s : area->slots)
			if (s.used && (s.dbid == db || s.dbid == InvalidOid))
				copy[n++] = s;
		LWLockRelease(area->lock);
		std::vector<CounterRow> rows(n);
		for (int i = 0; i < n; i++) {
			rows[i].server = copy[i].server;
			rows[i].endpoint = copy[i].endpoint;
			for (int k = 0; k < kNumCounters; k++)
				rows[i].values[k] = copy[i].values[k];
			rows[i].since_us = copy[i].since_us;
		}
		return rows;
	}

	int
	Reset(const std::string *server) override
	{
		int n = 0;
		Oid db = MyDatabaseId;
		PgGuard([&] { LWLockAcquire(area->lock, LW_EXCLUSIVE); });
		for (CounterSlot &s : area->slots)
			if (s.used && (s.dbid == db || s.dbid == InvalidOid) &&
			    (!server || Same(s.server, sizeof s.server, *server))) {
				bool overflow = s.dbid == InvalidOid;
				memset(static_cast<void *>(&s), 0, sizeof s);
				if (overflow)
					StampOverflow(s);
				n++;
			}
		LWLockRelease(area->lock);
		return n;
	}

	static void
	StampOverflow(CounterSlot &s)
	{
		s.dbid = InvalidOid;
		strlcpy(s.server, kOverflow, sizeof s.server);
		strlcpy(s.endpoint, kOverflow, sizeof s.endpoint);
	}
};

SharedCounterStore shared_store;

Size
AreaSize()
{
	return sizeof(CounterArea);
}

void
AttachArea(void *base, bool found, LWLockPadded *locks)
{
	area = static_cast<CounterArea *>(base);
	if (!found) {
		memset(base, 0, sizeof(CounterArea));  // plain data: no constructor to run
		area->lock = &locks[0].lock;
		SharedCounterStore::StampOverflow(area->slots[kMaxCounterRows - 1]);
	}
	InstallCounterStore(&shared_store);
}

// Unix microseconds -> TimestampTz.
TimestampTz
FromUnixMicros(long long us)
{
	return static_cast<TimestampTz>(us - static_cast<long long>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
	                                         SECS_PER_DAY * USECS_PER_SEC);
}

}  // namespace

void
InstallCounters()
{
	RegisterSharedRegion({"pix_fdw_counters", 1, AreaSize, AttachArea});
}

}  // namespace pix::pg

using namespace pix::pg;

#pragma GCC visibility push(default)
extern "C" {

PG_FUNCTION_INFO_V1(pix_fdw_counters);
PG_FUNCTION_INFO_V1(pix_fdw_counters_reset);

// pix_fdw.counters_snapshot(): the counters of this database (shared when preloaded, else
// this session's), one row per server and endpoint.
Datum
pix_fdw_counters(PG_FUNCTION_ARGS)
{
	ResumePayments();
	InitMaterializedSRF(fcinfo, 0);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	struct Row {
		char server[NAMEDATALEN];
		char endpoint[kEndpointLen];
		long long values[pix::kNumCounters];
		long long since_us;
	};
	static Row rows[pix::kMaxCounterRows];
	int n = CppGuard([] {
		std::vector<pix::CounterRow> all = pix::Counters().Snapshot();
		int k = 0;
		for (const pix::CounterRow &r : all) {
			if (k >= pix::kMaxCounterRows)
				break;
			Copy(rows[k].server, sizeof rows[k].server, r.server);
			Copy(rows[k].endpoint, sizeof rows[k].endpoint, r.endpoint);
			for (int c = 0; c < pix::kNumCounters; c++)
				rows[k].values[c] = r.values[c];
			rows[k].since_us = r.since_us;
			k++;
		}
		return k;
	});
	constexpr int kCols = 2 + pix::kNumCounters + 1;
	for (int i = 0; i < n; i++) {
		Datum values[kCols];
		bool nulls[kCols];
		memset(nulls, 0, sizeof nulls);
		values[0] = CStringGetTextDatum(rows[i].server);
		values[1] = CStringGetTextDatum(rows[i].endpoint);
		for (int c = 0; c < pix::kNumCounters; c++)
			values[2 + c] = Int64GetDatum(rows[i].values[c]);
		values[kCols - 1] = TimestampTzGetDatum(FromUnixMicros(rows[i].since_us));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

// pix_fdw.counters_reset(server text DEFAULT NULL): forgets the counters of that server (of
// every server when NULL) in this database.
Datum
pix_fdw_counters_reset(PG_FUNCTION_ARGS)
{
	ResumePayments();
	const char *server = PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
	CppGuard([&] {
		std::string name = server ? server : "";
		pix::Counters().Reset(server ? &name : nullptr);
	});
	PG_RETURN_VOID();
}

}  // extern "C"
#pragma GCC visibility pop
