// The ereport half of CppGuard: always runs outside any catch block.
#include "pg/guard.hpp"

namespace pix::pg::detail {

void
Raise(Pending &p)
{
	Caught kind = p.kind;
	p.kind = Caught::kNone;
	switch (kind) {
	case Caught::kPg:
		ReThrowError(p.edata);
		break;
	case Caught::kInterrupted:
		CHECK_FOR_INTERRUPTS();
		// The interrupt was consumed elsewhere; still never return half-done work.
		ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to user request")));
		break;
	case Caught::kError:
		ereport(ERROR, (errcode(MAKE_SQLSTATE(p.state[0], p.state[1], p.state[2], p.state[3], p.state[4])),
		                errmsg("%s", p.message), p.detail[0] ? errdetail("%s", p.detail) : 0,
		                p.hint[0] ? errhint("%s", p.hint) : 0));
		break;
	case Caught::kOutOfMemory:
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in pix_fdw")));
		break;
	case Caught::kOther:
	case Caught::kNone:
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pix_fdw internal error: %s", p.message)));
		break;
	}
	pg_unreachable();
}

}  // namespace pix::pg::detail
