// The bank as a service: OAuth client-credentials tokens (cached per scope, renewed once on
// a 401), authenticated GETs with bounded retries, and the bank's error bodies as errors.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/cache.hpp"
#include "bank/error.hpp"
#include "bank/http.hpp"
#include "bank/limits.hpp"
#include "bank/prefetch.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pix {

struct ServerConfig {
	std::string base_url;        // e.g. https://cdpj.partners.bancointer.com.br (no trailing /)
	std::string conta_corrente;  // x-conta-corrente, optional
	std::string client_id;
	std::string client_secret;   // secret: never in messages
	TlsConfig tls;
	Timeouts timeouts;
	long max_retry_wait_ms = 60000;  // longest Retry-After we are willing to sleep for
	long long max_response_bytes = kDefaultMaxResponseBytes;  // cap on one answer's decoded body
	RateLimits rate_limits = DefaultRateLimits();  // server option rate_limits
	std::string limit_scope;   // whose budgets these are (calls are counted per server and endpoint)
	std::string server_name;   // for messages
	TokenStore *shared_tokens = nullptr;    // tokens of every backend (preloaded), else per client
	RateLimiter *shared_limiter = nullptr;  // call logs of every backend (preloaded), else per process
	// The result cache (server options cache_ttl, cache_ttl_closed): 0 or no cache turns it off.
	long cache_ttl_ms = 0;
	long cache_ttl_closed_ms = 0;      // answers covering only closed days (at least cache_ttl)
	ResponseCache *cache = nullptr;    // shared (preloaded) or this process's
	FetchClaims *fetch_claims = nullptr;  // one fetch per key across backends (preloaded), else none
	std::string cache_scope;           // whose answers (database and user mapping): never shared across
	bool prefetch = true;              // server option prefetch: SendAhead sends at all
};

// Counters a scan reports in EXPLAIN ANALYZE.
struct CallStats {
	long long calls = 0;    // HTTP requests sent (API and token)
	long long pages = 0;    // pages of rows received
	long long bytes = 0;    // response body bytes
	long long retries = 0;  // requests repeated after 429/5xx/lost connection
	long long tokens = 0;   // tokens minted
	long long rate_waits = 0;  // calls that waited for the client-side rate limit
	long long cache_hits = 0;  // answers served by the result cache instead of a call
};

// One GET of a row page through the result cache. The pages of one window read in one pass
// form a run: a first page is served from the cache only when its run was read to its end
// (BankClient::CompleteRun), and the next pages only from that same run, so that an answer
// never mixes pages of different passes.
struct CachedGet {
	bool closed = false;  // in: the answer covers only days before today in Brasília
	long long run = 0;    // in: 0 for a first page, else the run of its first page; out: this page's run
	bool hit = false;     // out: served from the cache
	// in: the scan's row-page thread. A request it sent ahead (BankClient::SendAhead) is
	// used when it is this very request; otherwise this request goes by that thread, which
	// parses a 2xx answer too (Prefetch::TakePage).
	Prefetch *ahead = nullptr;
};

// How often the HTTP client may send one request; every request states it.
// kRead: a GET, repeated (bounded, jittered backoff) after 429, 5xx and a lost or refused
// connection; asking it for any other method is a programming error, thrown before
// anything is sent. kTokenGrant: the token request, which creates nothing at the bank, is
// repeated like a GET. kOnce: sent exactly once, never repeated by the client for any
// reason (429 and 5xx included); the caller decides what comes next (a payment is repeated
// only by its ledger, with the same x-id-idempotente).
enum class Retry { kRead, kTokenGrant, kOnce };

// How many times a request of `method` may be sent under `retry` (1 for kOnce). Throws
// pix::Error (XX000) for kRead with a method other than GET.
int MaxAttempts(Retry retry, const char *method);

// The bank keeps at most one statement scroll per account and frees it only when it is read
// to its end (hasMore false) or after 6 minutes without a request; there is no close call.
// A HeldScroll is this backend's record of the scroll it has open on an account.
constexpr long kScrollIdleSeconds = 360;

struct HeldScroll {
	const void *reader = nullptr;  // the RowSource reading it; nullptr once abandoned
	std::string prefix;            // path and query up to the scroll id (continuation request)
	std::string suffix;            // the rest of the query after the id
	std::string scope;
	std::string rows_key;          // the array of rows in each page
	std::string scroll_id;         // the id that asks for the next page
	std::chrono::steady_clock::time_point last_used;
};

// This backend's open scroll on an account (BankClient::AccountKey), shared by every user
// mapping of that account; nullptr when none. Add creates, Drop forgets.
HeldScroll *FindHeldScroll(const std::string &account) noexcept;
HeldScroll &AddHeldScroll(const std::string &account);
void DropHeldScroll(const std::string &account) noexcept;

class BankClient {
public:
	explicit BankClient(ServerConfig cfg);

	// GET base_url + path_and_query with a token carrying `scope` (renewed once on a 401)
	// and x-conta-corrente. Returns the 2xx answer; any other answer or failure is thrown as
	// pix::Error.
	HttpResponse Get(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
	                 CallStats &stats, Retry retry);
	// The same, but returns the bank's final answer whatever its status.
	HttpResponse GetAny(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
	                    CallStats &stats, Retry retry);
	// POST base_url + path with an application/json body, a token carrying `scope` (renewed
	// once on a 401: the same request with the same headers is sent again, which the bank
	// refused unread), x-conta-corrente and the extra `headers` (e.g. "x-id-idempotente:
	// <uuid>"). Returns the bank's final answer whatever its status; transport failures
	// throw. Retry::kRead throws before anything is sent (a POST is never repeated by the
	// HTTP client).
	HttpResponse PostAny(const std::string &path, const std::string &json_body,
	                     const std::vector<std::string> &headers, const std::string &scope, Waiter &waiter,
	                     CallStats &stats, Retry retry);

	// Counts a page of rows received from `path` in pix_fdw.counters (the HTTP side of every
	// call is counted by the requests themselves).
	void CountPage(const std::string &path);
	// GetAny through the result cache: a fresh answer of the same user mapping, credential,
	// account and request is returned without a call; otherwise the bank's answer, kept when 2xx. Never
	// for POSTs, scrolls (scrollEnabled, scrollId) or anything under /banking/v2/pix (payments
	// and their status), nor with cache_ttl 0.
	HttpResponse GetCached(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
	                       CallStats &stats, Retry retry, CachedGet &c);
	// The run that the first page path_and_query opened was read to its end and checked.
	void CompleteRun(const std::string &path_and_query, const std::string &scope, long long run);
	// A run that will not be read to its end (split, read by scroll, the scan stopped early):
	// gives up this backend's fetch claim on its first page, so others stop waiting for it.
	void AbandonRun(const std::string &path_and_query, const std::string &scope);
	bool Cacheable(const std::string &path_and_query, Retry retry) const;

	// Sends GET path_and_query (a row page; run as CachedGet's) ahead on pf's thread, as
	// GetCached would send it, when that can be done now without waiting for anything: no
	// answer in the cache, no other backend fetching it, a token at hand, the rate limit's
	// turn free. The call is counted now, and a 2xx answer is parsed on the thread too
	// (Prefetch::TakePage). False when nothing was sent.
	bool SendAhead(Prefetch &pf, const std::string &path_and_query, const std::string &scope, CallStats &stats,
	               long long run);
	// Stops a request sent ahead that will not be used, and gives up its fetch claim.
	void DropAhead(Prefetch &pf) noexcept;
	// A row pages' thread and connection for one scan, kept warm between scans: Return
	// stops whatever it still has in flight (never throws; no call is made).
	std::unique_ptr<Prefetch> BorrowPrefetch();
	void ReturnPrefetch(std::unique_ptr<Prefetch> pf) noexcept;

	// The bank account this client reads (base URL, client_id and conta_corrente): user
	// mappings that agree on all three share the account's one statement scroll.
	const std::string &
	AccountKey() const
	{
		return account_key_;
	}

	// For pix_fdw.check(): the token request for `scope` (space-separated scopes) as the bank
	// answered it, whatever its status; nothing is cached. Sent as a token mint is
	// (Retry::kTokenGrant, the client-side rate limit); transport failures throw.
	HttpResponse RequestToken(const std::string &scope, Waiter &waiter, CallStats &stats);
	// GET with the given bearer token and x-conta-corrente (Retry::kRead): the bank's answer
	// whatever its status, not cached, no token renewal.
	HttpResponse GetWithToken(const std::string &path_and_query, const std::string &token, Waiter &waiter,
	                          CallStats &stats);
	// The failure class of the last transport error.
	TransportFailure
	LastFailure() const
	{
		return http_.LastFailure();
	}

	// Days until the client certificate expires (checked when the client was created).
	long
	CertificateDaysLeft() const
	{
		return cert_days_left_;
	}
	const ServerConfig &
	Config() const
	{
		return cfg_;
	}

private:
	// A valid token for the scope set: cached, minted by another backend (waited for), or
	// minted here (one minter per credential and scope set at a time).
	std::string GetToken(const std::string &scope, Waiter &waiter, CallStats &stats);
	std::string MintToken(const std::string &scope, Waiter &waiter, CallStats &stats, long long &renew_at_ms);
	HttpRequest TokenRequest(const std::string &scope) const;
	Digest TokenKey(const std::string &scope) const;
	Digest CacheKey(const std::string &path_and_query, const std::string &scope) const;
	HttpResponse GetVia(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
	                    CallStats &stats, Retry retry, Prefetch *ahead);
	// ahead: a row pages' thread. A request it sent ahead is taken instead of sending req when
	// it is req; otherwise req is sent by that thread (so its page's memory is the thread's).
	HttpResponse Send(const HttpRequest &req, Waiter &waiter, CallStats &stats, Retry retry,
	                  Prefetch *ahead = nullptr);
	// req with a token for `scope` and x-conta-corrente, renewed once on a 401.
	HttpResponse Authorized(HttpRequest req, const std::string &scope, Waiter &waiter, CallStats &stats,
	                        Retry retry, Prefetch *ahead = nullptr);
	Digest RateKey(const std::string &cls) const;
	// GET path_and_query with x-conta-corrente and this bearer token.
	HttpRequest TokenGet(const std::string &path_and_query, const std::string &token) const;
	// Waits for the client-side rate limit of the request's endpoint; fails at once when the
	// wait would outlast the statement (statement_timeout).
	void WaitTurn(const HttpRequest &req, Waiter &waiter, CallStats &stats);
	void Sleep(long ms, Waiter &waiter);

	ServerConfig cfg_;
	HttpClient http_;
	std::vector<std::unique_ptr<Prefetch>> idle_prefetch_;  // at most kIdlePrefetch
	LocalTokenStore own_tokens_;  // by credential and scope set, when not shared
	TokenStore *tokens_;
	RateLimiter *limiter_;
	Digest credential_;           // digest of URL, client id, secret, certificate and key
	long cert_days_left_ = -1;
	std::string account_key_;
};

// Builds the error for a non-2xx answer from the bank's Banking or Pix (RFC 7807) body.
Error HttpError(const HttpResponse &resp, const std::string &what, const std::string &scope);

// Percent-encodes a query/form component.
std::string UrlEncode(const std::string &s);

// Checks a PEM certificate/key pair before first use; returns days left (may throw).
long CheckClientCertificate(const TlsConfig &tls);

// What the client certificate says of itself (pix_fdw.certificate_info): subject and issuer
// (RFC 2253), serial number (hex), validity in seconds since the Unix epoch. Throws when
// there is no readable certificate; an expired one is described, not refused.
struct CertificateInfo {
	std::string subject, issuer, serial;
	long long not_before = 0, not_after = 0;
};
CertificateInfo ReadCertificateInfo(const TlsConfig &tls);

// Checks that a ca_file can be opened and holds at least one PEM certificate (may throw).
void CheckCaFile(const std::string &path);

}  // namespace pix
