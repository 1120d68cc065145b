// Option names, where each may be set, their validation, and reading them back.
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

#include <cctype>
#include <cstring>

namespace pix::pg {

namespace {

struct OptionDef {
	const char *name;
	Oid context;          // catalog the option belongs to
	bool superuser_only;  // makes the server read files: superuser only
	const char *help;     // shown in hints about its value
};

const OptionDef kOptions[] = {
    {"url", ForeignServerRelationId, false, "an https:// base URL, e.g. https://cdpj.partners.bancointer.com.br"},
    {"conta_corrente", ForeignServerRelationId, false, "digits of the account with its check digit, no leading zeros"},
    {"ca_file", ForeignServerRelationId, true, "a PEM file of CA certificates readable by the server"},
    {"connect_timeout", ForeignServerRelationId, false, "a positive duration such as '10 s' or '500 ms'"},
    {"request_timeout", ForeignServerRelationId, false, "a positive duration such as '60 s'"},
    {"max_retry_wait", ForeignServerRelationId, false, "a duration such as '30 s' ('0' never waits to retry)"},
    {"history_start", ForeignServerRelationId, false, "a date such as '2020-01-01': when the account's history begins"},
    {"max_calls", ForeignServerRelationId, false, "an integer from 1 to 100000: bank calls one scan may make"},
    {"max_response_size", ForeignServerRelationId, false, "a size such as '32 MB', from 1 kB to 1 GB"},
    {"rate_limits", ForeignServerRelationId, false,
     "'on' (the bank's published per-minute limits, the default), 'off', or budgets such as 'extrato=10/min, "
     "token=5/min'"},
    {"cache_ttl", ForeignServerRelationId, false,
     "a duration such as '60 s' or '5 min' ('0' turns the result cache off): how long an answer is reused"},
    {"cache_ttl_closed", ForeignServerRelationId, false,
     "a duration such as '1 h' or '60 min': how long a statement answer of days before today is reused"},
    {"prefetch", ForeignServerRelationId, false,
     "'on' (the default) or 'off': whether a scan sends its next page's request while it reads this page"},
    {"max_valor", ForeignServerRelationId, false,
     "a positive amount with at most two decimals, such as '5000.00': the largest single payment pix_fdw.pay() "
     "queues"},
    {"max_valor_diario", ForeignServerRelationId, false,
     "a positive amount with at most two decimals, such as '20000.00': the most pix_fdw.pay() queues per "
     "Brasília calendar day"},
    {"client_id", UserMappingRelationId, false, "the integration's client id"},
    {"client_secret", UserMappingRelationId, false, "the integration's client secret"},
    {"cert_file", UserMappingRelationId, true, "a PEM certificate file readable by the server"},
    {"key_file", UserMappingRelationId, true, "an unencrypted PEM private key file readable by the server"},
    {"cert_pem", UserMappingRelationId, false, "PEM text starting with -----BEGIN CERTIFICATE-----"},
    {"key_pem", UserMappingRelationId, false, "unencrypted PEM private key text"},
    {"endpoint", ForeignTableRelationId, false, nullptr},
    {"default_window", ForeignTableRelationId, false,
     "an interval such as '30 days' (read when a query has no date condition at all), or 'none'"},
    {"history_start", ForeignTableRelationId, false, "a date such as '2020-01-01': when the account's history begins"},
    {"page_size", ForeignTableRelationId, false, "an integer from 1 to 10000"},
    {"field", AttributeRelationId, false, "a JSON path such as 'detalhes.txId'"},
};

const OptionDef *
FindOption(const char *name, Oid context)
{
	for (const OptionDef &o : kOptions)
		if (o.context == context && strcmp(o.name, name) == 0)
			return &o;
	return nullptr;
}

// "a, b, c" of the endpoints, built with palloc only (no C++ temporaries under ereport).
char *
EndpointNames()
{
	StringInfoData buf;
	initStringInfo(&buf);
	for (const EndpointDef &ep : Endpoints())
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", ep.name);
	return buf.data;
}

char *
ColumnNames(const EndpointDef &ep)
{
	StringInfoData buf;
	initStringInfo(&buf);
	for (const ColumnDef &c : ep.columns)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", c.name);
	return buf.data;
}

char *
ValidNames(Oid context)
{
	StringInfoData buf;
	initStringInfo(&buf);
	for (const OptionDef &o : kOptions) {
		if (o.context != context)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", o.name);
	}
	return buf.len ? buf.data : pstrdup("(none)");
}

[[noreturn]] void
BadValue(const OptionDef &o, const char *why)
{
	// Values are never echoed: some are secrets.
	ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
	                errmsg("invalid value for option \"%s\"%s%s", o.name, why ? ": " : "", why ? why : ""),
	                errhint("Option \"%s\" takes %s.", o.name, o.help)));
	pg_unreachable();
}

// Parses "<number> [ms|s|sec|seconds|min|minutes|h|hours]" into milliseconds (at most a day); -1 when malformed.
// A bare number is read as seconds (values stored before units were required).
long
ParseDurationMs(const char *s)
{
	char *end = nullptr;
	size_t digits = strspn(s, "0123456789.");
	if (digits == 0 || !isdigit(static_cast<unsigned char>(s[0])))
		return -1;
	double v = strtod(s, &end);
	if (end != s + digits || v < 0)
		return -1;
	while (isspace(static_cast<unsigned char>(*end)))
		end++;
	double scale = 1000;
	if (*end == '\0' || strcmp(end, "s") == 0 || strcmp(end, "sec") == 0 || strcmp(end, "second") == 0 ||
	    strcmp(end, "seconds") == 0)
		scale = 1000;
	else if (strcmp(end, "ms") == 0)
		scale = 1;
	else if (strcmp(end, "min") == 0 || strcmp(end, "minute") == 0 || strcmp(end, "minutes") == 0)
		scale = 60000;
	else if (strcmp(end, "h") == 0 || strcmp(end, "hour") == 0 || strcmp(end, "hours") == 0)
		scale = 3600000;
	else
		return -1;
	double ms = v * scale;
	return ms > 86400000.0 ? -1 : static_cast<long>(ms);
}

// True when a duration or size is a bare number other than 0, e.g. '5': refused, since
// whether that means seconds or milliseconds (bytes or megabytes) is anybody's guess.
bool
LacksUnit(const char *s)
{
	size_t digits = strspn(s, "0123456789.");
	if (!isdigit(static_cast<unsigned char>(s[0])) || strspn(s + digits, " \t") != strlen(s + digits))
		return false;  // malformed or has a unit: the other checks decide
	return strspn(s, "0.") != digits;
}

[[noreturn]] void
NeedsUnit(const OptionDef &o, const char *value, bool size)
{
	int len = static_cast<int>(strspn(value, "0123456789."));
	ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
	                errmsg("invalid value for option \"%s\": the number needs a unit", o.name),
	                size ? errhint("Write '%.*s MB' for megabytes or '%.*s kB' for kilobytes.", len, value, len, value)
	                     : errhint("Write '%.*s s' for seconds or '%.*s ms' for milliseconds.", len, value, len,
	                               value)));
	pg_unreachable();
}

// Parses "<integer> <B|bytes|kB|MB|GB>" into bytes; -1 when malformed or over 1 GB.
long long
ParseSizeBytes(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 10)
		return -1;
	long long v = strtoll(s, nullptr, 10);
	const char *unit = s + digits;
	while (isspace(static_cast<unsigned char>(*unit)))
		unit++;
	long long scale = 0;
	if (strcmp(unit, "B") == 0 || strcmp(unit, "bytes") == 0)
		scale = 1;
	else if (strcmp(unit, "kB") == 0)
		scale = 1024;
	else if (strcmp(unit, "MB") == 0)
		scale = 1024 * 1024;
	else if (strcmp(unit, "GB") == 0)
		scale = 1024 * 1024 * 1024;
	else
		return -1;
	return v > 1024LL * 1024 * 1024 / scale ? -1 : v * scale;
}

bool
AllDigits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit(static_cast<unsigned char>(*s)))
			return false;
	return true;
}

// Interval text -> Interval, or nullptr when it does not parse or is not positive. Only
// interval_in's own verdict on the text (a data exception, SQLSTATE class 22) means
// "malformed"; any other error (out of memory, a cancel) is re-thrown as it is.
Interval *
ParseWindow(const char *value)
{
	Interval *volatile result = nullptr;
	MemoryContext ctx = CurrentMemoryContext;
	PG_TRY();
	{
		Datum d = DirectFunctionCall3(interval_in, CStringGetDatum(value), ObjectIdGetDatum(InvalidOid),
		                              Int32GetDatum(-1));
		result = DatumGetIntervalP(d);
	}
	PG_CATCH();
	{
		// geterrcode() reads the pending error without allocating (safe after an OOM).
		if (ERRCODE_TO_CATEGORY(geterrcode()) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		MemoryContextSwitchTo(ctx);
		FlushErrorState();
		result = nullptr;
	}
	PG_END_TRY();
	if (result && (result->month < 0 || result->day < 0 || result->time < 0 ||
	               (result->month == 0 && result->day == 0 && result->time <= 0)))
		return nullptr;
	return result;
}

// "150", "150.5", "150.50": 1 to 13 digits, at most two decimals, not zero.
bool
IsAmount(const char *s)
{
	size_t whole = strspn(s, "0123456789");
	if (whole == 0 || whole > 13)
		return false;
	const char *rest = s + whole;
	if (*rest == '.') {
		size_t frac = strspn(rest + 1, "0123456789");
		if (frac == 0 || frac > 2 || rest[1 + frac] != '\0')
			return false;
	} else if (*rest != '\0') {
		return false;
	}
	return strspn(s, "0.") != strlen(s);
}

void
ValidateValue(const OptionDef &o, const char *value)
{
	const char *n = o.name;
	if (strcmp(n, "url") == 0) {
		if (strncmp(value, "https://", 8) != 0 || strlen(value) < 9 || strpbrk(value, " ?#\t\n\\") != nullptr)
			BadValue(o, "the bank is only reached over https, without query or fragment");
		const char *path = strchr(value + 8, '/');
		size_t host_len = path ? static_cast<size_t>(path - value - 8) : strlen(value + 8);
		if (host_len == 0 || memchr(value + 8, '@', host_len))
			BadValue(o, "it must name a host, without user name or password");
		if (path && strspn(path, "/") != strlen(path))
			ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			                errmsg("invalid value for option \"url\": it must be the bank's base URL, without a path"),
			                errhint("Write only scheme and host, e.g. 'https://cdpj.partners.bancointer.com.br' or "
			                        "'https://cdpj-sandbox.partners.uatinter.co'; pix_fdw adds /oauth/v2, "
			                        "/banking/v2 and /pix/v2 itself.")));
	} else if (strcmp(n, "conta_corrente") == 0) {
		if (!AllDigits(value) || value[0] == '0')
			BadValue(o, nullptr);
	} else if (strcmp(n, "connect_timeout") == 0 || strcmp(n, "request_timeout") == 0 ||
	           strcmp(n, "max_retry_wait") == 0 || strcmp(n, "cache_ttl") == 0 || strcmp(n, "cache_ttl_closed") == 0) {
		if (LacksUnit(value))
			NeedsUnit(o, value, false);
		long ms = ParseDurationMs(value);
		if (ms < 0 || (ms == 0 && strcmp(n, "max_retry_wait") != 0 && strncmp(n, "cache_ttl", 9) != 0))
			BadValue(o, nullptr);
	} else if (strcmp(n, "max_response_size") == 0) {
		if (AllDigits(value) && LacksUnit(value))
			NeedsUnit(o, value, true);
		if (ParseSizeBytes(value) < 1024)
			BadValue(o, nullptr);
	} else if (strcmp(n, "prefetch") == 0) {
		bool on;
		if (!parse_bool(value, &on))
			BadValue(o, nullptr);
	} else if (strcmp(n, "rate_limits") == 0) {
		CppGuard([&] { (void) pix::ParseRateLimits(value); });
	} else if (strcmp(n, "cert_pem") == 0) {
		if (!strstr(value, "-----BEGIN CERTIFICATE-----"))
			BadValue(o, nullptr);
	} else if (strcmp(n, "key_pem") == 0) {
		if (!strstr(value, "-----BEGIN") || !strstr(value, "PRIVATE KEY-----"))
			BadValue(o, nullptr);
	} else if (strcmp(n, "endpoint") == 0) {
		if (!FindEndpoint(value))
			ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			                errmsg("unknown endpoint \"%s\"", value),
			                errhint("Valid endpoints are: %s.", EndpointNames())));
	} else if (strcmp(n, "default_window") == 0) {
		if (strcmp(value, "none") != 0 && !ParseWindow(value))
			BadValue(o, nullptr);
	} else if (strcmp(n, "history_start") == 0) {
		DateADT d;
		if (!ParseIsoDate(value, &d))
			BadValue(o, nullptr);
	} else if (strcmp(n, "max_calls") == 0) {
		if (!AllDigits(value) || strlen(value) > 6 || atoi(value) < 1 || atoi(value) > 100000)
			BadValue(o, nullptr);
	} else if (strcmp(n, "max_valor") == 0 || strcmp(n, "max_valor_diario") == 0) {
		if (!IsAmount(value))
			BadValue(o, nullptr);
	} else if (strcmp(n, "page_size") == 0) {
		if (!AllDigits(value) || strlen(value) > 5 || atoi(value) < 1 || atoi(value) > 10000)
			BadValue(o, nullptr);
	} else if (strcmp(n, "field") == 0) {
		bool ok = value[0] != '\0' && value[0] != '.' && value[strlen(value) - 1] != '.';
		for (const char *p = value; ok && *p; p++)
			ok = isalnum(static_cast<unsigned char>(*p)) || *p == '_' || *p == '.';
		if (!ok || strstr(value, ".."))
			BadValue(o, nullptr);
	} else if (value[0] == '\0') {
		BadValue(o, "must not be empty");
	}
}

}  // namespace

const char *
Opt(List *options, const char *name)
{
	ListCell *lc;
	foreach (lc, options) {
		DefElem *def = static_cast<DefElem *>(lfirst(lc));
		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return nullptr;
}

void
ValidateTableOption(const char *name, const char *value)
{
	const OptionDef *o = FindOption(name, ForeignTableRelationId);
	if (!o)
		ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_OPTION_NAME), errmsg("invalid option \"%s\"", name),
		                errhint("Valid options in this context are: %s.", ValidNames(ForeignTableRelationId))));
	ValidateValue(*o, value);
}

bool
ParseIsoDate(const char *s, DateADT *out)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
		if (!isdigit(static_cast<unsigned char>(s[i])))
			return false;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y)][m - 1])
		return false;
	*out = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	return true;
}

TableOptions
GetTableOptions(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(table->serverid);
	TableOptions t{nullptr, 10000, nullptr, false, 0, kDefaultMaxCalls};
	const char *endpoint = Opt(table->options, "endpoint");
	if (!endpoint)
		ereport(ERROR, (errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
		                errmsg("foreign table \"%s\" has no endpoint option", get_rel_name(relid)),
		                errhint("Add OPTIONS (endpoint '...'); valid endpoints are: %s.", EndpointNames())));
	t.endpoint = FindEndpoint(endpoint);
	if (!t.endpoint)
		ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_STRING_FORMAT), errmsg("unknown endpoint \"%s\"", endpoint),
		                errhint("Valid endpoints are: %s.", EndpointNames())));
	if (const char *ps = Opt(table->options, "page_size"))
		t.page_size = atoi(ps);
	t.page_size = Min(t.page_size, t.endpoint->max_page_size > 0 ? t.endpoint->max_page_size : t.page_size);
	if (const char *w = Opt(table->options, "default_window"))
		t.default_window = strcmp(w, "none") == 0 ? nullptr : w;  // 'none': no default window
	const char *hs = Opt(table->options, "history_start");
	if (!hs)
		hs = Opt(server->options, "history_start");
	if (hs)
		t.has_history_start = ParseIsoDate(hs, &t.history_start);
	if (const char *mc = Opt(server->options, "max_calls"))
		t.max_calls = atoi(mc);
	return t;
}

char *
ColumnPath(Oid relid, AttrNumber attnum, const TableOptions &opts)
{
	List *options = GetForeignColumnOptions(relid, attnum);
	if (const char *field = Opt(options, "field"))
		return pstrdup(field);
	char *name = get_attname(relid, attnum, false);
	const EndpointDef *ep = opts.endpoint;
	const char *path = CppGuard([&] { return ColumnToPath(*ep, name); });
	if (path)
		return pstrdup(path);
	ereport(ERROR, (errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
	                errmsg("column \"%s\" of foreign table \"%s\" maps to no field of endpoint \"%s\"", name,
	                       get_rel_name(relid), opts.endpoint->name),
	                errhint("Valid columns are: %s%s; or map any JSON field with the column option field.",
	                        ColumnNames(*opts.endpoint),
	                        opts.endpoint->more.empty() ? "" : ", and any other documented field in snake_case "
	                                                          "(e.g. tipo_detalhe for detalhes.tipoDetalhe)")));
	pg_unreachable();
}

ServerOptions
ReadServerOptions(ForeignServer *server, UserMapping *um)
{
	ServerOptions o;
	o.url = Opt(server->options, "url");
	o.conta = Opt(server->options, "conta_corrente");
	o.ca_file = Opt(server->options, "ca_file");
	o.connect_timeout = Opt(server->options, "connect_timeout");
	o.request_timeout = Opt(server->options, "request_timeout");
	o.max_retry_wait = Opt(server->options, "max_retry_wait");
	o.max_response_size = Opt(server->options, "max_response_size");
	o.rate_limits = Opt(server->options, "rate_limits");
	o.cache_ttl = Opt(server->options, "cache_ttl");
	o.cache_ttl_closed = Opt(server->options, "cache_ttl_closed");
	o.prefetch = Opt(server->options, "prefetch");
	o.serverid = server->serverid;
	o.umid = um->umid;
	o.servername = server->servername;
	o.client_id = Opt(um->options, "client_id");
	o.client_secret = Opt(um->options, "client_secret");
	o.cert_file = Opt(um->options, "cert_file");
	o.key_file = Opt(um->options, "key_file");
	o.cert_pem = Opt(um->options, "cert_pem");
	o.key_pem = Opt(um->options, "key_pem");
	const char *missing = !o.client_id ? "client_id" : !o.client_secret ? "client_secret" : nullptr;
	if (missing)
		ereport(ERROR, (errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
		                errmsg("user mapping for server \"%s\" has no %s", server->servername, missing),
		                errhint("Set client_id and client_secret (from the integration in Internet Banking) with "
		                        "ALTER USER MAPPING.")));
	if ((o.cert_file || o.cert_pem) && !(o.key_file || o.key_pem))
		ereport(ERROR, (errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
		                errmsg("user mapping for server \"%s\" has a client certificate but no key",
		                       server->servername),
		                errhint("Set key_file or key_pem next to cert_file or cert_pem.")));
	return o;
}

ServerConfig
MakeServerConfig(const ServerOptions &o)
{
	auto str = [](const char *s) { return std::string(s ? s : ""); };
	ServerConfig cfg;
	cfg.base_url = o.url ? o.url : "https://cdpj.partners.bancointer.com.br";
	while (!cfg.base_url.empty() && cfg.base_url.back() == '/')
		cfg.base_url.pop_back();
	cfg.conta_corrente = str(o.conta);
	cfg.client_id = str(o.client_id);
	cfg.client_secret = str(o.client_secret);
	cfg.tls.ca_file = str(o.ca_file);
	cfg.tls.cert_file = str(o.cert_file);
	cfg.tls.key_file = str(o.key_file);
	cfg.tls.cert_pem = str(o.cert_pem);
	cfg.tls.key_pem = str(o.key_pem);
	if (o.connect_timeout)
		cfg.timeouts.connect_ms = ParseDurationMs(o.connect_timeout);
	if (o.request_timeout)
		cfg.timeouts.request_ms = ParseDurationMs(o.request_timeout);
	if (o.max_retry_wait)
		cfg.max_retry_wait_ms = ParseDurationMs(o.max_retry_wait);
	if (o.max_response_size && ParseSizeBytes(o.max_response_size) > 0)
		cfg.max_response_bytes = ParseSizeBytes(o.max_response_size);
	cfg.rate_limits = o.rate_limits ? pix::ParseRateLimits(o.rate_limits) : pix::DefaultRateLimits();
	cfg.limit_scope = std::to_string(MyDatabaseId) + "/" + std::to_string(o.serverid);
	cfg.server_name = str(o.servername);
	cfg.shared_tokens = SharedTokens();
	cfg.shared_limiter = SharedLimiter();
	cfg.fetch_claims = SharedFetchClaims();
	cfg.cache_ttl_ms = o.cache_ttl ? ParseDurationMs(o.cache_ttl) : kDefaultCacheTtlMs;
	cfg.cache_ttl_closed_ms = o.cache_ttl_closed ? ParseDurationMs(o.cache_ttl_closed) : kDefaultCacheTtlClosedMs;
	cfg.cache = ResultCache();
	bool prefetch = true;
	cfg.prefetch = !o.prefetch || (parse_bool(o.prefetch, &prefetch) && prefetch);
	cfg.cache_scope = std::to_string(MyDatabaseId) + "/" + std::to_string(o.umid);
	return cfg;
}

}  // namespace pix::pg

using namespace pix::pg;

// Entry points PostgreSQL looks up by name: default visibility (the rest is hidden).
#pragma GCC visibility push(default)
extern "C" {

PG_FUNCTION_INFO_V1(pix_fdw_validator);

// Validates the options of CREATE/ALTER of the FDW, a server, a user mapping, a foreign
// table or a column. Unknown names and bad values are errors with a hint.
Datum
pix_fdw_validator(PG_FUNCTION_ARGS)
{
	List *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid catalog = PG_GETARG_OID(1);
	ListCell *lc;
	bool cert_file = false, cert_pem = false, key_file = false, key_pem = false;
	foreach (lc, options) {
		DefElem *def = static_cast<DefElem *>(lfirst(lc));
		const OptionDef *o = FindOption(def->defname, catalog);
		if (!o)
			ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_OPTION_NAME), errmsg("invalid option \"%s\"", def->defname),
			                errhint("Valid options in this context are: %s.", ValidNames(catalog))));
		if (o->superuser_only && !superuser())
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("only a superuser may set option \"%s\"", o->name),
			                strcmp(o->name, "ca_file") == 0
			                    ? errhint("File options make the server read its own files. Without ca_file the "
			                              "bank's certificate is checked against the system's CA store.")
			                    : errhint("File options make the server read its own files; a non-superuser can "
			                              "give the certificate and key as text with cert_pem and key_pem.")));
		ValidateValue(*o, defGetString(def));
		if (strcmp(o->name, "ca_file") == 0) {
			const char *path = defGetString(def);
			CppGuard([&] { pix::CheckCaFile(path); });
		}
		cert_file |= strcmp(o->name, "cert_file") == 0;
		cert_pem |= strcmp(o->name, "cert_pem") == 0;
		key_file |= strcmp(o->name, "key_file") == 0;
		key_pem |= strcmp(o->name, "key_pem") == 0;
	}
	if ((cert_file && cert_pem) || (key_file && key_pem))
		ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
		                errmsg("conflicting options: a certificate or key given both as a file and as PEM text"),
		                errhint("Use cert_file with key_file, or cert_pem with key_pem.")));
	PG_RETURN_VOID();
}

}  // extern "C"
#pragma GCC visibility pop
