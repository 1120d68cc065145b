// Pix payment checks, request body and answers (ref §5.1, §5.2).
#include "bank/payment.hpp"

#include "bank/error.hpp"
#include "bank/json.hpp"

#include <cctype>
#include <cstddef>

namespace pix {

namespace {

constexpr size_t kMaxEmail = 77;       // BCB DICT: an e-mail key has at most 77 characters
constexpr size_t kMaxDescricao = 140;  // ref §5.1
constexpr size_t kMaxValorDigits = 13; // integer digits of valor

const char *const kKindsHint =
    "A Pix key is an e-mail address, a CPF (11 digits) or CNPJ (14 digits) with its check digits, a phone "
    "number written +55, the DDD and the number (+5511987654321), or a random key (a UUID such as "
    "123e4567-e89b-12d3-a456-426614174000).";

bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

// ASCII only: std::isalnum follows the backend's LC_CTYPE (the database's), and in a
// Latin-1 locale it takes 0xE9 for a letter.
bool
IsAsciiAlnum(char c)
{
	return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
AllDigits(const std::string &s)
{
	if (s.empty())
		return false;
	for (char c : s)
		if (!IsDigit(c))
			return false;
	return true;
}

std::string
DigitsOf(const std::string &s)
{
	std::string d;
	for (char c : s)
		if (IsDigit(c))
			d.push_back(c);
	return d;
}

bool
IsHex(char c, bool upper_ok)
{
	return IsDigit(c) || (c >= 'a' && c <= 'f') || (upper_ok && c >= 'A' && c <= 'F');
}

// 8-4-4-4-12 hexadecimal digits.
bool
IsUuid(const std::string &s, bool upper_ok)
{
	if (s.size() != 36)
		return false;
	for (size_t i = 0; i < s.size(); i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !IsHex(s[i], upper_ok))
			return false;
	}
	return true;
}

bool
LooksLikeUuid(const std::string &s)
{
	return s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
}

bool
AllSame(const std::string &d)
{
	return d.find_first_not_of(d[0]) == std::string::npos;
}

bool
ValidCpf(const std::string &d)
{
	if (d.size() != 11 || !AllDigits(d) || AllSame(d))
		return false;
	for (size_t n = 9; n <= 10; n++) {
		int sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += (d[i] - '0') * static_cast<int>(n + 1 - i);
		int dv = sum * 10 % 11;
		if (dv == 10)
			dv = 0;
		if (d[n] - '0' != dv)
			return false;
	}
	return true;
}

bool
ValidCnpj(const std::string &d)
{
	if (d.size() != 14 || !AllDigits(d) || AllSame(d))
		return false;
	static const int w1[] = {5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
	static const int w2[] = {6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};
	for (size_t n = 12; n <= 13; n++) {
		const int *w = n == 12 ? w1 : w2;
		int sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += (d[i] - '0') * w[i];
		int r = sum % 11;
		int dv = r < 2 ? 0 : 11 - r;
		if (d[n] - '0' != dv)
			return false;
	}
	return true;
}

// "+55", a DDD from 11 to 99, then 8 or 9 digits: the part after +55.
bool
ValidPhoneRest(const std::string &rest)
{
	if (!AllDigits(rest) || (rest.size() != 10 && rest.size() != 11))
		return false;
	int ddd = (rest[0] - '0') * 10 + (rest[1] - '0');
	return ddd >= 11 && ddd <= 99;
}

[[noreturn]] void
BadChave(const std::string &why, const std::string &detail, const std::string &hint = kKindsHint)
{
	throw Error(sqlstate::kInvalidParameterValue, "invalid chave: " + why, detail, hint);
}

ChaveKind
CheckEmail(const std::string &s)
{
	const std::string detail = "chave \"" + s + "\" has an @ and is read as an e-mail address.";
	if (s.size() > kMaxEmail)
		BadChave("an e-mail key has at most 77 characters, this one has " + std::to_string(s.size()), detail,
		         "The Banco Central's directory (DICT) does not register longer e-mail addresses; pay by another "
		         "key of the payee.");
	size_t at = s.find('@');
	if (s.find('@', at + 1) != std::string::npos)
		BadChave("an e-mail key has exactly one @", detail);
	const std::string local = s.substr(0, at), domain = s.substr(at + 1);
	static const std::string specials = "!#$%&'*+/=?^_`{|}~-";
	bool local_ok = !local.empty() && local.size() <= 64 && local.front() != '.' && local.back() != '.' &&
	                local.find("..") == std::string::npos;
	for (char c : local)
		local_ok &= IsAsciiAlnum(c) || c == '.' || specials.find(c) != std::string::npos;
	if (!local_ok)
		BadChave("the part of the e-mail key before the @ is not a mailbox name", detail,
		         "Before the @: letters, digits and . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -, with no leading, "
		         "trailing or doubled dot; no spaces.");
	// Labels of letters, digits and inner hyphens, at least two, the last not all digits.
	bool domain_ok = domain.find('.') != std::string::npos;
	size_t start = 0;
	std::string last;
	while (domain_ok) {
		size_t dot = domain.find('.', start);
		std::string label = domain.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
		domain_ok = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-';
		for (char c : label)
			domain_ok &= IsAsciiAlnum(c) || c == '-';
		last = label;
		if (dot == std::string::npos)
			break;
		start = dot + 1;
	}
	if (domain_ok)
		domain_ok = last.size() >= 2 && !AllDigits(last);
	if (!domain_ok)
		BadChave("the part of the e-mail key after the @ is not a domain name", detail,
		         "After the @: a dotted domain name such as example.com.br (letters, digits and inner hyphens).");
	return ChaveKind::kEmail;
}

ChaveKind
CheckPhone(const std::string &s)
{
	const std::string detail = "chave \"" + s + "\" starts with + and is read as a phone number.";
	const char *hint = "A phone key is +55, the two-digit DDD (11 to 99) and the 8 or 9 digits of the number, "
	                   "with nothing in between: +5511987654321.";
	if (s.compare(0, 3, "+55") != 0)
		BadChave("a phone key is a Brazilian number, starting with +55", detail, hint);
	std::string rest = s.substr(3);
	if (ValidPhoneRest(rest))
		return ChaveKind::kPhone;
	std::string digits = DigitsOf(rest);
	if (!AllDigits(rest) && ValidPhoneRest(digits))
		BadChave("a phone key is written with digits only after +55", detail, "Write it as +55" + digits + ".");
	if (AllDigits(rest) && rest.size() >= 2 && (rest.size() == 10 || rest.size() == 11))
		BadChave("the DDD " + rest.substr(0, 2) + " of the phone key is not from 11 to 99", detail, hint);
	BadChave("a phone key has a two-digit DDD and 8 or 9 digits after +55", detail, hint);
}

ChaveKind
CheckDigits(const std::string &s)
{
	if (s.size() == 11) {
		if (ValidCpf(s))
			return ChaveKind::kCpf;
		std::string hint = "The last two digits of a CPF are check digits computed from the other nine; check "
		                   "the number with the payee.";
		if (ValidPhoneRest(s) && s[2] == '9')
			hint += " If it is a mobile phone number, write it as +55" + s + ".";
		BadChave(s + " is not a valid CPF (its check digits do not match)",
		         "A key of 11 digits is a CPF.", hint);
	}
	if (s.size() == 14) {
		if (ValidCnpj(s))
			return ChaveKind::kCnpj;
		BadChave(s + " is not a valid CNPJ (its check digits do not match)", "A key of 14 digits is a CNPJ.",
		         "The last two digits of a CNPJ are check digits computed from the other twelve; check the number "
		         "with the payee.");
	}
	std::string hint = kKindsHint;
	if ((s.size() == 12 || s.size() == 13) && s.compare(0, 2, "55") == 0 && ValidPhoneRest(s.substr(2)))
		hint = "If it is a phone number, write it as +" + s + ".";
	BadChave("a key of digits is a CPF (11 digits) or a CNPJ (14 digits), this one has " + std::to_string(s.size()),
	         "chave \"" + s + "\"", hint);
}

[[noreturn]] void
BadValor(const std::string &why, const std::string &text, const std::string &hint = {})
{
	throw Error(sqlstate::kInvalidParameterValue, "invalid valor: " + why, "valor " + text,
	            hint.empty() ? "valor is the amount in reais, positive, with at most two decimals (centavos), "
	                           "such as 150.00."
	                         : hint);
}

bool
IsIsoDate(const std::string &s)
{
	if (s.size() != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < s.size(); i++)
		if (i != 4 && i != 7 && !IsDigit(s[i]))
			return false;
	return true;
}

// The first 300 bytes of an answer, for the DETAIL of an error about it.
std::string
Excerpt(const std::string &body)
{
	if (body.empty())
		return "The answer's body is empty.";
	size_t n = body.size() <= 300 ? body.size() : 300;
	while (n < body.size() && n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80)
		n--;  // do not cut a UTF-8 character
	return "The answer: " + body.substr(0, n) + (n < body.size() ? "..." : "");
}

void
ParseObject(const std::string &body, rapidjson::Document &doc, const std::string &what)
{
	if (doc.Parse(body.c_str(), body.size()).HasParseError() || !doc.IsObject())
		throw Error(sqlstate::kReplyHandle, "the bank's answer to " + what + " is not a JSON object", Excerpt(body));
}

}  // namespace

ChaveKind
ValidateChave(const std::string &chave)
{
	const std::string &s = chave;
	if (s.empty())
		BadChave("it is empty", {});
	if (s.find('@') != std::string::npos)
		return CheckEmail(s);
	if (s[0] == '+')
		return CheckPhone(s);
	if (LooksLikeUuid(s)) {
		if (IsUuid(s, false))
			return ChaveKind::kEvp;
		const std::string detail = "chave \"" + s + "\" is read as a random key (EVP).";
		if (IsUuid(s, true)) {
			std::string lower = s;
			for (char &c : lower)
				c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
			BadChave("a random key (EVP) is written in lowercase", detail, "Write it as " + lower + ".");
		}
		BadChave("a random key (EVP) is a UUID of hexadecimal digits, 8-4-4-4-12", detail);
	}
	if (AllDigits(s))
		return CheckDigits(s);
	// Punctuated digits: a CPF/CNPJ as printed (529.982.247-25, 11.222.333/0001-81) or a
	// phone number as printed ((11) 98765-4321).
	bool printed = s.find_first_not_of("0123456789.-/() ") == std::string::npos;
	std::string digits = DigitsOf(s);
	if (printed && s.find('(') != std::string::npos && ValidPhoneRest(digits))
		BadChave("a phone key is written +55 and digits only", "chave \"" + s + "\" is read as a phone number.",
		         "Write it as +55" + digits + ".");
	if (printed && (digits.size() == 11 || digits.size() == 14)) {
		const char *kind = digits.size() == 11 ? "CPF" : "CNPJ";
		bool valid = digits.size() == 11 ? ValidCpf(digits) : ValidCnpj(digits);
		BadChave(std::string("a ") + kind + " key is written with digits only, without . - /",
		         "chave \"" + s + "\" is read as a " + kind + ".",
		         valid ? "Write it as " + digits + "."
		               : digits + " is not a valid " + kind + " either (its check digits do not match).");
	}
	BadChave("it is not an e-mail address, CPF, CNPJ, phone number or random key", "chave \"" + s + "\"");
}

std::string
ValidateValor(const std::string &numeric_text)
{
	const std::string &s = numeric_text;
	if (s == "NaN" || s == "Infinity" || s == "-Infinity")
		BadValor(s + " is not an amount", s);
	if (!s.empty() && s[0] == '-')
		BadValor("it must be positive", s);
	size_t dot = s.find('.');
	std::string whole = s.substr(0, dot);
	std::string frac = dot == std::string::npos ? std::string() : s.substr(dot + 1);
	if (!AllDigits(whole) || (dot != std::string::npos && !AllDigits(frac)))
		BadValor("\"" + s + "\" is not a decimal number", s);
	size_t lead = whole.find_first_not_of('0');
	whole = lead == std::string::npos ? std::string("0") : whole.substr(lead);
	while (!frac.empty() && frac.back() == '0')
		frac.pop_back();
	if (frac.size() > 2)
		BadValor("at most two decimals (centavos), " + s + " has " + std::to_string(frac.size()), s,
		         "Round the amount to centavos first, e.g. round(valor, 2).");
	if (whole.size() > kMaxValorDigits)
		BadValor("at most 13 digits before the decimal point", s);
	if (whole == "0" && frac.find_first_not_of('0') == std::string::npos)
		BadValor("it must be positive", s);
	frac.resize(2, '0');
	return whole + "." + frac;
}

void
ValidateDescricao(const std::string &utf8)
{
	size_t chars = 0;
	const auto *p = reinterpret_cast<const unsigned char *>(utf8.data());
	const auto *end = p + utf8.size();
	while (p < end) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
		bool ok = n != 0 && static_cast<size_t>(end - p) >= n;
		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xC0) == 0x80;
		if (ok && n == 3) {
			unsigned cp = (c & 0x0F) << 12 | (p[1] & 0x3Fu) << 6;
			ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);  // no overlong form, no surrogate
		} else if (ok && n == 4) {
			unsigned cp = (c & 0x07) << 18 | (p[1] & 0x3Fu) << 12;
			ok = cp >= 0x10000 && cp <= 0x10FFFF;
		}
		if (c == 0)  // valid UTF-8, but no text: the JSON body would carry \u0000 to the bank
			throw Error(sqlstate::kInvalidParameterValue, "invalid descricao: it contains a NUL byte",
			            "at byte " + std::to_string(p - reinterpret_cast<const unsigned char *>(utf8.data())));
		if (!ok)
			throw Error(sqlstate::kInvalidParameterValue, "invalid descricao: it is not valid UTF-8",
			            "at byte " + std::to_string(p - reinterpret_cast<const unsigned char *>(utf8.data())));
		p += n;
		chars++;
	}
	if (chars > kMaxDescricao)
		throw Error(sqlstate::kInvalidParameterValue,
		            "invalid descricao: at most 140 characters, this one has " + std::to_string(chars), {},
		            "The bank takes a description of up to 140 characters; shorten it, e.g. left(descricao, 140).");
}

std::string
PaymentBody(const std::string &valor2, const std::string &chave, const std::string *descricao,
            const std::string *data_pagamento)
{
	// valor2 is ValidateValor's canonical text: digits without leading zeros, two decimals.
	size_t dot = valor2.find('.');
	bool valor_ok = dot != std::string::npos && dot > 0 && dot + 3 == valor2.size() &&
	                AllDigits(valor2.substr(0, dot)) && AllDigits(valor2.substr(dot + 1)) &&
	                (valor2[0] != '0' || dot == 1);
	if (!valor_ok)
		throw Error(sqlstate::kInternal, "a payment's valor must be canonical text such as 150.50",
		            "valor \"" + valor2 + "\"");
	if (data_pagamento && !IsIsoDate(*data_pagamento))
		throw Error(sqlstate::kInternal, "a payment's dataPagamento must be YYYY-MM-DD",
		            "dataPagamento \"" + *data_pagamento + "\"");
	rapidjson::StringBuffer buf;
	rapidjson::Writer<rapidjson::StringBuffer> w(buf);
	w.StartObject();
	w.Key("valor");
	w.RawValue(valor2.c_str(), valor2.size(), rapidjson::kNumberType);  // RawNumber would quote it
	if (data_pagamento) {
		w.Key("dataPagamento");
		w.String(data_pagamento->c_str(), static_cast<rapidjson::SizeType>(data_pagamento->size()));
	}
	if (descricao) {
		w.Key("descricao");
		w.String(descricao->c_str(), static_cast<rapidjson::SizeType>(descricao->size()));
	}
	w.Key("destinatario");
	w.StartObject();
	w.Key("tipo");
	w.String("CHAVE");
	w.Key("chave");
	w.String(chave.c_str(), static_cast<rapidjson::SizeType>(chave.size()));
	w.EndObject();
	w.EndObject();
	return std::string(buf.GetString(), buf.GetSize());
}

PaymentAnswer
ParsePaymentAnswer(const std::string &body)
{
	rapidjson::Document doc;
	ParseObject(body, doc, "POST /banking/v2/pix");
	PaymentAnswer a;
	a.codigo_solicitacao = json::GetString(doc, "codigoSolicitacao");
	if (!IsUuid(a.codigo_solicitacao, true))
		throw Error(sqlstate::kReplyHandle,
		            a.codigo_solicitacao.empty()
		                ? "the bank's answer to POST /banking/v2/pix has no codigoSolicitacao"
		                : "the bank's answer to POST /banking/v2/pix has a codigoSolicitacao that is not a UUID",
		            Excerpt(body));
	a.tipo_retorno = json::GetString(doc, "tipoRetorno");
	if (a.tipo_retorno.empty())
		throw Error(sqlstate::kReplyHandle, "the bank's answer to POST /banking/v2/pix has no tipoRetorno",
		            Excerpt(body));
	a.data_pagamento = json::GetString(doc, "dataPagamento");
	if (!IsIsoDate(a.data_pagamento))
		a.data_pagamento.clear();
	a.data_operacao = json::GetString(doc, "dataOperacao");
	if (!IsIsoDate(a.data_operacao))
		a.data_operacao.clear();
	a.end_to_end = json::GetString(doc, "endToEndId");
	return a;
}

PaymentStatus
ParsePaymentStatus(const std::string &body)
{
	rapidjson::Document doc;
	ParseObject(body, doc, "GET /banking/v2/pix/{codigoSolicitacao}");
	const rapidjson::Value *t = json::Find(doc, "transacaoPix");
	PaymentStatus st;
	if (t && t->IsObject())
		st.status = json::GetString(*t, "status");
	if (st.status.empty())
		throw Error(sqlstate::kReplyHandle,
		            "the bank's answer to GET /banking/v2/pix/{codigoSolicitacao} has no transacaoPix.status",
		            Excerpt(body));
	st.end_to_end = json::GetString(*t, "endToEnd");
	const rapidjson::Value *erros = json::Find(*t, "erros");
	if (erros && erros->IsArray()) {
		for (const rapidjson::Value &e : erros->GetArray()) {
			std::string code = json::GetString(e, "codigoErro");
			if (const rapidjson::Value *c = json::Find(e, "codigoErro"); c && c->IsInt64())
				code = std::to_string(c->GetInt64());
			std::string text = json::GetString(e, "descricaoErro");
			if (code.empty() && text.empty())
				continue;
			if (!st.errors.empty())
				st.errors += "; ";
			st.errors += code.empty() ? text : (text.empty() ? code : code + ": " + text);
		}
	}
	return st;
}

Outcome
OutcomeOf(const std::string &status)
{
	if (status == "PAGO")
		return Outcome::kPaid;
	static const char *const failed[] = {"REPROVADO",    "EXPIRADO",          "CANCELADO",
	                                     "FALHA",        "CANCELADO_SEM_SALDO", "NAO_DEBITADO",
	                                     "AGENDAMENTO_CANCELADO"};
	for (const char *f : failed)
		if (status == f)
			return Outcome::kFailed;
	return Outcome::kPending;
}

}  // namespace pix
