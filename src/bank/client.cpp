// OAuth token cache, authenticated requests with bounded retries, and error translation.
#include "bank/client.hpp"

#include "bank/counters.hpp"
#include "bank/error.hpp"
#include "bank/json.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <random>

namespace pix {

namespace {

constexpr int kMaxAttempts = 3;            // a request is sent at most this many times
constexpr long kRenewMarginSeconds = 60;   // renew tokens this long before they expire

using Clock = std::chrono::steady_clock;

bool
Retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// 250 ms, then 1 s, each drawn from its upper half at random so that sessions failing
// together do not come back together.
long
BackoffMs(int attempt)
{
	static std::minstd_rand rng(static_cast<unsigned>(MonotonicMs()) ^ static_cast<unsigned>(getpid()) * 2654435761u);
	long base = 250L << (2 * attempt);
	return base / 2 + static_cast<long>(rng() % static_cast<unsigned long>(base / 2 + 1));
}

// Transport failures worth another try of an idempotent request: the connection was lost,
// could not be made, or closed in the TLS handshake without an alert. A timeout is not
// (request_timeout bounds the whole call), nor are TLS refusals and certificate failures.
bool
RetryableTransport(TransportFailure f)
{
	return f == TransportFailure::kLost || f == TransportFailure::kConnect || f == TransportFailure::kTlsCut;
}

// "57.3 s" for messages (display only).
std::string
Seconds(long long ms)
{
	return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

std::string
PathOf(const std::string &url_or_path)
{
	// Strip scheme://host and the query: messages name the endpoint, never parameters.
	std::string s = url_or_path;
	size_t scheme = s.find("://");
	if (scheme != std::string::npos) {
		size_t slash = s.find('/', scheme + 3);
		s = slash == std::string::npos ? "/" : s.substr(slash);
	}
	return s.substr(0, s.find('?'));
}

std::map<std::string, HeldScroll> &
HeldScrolls()
{
	static std::map<std::string, HeldScroll> scrolls;  // one backend, one thread
	return scrolls;
}

}  // namespace

HeldScroll *
FindHeldScroll(const std::string &account) noexcept
{
	auto it = HeldScrolls().find(account);
	return it == HeldScrolls().end() ? nullptr : &it->second;
}

HeldScroll &
AddHeldScroll(const std::string &account)
{
	return HeldScrolls()[account];
}

void
DropHeldScroll(const std::string &account) noexcept
{
	auto it = HeldScrolls().find(account);
	if (it != HeldScrolls().end())
		HeldScrolls().erase(it);
}

std::string
UrlEncode(const std::string &s)
{
	static const char hex[] = "0123456789ABCDEF";
	std::string out;
	out.reserve(s.size() * 3);
	for (unsigned char c : s) {
		// Unreserved ASCII (not std::isalnum: under a Latin-1 LC_CTYPE it passes 0xE9 unencoded).
		bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (alnum || c == '-' || c == '_' || c == '.' || c == '~') {
			out.push_back(static_cast<char>(c));
		} else {
			out.push_back('%');
			out.push_back(hex[c >> 4]);
			out.push_back(hex[c & 15]);
		}
	}
	return out;
}

Error
HttpError(const HttpResponse &resp, const std::string &what, const std::string &scope)
{
	std::string title, detail, type_error;
	std::string violations;
	rapidjson::Document doc;
	if (!resp.body.empty() && !doc.Parse(resp.body.c_str(), resp.body.size()).HasParseError() && doc.IsObject()) {
		title = json::GetString(doc, "title");
		detail = json::GetString(doc, "detail");
		type_error = json::GetString(doc, "typeError");
		// API Pix (RFC 7807): "type" is https://pix.bcb.gov.br/api/v2/error/<Tipo>; the Tipo names it.
		std::string type = json::GetString(doc, "type");
		if (type_error.empty() && !type.empty())
			type_error = type.substr(type.rfind('/') + 1);
		if (const rapidjson::Value *legacy = json::Find(doc, "erro")) {  // older {"erro":{...}} shape
			if (title.empty())
				title = json::GetString(*legacy, "mensagem");
			if (detail.empty())
				detail = json::GetString(*legacy, "mensagemDetalhe");
		}
		const rapidjson::Value *v = json::Find(doc, "violacoes");
		if (v && v->IsArray()) {
			for (const auto &item : v->GetArray()) {
				std::string prop = json::GetString(item, "propriedade");
				std::string reason = json::GetString(item, "razao");
				std::string value = json::GetString(item, "valor");
				if (!violations.empty())
					violations += "; ";
				violations += (prop.empty() ? "?" : prop) + ": " + reason;
				if (!value.empty())
					violations += " (valor " + value + ")";
			}
		}
	}
	std::string full = "HTTP " + std::to_string(resp.status);
	if (!title.empty())
		full += ": " + title;
	if (!detail.empty())
		full += " " + detail;
	if (!violations.empty())
		full += " Violações: " + violations;
	if (!type_error.empty())
		full += " (" + type_error + ")";
	if (title.empty() && detail.empty() && resp.body.empty())
		full += " (empty body)";

	std::string message = "the bank answered HTTP " + std::to_string(resp.status) + " to " + what;
	const char *state = sqlstate::kFdwError;
	std::string hint;
	switch (resp.status) {
	case 400:
	case 422:
		state = sqlstate::kInvalidParameterValue;
		if (type_error == "SCROLL_ALREADY_ACTIVE") {
			// pix_fdw never asks for a second scroll while this backend holds one, so the
			// holder is another session or another system using the same account.
			state = sqlstate::kLockNotAvailable;
			message = "another session or system holds the bank's statement scroll for this account";
			std::time_t by = std::time(nullptr) + kScrollIdleSeconds;
			struct tm t;
			char when[16] = "?";
			if (gmtime_r(&by, &t))
				std::strftime(when, sizeof when, "%H:%M:%S", &t);
			hint = std::string("The bank allows one statement scroll per account (pix_fdw needs it for a day "
			                   "with more than 10 000 transactions). It is freed when its reader reaches the "
			                   "end; an abandoned one expires 6 minutes after its last request, at the latest "
			                   "by ") +
			       when + " UTC. Try again then.";
		} else if (type_error == "SCROLL_EXPIRED") {
			hint = "The bank closes a statement scroll 6 minutes after its last request (a cursor left idle "
			       "that long cannot go on); run the query again.";
		}
		break;
	case 401:
		state = sqlstate::kInvalidAuthorization;
		hint = "Check client_id and client_secret in the user mapping; the client certificate must "
		       "belong to the same integration.";
		break;
	case 403:
		state = sqlstate::kInsufficientPrivilege;
		hint = "Enable the scope \"" + scope + "\" for this integration in Internet Banking.";
		break;
	case 429:
		state = sqlstate::kTooManyRequests;
		hint = "The bank limits calls per minute for each endpoint";
		if (resp.retry_after >= 0)
			hint += "; it asked to retry after " + std::to_string(resp.retry_after) + " s";
		hint += ". The server option max_retry_wait sets how long pix_fdw waits on its own.";
		break;
	default:
		if (resp.status >= 500)
			hint = "The bank is failing or unavailable; try again later.";
		break;
	}
	return Error(state, message, full, hint);
}

CertificateInfo
ReadCertificateInfo(const TlsConfig &tls)
{
	if (!tls.HasClientCert())
		throw Error(sqlstate::kOptionNameNotFound, "the user mapping has no client certificate", {},
		            "Set cert_file and key_file (or cert_pem and key_pem) in the user mapping.");
	struct BioFree {
		void operator()(BIO *b) const { BIO_free(b); }
	};
	struct X509Free {
		void operator()(X509 *x) const { X509_free(x); }
	};
	std::unique_ptr<BIO, BioFree> in(tls.cert_file.empty()
	                                     ? BIO_new_mem_buf(tls.cert_pem.data(), static_cast<int>(tls.cert_pem.size()))
	                                     : BIO_new_file(tls.cert_file.c_str(), "r"));
	std::unique_ptr<X509, X509Free> cert(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
	ERR_clear_error();
	if (!cert)
		throw Error(sqlstate::kUnableToConnect, "could not read the client certificate",
		            tls.cert_file.empty() ? "cert_pem is not a PEM certificate"
		                                  : "cert_file \"" + tls.cert_file + "\" is missing or not a PEM certificate");
	auto name = [](X509_NAME *n) {
		std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
		if (!out || X509_NAME_print_ex(out.get(), n, 0, XN_FLAG_RFC2253) < 0)
			return std::string();
		char *data = nullptr;
		long len = BIO_get_mem_data(out.get(), &data);
		return std::string(data, static_cast<size_t>(len));
	};
	auto seconds = [](const ASN1_TIME *t) {
		struct tm tm;
		std::memset(&tm, 0, sizeof tm);
		if (!t || !ASN1_TIME_to_tm(t, &tm))
			throw Error(sqlstate::kReplyHandle, "could not read the client certificate's validity");
		return static_cast<long long>(timegm(&tm));
	};
	CertificateInfo info;
	info.subject = name(X509_get_subject_name(cert.get()));
	info.issuer = name(X509_get_issuer_name(cert.get()));
	if (const ASN1_INTEGER *serial = X509_get0_serialNumber(cert.get())) {
		static const char hex[] = "0123456789ABCDEF";
		for (int i = 0; i < serial->length; i++) {
			info.serial.push_back(hex[serial->data[i] >> 4]);
			info.serial.push_back(hex[serial->data[i] & 15]);
		}
	}
	info.not_before = seconds(X509_get0_notBefore(cert.get()));
	info.not_after = seconds(X509_get0_notAfter(cert.get()));
	return info;
}

long
CheckClientCertificate(const TlsConfig &tls)
{
	if (!tls.HasClientCert())
		return -1;
	struct BioFree {
		void operator()(BIO *b) const { BIO_free(b); }
	};
	struct X509Free {
		void operator()(X509 *x) const { X509_free(x); }
	};
	struct KeyFree {
		void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
	};
	auto open = [](const std::string &file, const std::string &pem) {
		BIO *b = file.empty() ? BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))
		                      : BIO_new_file(file.c_str(), "r");
		return std::unique_ptr<BIO, BioFree>(b);
	};
	const char *hint = "Use the certificate (.crt) and key (.key) downloaded with the integration from "
	                   "Internet Banking, in PEM form.";
	auto cert_bio = open(tls.cert_file, tls.cert_pem);
	std::unique_ptr<X509, X509Free> cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)
	                                               : nullptr);
	ERR_clear_error();
	if (!cert)
		throw Error(sqlstate::kUnableToConnect, "could not read the client certificate",
		            tls.cert_file.empty() ? "cert_pem is not a PEM certificate"
		                                  : "cert_file \"" + tls.cert_file + "\" is missing or not a PEM certificate",
		            hint);
	int days = 0, secs = 0;
	if (!ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert.get())))
		throw Error(sqlstate::kUnableToConnect, "could not read the client certificate's expiry date");
	if (days < 0 || (days == 0 && secs < 0)) {
		struct tm t;
		std::memset(&t, 0, sizeof t);
		char when[32] = "?";
		if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t))
			std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &t);
		throw Error(sqlstate::kUnableToConnect, std::string("the client certificate expired on ") + when, {},
		            "Inter's integration certificates are valid for one year: create a new certificate for the "
		            "integration in Internet Banking and update the user mapping.");
	}
	if (!tls.key_file.empty() || !tls.key_pem.empty()) {
		auto key_bio = open(tls.key_file, tls.key_pem);
		std::unique_ptr<EVP_PKEY, KeyFree> key(
		    key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
		ERR_clear_error();
		if (!key)
			throw Error(sqlstate::kUnableToConnect, "could not read the client private key",
			            tls.key_file.empty() ? "key_pem is not an unencrypted PEM private key"
			                                 : "key_file \"" + tls.key_file + "\" is missing or not an unencrypted PEM key",
			            hint);
		if (X509_check_private_key(cert.get(), key.get()) != 1) {
			ERR_clear_error();
			throw Error(sqlstate::kUnableToConnect, "the client private key does not match the certificate", {},
			            hint);
		}
	}
	return days;
}

void
CheckCaFile(const std::string &path)
{
	const char *hint = "ca_file must be a PEM file of CA certificates that the PostgreSQL server's operating "
	                   "system user can read; leave it out to use the system's CA store.";
	errno = 0;
	std::FILE *f = std::fopen(path.c_str(), "r");
	if (!f)
		throw Error(sqlstate::kInvalidAttributeValue, "could not open ca_file \"" + path + "\": " + std::strerror(errno),
		            {}, hint);
	struct FileClose {
		void operator()(std::FILE *f) const { std::fclose(f); }
	};
	std::unique_ptr<std::FILE, FileClose> owner(f);
	struct X509Free {
		void operator()(X509 *x) const { X509_free(x); }
	};
	std::unique_ptr<X509, X509Free> cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
	ERR_clear_error();
	if (!cert)
		throw Error(sqlstate::kInvalidAttributeValue, "ca_file \"" + path + "\" holds no PEM certificate", {}, hint);
}

BankClient::BankClient(ServerConfig cfg)
    : cfg_(std::move(cfg)), http_(cfg_.tls, cfg_.timeouts, cfg_.max_response_bytes),
      tokens_(cfg_.shared_tokens ? cfg_.shared_tokens : &own_tokens_),
      limiter_(cfg_.shared_limiter ? cfg_.shared_limiter : &ProcessRateLimiter())
{
	cert_days_left_ = CheckClientCertificate(cfg_.tls);
	account_key_ = cfg_.base_url + '\n' + cfg_.client_id + '\n' + cfg_.conta_corrente;
	const TlsConfig &t = cfg_.tls;
	credential_ = Sha256(cfg_.base_url + '\0' + cfg_.client_id + '\0' + cfg_.client_secret + '\0' + t.cert_file +
	                     '\0' + t.key_file + '\0' + t.cert_pem + '\0' + t.key_pem);
}

void
BankClient::Sleep(long ms, Waiter &waiter)
{
	auto until = Clock::now() + std::chrono::milliseconds(ms);
	for (;;) {
		if (waiter.Interrupted())
			throw Interrupted();
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
		if (left <= 0)
			return;
		waiter.Wait({}, left);
	}
}

Digest
BankClient::RateKey(const std::string &cls) const
{
	return Sha256(cfg_.limit_scope + '\n' + cls);
}

void
BankClient::WaitTurn(const HttpRequest &req, Waiter &waiter, CallStats &stats)
{
	std::string cls = RateClassOf(PathOf(req.url));
	const RateBudget *budget = cfg_.rate_limits.Find(cls);
	if (!budget)
		return;
	long long now = MonotonicMs();
	long remaining = waiter.RemainingMs();
	long long latest = remaining < 0 ? LLONG_MAX : now + remaining;
	long long at = limiter_->Reserve(RateKey(cls), *budget, now, latest);
	if (at > latest)
		throw Error(sqlstate::kTooManyRequests,
		            "client-side rate limit for endpoint \"" + cls + "\" of server \"" + cfg_.server_name +
		                "\": the next call may go in " + Seconds(at - now) + ", after statement_timeout",
		            "The budget is " + std::to_string(budget->calls) + " calls per " + Seconds(budget->window_ms) +
		                " (server option rate_limits).",
		            "Run the query later or give it more time (statement_timeout). The server option rate_limits "
		            "sets the budgets; 'on', the default, keeps to the bank's published limits.");
	if (at > now) {
		stats.rate_waits++;
		Count(cfg_.server_name, cls, kCountRateWaits);
		Sleep(static_cast<long>(at - now), waiter);
	}
}

int
MaxAttempts(Retry retry, const char *method)
{
	switch (retry) {
	case Retry::kRead:
		// Only reads are repeated: a POST that creates something (a payment) is repeated only
		// by the payment ledger, with the same idempotency key.
		if (std::strcmp(method, "GET") != 0)
			throw Error(sqlstate::kInternal, std::string("a ") + method + " is never repeated by the HTTP client",
			            "Retry::kRead was asked for a " + std::string(method) + " request.",
			            "Send it with Retry::kOnce.");
		return kMaxAttempts;
	case Retry::kTokenGrant:
		return kMaxAttempts;
	case Retry::kOnce:
		return 1;
	}
	return 1;
}

HttpResponse
BankClient::Send(const HttpRequest &req, Waiter &waiter, CallStats &stats, Retry retry, Prefetch *ahead)
{
	const int attempts = MaxAttempts(retry, req.method);  // throws before anything is sent
	const std::string cls = RateClassOf(PathOf(req.url));  // the counters' endpoint
	for (int attempt = 0;; attempt++) {
		bool last = attempt + 1 >= attempts;
		// The request sent ahead is this first attempt: its turn and its count were taken then.
		const bool taken = attempt == 0 && ahead && ahead->Matches(req);
		if (!taken) {
			WaitTurn(req, waiter, stats);
			stats.calls++;
			Count(cfg_.server_name, cls, kCountCalls);
		}
		HttpResponse resp;
		TransportFailure failure_class = TransportFailure::kNone;
		std::exception_ptr failure;
		bool own = false;  // sent on this client's own connection
		try {
			if (taken) {
				ahead->tag.clear();  // its fetch claim is the caller's now
				resp = ahead->Take(waiter, &failure_class);
			} else if (ahead && !ahead->Held() && ahead->Start(req)) {
				resp = ahead->Take(waiter, &failure_class);
			} else {
				own = true;
				resp = http_.Perform(req, waiter);
			}
		} catch (const Error &) {
			failure = std::current_exception();
			if (own)
				failure_class = http_.LastFailure();
		}
		if (failure) {
			long wait = BackoffMs(attempt);
			long remaining = waiter.RemainingMs();
			if (last || !RetryableTransport(failure_class) || (remaining >= 0 && wait >= remaining))
				std::rethrow_exception(failure);
			stats.retries++;
			Count(cfg_.server_name, cls, kCountRetries);
			Sleep(wait, waiter);
			continue;
		}
		stats.bytes += resp.bytes;
		Count(cfg_.server_name, cls, kCountBytes, resp.bytes);
		if (resp.status >= 200 && resp.status < 300)
			Count(cfg_.server_name, cls, kCountStatus2xx);
		else if (resp.status >= 400 && resp.status < 500)
			Count(cfg_.server_name, cls, kCountStatus4xx);
		else if (resp.status >= 500 && resp.status < 600)
			Count(cfg_.server_name, cls, kCountStatus5xx);
		if (resp.status == 429)
			Count(cfg_.server_name, cls, kCountStatus429);
		if (last || !Retryable(resp.status))
			return resp;
		long wait = resp.retry_after >= 0 ? resp.retry_after * 1000L
		                                  : (resp.status == 429 ? 60000L : BackoffMs(attempt));
		long remaining = waiter.RemainingMs();
		if (wait > cfg_.max_retry_wait_ms || (remaining >= 0 && wait >= remaining))
			return resp;  // the caller reports the answer, with the bank's Retry-After
		stats.retries++;
		Count(cfg_.server_name, cls, kCountRetries);
		Sleep(wait, waiter);
	}
}

void
BankClient::CountPage(const std::string &path)
{
	Count(cfg_.server_name, RateClassOf(PathOf(path)), kCountPages);
}

Digest
BankClient::TokenKey(const std::string &scope) const
{
	return Sha256(std::string(credential_.begin(), credential_.end()) + scope);
}

std::string
BankClient::GetToken(const std::string &scope, Waiter &waiter, CallStats &stats)
{
	Digest key = TokenKey(scope);
	for (long poll = 5;; poll = std::min(poll * 2, 50L)) {
		std::string token;
		TokenStore::Claim claim = tokens_->Take(key, MonotonicMs(), token);
		if (claim == TokenStore::Claim::kHit)
			return token;
		if (claim == TokenStore::Claim::kWait) {
			Sleep(poll, waiter);  // another backend is minting this token
			continue;
		}
		// This backend mints. Whatever happens (an error, a cancel), the claim is released
		// before the error goes on, so that a waiting backend takes the mint over.
		std::exception_ptr failure;
		long long renew_at = 0;
		try {
			token = MintToken(scope, waiter, stats, renew_at);
		} catch (...) {
			failure = std::current_exception();
		}
		if (failure) {
			tokens_->Abandon(key);
			std::rethrow_exception(failure);
		}
		tokens_->Publish(key, token, renew_at);
		return token;
	}
}

HttpRequest
BankClient::TokenRequest(const std::string &scope) const
{
	HttpRequest req;
	req.method = "POST";
	req.url = cfg_.base_url + "/oauth/v2/token";
	req.content_type = "application/x-www-form-urlencoded";
	req.body = "client_id=" + UrlEncode(cfg_.client_id) + "&client_secret=" + UrlEncode(cfg_.client_secret) +
	           "&grant_type=client_credentials&scope=" + UrlEncode(scope);
	return req;
}

HttpResponse
BankClient::RequestToken(const std::string &scope, Waiter &waiter, CallStats &stats)
{
	return Send(TokenRequest(scope), waiter, stats, Retry::kTokenGrant);
}

HttpRequest
BankClient::TokenGet(const std::string &path_and_query, const std::string &token) const
{
	HttpRequest req;
	req.method = "GET";
	req.url = cfg_.base_url + path_and_query;
	if (!cfg_.conta_corrente.empty())
		req.headers.push_back("x-conta-corrente: " + cfg_.conta_corrente);
	req.headers.push_back("Authorization: Bearer " + token);
	return req;
}

HttpResponse
BankClient::GetWithToken(const std::string &path_and_query, const std::string &token, Waiter &waiter,
                         CallStats &stats)
{
	return Send(TokenGet(path_and_query, token), waiter, stats, Retry::kRead);
}

std::string
BankClient::MintToken(const std::string &scope, Waiter &waiter, CallStats &stats, long long &renew_at_ms)
{
	long long now = MonotonicMs();
	HttpResponse resp = Send(TokenRequest(scope), waiter, stats, Retry::kTokenGrant);
	if (resp.status != 200) {
		Error e = HttpError(resp, "POST /oauth/v2/token", scope);
		std::string hint = e.Hint();
		if (resp.status == 400 || resp.status == 403)
			hint = "The integration may lack the scope \"" + scope +
			       "\": enable it for this integration in Internet Banking.";
		else if (resp.status == 429)
			hint = "The bank allows 5 token requests per minute per integration; wait a minute. Preloading "
			       "pix_fdw (shared_preload_libraries) shares one token among all sessions.";
		throw Error(e.State(), "could not obtain an access token from the bank (HTTP " +
		                           std::to_string(resp.status) + ")",
		            e.Detail(), hint);
	}
	rapidjson::Document doc;
	if (doc.Parse(resp.body.c_str(), resp.body.size()).HasParseError() || !doc.IsObject())
		throw Error(sqlstate::kReplyHandle, "the bank's token answer is not a JSON object");
	std::string token = json::GetString(doc, "access_token");
	if (token.empty())
		throw Error(sqlstate::kReplyHandle, "the bank's token answer has no access_token");
	long long expires = json::GetInt(doc, "expires_in", 3600);
	long long renew_after = std::max(expires - kRenewMarginSeconds, expires / 2);
	stats.tokens++;
	Count(cfg_.server_name, "token", kCountTokens);
	renew_at_ms = now + renew_after * 1000;
	return token;
}

HttpResponse
BankClient::Get(const std::string &path_and_query, const std::string &scope, Waiter &waiter, CallStats &stats,
                Retry retry)
{
	HttpResponse resp = GetAny(path_and_query, scope, waiter, stats, retry);
	if (resp.status >= 200 && resp.status < 300)
		return resp;
	throw HttpError(resp, "GET " + PathOf(path_and_query), scope);
}

HttpResponse
BankClient::GetAny(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
                   CallStats &stats, Retry retry)
{
	return GetVia(path_and_query, scope, waiter, stats, retry, nullptr);
}

HttpResponse
BankClient::GetVia(const std::string &path_and_query, const std::string &scope, Waiter &waiter, CallStats &stats,
                   Retry retry, Prefetch *ahead)
{
	HttpRequest req;
	req.method = "GET";
	req.url = cfg_.base_url + path_and_query;
	return Authorized(std::move(req), scope, waiter, stats, retry, ahead);
}

namespace {
constexpr size_t kIdlePrefetch = 2;  // threads' connections kept warm between scans
}  // namespace

std::unique_ptr<Prefetch>
BankClient::BorrowPrefetch()
{
	if (idle_prefetch_.empty())
		return std::make_unique<Prefetch>(cfg_.tls, cfg_.timeouts, cfg_.max_response_bytes);
	std::unique_ptr<Prefetch> pf = std::move(idle_prefetch_.back());
	idle_prefetch_.pop_back();
	return pf;
}

void
BankClient::ReturnPrefetch(std::unique_ptr<Prefetch> pf) noexcept
{
	if (!pf)
		return;
	pf->Cancel();
	pf->ForgetPage();
	if (idle_prefetch_.size() >= kIdlePrefetch)
		return;
	try {
		idle_prefetch_.push_back(std::move(pf));
	} catch (...) {
		// freed instead
	}
}

bool
BankClient::SendAhead(Prefetch &pf, const std::string &path_and_query, const std::string &scope, CallStats &stats,
                      long long run)
{
	if (!cfg_.prefetch || pf.Held())
		return false;
	// What GetCached would do first: the cache, then the fetch claim of a first page.
	bool claimed = false;
	Digest key{};
	const bool cacheable = Cacheable(path_and_query, Retry::kRead);
	if (cacheable) {
		key = CacheKey(path_and_query, scope);
		const long ttl_closed = std::max(cfg_.cache_ttl_ms, cfg_.cache_ttl_closed_ms);
		if (cfg_.cache->Has(key, MonotonicMs(), cfg_.cache_ttl_ms, ttl_closed, run))
			return false;  // answered by the cache when it is asked for
		if (run == 0 && cfg_.fetch_claims) {
			if (!cfg_.fetch_claims->Claim(key, MonotonicMs()))
				return false;  // another backend is fetching it
			claimed = true;
		}
	}
	auto give_up = [&]() {
		if (claimed)
			cfg_.fetch_claims->Release(key);
		return false;
	};
	// A token at hand: never a mint, nor a wait for another backend's, ahead of need.
	const Digest token_key = TokenKey(scope);
	std::string token;
	TokenStore::Claim t = tokens_->Take(token_key, MonotonicMs(), token);
	if (t != TokenStore::Claim::kHit) {
		if (t == TokenStore::Claim::kMint)
			tokens_->Abandon(token_key);
		return give_up();
	}
	HttpRequest req = TokenGet(path_and_query, token);  // as Authorized would send it
	// The rate limit's turn now, or nothing is sent ahead (a turn taken is counted as used).
	const std::string cls = RateClassOf(PathOf(req.url));
	if (const RateBudget *budget = cfg_.rate_limits.Find(cls)) {
		long long now = MonotonicMs();
		if (limiter_->Reserve(RateKey(cls), *budget, now, now) > now)
			return give_up();
	}
	// A copy is parsed when the text is kept in the result cache.
	pf.parse = cacheable ? Prefetch::Parse::kCopy : Prefetch::Parse::kInPlace;
	if (!pf.Start(req))
		return give_up();
	stats.calls++;
	Count(cfg_.server_name, cls, kCountCalls);
	pf.tag = claimed ? path_and_query + '\n' + scope : std::string();
	return true;
}

void
BankClient::DropAhead(Prefetch &pf) noexcept
{
	if (!pf.Held())
		return;
	std::string tag = std::move(pf.tag);
	pf.Cancel();
	if (tag.empty() || !cfg_.fetch_claims)
		return;
	try {
		size_t nl = tag.rfind('\n');
		cfg_.fetch_claims->Release(CacheKey(tag.substr(0, nl), tag.substr(nl + 1)));
	} catch (...) {
		// released at the end of the transaction
	}
}

HttpResponse
BankClient::PostAny(const std::string &path, const std::string &json_body, const std::vector<std::string> &headers,
                    const std::string &scope, Waiter &waiter, CallStats &stats, Retry retry)
{
	HttpRequest req;
	req.method = "POST";
	(void) MaxAttempts(retry, req.method);  // kRead: thrown before a token is asked for
	req.url = cfg_.base_url + path;
	req.content_type = "application/json";
	req.body = json_body;
	for (const std::string &h : headers)
		if (h.find_first_of("\r\n") != std::string::npos || h.find(':') == std::string::npos)
			throw Error(sqlstate::kInternal, "a request header must be one \"name: value\" line");
	req.headers = headers;
	return Authorized(std::move(req), scope, waiter, stats, retry);
}

HttpResponse
BankClient::Authorized(HttpRequest req, const std::string &scope, Waiter &waiter, CallStats &stats, Retry retry,
                       Prefetch *ahead)
{
	if (!cfg_.conta_corrente.empty())
		req.headers.push_back("x-conta-corrente: " + cfg_.conta_corrente);
	for (int renewal = 0;; renewal++) {
		std::vector<std::string> headers = req.headers;
		std::string token = GetToken(scope, waiter, stats);
		req.headers.push_back("Authorization: Bearer " + token);
		HttpResponse resp = Send(req, waiter, stats, retry, ahead);
		req.headers = std::move(headers);
		if (resp.status == 401 && renewal == 0) {
			tokens_->Forget(TokenKey(scope), token);  // revoked or expired early: renew once
			continue;
		}
		return resp;
	}
}

Digest
BankClient::CacheKey(const std::string &path_and_query, const std::string &scope) const
{
	// The credential digest names the base URL, client id, secret, certificate and key: one
	// user mapping's answers are never another's, unless both hold the very same credential.
	// cache_scope names the user mapping: not even two mappings with one credential share.
	return Sha256(std::string(credential_.begin(), credential_.end()) + '\0' + cfg_.cache_scope + '\0' +
	              cfg_.conta_corrente + '\0' + scope + '\0' + path_and_query);
}

bool
BankClient::Cacheable(const std::string &path_and_query, Retry retry) const
{
	if (!cfg_.cache || cfg_.cache_ttl_ms <= 0 || retry != Retry::kRead)
		return false;
	// Payments and their status (GET /banking/v2/pix/{codigoSolicitacao}) follow a payment
	// as it moves: never cached.
	if (path_and_query.compare(0, 15, "/banking/v2/pix") == 0)
		return false;
	// A scroll's pages move the bank's cursor: never cached.
	std::string query = path_and_query.substr(std::min(path_and_query.size(), path_and_query.find('?')));
	return query.find("scrollEnabled") == std::string::npos && query.find("scrollId") == std::string::npos;
}

HttpResponse
BankClient::GetCached(const std::string &path_and_query, const std::string &scope, Waiter &waiter,
                      CallStats &stats, Retry retry, CachedGet &c)
{
	c.hit = false;
	const bool cacheable = Cacheable(path_and_query, retry);
	if (c.ahead)  // a copy is parsed when the text is kept in the cache
		c.ahead->parse = cacheable ? Prefetch::Parse::kCopy : Prefetch::Parse::kInPlace;
	if (!cacheable) {
		c.run = 0;
		return GetVia(path_and_query, scope, waiter, stats, retry, c.ahead);
	}
	const Digest key = CacheKey(path_and_query, scope);
	const long ttl_closed = std::max(cfg_.cache_ttl_ms, cfg_.cache_ttl_closed_ms);
	HttpResponse resp;
	CacheMeta meta;
	auto find = [&]() {
		// An answer over today's max_response_size is not served (it would be refused from the bank).
		if (!cfg_.cache->Find(key, MonotonicMs(), cfg_.cache_ttl_ms, ttl_closed, c.run, resp.body, meta) ||
		    static_cast<long long>(resp.body.size()) > cfg_.max_response_bytes)
			return false;
		resp.status = 200;
		resp.content_type = "application/json";
		c.hit = true;
		c.run = meta.run;
		stats.cache_hits++;
		CountCacheHit(cfg_.server_name, RateClassOf(PathOf(path_and_query)));
		return true;
	};
	if (find())
		return resp;
	// A first page that another backend is fetching: wait for its run instead of calling too,
	// for at most half of the time this statement has left (then it calls on its own, so that
	// a wait for the rate limit that would outlast statement_timeout still fails at once with
	// the limiter's message).
	bool claimed = false;
	if (c.run == 0 && cfg_.fetch_claims) {
		long remaining = waiter.RemainingMs();
		long long give_up = remaining < 0 ? LLONG_MAX : MonotonicMs() + remaining / 2;
		for (long poll = 5;; poll = std::min(poll * 2, 50L)) {
			long long now = MonotonicMs();
			if (cfg_.fetch_claims->Claim(key, now)) {
				claimed = true;
				break;
			}
			if (now >= give_up)
				break;
			Sleep(static_cast<long>(std::min<long long>(poll, give_up - now)), waiter);
			if (find())
				return resp;
		}
	}
	meta = CacheMeta{};
	meta.fetched_ms = MonotonicMs();  // before the call: an answer is never younger than it says
	meta.closed = c.closed;
	// A first page opens a new run; ids differ between processes that start one in the same ms.
	meta.run = c.run != 0 ? c.run : meta.fetched_ms * 1048576 + (getpid() & 1048575);
	std::exception_ptr failure;
	try {
		resp = GetVia(path_and_query, scope, waiter, stats, retry, c.ahead);
	} catch (...) {
		failure = std::current_exception();
	}
	bool ok = !failure && resp.status >= 200 && resp.status < 300;
	if (claimed && !ok)
		cfg_.fetch_claims->Release(key);  // a waiting backend fetches in our place
	if (failure)
		std::rethrow_exception(failure);
	c.run = meta.run;
	if (ok)
		cfg_.cache->Store(key, resp.body, meta);  // the claim stays until the run is complete
	return resp;
}

void
BankClient::CompleteRun(const std::string &path_and_query, const std::string &scope, long long run)
{
	if (run != 0 && cfg_.cache && cfg_.cache_ttl_ms > 0) {
		Digest key = CacheKey(path_and_query, scope);
		cfg_.cache->Complete(key, run);
		if (cfg_.fetch_claims)
			cfg_.fetch_claims->Release(key);
	}
}

void
BankClient::AbandonRun(const std::string &path_and_query, const std::string &scope)
{
	if (cfg_.fetch_claims && cfg_.cache && cfg_.cache_ttl_ms > 0)
		cfg_.fetch_claims->Release(CacheKey(path_and_query, scope));
}

}  // namespace pix
