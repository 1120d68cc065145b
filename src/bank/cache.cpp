// The per-process result cache (LRU, bounded in bytes).
#include "bank/cache.hpp"

namespace pix {

bool
CacheFresh(const CacheMeta &meta, long long now_ms, long ttl_ms, long ttl_closed_ms)
{
	long long age = now_ms - meta.fetched_ms;
	long ttl = meta.closed ? ttl_closed_ms : ttl_ms;
	return ttl > 0 && age >= 0 && age < ttl;
}

bool
LocalResponseCache::Find(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run,
                         std::string &body, CacheMeta &meta)
{
	auto it = entries_.find(key);
	if (it == entries_.end())
		return false;
	Entry &e = it->second;
	if (!CacheFresh(e.meta, now_ms, ttl_ms, ttl_closed_ms)) {
		Erase(it);
		return false;
	}
	if (run == 0 ? !e.meta.complete : e.meta.run != run)
		return false;
	body = e.body;
	meta = e.meta;
	lru_.splice(lru_.begin(), lru_, e.lru);
	return true;
}

bool
LocalResponseCache::Has(const Digest &key, long long now_ms, long ttl_ms, long ttl_closed_ms, long long run)
{
	auto it = entries_.find(key);
	if (it == entries_.end() || !CacheFresh(it->second.meta, now_ms, ttl_ms, ttl_closed_ms))
		return false;
	return run == 0 ? it->second.meta.complete : it->second.meta.run == run;
}

void
LocalResponseCache::Erase(std::map<Digest, Entry>::iterator it)
{
	used_ -= static_cast<long long>(it->second.body.size()) + kOverhead;
	lru_.erase(it->second.lru);
	entries_.erase(it);
}

void
LocalResponseCache::Shrink(long long room)
{
	while (!lru_.empty() && used_ + room > capacity_)
		Erase(entries_.find(lru_.back()));
}

void
LocalResponseCache::Store(const Digest &key, const std::string &body, const CacheMeta &meta)
{
	auto old = entries_.find(key);
	if (old != entries_.end())
		Erase(old);
	long long size = static_cast<long long>(body.size()) + kOverhead;
	if (size > capacity_ / 4)
		return;
	Shrink(size);
	lru_.push_front(key);
	try {
		Entry &e = entries_[key];
		e.lru = lru_.begin();
		e.meta = meta;
		e.body = body;
	} catch (...) {
		auto it = entries_.find(key);
		if (it != entries_.end())
			entries_.erase(it);
		lru_.pop_front();
		throw;
	}
	used_ += size;
}

void
LocalResponseCache::Complete(const Digest &key, long long run)
{
	auto it = entries_.find(key);
	if (it != entries_.end() && it->second.meta.run == run)
		it->second.meta.complete = true;
}

long long
LocalResponseCache::Clear()
{
	long long n = static_cast<long long>(entries_.size());
	entries_.clear();
	lru_.clear();
	used_ = 0;
	return n;
}

void
LocalResponseCache::SetCapacity(long long bytes)
{
	capacity_ = bytes;
	Shrink(0);
}

LocalResponseCache &
ProcessResponseCache()
{
	static LocalResponseCache cache;  // one backend, one thread
	return cache;
}

}  // namespace pix
