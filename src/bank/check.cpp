// pix_fdw.check(): one token request tells whether the URL answers, TLS verifies the bank,
// the client certificate is accepted, the credentials and every needed scope are granted, and
// (from its Date header) whether the clock is sane; one GET /banking/v2/saldo tells whether
// x-conta-corrente is accepted. More token requests are made only to find which scopes an
// integration lacks when the bank refuses the whole set without naming them.
#include "bank/check.hpp"

#include "bank/catalog.hpp"
#include "bank/error.hpp"
#include "bank/json.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <optional>

namespace pix {

namespace {

constexpr long kWarnDays = 30;         // as Inter's own SDK warns (reference §1.2)
constexpr long long kClockSkewSeconds = 60;

const char *const kWhereScopes =
    "In Internet Banking: Soluções para sua empresa → Integrações (a new one: Nova integração); "
    "edit this integration and tick the scopes. / No Internet Banking, marque esses escopos na "
    "integração.";

std::string
Join(const std::vector<std::string> &v, const char *sep)
{
	std::string out;
	for (const std::string &s : v) {
		if (!out.empty())
			out += sep;
		out += s;
	}
	return out;
}

std::string
UtcDate(long long t)
{
	std::time_t tt = static_cast<std::time_t>(t);
	struct tm tm;
	char buf[32] = "?";
	if (gmtime_r(&tt, &tm))
		std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
	return buf;
}

// "HTTP 403: Acesso Negado ..." from an answer (never a secret: the bank's own text).
std::string
Answer(const HttpResponse &resp, const std::string &what)
{
	return HttpError(resp, what, {}).Detail();
}

bool
IsWordChar(char c)
{
	return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

struct Checker {
	const ServerConfig &cfg;
	const std::vector<ScopeUse> &scopes;
	Waiter &waiter;
	long long (*now)();
	CallStats stats;
	long long token_calls = 0, saldo_calls = 0;
	std::vector<CheckRow> rows;

	void
	Add(const char *step, const char *status, std::string detail, std::string hint = {})
	{
		rows.push_back(CheckRow{step, status, std::move(detail), std::move(hint)});
	}
	void
	Skip(std::initializer_list<const char *> steps, const std::string &why)
	{
		for (const char *s : steps)
			Add(s, "skipped", why);
	}

	// One token request; a transport failure is returned in `failure` (and its class).
	std::optional<HttpResponse>
	Token(BankClient &client, const std::vector<std::string> &want, std::optional<Error> &failure,
	      TransportFailure &cls)
	{
		long long before = stats.calls;
		std::optional<HttpResponse> resp;
		try {
			resp = client.RequestToken(Join(want, " "), waiter, stats);
		} catch (const Error &e) {
			failure = e;
			cls = client.LastFailure();
		}
		token_calls += stats.calls - before;
		return resp;
	}

	std::string
	UsesOf(const std::vector<std::string> &missing) const
	{
		std::vector<std::string> parts;
		for (const std::string &m : missing)
			for (const ScopeUse &u : scopes)
				if (u.scope == m)
					parts.push_back(m + " (" + u.used_by + ")");
		return Join(parts, ", ");
	}

	void Run();
};

void
Checker::Run()
{
	std::vector<std::string> wanted;
	for (const ScopeUse &u : scopes)
		wanted.push_back(u.scope);

	// The client certificate, read locally first: an unreadable, mismatched or expired one is
	// left out of the handshake, which then still shows whether the URL answers and TLS verifies.
	std::optional<Error> cert_problem;
	CertificateInfo info;
	if (!cfg.tls.HasClientCert()) {
		cert_problem = Error(sqlstate::kOptionNameNotFound, "the user mapping has no client certificate", {},
		                     "Set cert_file and key_file (or cert_pem and key_pem) in the user mapping to the "
		                     "certificate (.crt) and key (.key) downloaded with the integration.");
	} else {
		try {
			(void) CheckClientCertificate(cfg.tls);
			info = ReadCertificateInfo(cfg.tls);
		} catch (const Error &e) {
			cert_problem = e;
		}
	}
	ServerConfig probe_cfg = cfg;
	if (cert_problem) {
		probe_cfg.tls.cert_file.clear();
		probe_cfg.tls.key_file.clear();
		probe_cfg.tls.cert_pem.clear();
		probe_cfg.tls.key_pem.clear();
	}
	BankClient client(probe_cfg);

	std::optional<Error> failure;
	TransportFailure cls = TransportFailure::kNone;
	std::optional<HttpResponse> first = Token(client, wanted, failure, cls);
	long long received_at = now();

	// 1-3: the transport.
	const std::string host = cfg.base_url;
	if (!first) {
		std::string detail = std::string(failure->what()) + ": " + failure->Detail();
		if (cls == TransportFailure::kTlsPeer) {
			Add("url", "ok", host + " accepts connections");
			Add("tls", "error", detail,
			    cfg.tls.ca_file.empty()
			        ? "The bank's certificate does not verify against the system's CA store: set the server "
			          "option ca_file to the CA that signed it (a TLS-inspecting proxy's CA, a test bank's CA)."
			        : "The bank's certificate does not verify against ca_file \"" + cfg.tls.ca_file +
			              "\": point ca_file at the CA that signed it, or drop ca_file to use the system's CA "
			              "store (the real bank's certificate is publicly trusted).");
			Skip({"certificate", "token", "scopes", "conta_corrente", "clock"}, "the TLS connection failed");
		} else if (cls == TransportFailure::kTlsHandshake || cls == TransportFailure::kClientCert) {
			Add("url", "ok", host + " accepts connections");
			Add("tls", "ok",
			    cfg.tls.ca_file.empty() ? "the bank's certificate verifies against the system's CA store"
			                            : "the bank's certificate verifies against ca_file \"" + cfg.tls.ca_file +
			                                  "\"");
			if (cert_problem)
				Add("certificate", "error", cert_problem->what() + std::string(cert_problem->Detail().empty() ? "" : ": ") +
				                                cert_problem->Detail(),
				    cert_problem->Hint());
			else
				Add("certificate", "error", "the bank refused the client certificate: " + failure->Detail(),
				    "Use the certificate (.crt) and key (.key) downloaded with this integration from Internet "
				    "Banking (valid for one year). / Use o certificado e a chave baixados com esta integração.");
			Skip({"token", "scopes", "conta_corrente", "clock"}, "the TLS handshake failed");
		} else {
			Add("url", "error", detail,
			    failure->Hint().empty() ? "Check the server option url (the bank: https://cdpj.partners.bancointer.com.br) "
			                              "and the network path to it."
			                            : failure->Hint());
			Skip({"tls", "certificate", "token", "scopes", "conta_corrente", "clock"}, "the bank was not reached");
		}
		return;
	}
	Add("url", "ok", host + " answers HTTP");
	Add("tls", "ok",
	    cfg.tls.ca_file.empty() ? "the bank's certificate verifies against the system's CA store"
	                            : "the bank's certificate verifies against ca_file \"" + cfg.tls.ca_file + "\"");
	bool blocked = false;  // later steps cannot run
	if (cert_problem) {
		// The bank answered without a client certificate: still, pix_fdw refuses to use this one.
		Add("certificate", "error",
		    cert_problem->what() + std::string(cert_problem->Detail().empty() ? "" : ": ") + cert_problem->Detail(),
		    cert_problem->Hint());
		blocked = true;
	} else {
		long days = DaysLeft(info.not_after, now());
		std::string detail = "accepted by the bank; " + info.subject + " expires on " + UtcDate(info.not_after) +
		                     " (in " + std::to_string(days) + " days)";
		if (days < kWarnDays)
			Add("certificate", "warning", detail,
			    "Create a new certificate for the integration in Internet Banking before it expires and update "
			    "the user mapping (cert_file/key_file or cert_pem/key_pem). / Renove o certificado da "
			    "integração no Internet Banking antes do vencimento.");
		else
			Add("certificate", "ok", detail);
	}

	// 4-5: the token and its scopes.
	std::string extrato_token;  // a token with extrato.read, for the saldo call
	auto token_of = [](const HttpResponse &r) {
		rapidjson::Document doc;
		if (doc.Parse(r.body.c_str(), r.body.size()).HasParseError() || !doc.IsObject())
			return std::string();
		return json::GetString(doc, "access_token");
	};
	auto echoed = [](const HttpResponse &r, const std::vector<std::string> &asked) {
		// The scopes a 200 answer says it granted ("scope"); all asked when it says nothing.
		rapidjson::Document doc;
		std::vector<std::string> granted;
		if (doc.Parse(r.body.c_str(), r.body.size()).HasParseError() || !doc.IsObject() ||
		    !json::Find(doc, "scope") || !json::Find(doc, "scope")->IsString())
			return asked;
		std::string list = " " + json::GetString(doc, "scope") + " ";
		for (const std::string &s : asked)
			if (list.find(" " + s + " ") != std::string::npos)
				granted.push_back(s);
		return granted;
	};
	const std::string token_what = "POST /oauth/v2/token";
	std::vector<std::string> granted, missing;
	bool scopes_known = false;
	std::string scopes_problem;  // why the scopes could not all be told
	if (blocked) {
		Skip({"token", "scopes", "conta_corrente"}, "the client certificate cannot be used");
	} else if (first->status == 200) {
		std::string token = token_of(*first);
		if (token.empty()) {
			Add("token", "error", "the bank's token answer has no access_token: " + first->body.substr(0, 200));
			Skip({"scopes", "conta_corrente"}, "no token was granted");
			blocked = true;
		} else {
			granted = echoed(*first, wanted);
			for (const std::string &s : wanted)
				if (std::find(granted.begin(), granted.end(), s) == granted.end())
					missing.push_back(s);
			scopes_known = true;
			if (std::find(granted.begin(), granted.end(), "extrato.read") != granted.end())
				extrato_token = token;
			Add("token", "ok", "granted (OAuth client_credentials) for client_id \"" + cfg.client_id + "\"");
		}
	} else if (first->status == 401) {
		Add("token", "error", "the bank refused the credentials: " + Answer(*first, token_what),
		    "Check client_id and client_secret in the user mapping (Internet Banking shows them with the "
		    "integration); the client certificate must belong to the same integration. / Confira client_id e "
		    "client_secret da integração.");
		Skip({"scopes", "conta_corrente"}, "no token was granted");
		blocked = true;
	} else if (first->status == 400 || first->status == 403) {
		// The whole set was refused: a scope the integration lacks. Which ones? Those the bank
		// names, confirmed by one request for the rest; else one request per scope.
		std::vector<std::string> named, rest;
		std::string text = first->body;
		for (const std::string &s : wanted)
			(NamesScope(text, s) ? named : rest).push_back(s);
		std::vector<std::string> probe;  // scopes still to ask one by one
		if (!named.empty() && !rest.empty()) {
			std::optional<Error> f;
			TransportFailure c = TransportFailure::kNone;
			std::optional<HttpResponse> r = Token(client, rest, f, c);
			if (r && r->status == 200 && !token_of(*r).empty()) {
				granted = echoed(*r, rest);
				missing = named;
				for (const std::string &s : rest)
					if (std::find(granted.begin(), granted.end(), s) == granted.end())
						missing.push_back(s);
				scopes_known = true;
				if (std::find(granted.begin(), granted.end(), "extrato.read") != granted.end())
					extrato_token = token_of(*r);
			} else if (r && (r->status == 400 || r->status == 403)) {
				missing = named;
				probe = rest;
			} else {
				scopes_problem = r ? Answer(*r, token_what) : std::string(f->what()) + ": " + f->Detail();
			}
		} else if (!named.empty()) {
			missing = named;  // the bank names every one as lacking
			scopes_known = true;
		} else {
			probe = wanted;
		}
		for (size_t i = 0; i < probe.size() && scopes_problem.empty(); i++) {
			if (i + 1 == probe.size() && granted.size() + missing.size() + 1 == wanted.size() &&
			    missing.empty()) {
				missing.push_back(probe[i]);  // all others granted: the refused set lacked this one
				break;
			}
			std::optional<Error> f;
			TransportFailure c = TransportFailure::kNone;
			std::optional<HttpResponse> r = Token(client, {probe[i]}, f, c);
			if (r && r->status == 200 && !token_of(*r).empty()) {
				granted.push_back(probe[i]);
				if (probe[i] == "extrato.read")
					extrato_token = token_of(*r);
			} else if (r && (r->status == 400 || r->status == 403)) {
				missing.push_back(probe[i]);
			} else {
				scopes_problem = r ? Answer(*r, token_what) : std::string(f->what()) + ": " + f->Detail();
			}
		}
		if (scopes_problem.empty())
			scopes_known = true;
		if (!granted.empty())
			Add("token", "ok",
			    "granted (OAuth client_credentials) for client_id \"" + cfg.client_id + "\", but not for every scope");
		else if (scopes_known)
			Add("token", "error",
			    "the bank grants no token with any of the scopes pix_fdw uses: " + Answer(*first, token_what),
			    "Enable the scopes below for this integration. " + std::string(kWhereScopes) +
			        " If they are enabled, the client certificate may belong to another integration than "
			        "client_id (the bank refuses that too).");
		else
			Add("token", "error", "the bank refused the token request: " + Answer(*first, token_what),
			    HttpError(*first, token_what, {}).Hint());
	} else {
		Error e = HttpError(*first, token_what, {});
		std::string hint = e.Hint();
		if (first->status == 429)
			hint = "The bank allows 5 token requests per minute per integration: wait a minute and run the "
			       "check again.";
		else if (first->status == 404 || first->status == 405)
			hint = "Is the server option url the bank's base URL (https://cdpj.partners.bancointer.com.br, no path)?";
		Add("token", "error", "the bank did not grant a token: " + e.Detail(), hint);
		Skip({"scopes", "conta_corrente"}, "no token was granted");
		blocked = true;
	}
	if (!blocked) {
		if (!scopes_problem.empty())
			Add("scopes", "error",
			    "could not tell every scope (" + scopes_problem + "); lacking so far: " +
			        (missing.empty() ? std::string("none found") : UsesOf(missing)),
			    "Run the check again in a minute.");
		else if (missing.empty())
			Add("scopes", "ok", "enabled: " + Join(wanted, ", "));
		else
			Add("scopes", "error",
			    "not enabled for this integration: " + UsesOf(missing) +
			        (granted.empty() ? std::string() : "; enabled: " + Join(granted, ", ")),
			    "Enable " + Join(missing, ", ") + ". " + kWhereScopes);
	}

	// 6: x-conta-corrente, with one cheap call.
	if (!blocked) {
		if (cfg.conta_corrente.empty()) {
			Add("conta_corrente", "skipped",
			    "the server has no conta_corrente: the bank uses the integration's only account",
			    "Set the server option conta_corrente (digits with the check digit, no leading zeros) when "
			    "the integration has more than one account.");
		} else if (extrato_token.empty()) {
			Add("conta_corrente", "skipped", "checked with GET /banking/v2/saldo, which needs the scope extrato.read");
		} else {
			long long before = stats.calls;
			try {
				HttpResponse r = client.GetWithToken("/banking/v2/saldo", extrato_token, waiter, stats);
				if (r.status >= 200 && r.status < 300)
					Add("conta_corrente", "ok",
					    "x-conta-corrente " + cfg.conta_corrente + " accepted (GET /banking/v2/saldo)");
				else
					Add("conta_corrente", "error",
					    "x-conta-corrente " + cfg.conta_corrente +
					        " refused: " + Answer(r, "GET /banking/v2/saldo"),
					    "conta_corrente must be an account of this integration, digits with the check digit "
					    "and no leading zeros; leave it out when the integration has one account. / Informe "
					    "a conta corrente da integração, só números, com o dígito.");
			} catch (const Error &e) {
				Add("conta_corrente", "error", std::string(e.what()) + ": " + e.Detail(), e.Hint());
			}
			saldo_calls += stats.calls - before;
		}
	}

	// 7: the clock, from the first answer's Date header.
	if (first->date < 0) {
		Add("clock", "skipped", "the bank's answer has no Date header");
	} else {
		long long skew = received_at - first->date;
		std::string detail = "the local clock is " + std::to_string(std::llabs(skew)) + " s " +
		                     (skew >= 0 ? "ahead of" : "behind") + " the bank's (Date header)";
		if (std::llabs(skew) > kClockSkewSeconds)
			Add("clock", "warning", detail,
			    "Synchronize the server's clock (NTP): dates and token lifetimes are computed from it. / "
			    "Sincronize o relógio do servidor (NTP).");
		else
			Add("clock", "ok", detail);
	}
}

}  // namespace

long
DaysLeft(long long not_after, long long now)
{
	long long left = not_after - now;
	return static_cast<long>(left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
}

bool
NamesScope(const std::string &text, const std::string &scope)
{
	for (size_t at = text.find(scope); at != std::string::npos; at = text.find(scope, at + 1)) {
		size_t end = at + scope.size();
		bool start_ok = at == 0 || (!IsWordChar(text[at - 1]) && text[at - 1] != '.');
		bool end_ok = end == text.size() || (!IsWordChar(text[end]) &&
		                                     (text[end] != '.' || end + 1 == text.size() || !IsWordChar(text[end + 1])));
		if (start_ok && end_ok)
			return true;
	}
	return false;
}

std::vector<ScopeUse>
NeededScopes()
{
	std::vector<std::pair<std::string, std::vector<std::string>>> tables;  // scope -> its tables
	for (const EndpointDef &ep : Endpoints()) {
		auto it = std::find_if(tables.begin(), tables.end(), [&](const auto &t) { return t.first == ep.scope; });
		if (it == tables.end())
			tables.push_back({ep.scope, {ep.name}});
		else
			it->second.push_back(ep.name);
	}
	std::vector<ScopeUse> out;
	for (const auto &t : tables) {
		std::string uses = (t.second.size() == 1 ? "table " : "tables ") + Join(t.second, ", ");
		if (t.first == "pagamento-pix.read")
			uses += ", pix_fdw.pay";  // the sender follows each payment with it
		out.push_back(ScopeUse{t.first, uses});
	}
	out.push_back(ScopeUse{"pagamento-pix.write", "pix_fdw.pay"});
	return out;
}

std::vector<CheckRow>
RunCheck(const ServerConfig &cfg, const std::vector<ScopeUse> &scopes, Waiter &waiter, long long (*now)())
{
	Checker c{cfg, scopes, waiter, now, {}, 0, 0, {}};
	c.Run();
	std::string detail = std::to_string(c.stats.calls);
	std::string what;
	if (c.token_calls)
		what = std::to_string(c.token_calls) + " to POST /oauth/v2/token";
	if (c.saldo_calls)
		what += (what.empty() ? "" : ", ") + std::to_string(c.saldo_calls) + " to GET /banking/v2/saldo";
	c.rows.push_back(CheckRow{"calls", "ok", detail + (what.empty() ? "" : " (" + what + ")"), {}});
	return std::move(c.rows);
}

}  // namespace pix
