// The C++ <-> PostgreSQL boundary, both directions, in one place.
//
//   CppGuard(f): run C++ code called by PostgreSQL. A C++ exception never escapes: it is
//     caught, its text copied into static buffers (no allocation inside the catch), and the
//     ereport happens only after the catch has been left and every destructor has run.
//     pix::Interrupted becomes CHECK_FOR_INTERRUPTS(), so PostgreSQL reports the cancel,
//     timeout or terminate itself. A PostgreSQL error that PgGuard turned into PgError is
//     re-thrown unchanged (same SQLSTATE, detail, hint).
//
//   PgGuard(f): call PostgreSQL from C++ frames that have destructors to run. An ereport
//     inside f is caught with sigsetjmp (the longjmp lands in this frame, not past the
//     caller's destructors) and rethrown as PgError. Keep f free of RAII objects itself.
//
// Neither may be used inside a catch block, a destructor, a memory-context callback or a
// libcurl callback, where nothing may raise.
#pragma once

#include "pg/pg.hpp"

#include "bank/error.hpp"

#include <csetjmp>
#include <cstring>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

namespace pix::pg {

// A PostgreSQL error travelling through C++ frames.
class PgError : public std::exception {
public:
	explicit PgError(ErrorData *edata) : edata_(edata) {}
	ErrorData *
	Data() const
	{
		return edata_;
	}
	const char *
	what() const noexcept override
	{
		return edata_ && edata_->message ? edata_->message : "PostgreSQL error";
	}

private:
	ErrorData *edata_;  // palloc'd in the context that was current at the PgGuard
};

namespace detail {

enum class Caught { kNone, kPg, kInterrupted, kError, kOutOfMemory, kOther };

struct Pending {
	Caught kind = Caught::kNone;
	ErrorData *edata = nullptr;
	char state[6] = {0};
	char message[1024] = {0};
	char detail[2048] = {0};
	char hint[1024] = {0};
};

// Copies without allocating (safe inside a catch). A cut falls between UTF-8 characters.
inline void
Copy(char *dst, size_t size, const char *src)
{
	src = src ? src : "";
	std::strncpy(dst, src, size - 1);
	size_t cut = size - 1;
	if (std::strlen(dst) == cut) {
		while (cut > 0 && (static_cast<unsigned char>(src[cut]) & 0xC0) == 0x80)
			cut--;  // src[cut] continues a character: cut before its first byte
	}
	dst[cut] = '\0';
}

// Raises what was caught. Called outside any catch block.
[[noreturn]] void Raise(Pending &p);

}  // namespace detail

template <typename F>
auto
CppGuard(F &&f) -> decltype(f())
{
	using R = decltype(f());
	static detail::Pending pending;  // one backend thread; re-entry only after Raise
	pending.kind = detail::Caught::kNone;
	try {
		if constexpr (std::is_void_v<R>) {
			f();
			return;
		} else {
			return f();
		}
	} catch (const PgError &e) {
		pending.kind = detail::Caught::kPg;
		pending.edata = e.Data();
	} catch (const pix::Interrupted &) {
		pending.kind = detail::Caught::kInterrupted;
	} catch (const pix::Error &e) {
		pending.kind = detail::Caught::kError;
		detail::Copy(pending.state, sizeof pending.state, e.State());
		detail::Copy(pending.message, sizeof pending.message, e.what());
		detail::Copy(pending.detail, sizeof pending.detail, e.Detail().c_str());
		detail::Copy(pending.hint, sizeof pending.hint, e.Hint().c_str());
	} catch (const std::bad_alloc &) {
		pending.kind = detail::Caught::kOutOfMemory;
	} catch (const std::exception &e) {
		pending.kind = detail::Caught::kOther;
		detail::Copy(pending.message, sizeof pending.message, e.what());
	} catch (...) {
		pending.kind = detail::Caught::kOther;
		detail::Copy(pending.message, sizeof pending.message, "unknown C++ exception");
	}
	detail::Raise(pending);
}

template <typename F>
auto
PgGuard(F &&f) -> decltype(f())
{
	using R = decltype(f());
	MemoryContext ctx = CurrentMemoryContext;
	sigjmp_buf *saved_stack = PG_exception_stack;
	ErrorContextCallback *saved_context = error_context_stack;
	sigjmp_buf local;
	if (sigsetjmp(local, 0) == 0) {
		PG_exception_stack = &local;
		if constexpr (std::is_void_v<R>) {
			f();
			PG_exception_stack = saved_stack;
			error_context_stack = saved_context;
			return;
		} else {
			R result = f();
			PG_exception_stack = saved_stack;
			error_context_stack = saved_context;
			return result;
		}
	}
	PG_exception_stack = saved_stack;
	error_context_stack = saved_context;
	MemoryContextSwitchTo(ctx);
	ErrorData *edata = CopyErrorData();
	FlushErrorState();
	throw PgError(edata);
}

}  // namespace pix::pg
