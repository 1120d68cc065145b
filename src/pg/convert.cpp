// Text cells from the bank -> PostgreSQL datums, reading the bank's odd formats exactly:
// amounts as decimal text (never through float), dates as YYYY-MM-DD or DD/MM/YYYY, and local
// Brasília timestamps without offset ("2024-06-20 23:30:00.123") as timestamptz. Every cell
// is the bank's UTF-8 first made server-encoding text (ServerText), whatever its type.
#include "pg/convert.hpp"

#include <cctype>
#include <cstring>

namespace pix::pg {

namespace {

int
Digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit(static_cast<unsigned char>(s[i])))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

[[noreturn]] void
BadDatetime(const char *what, const char *s)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_DATETIME_FORMAT),
	                errmsg("invalid %s \"%s\" in the bank's answer", what, s)));
	pg_unreachable();
}

// "YYYY-MM-DD..." or "DD/MM/YYYY"; false when neither.
bool
ParseDate(const char *s, size_t len, int *y, int *m, int *d)
{
	if (len >= 10 && s[4] == '-' && s[7] == '-') {
		*y = Digits(s, 4);
		*m = Digits(s + 5, 2);
		*d = Digits(s + 8, 2);
	} else if (len >= 10 && s[2] == '/' && s[5] == '/') {
		*d = Digits(s, 2);
		*m = Digits(s + 3, 2);
		*y = Digits(s + 6, 4);
	} else {
		return false;
	}
	return *y > 0 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= day_tab[isleap(*y)][*m - 1];
}

Datum
ToDate(const char *s, size_t len)
{
	int y, m, d;
	// A date, or the date of a timestamp ("2024-06-20T..."); nothing else after it.
	if (!ParseDate(s, len, &y, &m, &d) || (len > 10 && s[10] != 'T' && s[10] != ' '))
		BadDatetime("date", s);
	return DateADTGetDatum(date2j(y, m, d) - POSTGRES_EPOCH_JDATE);
}

// Local Brasília time unless the text carries Z or an offset.
Datum
ToTimestampTz(const char *s, size_t len, pg_tz *tz)
{
	int y, m, d;
	if (!ParseDate(s, len, &y, &m, &d) || s[4] != '-')
		BadDatetime("timestamp", s);
	struct pg_tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y;
	tm.tm_mon = m;
	tm.tm_mday = d;
	fsec_t fsec = 0;
	size_t i = 10;
	if (i < len) {
		if ((s[i] != ' ' && s[i] != 'T') || len < i + 9 || s[i + 3] != ':' || s[i + 6] != ':')
			BadDatetime("timestamp", s);
		tm.tm_hour = Digits(s + i + 1, 2);
		tm.tm_min = Digits(s + i + 4, 2);
		tm.tm_sec = Digits(s + i + 7, 2);
		if (tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
		    tm.tm_sec > 60)
			BadDatetime("timestamp", s);
		i += 9;
		if (i < len && s[i] == '.') {
			int scale = 100000;
			for (i++; i < len && isdigit(static_cast<unsigned char>(s[i])); i++) {
				fsec += (s[i] - '0') * scale;
				scale /= 10;
			}
		}
		if (i < len) {
			// An explicit zone (Z, +hh:mm, -hh): PostgreSQL's own parser is exact for these.
			if (s[i] != 'Z' && s[i] != '+' && s[i] != '-')
				BadDatetime("timestamp", s);
			return DirectFunctionCall3(timestamptz_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
			                           Int32GetDatum(-1));
		}
	}
	int offset = DetermineTimeZoneOffset(&tm, tz);
	TimestampTz result;
	if (tm2timestamp(&tm, fsec, &offset, &result) != 0)
		BadDatetime("timestamp", s);
	return TimestampTzGetDatum(result);
}

Datum
ToNumeric(const ColumnConv *c, const char *s, size_t len)
{
	// Some answers use a decimal comma ("24,90"); accept it when there is no point.
	if (memchr(s, ',', len) && !memchr(s, '.', len)) {
		char *copy = pnstrdup(s, len);
		for (char *p = copy; *p; p++)
			if (*p == ',')
				*p = '.';
		s = copy;
	}
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
	                           Int32GetDatum(c->typmod));
}

// Bytes 0x01-0x7F only (most of the bank's text): valid UTF-8 without asking
// pg_verify_mbstr, 8 bytes at a time.
inline bool
PlainAscii(const char *s, size_t len)
{
	constexpr uint64 kHigh = UINT64CONST(0x8080808080808080), kOnes = UINT64CONST(0x0101010101010101);
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64 x;
		memcpy(&x, s + i, 8);
		if ((x & kHigh) != 0 || ((x - kOnes) & ~x & kHigh) != 0)  // a high bit, or a zero byte
			return false;
	}
	for (; i < len; i++)
		if (static_cast<unsigned char>(s[i]) - 1u >= 0x7Fu)
			return false;
	return true;
}

// A JSON string (or key) of the page as a jsonb string: jsonb_in's checks, in its words.
void
JsonbString(JsonbValue *jv, const rapidjson::Value &v)
{
	const char *s = v.GetString();
	size_t len = v.GetStringLength();
	if (memchr(s, '\0', len))
		ereport(ERROR, (errcode(ERRCODE_UNTRANSLATABLE_CHARACTER), errmsg("unsupported Unicode escape sequence"),
		                errdetail("\\u0000 cannot be converted to text.")));
	s = ServerText(s, &len);
	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("string too long to represent as jsonb string"),
		                errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
		                          JENTRY_OFFLENMASK)));
	jv->type = jbvString;
	jv->val.string.val = const_cast<char *>(s);
	jv->val.string.len = static_cast<int>(len);
}

Numeric
JsonbNumber(const char *text)
{
	return DatumGetNumeric(
	    DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

void
JsonbScalar(JsonbValue *jv, const rapidjson::Value &v, const json::Page &page)
{
	if (v.IsString()) {
		if (!page.IsNumber(v)) {
			JsonbString(jv, v);
			return;
		}
		jv->type = jbvNumeric;  // the bank's digits (not NUL-terminated in the page)
		jv->val.numeric = JsonbNumber(pnstrdup(v.GetString(), v.GetStringLength()));
	} else if (v.IsBool()) {
		jv->type = jbvBool;
		jv->val.boolean = v.GetBool();
	} else if (v.IsNull()) {
		jv->type = jbvNull;
	} else {
		// A number added to the page after parsing (none today); never one through a double.
		char buf[32];
		if (v.IsInt64())
			snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.GetInt64()));
		else if (v.IsUint64())
			snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v.GetUint64()));
		else
			elog(ERROR, "pix_fdw: a JSON number without its text");
		jv->type = jbvNumeric;
		jv->val.numeric = JsonbNumber(buf);
	}
}

// Pushes v (a value of an object, or an element of an array: `as`); returns what
// pushJsonbValue returns (the finished jsonb value when v was the outermost container).
// Only trivially destructible locals: PostgreSQL may raise an error in any of these frames.
JsonbValue *
PushJsonb(JsonbParseState **state, const rapidjson::Value &v, const json::Page &page, JsonbIteratorToken as)
{
	check_stack_depth();
	if (v.IsObject()) {
		// Keys pushed in jsonb's order (shorter first, then bytewise; a stable insertion sort,
		// so duplicates keep theirs), which leaves uniqueifyJsonbObject's qsort a check that
		// they are sorted. With duplicate keys it really sorts: the last one still wins.
		rapidjson::SizeType n = v.MemberCount();
		JsonbValue small_keys[32];
		rapidjson::SizeType small_order[32];
		JsonbValue *keys = n <= 32 ? small_keys : static_cast<JsonbValue *>(palloc(n * sizeof(JsonbValue)));
		rapidjson::SizeType *order =
		    n <= 32 ? small_order : static_cast<rapidjson::SizeType *>(palloc(n * sizeof(rapidjson::SizeType)));
		auto members = v.MemberBegin();
		for (rapidjson::SizeType i = 0; i < n; i++) {
			JsonbString(&keys[i], members[i].name);
			rapidjson::SizeType j = i;
			for (; j > 0; j--) {
				const JsonbValue &a = keys[order[j - 1]], &b = keys[i];
				if (a.val.string.len < b.val.string.len ||
				    (a.val.string.len == b.val.string.len &&
				     memcmp(a.val.string.val, b.val.string.val, b.val.string.len) <= 0))
					break;
				order[j] = order[j - 1];
			}
			order[j] = i;
		}
		pushJsonbValue(state, WJB_BEGIN_OBJECT, nullptr);
		for (rapidjson::SizeType i = 0; i < n; i++) {
			pushJsonbValue(state, WJB_KEY, &keys[order[i]]);
			PushJsonb(state, members[order[i]].value, page, WJB_VALUE);
		}
		return pushJsonbValue(state, WJB_END_OBJECT, nullptr);
	}
	if (v.IsArray()) {
		pushJsonbValue(state, WJB_BEGIN_ARRAY, nullptr);
		for (auto e = v.Begin(); e != v.End(); ++e)
			PushJsonb(state, *e, page, WJB_ELEM);
		return pushJsonbValue(state, WJB_END_ARRAY, nullptr);
	}
	JsonbValue jv;
	JsonbScalar(&jv, v, page);
	return pushJsonbValue(state, as, &jv);
}

}  // namespace

Datum
JsonbFromValue(const rapidjson::Value &v, const json::Page &page)
{
	JsonbParseState *state = nullptr;
	JsonbValue *res;
	if (v.IsObject() || v.IsArray()) {
		res = PushJsonb(&state, v, page, WJB_VALUE);
	} else {
		// A scalar: a one-element raw-scalar array, as jsonb_in makes it.
		JsonbValue va;
		va.type = jbvArray;
		va.val.array.rawScalar = true;
		va.val.array.nElems = 1;
		pushJsonbValue(&state, WJB_BEGIN_ARRAY, &va);
		JsonbValue jv;
		JsonbScalar(&jv, v, page);
		pushJsonbValue(&state, WJB_ELEM, &jv);
		res = pushJsonbValue(&state, WJB_END_ARRAY, nullptr);
	}
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

const char *
ServerText(const char *s, size_t *len)
{
	if (*len > MaxAllocSize)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("a value in the bank's answer is too long (%zu bytes)", *len)));
	int n = static_cast<int>(*len);
	if (!PlainAscii(s, *len) && !pg_verify_mbstr(PG_UTF8, s, n, true)) {
		if (memchr(s, '\0', *len))
			ereport(ERROR, (errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			                errmsg("the bank's text contains a NUL character (\\u0000)"),
			                errdetail("PostgreSQL text cannot hold NUL characters.")));
		(void) pg_verify_mbstr(PG_UTF8, s, n, false);  // "invalid byte sequence for encoding "UTF8": 0x.."
	}
	int db = GetDatabaseEncoding();
	if (db == PG_UTF8 || db == PG_SQL_ASCII)
		return s;  // the common case: validated, not copied
	// Reports characters the server encoding lacks ("... has no equivalent in encoding ...").
	char *converted = pg_any_to_server(s, n, PG_UTF8);
	if (converted != s)
		*len = strlen(converted);
	return converted;
}

void
InitColumnConv(ColumnConv *c, Oid type, int32 typmod)
{
	c->type = type;
	c->typmod = typmod;
	switch (type) {
	case TEXTOID:
		c->kind = ConvKind::kText;
		break;
	case NUMERICOID:
		c->kind = ConvKind::kNumeric;
		break;
	case DATEOID:
		c->kind = ConvKind::kDate;
		break;
	case TIMESTAMPTZOID:
		c->kind = ConvKind::kTimestampTz;
		break;
	default:
		c->kind = ConvKind::kOther;  // jsonb, uuid, int, bool, varchar...: the type's input
		break;
	}
	Oid infunc;
	getTypeInputInfo(type, &infunc, &c->ioparam);
	fmgr_info(infunc, &c->in);
}

bool
WantsJson(Oid type)
{
	return type == JSONBOID || type == JSONOID;
}

Datum
ConvertCell(const ColumnConv *c, const char *s, size_t len, pg_tz *tz)
{
	s = ServerText(s, &len);
	switch (c->kind) {
	case ConvKind::kText:
		return PointerGetDatum(cstring_to_text_with_len(s, static_cast<int>(len)));
	case ConvKind::kNumeric:
		return ToNumeric(c, s, len);
	case ConvKind::kDate:
		return ToDate(s, len);
	case ConvKind::kTimestampTz:
		return ToTimestampTz(s, len, tz);
	case ConvKind::kOther:
		break;
	}
	return InputFunctionCall(const_cast<FmgrInfo *>(&c->in), const_cast<char *>(s), c->ioparam, c->typmod);
}

}  // namespace pix::pg
