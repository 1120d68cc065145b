// The result cache's memory: a bounded region of shared memory when pix_fdw is preloaded
// (pix_fdw.cache_size, reserved at postmaster start), else this backend's LocalResponseCache
// bounded by the same setting. pix_fdw.cache_clear() empties both.
//
// The shared region is a table of entries (hashed by key, in LRU order) and a pool of
// fixed-size blocks holding the bodies. One LWLock guards it, held only to copy a body in
// or out (never across a network wait), never around code that can throw or raise: a
// body's string is sized before the lock is taken, and filled under it only if the entry
// it was sized for is still there.
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "utils/guc.h"
}

#include <cstring>

namespace pix::pg {

namespace {

constexpr int kBlock = 4096;  // bytes of body per block

struct Entry {
	Digest key;
	CacheMeta meta;
	long long stamp;  // changes whenever the slot gets another answer
	int len;
	int first_block;  // -1: empty body
	int next;         // in its bucket's chain, or in the free list
	int lru_prev, lru_next;
	bool used;
};

struct Area {
	LWLock *lock;
	int nentries, nblocks, nbuckets;
	int free_entry, free_block, nfree_blocks;
	int lru_head, lru_tail;  // most and least recently used
	long long stamp;
	long long count;
};

int cache_size_kb = 16384;  // pix_fdw.cache_size
bool preloaded = false;
Area *area = nullptr;
Entry *entries = nullptr;
int *buckets = nullptr;
int *block_next = nullptr;
char *blocks = nullptr;

int
Blocks()
{
	long long bytes = static_cast<long long>(cache_size_kb) * 1024;
	long long per = kBlock + sizeof(int) + sizeof(Entry) + sizeof(int);
	return static_cast<int>(bytes / per);
}

Size
AreaSize()
{
	int n = Blocks();
	return MAXALIGN(sizeof(Area)) + MAXALIGN(sizeof(Entry) * n) + MAXALIGN(sizeof(int) * n) * 2 +
	       static_cast<Size>(kBlock) * n;
}

void
Reset()
{
	area->free_entry = -1;
	for (int i = area->nentries - 1; i >= 0; i--) {
		entries[i].used = false;
		entries[i].next = area->free_entry;
		area->free_entry = i;
	}
	area->free_block = -1;
	for (int i = area->nblocks - 1; i >= 0; i--) {
		block_next[i] = area->free_block;
		area->free_block = i;
	}
	area->nfree_blocks = area->nblocks;
	for (int i = 0; i < area->nbuckets; i++)
		buckets[i] = -1;
	area->lru_head = area->lru_tail = -1;
	area->count = 0;
}

Size
RegionSize()
{
	return Blocks() == 0 ? 0 : AreaSize();
}

void
AttachArea(void *region, bool found, LWLockPadded *locks)
{
	char *base = static_cast<char *>(region);
	int n = Blocks();
	area = reinterpret_cast<Area *>(base);
	base += MAXALIGN(sizeof(Area));
	entries = reinterpret_cast<Entry *>(base);
	base += MAXALIGN(sizeof(Entry) * n);
	buckets = reinterpret_cast<int *>(base);
	base += MAXALIGN(sizeof(int) * n);
	block_next = reinterpret_cast<int *>(base);
	base += MAXALIGN(sizeof(int) * n);
	blocks = base;
	if (!found) {
		memset(static_cast<void *>(area), 0, sizeof(Area));
		area->lock = &locks[0].lock;
		area->nentries = area->nblocks = area->nbuckets = n;
		Reset();
	}
}

int
Bucket(const Digest &key)
{
	uint32 h;
	memcpy(&h, key.data(), sizeof h);
	return static_cast<int>(h % static_cast<uint32>(area->nbuckets));
}

int
Lookup(const Digest &key)
{
	for (int i = buckets[Bucket(key)]; i >= 0; i = entries[i].next)
		if (entries[i].key == key)
			return i;
	return -1;
}

void
LruUnlink(int i)
{
	Entry &e = entries[i];
	if (e.lru_prev >= 0)
		entries[e.lru_prev].lru_next = e.lru_next;
	else
		area->lru_head = e.lru_next;
	if (e.lru_next >= 0)
		entries[e.lru_next].lru_prev = e.lru_prev;
	else
		area->lru_tail = e.lru_prev;
}

void
LruPush(int i)
{
	Entry &e = entries[i];
	e.lru_prev = -1;
	e.lru_next = area->lru_head;
	if (area->lru_head >= 0)
		entries[area->lru_head].lru_prev = i;
	area->lru_head = i;
	if (area->lru_tail < 0)
		area->lru_tail = i;
}

void
Remove(int i)
{
	Entry &e = entries[i];
	for (int *p = &buckets[Bucket(e.key)]; *p >= 0; p = &entries[*p].next)
		if (*p == i) {
			*p = e.next;
			break;
		}
	LruUnlink(i);
	for (int b = e.first_block; b >= 0;) {
		int next = block_next[b];
		block_next[b] = area->free_block;
		area->free_block = b;
		area->nfree_blocks++;
		b = next;
	}
	e.used = false;
	e.next = area->free_entry;
	area->free_entry = i;
	area->count--;
}

void
Lock()
{
	PgGuard([] { LWLockAcquire(area->lock, LW_EXCLUSIVE); });
}

class SharedCache final : public ResponseCache {
public:
	bool
	Find(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run, std::string &body,
	     CacheMeta &meta) override
	{
		long long stamp = 0;
		int len = -1;
		Lock();
		int i = Lookup(key);
		if (i >= 0) {
			Entry &e = entries[i];
			if (!CacheFresh(e.meta, now_ms, ttl_ms, ttl_closed_ms))
				Remove(i);
			else if (run == 0 ? e.meta.complete : e.meta.run == run) {
				stamp = e.stamp;
				len = e.len;
			}
		}
		LWLockRelease(area->lock);
		if (len < 0)
			return false;
		body.resize(static_cast<size_t>(len));  // may throw: no lock held
		bool hit = false;
		Lock();
		i = Lookup(key);
		if (i >= 0 && entries[i].stamp == stamp) {
			Entry &e = entries[i];
			int off = 0;
			for (int b = e.first_block; b >= 0 && off < len; b = block_next[b]) {
				int n = len - off < kBlock ? len - off : kBlock;
				memcpy(&body[off], blocks + static_cast<size_t>(b) * kBlock, n);
				off += n;
			}
			meta = e.meta;
			LruUnlink(i);
			LruPush(i);
			hit = true;
		}
		LWLockRelease(area->lock);
		return hit;
	}

	bool
	Has(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run) override
	{
		Lock();
		int i = Lookup(key);
		bool has = i >= 0 && CacheFresh(entries[i].meta, now_ms, ttl_ms, ttl_closed_ms) &&
		           (run == 0 ? entries[i].meta.complete : entries[i].meta.run == run);
		LWLockRelease(area->lock);
		return has;
	}

	void
	Store(const Digest &key, const std::string &body, const CacheMeta &meta) override
	{
		long long len = static_cast<long long>(body.size());
		int need = static_cast<int>((len + kBlock - 1) / kBlock);
		bool fits = len <= static_cast<long long>(cache_size_kb) * 1024 / 4 && need <= area->nblocks / 4;
		Lock();
		int old = Lookup(key);
		if (old >= 0)
			Remove(old);
		if (fits) {
			while ((area->nfree_blocks < need || area->free_entry < 0) && area->lru_tail >= 0)
				Remove(area->lru_tail);
			fits = area->nfree_blocks >= need && area->free_entry >= 0;
		}
		if (fits) {
			int i = area->free_entry;
			Entry &e = entries[i];
			area->free_entry = e.next;
			e.used = true;
			e.key = key;
			e.meta = meta;
			e.stamp = ++area->stamp;
			e.len = static_cast<int>(len);
			e.first_block = -1;
			int *link = &e.first_block;
			for (long long off = 0; off < len; off += kBlock) {
				int b = area->free_block;
				area->free_block = block_next[b];
				area->nfree_blocks--;
				block_next[b] = -1;
				*link = b;
				link = &block_next[b];
				memcpy(blocks + static_cast<size_t>(b) * kBlock, body.data() + off,
				       len - off < kBlock ? len - off : kBlock);
			}
			int &head = buckets[Bucket(key)];
			e.next = head;
			head = i;
			LruPush(i);
			area->count++;
		}
		LWLockRelease(area->lock);
	}

	void
	Complete(const Digest &key, long long run) override
	{
		Lock();
		int i = Lookup(key);
		if (i >= 0 && entries[i].meta.run == run)
			entries[i].meta.complete = true;
		LWLockRelease(area->lock);
	}

	long long
	Clear() override
	{
		Lock();
		long long n = area->count;
		Reset();
		LWLockRelease(area->lock);
		return n;
	}
};

SharedCache shared_cache;

}  // namespace

void
InstallResultCache()
{
	// A shared region is sized once, at postmaster start; a backend's own cache (not
	// preloaded: PostgreSQL allows PGC_POSTMASTER settings only then) follows reloads.
	preloaded = process_shared_preload_libraries_in_progress;
	DefineCustomIntVariable("pix_fdw.cache_size",
	                        "Memory for the result cache (shared when pix_fdw is preloaded, else per backend).",
	                        "Answers larger than a quarter of it are not cached; 0 turns the cache off.",
	                        &cache_size_kb, 16384, 0, 1024 * 1024, preloaded ? PGC_POSTMASTER : PGC_SIGHUP,
	                        GUC_UNIT_KB, nullptr, nullptr, nullptr);
	RegisterSharedRegion({"pix_fdw_cache", 1, RegionSize, AttachArea});
}

ResponseCache *
ResultCache()
{
	if (area)
		return &shared_cache;
	if (cache_size_kb == 0 || preloaded)
		return nullptr;  // off, or preloaded without a region (cache_size 0)
	LocalResponseCache &local = ProcessResponseCache();
	local.SetCapacity(static_cast<long long>(cache_size_kb) * 1024);
	return &local;
}

}  // namespace pix::pg

using namespace pix::pg;

#pragma GCC visibility push(default)
extern "C" {

PG_FUNCTION_INFO_V1(pix_fdw_cache_clear);

// Empties this backend's result cache and, when preloaded, the shared one; returns the
// answers dropped. EXECUTE is revoked from PUBLIC (the SQL script): emptying it only costs
// calls, but a role that may do it can make every session spend the bank's budgets again.
Datum
pix_fdw_cache_clear(PG_FUNCTION_ARGS)
{
	long long n = CppGuard([] {
		long long dropped = pix::ProcessResponseCache().Clear();
		if (area)
			dropped += shared_cache.Clear();
		return dropped;
	});
	PG_RETURN_INT64(n);
}

}  // extern "C"
#pragma GCC visibility pop
