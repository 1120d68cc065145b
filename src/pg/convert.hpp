// Cell text -> Datum conversion for one column (plain PostgreSQL code; may ereport).
#pragma once

#include "pg/pg.hpp"

#include "bank/json.hpp"

namespace pix::pg {

enum class ConvKind : char { kText, kNumeric, kDate, kTimestampTz, kOther };

struct ColumnConv {
	ConvKind kind;
	Oid type;
	int32 typmod;
	Oid ioparam;
	FmgrInfo in;
};

void InitColumnConv(ColumnConv *c, Oid type, int32 typmod);
// True for column types that take the JSON text of a value (objects stay JSON).
bool WantsJson(Oid type);
// The bank's UTF-8 text s (len bytes, NUL-terminated) as server-encoding text: s itself in
// a UTF8 (or SQL_ASCII) database once validated, else a palloc'd conversion (*len updated).
// Invalid UTF-8, a NUL byte (JSON \u0000) or a character the server encoding cannot hold
// is an ERROR. plain: s is known to be valid UTF-8 without a NUL (json::Page::Plain), so it
// is taken unchecked (and still converted to a server encoding other than UTF8).
const char *ServerText(const char *s, size_t *len, bool plain = false);
// s is the bank's UTF-8, NUL-terminated, len bytes long; plain as for ServerText.
Datum ConvertCell(const ColumnConv *c, const char *s, size_t len, pg_tz *tz, bool plain = false);
// The jsonb of a value of the page, built from the parsed tree the way jsonb_in builds it from
// text (pushJsonbValue: keys sorted, the last of duplicate keys kept, numbers through
// numeric_in from the bank's digits), without writing and re-lexing the text. Same errors:
// \u0000 (22P05), invalid UTF-8, characters the server encoding lacks, over-long strings.
Datum JsonbFromValue(const rapidjson::Value &v, const json::Page &page);

}  // namespace pix::pg
