// This process's call counters, and the choice between them and the shared ones.
#include "bank/counters.hpp"

#include <algorithm>
#include <chrono>

namespace pix {

namespace {

LocalCounterStore &
ProcessCounters()
{
	static LocalCounterStore store;  // one backend, one thread
	return store;
}

CounterStore *installed = nullptr;

}  // namespace

const char *
CounterName(Counter c)
{
	static const char *const names[kNumCounters] = {"calls",      "pages",      "bytes",      "status_2xx",
	                                                "status_4xx", "status_5xx", "status_429", "retries",
	                                                "rate_waits", "tokens",     "cache_hits"};
	return c >= 0 && c < kNumCounters ? names[c] : "?";
}

long long
UnixMicros()
{
	using namespace std::chrono;
	return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

void
LocalCounterStore::Add(const std::string &server, const std::string &endpoint, Counter c, long long n)
{
	if (c < 0 || c >= kNumCounters)
		return;
	for (CounterRow &r : rows_)
		if (r.server == server && r.endpoint == endpoint) {
			r.values[c] += n;
			return;
		}
	bool full = rows_.size() + 1 >= static_cast<size_t>(kMaxCounterRows);
	if (full && !(server == kOverflow && endpoint == kOverflow)) {
		Add(kOverflow, kOverflow, c, n);
		return;
	}
	CounterRow row;
	row.server = server;
	row.endpoint = endpoint;
	row.since_us = UnixMicros();
	row.values[c] = n;
	rows_.push_back(std::move(row));
}

std::vector<CounterRow>
LocalCounterStore::Snapshot()
{
	return rows_;
}

int
LocalCounterStore::Reset(const std::string *server)
{
	size_t before = rows_.size();
	rows_.erase(std::remove_if(rows_.begin(), rows_.end(),
	                           [&](const CounterRow &r) { return !server || r.server == *server; }),
	            rows_.end());
	return static_cast<int>(before - rows_.size());
}

CounterStore &
Counters()
{
	return installed ? *installed : ProcessCounters();
}

void
InstallCounterStore(CounterStore *store)
{
	installed = store;
}

void
Count(const std::string &server, const std::string &endpoint, Counter c, long long n)
{
	Counters().Add(server, endpoint.empty() ? std::string("other") : endpoint, c, n);
}

}  // namespace pix
