// The ereport half of CppGuard: always runs outside any catch block.
#include "pg/guard.hpp"

namespace pix::pg::detail {

namespace {

// The conversion from UTF-8 to the server encoding, looked up once (InvalidOid when none).
Oid
Utf8ToServerProc()
{
	static bool looked_up = false;
	static Oid proc = InvalidOid;
	if (!looked_up && IsTransactionState()) {
		proc = FindDefaultConversionProc(PG_UTF8, GetDatabaseEncoding());
		looked_up = true;
	}
	return proc;
}

// Text of the bank (UTF-8, possibly cut or invalid) that a report can always carry in the
// server encoding: invalid bytes become "\xNN" and characters the server encoding cannot
// hold become "\u20AC"-style escapes. Never raises on a bad byte.
const char *
ServerSafe(const char *s)
{
	int db = GetDatabaseEncoding();
	bool keep_utf8 = db == PG_UTF8 || db == PG_SQL_ASCII;
	const unsigned char *p = reinterpret_cast<const unsigned char *>(s);
	bool plain = true;
	for (const unsigned char *q = p; *q && plain; q++)
		plain = *q < 0x80;
	if (plain)
		return s;
	StringInfoData out;
	initStringInfo(&out);
	while (*p) {
		if (*p < 0x80) {
			appendStringInfoChar(&out, static_cast<char>(*p++));
			continue;
		}
		int l = pg_utf_mblen(p);
		bool legal = l > 1;
		for (int i = 1; i < l && legal; i++)
			legal = p[i] != '\0';
		legal = legal && pg_utf8_islegal(p, l);
		if (!legal) {
			appendStringInfo(&out, "\\x%02X", *p++);
			continue;
		}
		bool done = keep_utf8;
		if (keep_utf8) {
			appendBinaryStringInfo(&out, reinterpret_cast<const char *>(p), l);
		}
#if PG_VERSION_NUM >= 140000
		else if (Oid proc = Utf8ToServerProc(); OidIsValid(proc)) {
			unsigned char buf[64];  // pg_do_encoding_conversion_buf wants room to spare
			int used = pg_do_encoding_conversion_buf(proc, PG_UTF8, db, const_cast<unsigned char *>(p), l, buf,
			                                         sizeof buf, true);
			if (used == l) {
				appendStringInfoString(&out, reinterpret_cast<char *>(buf));
				done = true;
			}
		}
#endif
		if (!done) {
			pg_wchar cp = utf8_to_unicode(p);
			appendStringInfo(&out, cp > 0xFFFF ? "\\U%08X" : "\\u%04X", static_cast<unsigned>(cp));
		}
		p += l;
	}
	return out.data;
}

}  // namespace

void
Raise(Pending &p)
{
	Caught kind = p.kind;
	p.kind = Caught::kNone;
	// Bank text (title, detail, violacoes) is UTF-8; the report is in the server encoding.
	const char *message = "", *detail = "", *hint = "";
	if (kind == Caught::kError || kind == Caught::kOther) {
		message = ServerSafe(p.message);
		detail = ServerSafe(p.detail);
		hint = ServerSafe(p.hint);
	}
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
		                errmsg("%s", message), detail[0] ? errdetail("%s", detail) : 0,
		                hint[0] ? errhint("%s", hint) : 0));
		break;
	case Caught::kOutOfMemory:
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in pix_fdw")));
		break;
	case Caught::kOther:
	case Caught::kNone:
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pix_fdw internal error: %s", message)));
		break;
	}
	pg_unreachable();
}

}  // namespace pix::pg::detail
