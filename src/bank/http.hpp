// HTTPS over libcurl with mutual TLS, driven by curl's multi interface so that every wait
// goes through a Waiter the caller provides (in a backend: the latch, so cancel works).
#pragma once
#include "bank/cpp_only.hpp"

#include <curl/curl.h>

#include <map>
#include <string>
#include <vector>

namespace pix {

struct TlsConfig {
	std::string cert_file;  // client certificate, PEM file (superuser-only option)
	std::string key_file;   // its private key, PEM file (superuser-only option)
	std::string cert_pem;   // or the certificate as PEM text
	std::string key_pem;    // or the key as PEM text (secret)
	std::string ca_file;    // trust anchor for the bank's certificate; empty = system store

	bool
	HasClientCert() const
	{
		return !cert_file.empty() || !cert_pem.empty();
	}
};

struct SocketInterest {
	int fd;
	bool read;
	bool write;
};

struct SocketReady {
	int fd;
	bool readable;
	bool writable;
};

// How a blocking wait is performed; a backend implements it on its latch.
class Waiter {
public:
	virtual ~Waiter() = default;
	// Wait until a socket is ready, timeout_ms passes or the process is interrupted. May
	// throw (a backend services its other interrupts here, which can raise an error).
	virtual std::vector<SocketReady> Wait(const std::vector<SocketInterest> &sockets, long timeout_ms) = 0;
	// True when a cancel or terminate request is pending. Must not longjmp.
	virtual bool Interrupted() = 0;
	// Milliseconds until the statement is cancelled by its timeout (statement_timeout), or -1
	// when it has none: a wait that would outlast it fails at once instead.
	virtual long
	RemainingMs()
	{
		return -1;
	}
};

struct HttpRequest {
	const char *method = "GET";
	std::string url;
	std::vector<std::string> headers;
	std::string body;            // for POST
	const char *content_type = nullptr;
};

struct HttpResponse {
	long status = 0;
	std::string body;
	std::string content_type;
	long retry_after = -1;       // seconds from Retry-After, -1 when absent
	long long date = -1;         // the Date header, seconds since the Unix epoch; -1 when absent
	long long bytes = 0;         // body bytes received (after decoding)
};

// What went wrong at the transport level (no HTTP answer).
// kTlsCut: the connection closed during the TLS handshake, before it completed and with no
// TLS alert (a network fault, not a refusal).
enum class TransportFailure { kNone, kConnect, kTlsCut, kTlsPeer, kTlsHandshake, kClientCert, kTimeout, kLost, kOther };

struct Timeouts {
	long connect_ms = 10000;
	long request_ms = 60000;
};

// Seconds from a Retry-After header value (delay-seconds or an HTTP-date); -1 when it is
// neither. Never throws (called from a libcurl callback).
long ParseRetryAfter(const char *value, size_t len);
constexpr long long kDefaultMaxResponseBytes = 32LL * 1024 * 1024;

// One keep-alive connection to the bank (libcurl's connection cache in the multi handle).
class HttpClient {
public:
	// max_response_bytes caps every answer's body, counted after decoding (gzip etc.).
	HttpClient(TlsConfig tls, Timeouts timeouts, long long max_response_bytes = kDefaultMaxResponseBytes);
	~HttpClient();
	HttpClient(const HttpClient &) = delete;
	HttpClient &operator=(const HttpClient &) = delete;

	// Performs one request. Throws pix::Error (HV00N) on a transport failure and
	// pix::Interrupted when the waiter reports an interrupt. HTTP errors are returned.
	// `buffer`: storage to receive the body into (its contents are dropped, its capacity kept).
	HttpResponse Perform(const HttpRequest &req, Waiter &waiter, std::string buffer = {});

	const TlsConfig &
	Tls() const
	{
		return tls_;
	}
	// Failure class of the last transport error, for retry decisions.
	TransportFailure
	LastFailure() const
	{
		return last_failure_;
	}

private:
	void Open();
	void Close();
	void Configure(const HttpRequest &req, curl_slist *headers);
	[[noreturn]] void ThrowTransport(CURLcode code, const HttpRequest &req);
	[[noreturn]] void ThrowTooLarge(const HttpRequest &req);

	static int SocketCallback(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp);
	static int TimerCallback(CURLM *multi, long timeout_ms, void *clientp);
	static size_t WriteCallback(char *ptr, size_t size, size_t nmemb, void *userdata);
	static size_t HeaderCallback(char *ptr, size_t size, size_t nmemb, void *userdata);
	static int ProgressCallback(void *clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

	TlsConfig tls_;
	Timeouts timeouts_;
	long long max_response_bytes_;
	CURLM *multi_ = nullptr;
	CURL *easy_ = nullptr;
	std::map<int, int> sockets_;   // fd -> CURL_POLL_* interest
	long timer_ms_ = -1;
	Waiter *waiter_ = nullptr;      // set during Perform, for the progress callback
	HttpResponse *response_ = nullptr;  // set during Perform, for the write callback
	bool too_large_ = false;        // the write callback refused a body over the cap
	char errbuf_[CURL_ERROR_SIZE];
	TransportFailure last_failure_ = TransportFailure::kNone;
};

}  // namespace pix
