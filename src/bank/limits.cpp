// Rate-limit budgets, the sliding call log, and the in-process limiter and token store.
#include "bank/limits.hpp"

#include "bank/error.hpp"

#include <algorithm>
#include <openssl/evp.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace pix {

namespace {

constexpr long kMinute = 60000;

struct ClassDef {
	const char *name;
	const char *path;  // path prefix (longest match wins)
	int calls;         // per window, ref §2.2 (production); 0: not limited by default
	long window_ms = kMinute;
};

// Ref §2.2. "extrato" is the table of that name (GET /banking/v2/extrato/completo);
// "extrato_simples" is GET /banking/v2/extrato, counted apart by the bank. "pix_pagamento"
// is the payment, POST /banking/v2/pix: 60 a minute but "limited to 1 call per second"
// (ref §5.1), so its window is a second; GET /banking/v2/pix/{id} is "pix_enviados" (the
// longer prefix).
const ClassDef kClasses[] = {
    {"token", "/oauth/v2/token", 5},
    {"saldo", "/banking/v2/saldo", 10},
    {"extrato", "/banking/v2/extrato/completo", 10},
    {"extrato_simples", "/banking/v2/extrato", 10},
    {"extrato_exportar", "/banking/v2/extrato/exportar", 10},
    {"pix_enviados", "/banking/v2/pix/", 20},
    {"pix_pagamento", "/banking/v2/pix", 1, 1000},
    {"pix", "/pix/v2/pix", 120},
    {"cobrancas", "/pix/v2/cob", 120},
};

std::string
Trim(const std::string &s)
{
	size_t b = 0, e = s.size();
	while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
		b++;
	while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
		e--;
	return s.substr(b, e - b);
}

[[noreturn]] void
Bad(const std::string &what)
{
	throw Error(sqlstate::kInvalidParameterValue, "invalid value for option \"rate_limits\": " + what, {},
	            "Write 'on' (the bank's published limits), 'off', or budgets such as 'extrato=10/min, "
	            "saldo=5/30s, token=off' for the endpoints " +
	                RateClassNames() + ".");
}

// "10/min", "5/30s", "1/s", "100/5min", "off" (budget with calls 0).
RateBudget
ParseBudget(const std::string &name, const std::string &v)
{
	if (v == "off")
		return RateBudget{0, 0};
	size_t slash = v.find('/');
	std::string n = Trim(v.substr(0, slash));
	if (slash == std::string::npos || n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos)
		Bad("the budget of \"" + name + "\" must be a number of calls per duration, such as 10/min");
	int calls = std::atoi(n.c_str());
	if (calls < 1 || calls > kMaxBudgetCalls)
		Bad("the budget of \"" + name + "\" must be from 1 to " + std::to_string(kMaxBudgetCalls) + " calls");
	std::string d = Trim(v.substr(slash + 1));
	size_t digits = d.find_first_not_of("0123456789");
	long count = 1;
	if (digits != 0) {
		if (digits == std::string::npos || digits > 4)
			Bad("the window of \"" + name + "\" needs a unit: s or min");
		count = std::atol(d.substr(0, digits).c_str());
	}
	std::string unit = Trim(d.substr(digits == std::string::npos ? d.size() : digits));
	long scale = unit == "s" ? 1000 : (unit == "min" ? kMinute : (unit == "h" ? 60 * kMinute : 0));
	if (scale == 0 || count < 1 || count * scale > 60 * kMinute)
		Bad("the window of \"" + name + "\" must be from 1 s to 1 h, with the unit s, min or h");
	return RateBudget{calls, count * scale};
}

}  // namespace

Digest
Sha256(const std::string &s)
{
	Digest d{};
	unsigned int len = 0;
	if (EVP_Digest(s.data(), s.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
		throw Error(sqlstate::kInternal, "SHA-256 failed");
	return d;
}

long long
MonotonicMs()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

const RateBudget *
RateLimits::Find(const std::string &cls) const
{
	if (!on || cls.empty())
		return nullptr;
	auto it = budgets.find(cls);
	return it == budgets.end() || it->second.calls <= 0 ? nullptr : &it->second;
}

RateLimits
DefaultRateLimits()
{
	RateLimits r;
	for (const ClassDef &c : kClasses)
		if (c.calls > 0)
			r.budgets[c.name] = RateBudget{c.calls, c.window_ms};
	return r;
}

RateLimits
ParseRateLimits(const std::string &text)
{
	std::string t = Trim(text);
	RateLimits r = DefaultRateLimits();
	if (t == "on")
		return r;
	if (t == "off") {
		r.on = false;
		r.budgets.clear();
		return r;
	}
	if (t.empty())
		Bad("it must not be empty");
	size_t pos = 0;
	while (pos <= t.size()) {
		size_t comma = t.find(',', pos);
		std::string item = Trim(t.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
		size_t eq = item.find('=');
		if (eq == std::string::npos)
			Bad("\"" + item + "\" is not name=budget");
		std::string name = Trim(item.substr(0, eq));
		bool known = false;
		for (const ClassDef &c : kClasses)
			known |= name == c.name;
		if (!known)
			Bad("unknown endpoint \"" + name + "\"");
		r.budgets[name] = ParseBudget(name, Trim(item.substr(eq + 1)));
		if (comma == std::string::npos)
			break;
		pos = comma + 1;
	}
	return r;
}

const char *
RateClassOf(const std::string &path)
{
	std::string p = path.substr(0, path.find('?'));
	const ClassDef *best = nullptr;
	size_t best_len = 0;
	for (const ClassDef &c : kClasses) {
		size_t n = std::char_traits<char>::length(c.path);
		bool match = p.compare(0, n, c.path) == 0 &&
		             (p.size() == n || c.path[n - 1] == '/' || p[n] == '/');
		if (match && n > best_len) {
			best = &c;
			best_len = n;
		}
	}
	return best ? best->name : "";
}

std::string
RateClassNames()
{
	std::string s;
	for (const ClassDef &c : kClasses)
		s += (s.empty() ? "" : ", ") + std::string(c.name);
	return s;
}

long long
ReserveInLog(long long *ring, int calls, int &head, int &count, long window_ms, long long now_ms,
             long long latest_ms)
{
	// A margin against skew between our clock and the bank's and against network delay: the
	// bank counts arrivals, we count departures. 2% of the window (1.2 s a minute), but at
	// least 250 ms (a quarter of shorter windows): two POSTs a second apart at departure
	// can arrive 0.95 s apart on a loaded machine, and the bank refuses the second.
	long long margin = std::max<long long>(window_ms / 50, std::min<long long>(window_ms / 4, 250));
	long long window = window_ms + margin;
	long long at = now_ms;
	if (count >= calls && ring[head] + window > at)
		at = ring[head] + window;  // the log is sorted: ring[head] is the oldest entry
	if (at > latest_ms)
		return at;
	if (count < calls) {
		ring[(head + count) % calls] = at;
		count++;
	} else {
		ring[head] = at;
		head = (head + 1) % calls;
	}
	return at;
}

RateLimiter &
ProcessRateLimiter()
{
	struct Local final : RateLimiter {
		struct Log {
			RateBudget budget;
			int head = 0, count = 0;
			std::vector<long long> ring;
		};
		std::map<Digest, Log> logs;
		long long
		Reserve(const Digest &key, const RateBudget &b, long long now_ms, long long latest_ms) override
		{
			Log &l = logs[key];
			if (l.budget.calls != b.calls || l.budget.window_ms != b.window_ms) {
				l = Log{b, 0, 0, std::vector<long long>(static_cast<size_t>(b.calls))};
			}
			return ReserveInLog(l.ring.data(), b.calls, l.head, l.count, b.window_ms, now_ms, latest_ms);
		}
	};
	static Local limiter;  // one backend, one thread
	return limiter;
}

TokenStore::Claim
LocalTokenStore::Take(const Digest &key, long long now_ms, std::string &token)
{
	auto it = tokens_.find(key);
	if (it != tokens_.end() && now_ms < it->second.renew_at_ms) {
		token = it->second.token;
		return Claim::kHit;
	}
	if (it != tokens_.end())
		tokens_.erase(it);
	return Claim::kMint;
}

void
LocalTokenStore::Publish(const Digest &key, const std::string &token, long long renew_at_ms)
{
	tokens_[key] = Entry{token, renew_at_ms};
}

void
LocalTokenStore::Forget(const Digest &key, const std::string &token)
{
	auto it = tokens_.find(key);
	if (it != tokens_.end() && it->second.token == token)
		tokens_.erase(it);
}

}  // namespace pix
