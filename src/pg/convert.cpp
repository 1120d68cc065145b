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

#if PG_VERSION_NUM >= 140000
// "-123.45" or "24,90" with at most 18 digits: the number made from its digits and scale,
// exactly what numeric_in makes of it (same value and display scale). False for anything
// else (exponents, signs other than a leading '-', spaces), which numeric_in reads.
bool
SmallDecimal(const char *s, size_t len, Numeric *out)
{
	bool negative = len > 0 && s[0] == '-';
	size_t i = negative ? 1 : 0;
	int64 v = 0;
	int digits = 0, scale = -1;
	for (; i < len; i++) {
		char ch = s[i];
		if (ch >= '0' && ch <= '9') {
			if (++digits > 18)
				return false;
			v = v * 10 + (ch - '0');
			if (scale >= 0)
				scale++;
		} else if ((ch == '.' || ch == ',') && scale < 0) {
			scale = 0;
		} else {
			return false;
		}
	}
	// A digit before the point and after it when there is one: "5." and ".5" go to numeric_in.
	if (digits == 0 || scale == 0 || (scale > 0 && !isdigit(static_cast<unsigned char>(s[negative ? 1 : 0]))))
		return false;
	*out = int64_div_fast_to_numeric(negative ? -v : v, scale < 0 ? 0 : scale);
	return true;
}
#endif

Datum
ToNumeric(const ColumnConv *c, const char *s, size_t len)
{
#if PG_VERSION_NUM >= 140000
	Numeric fast;
	if (c->typmod < 0 && SmallDecimal(s, len, &fast))
		return NumericGetDatum(fast);
#endif
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

// A JSON string (or key) of the page as a jsonb string: jsonb_in's checks, in its words.
void
JsonbString(JsonbValue *jv, const rapidjson::Value &v, bool plain)
{
	const char *s = v.GetString();
	size_t len = v.GetStringLength();
	if (!plain && memchr(s, '\0', len))
		ereport(ERROR, (errcode(ERRCODE_UNTRANSLATABLE_CHARACTER), errmsg("unsupported Unicode escape sequence"),
		                errdetail("\\u0000 cannot be converted to text.")));
	s = ServerText(s, &len, plain);
	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("string too long to represent as jsonb string"),
		                errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
		                          JENTRY_OFFLENMASK)));
	jv->type = jbvString;
	jv->val.string.val = const_cast<char *>(s);
	jv->val.string.len = static_cast<int>(len);
}

Numeric
JsonbNumber(const char *s, size_t len)
{
#if PG_VERSION_NUM >= 140000
	Numeric fast;
	if (SmallDecimal(s, len, &fast))
		return fast;
#endif
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(pnstrdup(s, len)),
	                                           ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

// The numeric of a JSON number: the bank's digits (not NUL-terminated in the page), or the
// text of a number added to the page after parsing (none today); never one through a double.
Numeric
JsonbNumeric(const rapidjson::Value &v)
{
	if (v.IsString())
		return JsonbNumber(v.GetString(), v.GetStringLength());
	char buf[32];
	if (v.IsInt64())
		snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.GetInt64()));
	else if (v.IsUint64())
		snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v.GetUint64()));
	else
		elog(ERROR, "pix_fdw: a JSON number without its text");
	return JsonbNumber(buf, strlen(buf));
}

// jsonb's binary form written straight from the page: what jsonb_in builds from the same text
// (convertToJsonb of its tree). Objects keep one pair per key, the last of equal keys, sorted
// shorter keys first and then bytewise; every JB_OFFSET_STRIDE-th entry holds the end offset
// instead of a length; numerics and containers start int-aligned. Only trivially destructible
// locals: PostgreSQL may raise an error in any of these frames.
void
PadToInt(StringInfo b)
{
	static const char zeros[4] = {0, 0, 0, 0};
	int pad = INTALIGN(b->len) - b->len;
	if (pad > 0)
		appendBinaryStringInfo(b, zeros, pad);
}

int
ReserveEntries(StringInfo b, int n)
{
	int at = b->len;
	enlargeStringInfo(b, n * static_cast<int>(sizeof(JEntry)));
	b->len += n * static_cast<int>(sizeof(JEntry));
	b->data[b->len] = '\0';
	return at;
}

// Sets entry i of the container whose entries start at `entries`, with `total` the length of
// the data of entries 0..i.
void
SetEntry(StringInfo b, int entries, int i, JEntry meta, uint32 *total)
{
	*total += JBE_OFFLENFLD(meta);
	if (*total > JENTRY_OFFLENMASK)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("total size of jsonb array elements exceeds the maximum of %d bytes", JENTRY_OFFLENMASK)));
	if (i % JB_OFFSET_STRIDE == 0)
		meta = (meta & JENTRY_TYPEMASK) | *total | JENTRY_HAS_OFF;
	memcpy(b->data + entries + i * sizeof(JEntry), &meta, sizeof(JEntry));
}

JEntry EncodeJsonb(StringInfo b, const rapidjson::Value &v, const json::Page &page);

JEntry
EncodeString(StringInfo b, const JsonbValue &s)
{
	appendBinaryStringInfo(b, s.val.string.val, s.val.string.len);
	return static_cast<JEntry>(s.val.string.len);
}

JEntry
EncodeObject(StringInfo b, const rapidjson::Value &v, const json::Page &page)
{
	rapidjson::SizeType n = v.MemberCount();
	JsonbValue small_keys[32];
	rapidjson::SizeType small_order[32];
	JsonbValue *keys = n <= 32 ? small_keys : static_cast<JsonbValue *>(palloc(n * sizeof(JsonbValue)));
	rapidjson::SizeType *order =
	    n <= 32 ? small_order : static_cast<rapidjson::SizeType *>(palloc(n * sizeof(rapidjson::SizeType)));
	auto members = v.MemberBegin();
	// A stable insertion sort of the keys (as stored: server encoding) in jsonb's order.
	for (rapidjson::SizeType i = 0; i < n; i++) {
		JsonbString(&keys[i], members[i].name, page.Plain());
		rapidjson::SizeType j = i;
		for (; j > 0; j--) {
			const JsonbValue &a = keys[order[j - 1]], &k = keys[i];
			if (a.val.string.len < k.val.string.len ||
			    (a.val.string.len == k.val.string.len &&
			     memcmp(a.val.string.val, k.val.string.val, k.val.string.len) <= 0))
				break;
			order[j] = order[j - 1];
		}
		order[j] = i;
	}
	// Of equal keys (adjacent now, in the page's order) the last one stays.
	rapidjson::SizeType pairs = 0;
	for (rapidjson::SizeType i = 0; i < n; i++) {
		const JsonbValue &k = keys[order[i]];
		if (i + 1 < n) {
			const JsonbValue &next = keys[order[i + 1]];
			if (next.val.string.len == k.val.string.len && memcmp(next.val.string.val, k.val.string.val, k.val.string.len) == 0)
				continue;
		}
		order[pairs++] = order[i];
	}
	int base = b->len;
	PadToInt(b);
	uint32 header = static_cast<uint32>(pairs) | JB_FOBJECT;
	appendBinaryStringInfo(b, reinterpret_cast<const char *>(&header), sizeof header);
	int entries = ReserveEntries(b, static_cast<int>(pairs) * 2);
	uint32 total = 0;
	for (rapidjson::SizeType i = 0; i < pairs; i++)
		SetEntry(b, entries, static_cast<int>(i), EncodeString(b, keys[order[i]]), &total);
	for (rapidjson::SizeType i = 0; i < pairs; i++)
		SetEntry(b, entries, static_cast<int>(i + pairs), EncodeJsonb(b, members[order[i]].value, page), &total);
	if (keys != small_keys) {
		pfree(keys);
		pfree(order);
	}
	return JENTRY_ISCONTAINER | static_cast<JEntry>(b->len - base);
}

JEntry
EncodeArray(StringInfo b, const rapidjson::Value *elems, rapidjson::SizeType n, bool raw_scalar, const json::Page &page)
{
	int base = b->len;
	PadToInt(b);
	uint32 header = static_cast<uint32>(n) | JB_FARRAY | (raw_scalar ? JB_FSCALAR : 0);
	appendBinaryStringInfo(b, reinterpret_cast<const char *>(&header), sizeof header);
	int entries = ReserveEntries(b, static_cast<int>(n));
	uint32 total = 0;
	for (rapidjson::SizeType i = 0; i < n; i++)
		SetEntry(b, entries, static_cast<int>(i), EncodeJsonb(b, elems[i], page), &total);
	return JENTRY_ISCONTAINER | static_cast<JEntry>(b->len - base);
}

JEntry
EncodeJsonb(StringInfo b, const rapidjson::Value &v, const json::Page &page)
{
	check_stack_depth();
	if (v.IsObject())
		return EncodeObject(b, v, page);
	if (v.IsArray())
		return EncodeArray(b, v.Begin(), v.Size(), false, page);
	if (v.IsNull())
		return JENTRY_ISNULL;
	if (v.IsBool())
		return v.GetBool() ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
	if (v.IsString() && !page.IsNumber(v)) {
		JsonbValue s;
		JsonbString(&s, v, page.Plain());
		return EncodeString(b, s);
	}
	Numeric num = JsonbNumeric(v);
	int pad = INTALIGN(b->len) - b->len;
	PadToInt(b);
	int len = static_cast<int>(VARSIZE_ANY(num));
	appendBinaryStringInfo(b, reinterpret_cast<const char *>(num), len);
	return JENTRY_ISNUMERIC | static_cast<JEntry>(pad + len);
}

}  // namespace

Datum
JsonbFromValue(const rapidjson::Value &v, const json::Page &page)
{
	StringInfoData b;
	initStringInfo(&b);
	ReserveEntries(&b, 1);  // the varlena header's room (4 bytes, as one entry)
	if (v.IsObject() || v.IsArray())
		(void) EncodeJsonb(&b, v, page);
	else
		(void) EncodeArray(&b, &v, 1, true, page);  // a scalar: a one-element raw-scalar array
	SET_VARSIZE(b.data, b.len);
	return PointerGetDatum(b.data);
}

const char *
ServerText(const char *s, size_t *len, bool plain)
{
	if (*len > MaxAllocSize)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("a value in the bank's answer is too long (%zu bytes)", *len)));
	const int db = GetDatabaseEncoding();
	if (plain && (db == PG_UTF8 || db == PG_SQL_ASCII))
		return s;  // validated with the whole page's text (json::ValidUtf8), not copied
	int n = static_cast<int>(*len);
	// ASCII (most of the bank's text) is valid UTF-8 without asking pg_verify_mbstr.
	bool ascii = json::AsciiRun(s, *len) == *len;
	if (!plain && !ascii && !pg_verify_mbstr(PG_UTF8, s, n, true)) {
		if (memchr(s, '\0', *len))
			ereport(ERROR, (errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			                errmsg("the bank's text contains a NUL character (\\u0000)"),
			                errdetail("PostgreSQL text cannot hold NUL characters.")));
		(void) pg_verify_mbstr(PG_UTF8, s, n, false);  // "invalid byte sequence for encoding "UTF8": 0x.."
	}
	if (ascii)
		return s;  // the common case: ASCII is the same text in every server encoding
	if (db == PG_UTF8 || db == PG_SQL_ASCII)
		return s;  // validated, not copied
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
ConvertCell(const ColumnConv *c, const char *s, size_t len, pg_tz *tz, bool plain)
{
	s = ServerText(s, &len, plain);
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
