// The bank as a service: OAuth client-credentials tokens (cached per scope, renewed once on
// a 401), authenticated GETs with bounded retries, and the bank's error bodies as errors.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/error.hpp"
#include "bank/http.hpp"

#include <chrono>
#include <map>
#include <string>

namespace pix {

struct ServerConfig {
	std::string base_url;        // e.g. https://cdpj.partners.bancointer.com.br (no trailing /)
	std::string conta_corrente;  // x-conta-corrente, optional
	std::string client_id;
	std::string client_secret;   // secret: never in messages
	TlsConfig tls;
	Timeouts timeouts;
	long max_retry_wait_ms = 30000;  // longest Retry-After we are willing to sleep for
	long long max_response_bytes = kDefaultMaxResponseBytes;  // cap on one answer's decoded body
};

// Counters a scan reports in EXPLAIN ANALYZE.
struct CallStats {
	long long calls = 0;    // HTTP requests sent (API and token)
	long long pages = 0;    // pages of rows received
	long long bytes = 0;    // response body bytes
	long long retries = 0;  // requests repeated after 429/5xx/lost connection
	long long tokens = 0;   // tokens minted
};

enum class Retry { kIdempotent, kNever };

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

	// GET base_url + path_and_query with a token carrying `scope`. Returns the 2xx answer;
	// any other answer or failure is thrown as pix::Error.
	HttpResponse Get(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
	                 CallStats &stats, Retry retry = Retry::kIdempotent);
	// The same, but returns the bank's final answer whatever its status.
	HttpResponse GetAny(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
	                    CallStats &stats, Retry retry = Retry::kIdempotent);

	// The bank account this client reads (base URL, client_id and conta_corrente): user
	// mappings that agree on all three share the account's one statement scroll.
	const std::string &
	AccountKey() const
	{
		return account_key_;
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
	struct Token {
		std::string access_token;
		std::chrono::steady_clock::time_point renew_at;
	};
	const std::string &GetToken(const std::string &scope, Waiter &waiter, CallStats &stats);
	HttpResponse Send(const HttpRequest &req, Waiter &waiter, CallStats &stats, Retry retry);
	void Sleep(long ms, Waiter &waiter);

	ServerConfig cfg_;
	HttpClient http_;
	std::map<std::string, Token> tokens_;  // by scope set
	long cert_days_left_ = -1;
	std::string account_key_;
};

// Builds the error for a non-2xx answer from the bank's Banking or Pix (RFC 7807) body.
Error HttpError(const HttpResponse &resp, const std::string &what, const std::string &scope);

// Percent-encodes a query/form component.
std::string UrlEncode(const std::string &s);

// Checks a PEM certificate/key pair before first use; returns days left (may throw).
long CheckClientCertificate(const TlsConfig &tls);

// Checks that a ca_file can be opened and holds at least one PEM certificate (may throw).
void CheckCaFile(const std::string &path);

}  // namespace pix
