// libcurl multi-interface driver: every wait goes through the caller's Waiter, so a
// backend can wait on its latch and stop within milliseconds of a cancel request.
#include "bank/http.hpp"

#include "bank/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <new>

namespace pix {

namespace {

constexpr const char *kUserAgent = "pix_fdw/0.1";
constexpr long kMaxWaitSliceMs = 1000;  // re-check curl's timers at least this often

void
GlobalInit()
{
	static bool done = false;
	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			throw Error(sqlstate::kInternal, "could not initialize libcurl");
		done = true;
	}
}

// Sets a curl option and turns a refusal into an error (e.g. an option this libcurl lacks).
template <typename T>
void
SetOpt(CURL *easy, CURLoption opt, T value)
{
	CURLcode rc = curl_easy_setopt(easy, opt, value);
	if (rc != CURLE_OK)
		throw Error(sqlstate::kInternal, std::string("libcurl refused an option: ") + curl_easy_strerror(rc));
}

void
SetBlob(CURL *easy, CURLoption opt, const std::string &pem)
{
	curl_blob blob;
	blob.data = const_cast<char *>(pem.data());
	blob.len = pem.size();
	blob.flags = CURL_BLOB_COPY;
	SetOpt(easy, opt, &blob);
}

// The path of a URL, without scheme, host and query: messages name the endpoint only.
std::string
EndpointOf(const std::string &url)
{
	std::string path = url.substr(0, url.find('?'));
	size_t scheme = path.find("://");
	size_t slash = scheme == std::string::npos ? 0 : path.find('/', scheme + 3);
	return slash == std::string::npos ? "/" : path.substr(slash);
}

// Frees a header list on every exit path.
struct SlistOwner {
	curl_slist *list = nullptr;
	~SlistOwner() { curl_slist_free_all(list); }
	void
	Append(const std::string &h)
	{
		curl_slist *n = curl_slist_append(list, h.c_str());
		if (!n)
			throw std::bad_alloc();
		list = n;
	}
};

}  // namespace

HttpClient::HttpClient(TlsConfig tls, Timeouts timeouts, long long max_response_bytes)
    : tls_(std::move(tls)), timeouts_(timeouts), max_response_bytes_(max_response_bytes)
{
	errbuf_[0] = '\0';
	GlobalInit();
}

HttpClient::~HttpClient()
{
	Close();
}

void
HttpClient::Open()
{
	multi_ = curl_multi_init();
	easy_ = curl_easy_init();
	if (!multi_ || !easy_) {
		Close();
		throw std::bad_alloc();
	}
	curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpClient::SocketCallback);
	curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
	curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpClient::TimerCallback);
	curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
	curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 2L);
}

void
HttpClient::Close()
{
	if (multi_ && easy_)
		curl_multi_remove_handle(multi_, easy_);
	if (easy_)
		curl_easy_cleanup(easy_);
	if (multi_)
		curl_multi_cleanup(multi_);
	easy_ = nullptr;
	multi_ = nullptr;
	sockets_.clear();
	timer_ms_ = -1;
}

int
HttpClient::SocketCallback(CURL *, curl_socket_t s, int what, void *clientp, void *)
{
	auto *self = static_cast<HttpClient *>(clientp);
	try {
		if (what == CURL_POLL_REMOVE)
			self->sockets_.erase(static_cast<int>(s));
		else
			self->sockets_[static_cast<int>(s)] = what;
	} catch (...) {
		return -1;  // no exception may cross libcurl's frames
	}
	return 0;
}

int
HttpClient::TimerCallback(CURLM *, long timeout_ms, void *clientp)
{
	static_cast<HttpClient *>(clientp)->timer_ms_ = timeout_ms;
	return 0;
}

size_t
HttpClient::WriteCallback(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	auto *self = static_cast<HttpClient *>(userdata);
	HttpResponse *resp = self->response_;
	size_t n = size * nmemb;
	// curl hands over decoded bytes a few kB at a time, so a compressed answer that
	// inflates without end stops here too.
	if (static_cast<long long>(resp->body.size() + n) > self->max_response_bytes_) {
		self->too_large_ = true;
		return 0;
	}
	try {
		resp->body.append(ptr, n);
	} catch (...) {
		return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
	}
	return n;
}

// Retry-After is delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT",
// RFC 9110 10.2.3), turned into seconds from now (0 when the date has passed). Anything
// else is ignored. Nothing here may throw or allocate: this is a libcurl callback.
long
ParseRetryAfter(const char *value, size_t len)
{
	constexpr long kMaxSeconds = 1000000000L;  // saturate instead of overflowing
	while (len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	while (len > 0 && std::isspace(static_cast<unsigned char>(value[len - 1])))
		len--;
	if (len == 0)
		return -1;
	if (std::isdigit(static_cast<unsigned char>(value[0]))) {
		long v = 0;
		for (size_t i = 0; i < len; i++) {
			if (!std::isdigit(static_cast<unsigned char>(value[i])))
				return -1;
			v = std::min(kMaxSeconds, v * 10 + (value[i] - '0'));
		}
		return v;
	}
	char date[128];
	if (len >= sizeof date)
		return -1;
	std::memcpy(date, value, len);
	date[len] = '\0';
	time_t when = curl_getdate(date, nullptr);
	if (when == -1)
		return -1;
	time_t now = std::time(nullptr);
	if (when <= now)
		return 0;
	return static_cast<long>(std::min<time_t>(when - now, kMaxSeconds));
}

namespace {

// A header line "Name: value" whose name is `name` (lower case, with its colon), compared
// without case: its value, without the spaces around it. Nothing here throws or allocates.
template <size_t N>
bool
HeaderValue(const char *line, size_t n, const char (&name)[N], const char **value, size_t *len)
{
	constexpr size_t k = N - 1;
	if (n <= k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (std::tolower(static_cast<unsigned char>(line[i])) != name[i])
			return false;
	const char *v = line + k;
	size_t l = n - k;
	while (l > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		l--;
	}
	while (l > 0 && std::isspace(static_cast<unsigned char>(v[l - 1])))
		l--;
	*value = v;
	*len = l;
	return true;
}

}  // namespace

size_t
HttpClient::HeaderCallback(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	auto *self = static_cast<HttpClient *>(userdata);
	HttpResponse *resp = self->response_;
	size_t n = size * nmemb;
	const char *v;
	size_t len;
	// Content-Length: the body's room at once (within the cap), not grown a few kB at a time.
	if (n < 64 && HeaderValue(ptr, n, "content-length:", &v, &len)) {
		long long bytes = 0;
		for (size_t i = 0; i < len && std::isdigit(static_cast<unsigned char>(v[i])) && bytes <= self->max_response_bytes_; i++)
			bytes = bytes * 10 + (v[i] - '0');
		if (bytes > 0 && bytes <= self->max_response_bytes_) {
			try {
				resp->body.reserve(static_cast<size_t>(bytes));
			} catch (...) {
				// the write callback grows it, or fails the transfer
			}
		}
	}
	if (HeaderValue(ptr, n, "retry-after:", &v, &len))
		resp->retry_after = ParseRetryAfter(v, len);
	if (n < 128 && HeaderValue(ptr, n, "date:", &v, &len)) {
		char value[128];
		std::memcpy(value, v, len);
		value[len] = '\0';
		time_t when = len > 0 ? curl_getdate(value, nullptr) : -1;
		resp->date = when == -1 ? -1 : static_cast<long long>(when);
	}
	return n;
}

int
HttpClient::ProgressCallback(void *clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
	// A backstop only: the wait loop is what notices interrupts promptly.
	auto *self = static_cast<HttpClient *>(clientp);
	return self->waiter_ && self->waiter_->Interrupted() ? 1 : 0;
}

void
HttpClient::Configure(const HttpRequest &req, curl_slist *headers)
{
	CURL *e = easy_;
	SetOpt(e, CURLOPT_URL, req.url.c_str());
	SetOpt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SetOpt(e, CURLOPT_PROTOCOLS_STR, "https");
	SetOpt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	SetOpt(e, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTPS));
	SetOpt(e, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTPS));
#endif
	SetOpt(e, CURLOPT_FOLLOWLOCATION, 0L);
	SetOpt(e, CURLOPT_CONNECTTIMEOUT_MS, timeouts_.connect_ms);
	SetOpt(e, CURLOPT_TIMEOUT_MS, timeouts_.request_ms);
	SetOpt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	// Peer verification is always on; there is deliberately no option to turn it off.
	SetOpt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SetOpt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!tls_.ca_file.empty())
		SetOpt(e, CURLOPT_CAINFO, tls_.ca_file.c_str());
	if (!tls_.cert_file.empty()) {
		SetOpt(e, CURLOPT_SSLCERTTYPE, "PEM");
		SetOpt(e, CURLOPT_SSLCERT, tls_.cert_file.c_str());
	} else if (!tls_.cert_pem.empty()) {
		SetOpt(e, CURLOPT_SSLCERTTYPE, "PEM");
		SetBlob(e, CURLOPT_SSLCERT_BLOB, tls_.cert_pem);
	}
	if (!tls_.key_file.empty()) {
		SetOpt(e, CURLOPT_SSLKEYTYPE, "PEM");
		SetOpt(e, CURLOPT_SSLKEY, tls_.key_file.c_str());
	} else if (!tls_.key_pem.empty()) {
		SetOpt(e, CURLOPT_SSLKEYTYPE, "PEM");
		SetBlob(e, CURLOPT_SSLKEY_BLOB, tls_.key_pem);
	}
	SetOpt(e, CURLOPT_ERRORBUFFER, errbuf_);
	SetOpt(e, CURLOPT_USERAGENT, kUserAgent);
	SetOpt(e, CURLOPT_ACCEPT_ENCODING, "");
	SetOpt(e, CURLOPT_WRITEFUNCTION, &HttpClient::WriteCallback);
	SetOpt(e, CURLOPT_WRITEDATA, this);
	SetOpt(e, CURLOPT_HEADERFUNCTION, &HttpClient::HeaderCallback);
	SetOpt(e, CURLOPT_HEADERDATA, this);
	SetOpt(e, CURLOPT_XFERINFOFUNCTION, &HttpClient::ProgressCallback);
	SetOpt(e, CURLOPT_XFERINFODATA, this);
	SetOpt(e, CURLOPT_NOPROGRESS, 0L);
	SetOpt(e, CURLOPT_HTTPHEADER, headers);
	if (std::strcmp(req.method, "POST") == 0) {
		SetOpt(e, CURLOPT_POST, 1L);
		SetOpt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
		SetOpt(e, CURLOPT_COPYPOSTFIELDS, req.body.c_str());
	} else if (std::strcmp(req.method, "GET") != 0) {
		SetOpt(e, CURLOPT_CUSTOMREQUEST, req.method);
	}
}

HttpResponse
HttpClient::Perform(const HttpRequest &req, Waiter &waiter, std::string buffer)
{
	if (!multi_)
		Open();
	HttpResponse resp;
	resp.body = std::move(buffer);
	resp.body.clear();
	SlistOwner headers;
	for (const auto &h : req.headers)
		headers.Append(h);
	if (req.content_type)
		headers.Append(std::string("Content-Type: ") + req.content_type);
	headers.Append("Accept: application/json");

	curl_easy_reset(easy_);
	errbuf_[0] = '\0';
	last_failure_ = TransportFailure::kNone;
	Configure(req, headers.list);

	if (curl_multi_add_handle(multi_, easy_) != CURLM_OK)
		throw Error(sqlstate::kInternal, "could not start an HTTP transfer");
	// Until the transfer completes normally, leaving this scope (interrupt, exception)
	// drops the connection: a half-read response must never be reused.
	struct Attached {
		HttpClient *self;
		bool done = false;
		~Attached()
		{
			if (!done)
				self->Close();
		}
	} attached{this};
	waiter_ = &waiter;
	response_ = &resp;
	too_large_ = false;
	struct ClearWaiter {
		HttpClient *self;
		~ClearWaiter()
		{
			self->waiter_ = nullptr;
			self->response_ = nullptr;
		}
	} clear_waiter{this};

	int running = 0;
	curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
	CURLcode result = CURLE_OK;
	for (;;) {
		bool finished = false;
		int queued = 0;
		while (CURLMsg *m = curl_multi_info_read(multi_, &queued)) {
			if (m->msg == CURLMSG_DONE && m->easy_handle == easy_) {
				result = m->data.result;
				finished = true;
			}
		}
		if (finished)
			break;
		if (waiter.Interrupted())
			throw Interrupted();
		std::vector<SocketInterest> interest;
		interest.reserve(sockets_.size());
		for (const auto &[fd, what] : sockets_)
			interest.push_back(SocketInterest{fd, (what & CURL_POLL_IN) != 0, (what & CURL_POLL_OUT) != 0});
		long timeout = timer_ms_ < 0 ? kMaxWaitSliceMs : std::min(timer_ms_, kMaxWaitSliceMs);
		std::vector<SocketReady> ready = waiter.Wait(interest, timeout);
		if (ready.empty()) {
			curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
		} else {
			for (const SocketReady &r : ready) {
				int ev = (r.readable ? CURL_CSELECT_IN : 0) | (r.writable ? CURL_CSELECT_OUT : 0);
				curl_multi_socket_action(multi_, r.fd, ev, &running);
			}
		}
	}

	if (result == CURLE_ABORTED_BY_CALLBACK && waiter.Interrupted())
		throw Interrupted();  // Attached closes the connection
	if (result == CURLE_WRITE_ERROR && too_large_)
		ThrowTooLarge(req);
	if (result == CURLE_WRITE_ERROR)
		throw std::bad_alloc();
	if (result != CURLE_OK)
		ThrowTransport(result, req);

	curl_multi_remove_handle(multi_, easy_);
	attached.done = true;
	curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &resp.status);
	char *ct = nullptr;
	if (curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		resp.content_type = ct;
	resp.bytes = static_cast<long long>(resp.body.size());
	return resp;
}

void
HttpClient::ThrowTooLarge(const HttpRequest &req)
{
	// Perform's guard drops the connection: the rest of the answer is never read.
	throw Error(sqlstate::kProgramLimitExceeded,
	            "the bank's answer to " + std::string(req.method) + " " + EndpointOf(req.url) +
	                " is larger than max_response_size",
	            "More than " + std::to_string(max_response_bytes_) + " bytes (counted after decompression).",
	            "Raise the server option max_response_size, or lower the table option page_size so that each "
	            "page is smaller.");
}

void
HttpClient::ThrowTransport(CURLcode code, const HttpRequest &req)
{
	std::string detail = errbuf_[0] ? errbuf_ : curl_easy_strerror(code);
	// Name the endpoint, not the host or the query: messages stay short and stable.
	std::string what = std::string(req.method) + " " + EndpointOf(req.url);
	bool alert = detail.find("alert") != std::string::npos;
	// With TLS 1.3 a server that refuses the client certificate does so after the client
	// considers the handshake done: the first read then gets an alert or, depending on
	// timing, just a reset. A new connection that failed before any response header is
	// that case, not a lost answer.
	long connects = 0, header_bytes = 0;
	curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(easy_, CURLINFO_HEADER_SIZE, &header_bytes);
	bool refused_after_handshake = alert || (connects > 0 && header_bytes == 0);
	curl_off_t handshake_done = 0;  // when the TLS handshake completed, 0: it did not
	curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &handshake_done);
	bool cut_in_handshake = !alert && connects > 0 && handshake_done == 0;
	const char *message = "could not reach the bank";
	std::string hint;
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		last_failure_ = TransportFailure::kConnect;
		message = "could not connect to the bank";
		hint = "Check the server option url and the network path to the bank.";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		last_failure_ = TransportFailure::kTimeout;
		message = "request to the bank timed out";
		hint = "The server options connect_timeout and request_timeout set the limits.";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		last_failure_ = TransportFailure::kTlsPeer;
		message = "could not verify the bank's TLS certificate";
		hint = "Set the server option ca_file to the CA that signed the bank's certificate "
		       "(peer verification cannot be turned off).";
		break;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ENGINE_INITFAILED:
		last_failure_ = TransportFailure::kClientCert;
		message = "could not load the client certificate or key";
		hint = "Check cert_file/key_file or cert_pem/key_pem in the user mapping: both must be PEM, "
		       "and the key must belong to the certificate.";
		break;
	case CURLE_SSL_CONNECT_ERROR:
		last_failure_ = cut_in_handshake ? TransportFailure::kTlsCut : TransportFailure::kTlsHandshake;
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		last_failure_ = cut_in_handshake          ? TransportFailure::kTlsCut
		                : refused_after_handshake ? TransportFailure::kTlsHandshake
		                                          : TransportFailure::kLost;
		break;
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		last_failure_ = TransportFailure::kLost;
		break;
	default:
		last_failure_ = TransportFailure::kOther;
		break;
	}
	if (last_failure_ == TransportFailure::kTlsHandshake) {
		message = "TLS handshake with the bank failed";
		if (!tls_.HasClientCert())
			hint = "The bank requires the integration's client certificate: set cert_file and key_file "
			       "(or cert_pem and key_pem) in the user mapping.";
		else if (refused_after_handshake)
			hint = "The bank refused the client certificate: use the certificate and key downloaded "
			       "with this integration from Internet Banking (valid for one year).";
	} else if (last_failure_ == TransportFailure::kTlsCut) {
		message = "the connection to the bank closed during the TLS handshake";
		hint = "No TLS alert came with it: a network fault or the bank's edge, not a refused certificate. "
		       "Reads are retried; run the statement again.";
	} else if (last_failure_ == TransportFailure::kLost) {
		message = "connection to the bank was lost before the answer was complete";
	}
	Close();
	throw Error(sqlstate::kUnableToConnect, message, detail + " (" + what + ")", hint);
}

}  // namespace pix
