// Client-side rate limits and shared tokens, as the bank layer sees them: budgets per
// endpoint class (the server option rate_limits), a limiter that reserves the moment of each
// call, and a token store with single-flight minting. Both have an in-process version here;
// src/pg/shared.cpp puts them in PostgreSQL's shared memory when pix_fdw is preloaded.
#pragma once
#include "bank/cpp_only.hpp"

#include <array>
#include <map>
#include <string>

namespace pix {

// SHA-256 of a string: fixed-size keys for shared memory (never a secret in clear).
using Digest = std::array<unsigned char, 32>;
Digest Sha256(const std::string &s);

// Milliseconds on CLOCK_MONOTONIC, which every process of the machine shares.
long long MonotonicMs();

// At most `calls` calls in any `window_ms`.
struct RateBudget {
	int calls = 0;
	long window_ms = 0;
};

constexpr int kMaxBudgetCalls = 1000;  // per window, so that a window's log fits in memory

// The budgets of one server, per endpoint class ("token", "extrato", "saldo", ...).
struct RateLimits {
	bool on = true;
	std::map<std::string, RateBudget> budgets;

	// nullptr when calls of that class are not limited.
	const RateBudget *Find(const std::string &cls) const;
};

// 'on': the bank's published limits (ref §2.2, production column).
RateLimits DefaultRateLimits();
// The server option rate_limits: 'on', 'off', or per-endpoint budgets on top of the
// defaults, e.g. 'extrato=20/min, saldo=5/10s, token=off'. Throws Error (22023) saying
// what is wrong.
RateLimits ParseRateLimits(const std::string &text);
// The endpoint class of a request path (query ignored); "" when none applies.
const char *RateClassOf(const std::string &path);
// "token, extrato, ..." for hints.
std::string RateClassNames();

// Reserves call times in a sliding log of the last `calls` calls. A call may go at the
// earliest moment t >= now when the call `calls` places back is at least a window (plus a
// small margin for clock and network skew against the bank) behind t.
class RateLimiter {
public:
	virtual ~RateLimiter() = default;
	// Returns that moment t. When t <= latest_ms the call is counted at t (the caller sends
	// at t, or its slot goes unused); otherwise nothing is counted.
	virtual long long Reserve(const Digest &key, const RateBudget &budget, long long now_ms, long long latest_ms) = 0;
};

// The log itself, on memory the caller owns: ring[0..calls) with `count` entries, oldest at
// `head`. A changed budget must start a new log.
long long ReserveInLog(long long *ring, int calls, int &head, int &count, long window_ms, long long now_ms,
                       long long latest_ms);

// This process's limiter (used when pix_fdw is not preloaded).
RateLimiter &ProcessRateLimiter();

// Tokens by credential and scope set. Take either hands out a valid token, makes the caller
// the one minter of the key (it must then Publish or Abandon), or says another process is
// minting it right now (poll again shortly).
class TokenStore {
public:
	enum class Claim { kHit, kMint, kWait };
	virtual ~TokenStore() = default;
	virtual Claim Take(const Digest &key, long long now_ms, std::string &token) = 0;
	virtual void Publish(const Digest &key, const std::string &token, long long renew_at_ms) = 0;
	virtual void Abandon(const Digest &key) = 0;
	// The bank refused this token (401): forget it unless it was already replaced.
	virtual void Forget(const Digest &key, const std::string &token) = 0;
};

// One client's own tokens (never waits: one process, one thread).
class LocalTokenStore final : public TokenStore {
public:
	Claim Take(const Digest &key, long long now_ms, std::string &token) override;
	void Publish(const Digest &key, const std::string &token, long long renew_at_ms) override;
	void Abandon(const Digest &) override {}
	void Forget(const Digest &key, const std::string &token) override;

private:
	struct Entry {
		std::string token;
		long long renew_at_ms;
	};
	std::map<Digest, Entry> tokens_;
};

}  // namespace pix
