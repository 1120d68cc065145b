// One GET sent ahead, on a thread of its own, while the backend works on the answer before
// it: the download (and the parse) of a scan's next page overlaps the conversion of this
// page's rows.
//
// The thread touches nothing but its own HttpClient (libcurl and OpenSSL, with their own
// connection), the answer it fills in and the page it parses it into: never PostgreSQL, the caller's memory or its
// Waiter. It runs with every signal blocked, so PostgreSQL's handlers stay on the backend's
// own thread. The caller decides what to send (tokens, rate limits, counters are its
// business, done before Start); this class only moves the bytes.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/http.hpp"
#include "bank/json.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pix {

class Prefetch {
public:
	Prefetch(TlsConfig tls, Timeouts timeouts, long long max_response_bytes);
	~Prefetch();  // stops the request in flight and joins its thread
	Prefetch(const Prefetch &) = delete;
	Prefetch &operator=(const Prefetch &) = delete;

	// What the thread does with a 2xx answer once it has it: parse it into a page
	// (json::Page), leaving the answer's body empty, or parse a copy, leaving the body as
	// sent (for the result cache). Read by Start.
	enum class Parse { kInPlace, kCopy };
	Parse parse = Parse::kInPlace;
	// What the parsed page's tree keeps of its rows (json::Page::Parse); read by Start.
	std::shared_ptr<const json::Projection> projection;
	// When set, the members of a 2xx answer's root object before this one (the rows) are read
	// as soon as it is received, before its page is parsed (json::ReadHead); read by Start.
	std::string head_stop;
	// Sends req in the background. False (nothing sent) when a request is already held, or
	// when no thread can be started: the caller then sends it itself.
	bool Start(const HttpRequest &req);
	// A request is held (in flight, or answered and not yet taken).
	bool
	Held() const
	{
		return held_;
	}
	// The URL of the held request.
	const std::string &
	Url() const
	{
		return req_.url;
	}
	// The held request is req: method, URL, body and headers but the Authorization one.
	bool Matches(const HttpRequest &req) const;
	// The held request was answered (Take will not wait).
	bool
	Ready() const
	{
		return held_ && done_.load(std::memory_order_acquire);
	}
	// Waits until the held request's 2xx answer is received (its page may still be being
	// parsed), through the caller's waiter as Take does, and gives the members before
	// head_stop (json::ReadHead; valid until the next Start or Cancel). nullptr when the request
	// ended otherwise or its head could not be read: Take then tells what happened. An
	// interrupt or an error of the wait is thrown with the request still held (the sender
	// drops it, and releases what it holds for it).
	const rapidjson::Document *WaitReceived(Waiter &waiter);
	// The held request's answer, waiting for it through the caller's waiter (so a cancel
	// stops the wait; the request is then stopped too). A transport failure is rethrown as
	// the thread caught it, with its class in *failure. Nothing is held afterwards.
	HttpResponse Take(Waiter &waiter, TransportFailure *failure);
	// After Take, once: kPage with the page the thread parsed from that answer swapped into
	// `into` (whose old contents are freed; a parse failure is rethrown as the parser threw
	// it); kText when the thread did not parse it (not asked to, or not a 2xx answer). kNo
	// when no answer was taken since the last Start.
	enum class Taken { kNo, kText, kPage };
	Taken TakePage(json::Page &into);
	// Stops the held request, if any, and forgets it and its page. Never throws.
	void Cancel() noexcept;
	// Frees the memory of the pages it keeps for reuse (while it waits unused).
	void ForgetPage() noexcept;

	// Opaque to this class: what the sender must undo when the request is dropped unused.
	std::string tag;

private:
	void Run() noexcept;
	void Join() noexcept;

	HttpClient http_;              // used by the thread only while one runs
	HttpRequest req_;
	bool held_ = false;
	std::thread thread_;
	int done_fd_ = -1;             // eventfd: the thread has finished
	int abort_fd_ = -1;            // eventfd: stop now
	int received_fd_ = -1;         // eventfd: a 2xx answer is received (its head read)
	std::atomic<bool> abort_{false};
	std::atomic<bool> done_{false};
	std::atomic<bool> received_{false};
	// Written by the thread before done_ is set; read by the caller after it.
	HttpResponse resp_;
	Parse parse_ = Parse::kInPlace;  // as `parse` was at Start
	std::shared_ptr<const json::Projection> projection_;  // as `projection` was at Start
	std::string head_stop_;          // as `head_stop` was at Start
	rapidjson::Document head_;       // written by the thread before received_ is set
	bool head_ok_ = false;
	json::Page page_;
	std::string recycled_;           // storage for the answer's body
	bool taken_ = false;             // Take gave an answer that TakePage has not seen
	bool page_ready_ = false;        // page_ (or page_failure_) is Take's answer's
	std::exception_ptr page_failure_;
	std::exception_ptr failure_;
	TransportFailure failure_class_ = TransportFailure::kNone;
};

}  // namespace pix
