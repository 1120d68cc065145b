// A GET on a thread of its own (see prefetch.hpp). The thread waits with poll() on curl's
// sockets and an eventfd the owner writes to stop it; the owner waits for it on another
// eventfd through its own Waiter (in a backend: the latch, so cancel works).
#include "bank/prefetch.hpp"

#include "bank/error.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace pix {

namespace {

constexpr long kTakeSliceMs = 1000;  // the owner re-checks for interrupts at least this often

void
Signal(int fd) noexcept
{
	uint64_t one = 1;
	while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
	}
}

void
Drain(int fd) noexcept
{
	uint64_t n;
	while (read(fd, &n, sizeof n) > 0 || errno == EINTR) {
	}
}

// The thread's waits: curl's sockets and the stop eventfd, with poll().
class ThreadWaiter final : public Waiter {
public:
	ThreadWaiter(int abort_fd, const std::atomic<bool> &abort) : abort_fd_(abort_fd), abort_(abort) {}

	std::vector<SocketReady>
	Wait(const std::vector<SocketInterest> &sockets, long timeout_ms) override
	{
		std::vector<pollfd> fds;
		fds.reserve(sockets.size() + 1);
		for (const SocketInterest &s : sockets)
			fds.push_back(pollfd{s.fd, static_cast<short>((s.read ? POLLIN : 0) | (s.write ? POLLOUT : 0)), 0});
		fds.push_back(pollfd{abort_fd_, POLLIN, 0});
		std::vector<SocketReady> ready;
		if (poll(fds.data(), fds.size(), static_cast<int>(timeout_ms)) <= 0)
			return ready;  // a timeout (or EINTR): curl's timers run
		for (size_t i = 0; i + 1 < fds.size(); i++) {
			short ev = fds[i].revents;
			if (ev == 0)
				continue;
			bool failed = (ev & (POLLERR | POLLHUP | POLLNVAL)) != 0;  // let curl find out what
			ready.push_back(SocketReady{fds[i].fd, failed || (ev & POLLIN) != 0, failed || (ev & POLLOUT) != 0});
		}
		return ready;
	}

	bool
	Interrupted() override
	{
		return abort_.load(std::memory_order_acquire);
	}

private:
	int abort_fd_;
	const std::atomic<bool> &abort_;
};

}  // namespace

Prefetch::Prefetch(TlsConfig tls, Timeouts timeouts, long long max_response_bytes)
    : http_(std::move(tls), timeouts, max_response_bytes)
{
	done_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	abort_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	received_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Prefetch::~Prefetch()
{
	Cancel();
	if (done_fd_ >= 0)
		close(done_fd_);
	if (abort_fd_ >= 0)
		close(abort_fd_);
	if (received_fd_ >= 0)
		close(received_fd_);
}

bool
Prefetch::Start(const HttpRequest &req)
{
	if (held_ || done_fd_ < 0 || abort_fd_ < 0 || received_fd_ < 0)
		return false;
	try {
		req_ = req;
		head_stop_ = head_stop;
	} catch (...) {
		return false;
	}
	resp_ = HttpResponse{};
	failure_ = nullptr;
	failure_class_ = TransportFailure::kNone;
	parse_ = parse;
	projection_ = projection;
	taken_ = false;
	recycled_ = page_.TakeText();  // the page before last: its storage receives this answer
	page_ready_ = false;
	page_failure_ = nullptr;
	abort_.store(false);
	done_.store(false);
	received_.store(false);
	head_ok_ = false;
	Drain(done_fd_);
	Drain(abort_fd_);
	Drain(received_fd_);
	// The thread inherits this mask: every signal stays with the backend's own thread.
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	bool started = true;
	try {
		thread_ = std::thread(&Prefetch::Run, this);
	} catch (...) {
		started = false;  // no thread: the caller sends the request itself
	}
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
	held_ = started;
	return started;
}

void
Prefetch::Run() noexcept
{
	ThreadWaiter waiter(abort_fd_, abort_);
	try {
		resp_ = http_.Perform(req_, waiter, std::move(recycled_));
	} catch (...) {
		failure_ = std::current_exception();
		failure_class_ = http_.LastFailure();
	}
	if (!failure_ && resp_.status >= 200 && resp_.status < 300) {
		if (!head_stop_.empty()) {
			try {
				head_ok_ = json::ReadHead(resp_.body, head_stop_, head_);
			} catch (...) {
				head_ok_ = false;  // no head: the caller waits for the page
			}
			received_.store(true, std::memory_order_release);
			Signal(received_fd_);
		}
		try {
			page_.Parse(parse_ == Parse::kInPlace ? std::move(resp_.body) : std::string(resp_.body), projection_.get());
		} catch (...) {
			page_failure_ = std::current_exception();
		}
		page_ready_ = true;
	}
	done_.store(true, std::memory_order_release);
	Signal(done_fd_);
}

namespace {
bool
Credential(const std::string &header)
{
	return header.compare(0, 14, "Authorization:") == 0;
}
}  // namespace

// The token may differ (renewed in between): the same credential's, as good as the new one.
bool
Prefetch::Matches(const HttpRequest &req) const
{
	if (!held_ || std::string(req.method) != req_.method || req.url != req_.url || req.body != req_.body)
		return false;
	auto a = req.headers.begin(), b = req_.headers.begin();
	for (;;) {
		while (a != req.headers.end() && Credential(*a))
			++a;
		while (b != req_.headers.end() && Credential(*b))
			++b;
		if (a == req.headers.end() || b == req_.headers.end())
			return a == req.headers.end() && b == req_.headers.end();
		if (*a++ != *b++)
			return false;
	}
}

const rapidjson::Document *
Prefetch::WaitReceived(Waiter &waiter)
{
	if (!held_)
		return nullptr;
	while (!received_.load(std::memory_order_acquire) && !done_.load(std::memory_order_acquire)) {
		if (waiter.Interrupted())
			throw Interrupted();
		waiter.Wait({SocketInterest{received_fd_, true, false}, SocketInterest{done_fd_, true, false}}, kTakeSliceMs);
	}
	Drain(received_fd_);
	return received_.load(std::memory_order_acquire) && head_ok_ ? &head_ : nullptr;
}

HttpResponse
Prefetch::Take(Waiter &waiter, TransportFailure *failure)
{
	if (!held_)
		throw Error(sqlstate::kInternal, "no request was sent ahead");
	try {
		while (!done_.load(std::memory_order_acquire)) {
			if (waiter.Interrupted())
				throw Interrupted();
			waiter.Wait({SocketInterest{done_fd_, true, false}}, kTakeSliceMs);
		}
	} catch (...) {
		Cancel();  // a cancel, or an error raised during the wait: the request is stopped too
		throw;
	}
	Join();
	held_ = false;
	if (failure_) {
		*failure = failure_class_;
		std::exception_ptr f = failure_;
		failure_ = nullptr;
		std::rethrow_exception(f);
	}
	*failure = TransportFailure::kNone;
	taken_ = true;
	return std::move(resp_);
}

Prefetch::Taken
Prefetch::TakePage(json::Page &into)
{
	if (held_ || !taken_)
		return Taken::kNo;
	taken_ = false;
	if (!page_ready_)
		return Taken::kText;
	page_ready_ = false;
	if (page_failure_) {
		std::exception_ptr f = page_failure_;
		page_failure_ = nullptr;
		page_.Clear();
		std::rethrow_exception(f);
	}
	into.Swap(page_);
	page_.Release();  // what `into` held: its tree now, its text's storage at the next Start
	return Taken::kPage;
}

void
Prefetch::ForgetPage() noexcept
{
	if (held_)
		return;
	page_.Clear();
	std::string().swap(recycled_);
}

void
Prefetch::Join() noexcept
{
	if (thread_.joinable())
		thread_.join();
}

void
Prefetch::Cancel() noexcept
{
	if (held_) {
		abort_.store(true, std::memory_order_release);
		Signal(abort_fd_);
		Join();
		held_ = false;
	}
	failure_ = nullptr;
	resp_ = HttpResponse{};
	taken_ = false;
	page_ready_ = false;
	page_failure_ = nullptr;
	tag.clear();
}

}  // namespace pix
