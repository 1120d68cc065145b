// Tokens and rate-limit call logs in shared memory, for every backend of the cluster, when
// pix_fdw is in shared_preload_libraries (the space must be reserved at postmaster start).
// Without preloading, SharedTokens() and SharedLimiter() return nullptr and each backend
// keeps its own (src/bank/limits.hpp).
//
// Locks are held only for copies in fixed-size slots: never across a network wait or a
// sleep, never around code that can throw or raise. A mint is claimed under the lock (one
// minter per credential and scope set), done without it, and published or abandoned after;
// a claim whose backend was cancelled is released by that backend on its way out, one whose
// backend died is taken over by the next backend that finds it.
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

#include <signal.h>

#include <cerrno>
#include <cstring>

namespace pix::pg {

namespace {

constexpr int kTokenSlots = 64;
constexpr int kMaxTokenLen = 4096;
constexpr int kLimitSlots = 128;
constexpr long long kStaleClaimMs = 5 * 60 * 1000;  // longer than any mint can take
constexpr int kFetchSlots = 128;
// A fetch claim older than this is taken over: longer than one rate-limit wait (a minute and
// its margin) plus the fetch itself, so that waiting for a claim never costs more than
// calling the bank would have.
constexpr long long kFetchClaimMs = 90 * 1000;

struct TokenSlot {
	bool used;
	Digest key;
	int minter_pid;          // 0: nobody is minting it
	long long claimed_ms;
	long long renew_at_ms;   // the token is handed out until then
	long long last_used_ms;
	int len;                 // 0: no token
	char token[kMaxTokenLen];
};

struct LimitSlot {
	bool used;
	Digest key;
	RateBudget budget;
	int head, count;
	long long last_ms;       // latest reserved call
	long long ring[kMaxBudgetCalls];
};

struct FetchSlot {
	Digest key;
	int pid;                 // 0: free
	long long claimed_ms;
};

struct Area {
	LWLock *tokens_lock;
	LWLock *limits_lock;
	LWLock *fetch_lock;
	TokenSlot tokens[kTokenSlots];
	LimitSlot limits[kLimitSlots];
	FetchSlot fetches[kFetchSlots];
};

Area *area = nullptr;  // set in the postmaster, inherited by every backend
bool exit_callback = false;

constexpr int kMaxRegions = 4;
SharedRegion regions[kMaxRegions];
int nregions = 0;
#if PG_VERSION_NUM >= 150000
shmem_request_hook_type prev_shmem_request = nullptr;
#endif
shmem_startup_hook_type prev_shmem_startup = nullptr;

void
RequestShmem()
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request)
		prev_shmem_request();
#endif
	for (int i = 0; i < nregions; i++) {
		Size bytes = regions[i].size();
		if (bytes == 0)
			continue;
		RequestAddinShmemSpace(MAXALIGN(bytes));
		RequestNamedLWLockTranche(regions[i].name, regions[i].nlocks);
	}
}

void
StartupShmem()
{
	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (int i = 0; i < nregions; i++) {
		Size bytes = regions[i].size();
		if (bytes == 0)
			continue;
		bool found = false;
		void *base = ShmemInitStruct(regions[i].name, bytes, &found);
		regions[i].attach(base, found, GetNamedLWLockTranche(regions[i].name));
	}
	LWLockRelease(AddinShmemInitLock);
}

Size
AreaSize()
{
	return sizeof(Area);
}

void
AttachArea(void *base, bool found, LWLockPadded *locks)
{
	area = static_cast<Area *>(base);
	if (!found) {
		memset(base, 0, sizeof(Area));  // plain data: no constructor to run
		area->tokens_lock = &locks[0].lock;
		area->limits_lock = &locks[1].lock;
		area->fetch_lock = &locks[2].lock;
	}
}

void
Lock(LWLock *lock)
{
	PgGuard([&] { LWLockAcquire(lock, LW_EXCLUSIVE); });
}

bool
Alive(int pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

// Gives up this backend's fetch claims (at the end of its transactions and of the process).
// At transaction end no LWLock is held and the lock guards only a scan of the slots: wait for
// it (waiting backends take it every few ms, so a conditional try would often miss). At exit,
// best effort: if the lock is not free right away, the claims are taken over as stale later.
void
ReleaseFetchClaims(bool wait)
{
	if (!area)
		return;
	if (wait)
		LWLockAcquire(area->fetch_lock, LW_EXCLUSIVE);
	else if (!LWLockConditionalAcquire(area->fetch_lock, LW_EXCLUSIVE))
		return;
	for (FetchSlot &s : area->fetches)
		if (s.pid == MyProcPid)
			s.pid = 0;
	LWLockRelease(area->fetch_lock);
}

// A backend leaving (FATAL, pg_terminate_backend, end of session) gives up its claims.
// Best effort: if the lock is not free right away, the claim is taken over as stale later.
void
ReleaseClaims(int, Datum)
{
	ReleaseFetchClaims(false);
	if (!area || !LWLockConditionalAcquire(area->tokens_lock, LW_EXCLUSIVE))
		return;
	for (TokenSlot &s : area->tokens)
		if (s.used && s.minter_pid == MyProcPid)
			s.minter_pid = 0;
	LWLockRelease(area->tokens_lock);
}

// A scan that stopped before its run was complete (LIMIT, an error, a cancel) holds its
// claim until its transaction ends.
void
FetchClaimsAtXactEnd(XactEvent event, void *)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
	    event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		ReleaseFetchClaims(true);
}

void
RegisterExitCallback()
{
	if (!exit_callback) {
		PgGuard([] { before_shmem_exit(ReleaseClaims, (Datum) 0); });
		exit_callback = true;
	}
}

TokenSlot *
FindToken(const Digest &key)
{
	for (TokenSlot &s : area->tokens)
		if (s.used && s.key == key)
			return &s;
	return nullptr;
}

class SharedTokenStore final : public TokenStore {
public:
	Claim
	Take(const Digest &key, long long now_ms, std::string &token) override
	{
		RegisterExitCallback();
		static char copy[kMaxTokenLen];
		int len = 0;
		Claim claim = Claim::kMint;
		Lock(area->tokens_lock);
		TokenSlot *s = FindToken(key);
		if (s && s->len > 0 && now_ms < s->renew_at_ms) {
			memcpy(copy, s->token, s->len);
			len = s->len;
			s->last_used_ms = now_ms;
			claim = Claim::kHit;
		} else if (s && s->minter_pid != 0 && s->minter_pid != MyProcPid && now_ms - s->claimed_ms < kStaleClaimMs &&
		           Alive(s->minter_pid)) {
			claim = Claim::kWait;
		} else {
			if (!s) {
				// A free slot, else the least recently used one that nobody is minting.
				TokenSlot *lru = nullptr;
				for (TokenSlot &t : area->tokens) {
					if (!t.used) {
						s = &t;
						break;
					}
					if (t.minter_pid == 0 && (!lru || t.last_used_ms < lru->last_used_ms))
						lru = &t;
				}
				if (!s)
					s = lru;
			}
			if (s) {  // else every slot is being minted: mint without sharing
				s->used = true;
				s->key = key;
				s->len = 0;
				s->minter_pid = MyProcPid;
				s->claimed_ms = now_ms;
				s->last_used_ms = now_ms;
			}
		}
		LWLockRelease(area->tokens_lock);
		if (claim == Claim::kHit)
			token.assign(copy, len);
		return claim;
	}

	void
	Publish(const Digest &key, const std::string &token, long long renew_at_ms) override
	{
		int len = token.size() < static_cast<size_t>(kMaxTokenLen) ? static_cast<int>(token.size()) : 0;
		Lock(area->tokens_lock);
		TokenSlot *s = FindToken(key);
		if (s && (s->minter_pid == MyProcPid || s->minter_pid == 0)) {
			memcpy(s->token, token.data(), len);
			s->len = len;
			s->renew_at_ms = renew_at_ms;
			s->minter_pid = 0;
		}
		LWLockRelease(area->tokens_lock);
	}

	void
	Abandon(const Digest &key) override
	{
		Lock(area->tokens_lock);
		TokenSlot *s = FindToken(key);
		if (s && s->minter_pid == MyProcPid)
			s->minter_pid = 0;
		LWLockRelease(area->tokens_lock);
	}

	void
	Forget(const Digest &key, const std::string &token) override
	{
		Lock(area->tokens_lock);
		TokenSlot *s = FindToken(key);
		if (s && s->len == static_cast<int>(token.size()) && memcmp(s->token, token.data(), s->len) == 0)
			s->len = 0;
		LWLockRelease(area->tokens_lock);
	}
};

class SharedRateLimiter final : public RateLimiter {
public:
	long long
	Reserve(const Digest &key, const RateBudget &b, long long now_ms, long long latest_ms) override
	{
		long long at = -1;
		Lock(area->limits_lock);
		LimitSlot *s = nullptr;
		for (LimitSlot &l : area->limits)
			if (l.used && l.key == key) {
				s = &l;
				break;
			}
		if (!s) {
			// A free slot, else one whose calls have all left their window.
			for (LimitSlot &l : area->limits)
				if (!l.used || l.last_ms + 2 * l.budget.window_ms < now_ms) {
					s = &l;
					break;
				}
			if (s) {
				s->used = true;
				s->key = key;
				s->budget = RateBudget{0, 0};
			}
		}
		if (s) {
			if (s->budget.calls != b.calls || s->budget.window_ms != b.window_ms) {
				s->budget = b;  // a new budget starts a new log
				s->head = s->count = 0;
				s->last_ms = 0;
			}
			at = ReserveInLog(s->ring, b.calls, s->head, s->count, b.window_ms, now_ms, latest_ms);
			if (at <= latest_ms && at > s->last_ms)
				s->last_ms = at;
		}
		LWLockRelease(area->limits_lock);
		if (!s)  // more servers and endpoints in use than slots: this backend counts alone
			return ProcessRateLimiter().Reserve(key, b, now_ms, latest_ms);
		return at;
	}
};

class SharedFetchClaims final : public FetchClaims {
public:
	bool
	Claim(const Digest &key, long long now_ms) override
	{
		RegisterExitCallback();
		if (!xact_callback) {
			PgGuard([] { RegisterXactCallback(FetchClaimsAtXactEnd, nullptr); });
			xact_callback = true;
		}
		bool mine = true;
		Lock(area->fetch_lock);
		FetchSlot *s = nullptr, *free_slot = nullptr;
		for (FetchSlot &f : area->fetches) {
			if (f.pid != 0 && f.key == key)
				s = &f;
			else if (!free_slot && (f.pid == 0 || now_ms - f.claimed_ms >= kFetchClaimMs))
				free_slot = &f;
		}
		if (s && s->pid != MyProcPid && now_ms - s->claimed_ms < kFetchClaimMs && Alive(s->pid))
			mine = false;  // being fetched
		else if (s || (s = free_slot) != nullptr) {  // else every slot is taken: fetch unshared
			s->key = key;
			s->pid = MyProcPid;
			s->claimed_ms = now_ms;
		}
		LWLockRelease(area->fetch_lock);
		return mine;
	}

	void
	Release(const Digest &key) override
	{
		Lock(area->fetch_lock);
		for (FetchSlot &f : area->fetches)
			if (f.pid == MyProcPid && f.key == key)
				f.pid = 0;
		LWLockRelease(area->fetch_lock);
	}

private:
	bool xact_callback = false;
};

SharedTokenStore shared_tokens;
SharedRateLimiter shared_limiter;
SharedFetchClaims shared_fetch_claims;

}  // namespace

void
InstallSharedState()
{
	RegisterSharedRegion({"pix_fdw", 3, AreaSize, AttachArea});
}

void
RegisterSharedRegion(const SharedRegion &region)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	Assert(nregions < kMaxRegions);
	if (nregions < kMaxRegions)
		regions[nregions++] = region;
}

void
InstallSharedMemory()
{
	if (!process_shared_preload_libraries_in_progress || nregions == 0)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = RequestShmem;
#else
	RequestShmem();
#endif
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = StartupShmem;
}

TokenStore *
SharedTokens()
{
	return area ? &shared_tokens : nullptr;
}

RateLimiter *
SharedLimiter()
{
	return area ? &shared_limiter : nullptr;
}

FetchClaims *
SharedFetchClaims()
{
	return area ? &shared_fetch_claims : nullptr;
}

}  // namespace pix::pg
