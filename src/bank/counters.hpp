// Counters of the calls made to the bank (the view pix_fdw.counters), per server and endpoint
// class (the rate classes of limits.cpp: token, extrato, saldo, pix, cobrancas, ...). They
// live in memory only: in PostgreSQL's shared memory when pix_fdw is preloaded (every
// backend of a database adds to the same rows; src/pg/counters.cpp), else in this process.
// Nothing is ever written to a table for them.
#pragma once
#include "bank/cpp_only.hpp"

#include <string>
#include <vector>

namespace pix {

// The columns of pix_fdw.counters after server and endpoint, in that order.
enum Counter : int {
	kCountCalls,       // HTTP requests sent (every attempt, retries included)
	kCountPages,       // pages (or single answers) of rows received
	kCountBytes,       // response body bytes, after decoding
	kCountStatus2xx,   // answers by status class
	kCountStatus4xx,   // (429s included)
	kCountStatus5xx,
	kCountStatus429,   // 429 Too Many Requests (also in status_4xx)
	kCountRetries,     // requests repeated after a 429, a 5xx or a lost connection
	kCountRateWaits,   // calls that waited for the client-side rate limit
	kCountTokens,      // access tokens minted
	kCountCacheHits,   // answers served by the result cache without a call
	kNumCounters
};

// The SQL column name of a counter ("calls", "status_2xx", ...).
const char *CounterName(Counter c);

// At most this many rows (servers x endpoints) are kept; once they are all taken, further
// pairs count into one row whose server and endpoint are both kOverflow.
constexpr int kMaxCounterRows = 512;
constexpr const char *kOverflow = "(other)";

// One row of the view.
struct CounterRow {
	std::string server;
	std::string endpoint;
	long long values[kNumCounters] = {};
	long long since_us = 0;  // when this row started counting (first count since start or reset), Unix µs
};

// Wall-clock microseconds since the Unix epoch (for CounterRow::since_us).
long long UnixMicros();

class CounterStore {
public:
	virtual ~CounterStore() = default;
	// Adds n to counter c of (server, endpoint). May throw (never a partial update).
	virtual void Add(const std::string &server, const std::string &endpoint, Counter c, long long n) = 0;
	// Every row, in no particular order.
	virtual std::vector<CounterRow> Snapshot() = 0;
	// Forgets the rows of `server` (every row when nullptr): they start again, with a new
	// `since`, at their next count. Returns how many rows were forgotten.
	virtual int Reset(const std::string *server) = 0;
};

// This process's counters (when pix_fdw is not preloaded).
class LocalCounterStore final : public CounterStore {
public:
	void Add(const std::string &server, const std::string &endpoint, Counter c, long long n) override;
	std::vector<CounterRow> Snapshot() override;
	int Reset(const std::string *server) override;

private:
	std::vector<CounterRow> rows_;  // few: servers x endpoints in use
};

// The counters in use: the shared ones once installed, else this process's.
CounterStore &Counters();
void InstallCounterStore(CounterStore *store);

// Adds n to counter c of (server, endpoint class); endpoint "" counts as "other".
void Count(const std::string &server, const std::string &endpoint, Counter c, long long n = 1);

// For the result cache: an answer of `endpoint` (a rate class, RateClassOf(path)) for server
// `server` was served without calling the bank.
inline void
CountCacheHit(const std::string &server, const std::string &endpoint)
{
	Count(server, endpoint, kCountCacheHits);
}

}  // namespace pix
