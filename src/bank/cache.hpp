// The result cache: raw 2xx answer bodies of GETs, by a key that names the user mapping, its credential, the
// account and the exact request (BankClient::CacheKey). What is cached is what the bank sent,
// so parsing, rows and pushdown downstream are unchanged; a multi-page answer is cached page
// by page, and its pages are served only as one run (see BankClient::GetCached).
//
// This file has the in-process version (per backend); src/pg/cache.cpp puts one in
// PostgreSQL's shared memory when pix_fdw is preloaded.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/limits.hpp"

#include <list>
#include <map>
#include <string>

namespace pix {

struct CacheMeta {
	long long fetched_ms = 0;  // MonotonicMs() when the request was sent
	long long run = 0;         // the run (a window's pages read in one pass) the answer belongs to
	bool closed = false;       // the answer covers only days already closed (cache_ttl_closed)
	bool complete = false;     // a run's first page: the run was read to its end and checked
};

// An answer is fresh while younger than ttl_ms (ttl_closed_ms for one stored as closed).
// Find with run 0 asks for a run's first page, which must be complete; with another run, for
// a page of that run. Entries larger than a quarter of the capacity are not kept.
class ResponseCache {
public:
	virtual ~ResponseCache() = default;
	virtual bool Find(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run,
	                  std::string &body, CacheMeta &meta) = 0;
	// Whether Find would serve key now, without its body and without counting as a use.
	virtual bool Has(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run) = 0;
	// Replaces any answer under key.
	virtual void Store(const Digest &key, const std::string &body, const CacheMeta &meta) = 0;
	// The run that `key` opened was read to its end: its first page may now be served.
	virtual void Complete(const Digest &key, long long run) = 0;
	// Empties it; returns the answers dropped.
	virtual long long Clear() = 0;
};

// This process's cache: LRU, bounded by SetCapacity bytes (bodies plus a small overhead).
class LocalResponseCache final : public ResponseCache {
public:
	bool Find(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run, std::string &body,
	          CacheMeta &meta) override;
	bool Has(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run) override;
	void Store(const Digest &key, const std::string &body, const CacheMeta &meta) override;
	void Complete(const Digest &key, long long run) override;
	long long Clear() override;
	void SetCapacity(long long bytes);
	long long
	Used() const
	{
		return used_;
	}
	size_t
	Entries() const
	{
		return entries_.size();
	}

	static constexpr long long kOverhead = 128;  // bytes counted per entry besides its body

private:
	struct Entry {
		std::string body;
		CacheMeta meta;
		std::list<Digest>::iterator lru;
	};
	void Erase(std::map<Digest, Entry>::iterator it);
	void Shrink(long long room);

	std::map<Digest, Entry> entries_;
	std::list<Digest> lru_;  // most recently used first
	long long used_ = 0;
	long long capacity_ = 16LL << 20;
};

// One fetch at a time per key across the backends that share a cache (pix_fdw preloaded):
// a backend that misses a run's first page claims its key; another that misses it while the
// claim stands waits for that run to land in the cache instead of calling the bank too (and
// spending another call of the endpoint's budget). A claim ends with its run (Release), with
// its holder's transaction or process, or when it is older than a bound; nullptr in
// ServerConfig (not preloaded: nothing is shared) means no claims.
class FetchClaims {
public:
	virtual ~FetchClaims() = default;
	// true: this backend fetches (it holds the claim now, or nothing can be shared); false:
	// another live backend is fetching the key.
	virtual bool Claim(const Digest &key, long long now_ms) = 0;
	// Gives up this backend's claim on key, if it holds one.
	virtual void Release(const Digest &key) = 0;
};

// Whether an answer stored as `meta` is fresh now under these ttls (shared by both caches).
bool CacheFresh(const CacheMeta &meta, long long now_ms, long ttl_ms, long ttl_closed_ms);

LocalResponseCache &ProcessResponseCache();

}  // namespace pix
