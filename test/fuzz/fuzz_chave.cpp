// libFuzzer target: the checks made before a Pix payment is queued (src/bank/payment.*):
// ValidateChave, ValidateValor, ValidateDescricao, and the POST body built from what they
// accept (PaymentBody).
//
// The whole input is tried as a chave, a valor and a descricao, and each verdict is compared
// with an independent reference written from the rules in payment.hpp (differential):
//  * chave: accepted exactly when the reference accepts, as the same kind. An e-mail (any key
//    with an @): at most 77 characters, one @, a local part of at most 64 mailbox characters
//    without leading, trailing or doubled dots, a domain of two or more labels of letters,
//    digits and inner hyphens (at most 63 each), the last at least 2 characters and not all
//    digits. A phone (a key starting with +): +55, a DDD from 11 to 99, 8 or 9 digits. A
//    random key (36 characters with dashes at 8, 13, 18, 23): lowercase 8-4-4-4-12 hex. Else
//    digits only: a CPF (11) or CNPJ (14) whose check digits are right (computed here the
//    other way round: 11 - sum mod 11) and not all equal. Every accepted key is printable
//    ASCII: no NUL, no space, no byte over 0x7E (so never invalid UTF-8).
//  * valor: accepted exactly when it is digits with an optional point and digits, positive,
//    at most 13 integer digits and 2 significant decimals; the answer is that very amount
//    with two decimals, made of the input's digits (compared as digit strings, never as a
//    double).
//  * descricao: accepted exactly when it is well-formed UTF-8 (Unicode's table 3-7: no
//    overlong forms, no surrogates, nothing over U+10FFFF) without a NUL, and at most 140
//    code points.
//  * Every refusal is a pix::Error 22023 whose message names the field ("invalid chave: ",
//    "invalid valor: ", "invalid descricao: "), with NUL-free texts; nothing else is thrown.
//  * PaymentBody of accepted values is JSON whose valor is a number with exactly the
//    canonical digits and whose chave and descricao are the inputs byte for byte.
//  * UrlEncode (how a key goes into a lookup's path) writes only unreserved ASCII and %XX,
//    and decodes back to the input.
// A backend runs these under its database's LC_CTYPE: with PIX_FUZZ_LOCALE set (and LOCPATH,
// see fuzz.sh) the checks run under that locale, e.g. pt_BR.ISO-8859-1, where isalnum(0xE9)
// is true.
// Keys built valid from the input (a CPF, a CNPJ, a phone and a random key with computed
// check digits) must be accepted: a refusal of a valid key fails too.
#include "bank/client.hpp"
#include "bank/json.hpp"
#include "bank/payment.hpp"

#include "bank/error.hpp"

#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace {

using pix::ChaveKind;

[[noreturn]] void
Fail(const std::string &what)
{
	std::fprintf(stderr, "INVARIANT FAILED: %s\n", what.c_str());
	std::fflush(stderr);
	std::abort();
}

void
Require(bool cond, const std::string &what)
{
	if (!cond)
		Fail(what);
}

bool
Digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

bool
Digits(const std::string &s)
{
	if (s.empty())
		return false;
	for (unsigned char c : s)
		if (!Digit(c))
			return false;
	return true;
}

bool
Alnum(unsigned char c)
{
	return Digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Check digit of a CPF or CNPJ prefix: weights w(i) from the right, 11 - sum mod 11, 10 and 11 -> 0.
int
CheckDigit(const std::string &d, size_t n, bool cnpj)
{
	int sum = 0;
	for (size_t k = 0; k < n; k++) {
		size_t from_right = n - 1 - k;  // 0 for the last digit before the check digit
		int weight = cnpj ? 2 + static_cast<int>(from_right % 8) : 2 + static_cast<int>(from_right);
		sum += (d[k] - '0') * weight;
	}
	int dv = 11 - sum % 11;
	return dv >= 10 ? 0 : dv;
}

bool
RefDocument(const std::string &d, size_t len, bool cnpj)
{
	if (d.size() != len || !Digits(d) || d.find_first_not_of(d[0]) == std::string::npos)
		return false;
	return d[len - 2] - '0' == CheckDigit(d, len - 2, cnpj) && d[len - 1] - '0' == CheckDigit(d, len - 1, cnpj);
}

bool
RefEmail(const std::string &s)
{
	if (s.size() > 77)
		return false;
	size_t at = s.find('@');
	if (at == std::string::npos || s.find('@', at + 1) != std::string::npos)
		return false;
	std::string local = s.substr(0, at), domain = s.substr(at + 1);
	if (local.empty() || local.size() > 64 || local[0] == '.' || local.back() == '.' ||
	    local.find("..") != std::string::npos)
		return false;
	for (unsigned char c : local)
		if (!Alnum(c) && (c == 0 || !std::strchr(".!#$%&'*+/=?^_`{|}~-", c)))  // strchr finds the NUL
			return false;
	std::vector<std::string> labels;
	size_t start = 0;
	for (;;) {
		size_t dot = domain.find('.', start);
		labels.push_back(domain.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
		if (dot == std::string::npos)
			break;
		start = dot + 1;
	}
	if (labels.size() < 2)
		return false;
	for (const std::string &l : labels) {
		if (l.empty() || l.size() > 63 || l[0] == '-' || l.back() == '-')
			return false;
		for (unsigned char c : l)
			if (!Alnum(c) && c != '-')
				return false;
	}
	return labels.back().size() >= 2 && !Digits(labels.back());
}

// The kind the rules give s, or -1 when it is no key.
int
RefChave(const std::string &s)
{
	if (s.empty())
		return -1;
	if (s.find('@') != std::string::npos)
		return RefEmail(s) ? static_cast<int>(ChaveKind::kEmail) : -1;
	if (s[0] == '+') {
		if (s.size() < 3 || s.compare(0, 3, "+55") != 0)
			return -1;
		std::string rest = s.substr(3);
		if (!Digits(rest) || (rest.size() != 10 && rest.size() != 11))
			return -1;
		int ddd = (rest[0] - '0') * 10 + (rest[1] - '0');
		return ddd >= 11 ? static_cast<int>(ChaveKind::kPhone) : -1;
	}
	if (s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-') {
		for (size_t i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				continue;
			if (!Digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
				return -1;
		}
		return static_cast<int>(ChaveKind::kEvp);
	}
	if (RefDocument(s, 11, false))
		return static_cast<int>(ChaveKind::kCpf);
	if (RefDocument(s, 14, true))
		return static_cast<int>(ChaveKind::kCnpj);
	return -1;
}

// The canonical amount, or "" when refused.
std::string
RefValor(const std::string &s)
{
	size_t dot = s.find('.');
	std::string whole = s.substr(0, dot), frac = dot == std::string::npos ? "" : s.substr(dot + 1);
	if (!Digits(whole) || (dot != std::string::npos && !Digits(frac)))
		return "";
	whole.erase(0, std::min(whole.find_first_not_of('0'), whole.size()));
	frac.erase(std::min(frac.find_last_not_of('0') + 1, frac.size()));
	if (frac.size() > 2 || whole.size() > 13 || (whole.empty() && frac.empty()))
		return "";
	return (whole.empty() ? "0" : whole) + "." + frac + std::string(2 - frac.size(), '0');
}

// Code points of well-formed UTF-8 without NUL (Unicode table 3-7), or -1.
long
RefUtf8(const std::string &s)
{
	const auto *p = reinterpret_cast<const unsigned char *>(s.data());
	size_t n = s.size(), i = 0;
	long chars = 0;
	auto in = [&](size_t k, unsigned lo, unsigned hi) { return i + k < n && p[i + k] >= lo && p[i + k] <= hi; };
	while (i < n) {
		unsigned c = p[i];
		size_t len;
		if (c == 0)
			return -1;
		if (c <= 0x7F)
			len = 1;
		else if (c >= 0xC2 && c <= 0xDF && in(1, 0x80, 0xBF))
			len = 2;
		else if ((c == 0xE0 && in(1, 0xA0, 0xBF)) || (((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) && in(1, 0x80, 0xBF)) ||
		         (c == 0xED && in(1, 0x80, 0x9F)))
			len = in(2, 0x80, 0xBF) ? 3 : 0;
		else if ((c == 0xF0 && in(1, 0x90, 0xBF)) || (c >= 0xF1 && c <= 0xF3 && in(1, 0x80, 0xBF)) ||
		         (c == 0xF4 && in(1, 0x80, 0x8F)))
			len = in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
		else
			len = 0;
		if (len == 0)
			return -1;
		i += len;
		chars++;
	}
	return chars;
}

void
CheckRefusal(const pix::Error &e, const char *field, const std::string &input)
{
	const std::string prefix = std::string("invalid ") + field + ": ";
	Require(std::string(e.State()) == "22023", std::string(field) + " refused with SQLSTATE " + e.State());
	Require(std::strncmp(e.what(), prefix.c_str(), prefix.size()) == 0,
	        std::string(field) + " refused with another message: " + e.what());
	for (const std::string &t : {std::string(e.what()), e.Detail(), e.Hint()})
		Require(t.find('\0') == std::string::npos || input.find('\0') != std::string::npos,
		        std::string(field) + ": an error text with a NUL byte the input did not have");
}

// -1: refused.
int
Chave(const std::string &s)
{
	try {
		return static_cast<int>(pix::ValidateChave(s));
	} catch (const pix::Error &e) {
		CheckRefusal(e, "chave", s);
		return -1;
	}
}

std::string
Valor(const std::string &s)
{
	try {
		std::string v = pix::ValidateValor(s);
		Require(!v.empty(), "valor accepted as an empty text");
		return v;
	} catch (const pix::Error &e) {
		CheckRefusal(e, "valor", s);
		return "";
	}
}

bool
Descricao(const std::string &s)
{
	try {
		pix::ValidateDescricao(s);
		return true;
	} catch (const pix::Error &e) {
		CheckRefusal(e, "descricao", s);
		return false;
	}
}

void
CheckChave(const std::string &s, const char *what)
{
	int got = Chave(s), want = RefChave(s);
	if (got != want)
		Fail(std::string(what) + ": ValidateChave says " + std::to_string(got) + ", the rules " + std::to_string(want));
	if (got >= 0)
		for (unsigned char c : s)
			Require(c > 0x20 && c < 0x7F, std::string(what) + ": an accepted chave has a byte that is not printable ASCII");
}

void
CheckBody(const std::string &valor2, const std::string &chave, const std::string *descricao)
{
	const std::string date = "2025-03-17";
	std::string body = pix::PaymentBody(valor2, chave, descricao, &date);
	pix::json::Page page;
	try {
		page.Parse(std::string(body));
	} catch (const pix::Error &e) {
		Fail(std::string("PaymentBody is not JSON: ") + e.what());
	}
	const rapidjson::Value &doc = page.Doc();
	const rapidjson::Value *v = pix::json::Find(doc, "valor");
	Require(v && page.IsNumber(*v) && std::string(v->GetString(), v->GetStringLength()) == valor2,
	        "PaymentBody's valor is not the number " + valor2);
	const rapidjson::Value *dest = pix::json::Find(doc, "destinatario");
	const rapidjson::Value *k = dest ? pix::json::Find(*dest, "chave") : nullptr;
	Require(k && k->IsString() && std::string(k->GetString(), k->GetStringLength()) == chave,
	        "PaymentBody's chave is not the chave");
	const rapidjson::Value *d = pix::json::Find(doc, "descricao");
	if (descricao)
		Require(d && d->IsString() && !page.IsNumber(*d) && std::string(d->GetString(), d->GetStringLength()) == *descricao,
		        "PaymentBody's descricao is not the descricao, byte for byte");
	else
		Require(!d, "PaymentBody has a descricao it was not given");
}

void
CheckUrlEncode(const std::string &s)
{
	const std::string e = pix::UrlEncode(s);
	std::string back;
	for (size_t i = 0; i < e.size(); i++) {
		unsigned char c = e[i];
		if (c == '%') {
			Require(i + 2 < e.size() && std::isxdigit(static_cast<unsigned char>(e[i + 1])) &&
			            std::isxdigit(static_cast<unsigned char>(e[i + 2])),
			        "UrlEncode writes a % without two hex digits");
			back.push_back(static_cast<char>(std::stoi(e.substr(i + 1, 2), nullptr, 16)));
			i += 2;
		} else {
			Require(Alnum(c) || c == '-' || c == '_' || c == '.' || c == '~',
			        "UrlEncode leaves a byte that is not unreserved ASCII: " + std::to_string(c));
			back.push_back(static_cast<char>(c));
		}
	}
	Require(back == s, "UrlEncode does not decode back to its input");
}

}  // namespace

extern "C" int
LLVMFuzzerInitialize(int *, char ***)
{
	const char *loc = std::getenv("PIX_FUZZ_LOCALE");
	if (loc && *loc) {
		if (!std::setlocale(LC_CTYPE, loc)) {
			std::fprintf(stderr, "fuzz_chave: locale %s is not available (LOCPATH?)\n", loc);
			std::exit(2);
		}
		std::fprintf(stderr, "fuzz_chave: LC_CTYPE %s\n", loc);
	}
	return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string s(reinterpret_cast<const char *>(data), size);
	try {
		CheckChave(s, "input");
		CheckUrlEncode(s);

		std::string v = Valor(s), want = RefValor(s);
		if (v != want)
			Fail("ValidateValor says \"" + v + "\", the rules \"" + want + "\"");

		bool d = Descricao(s);
		long chars = RefUtf8(s);
		if (d != (chars >= 0 && chars <= 140))
			Fail(std::string("ValidateDescricao ") + (d ? "accepts" : "refuses") + " a text of " + std::to_string(chars) +
			     " code points (-1: not UTF-8 or a NUL)");

		// Valid keys built from the input's bytes.
		std::string digits;
		for (unsigned char c : s)
			digits.push_back(static_cast<char>('0' + c % 10));
		digits += "3141592653589793";
		std::string cpf = digits.substr(0, 9), cnpj = digits.substr(0, 12);
		cpf.push_back(static_cast<char>('0' + CheckDigit(cpf, 9, false)));
		cpf.push_back(static_cast<char>('0' + CheckDigit(cpf, 10, false)));
		cnpj.push_back(static_cast<char>('0' + CheckDigit(cnpj, 12, true)));
		cnpj.push_back(static_cast<char>('0' + CheckDigit(cnpj, 13, true)));
		const bool same9 = cpf.find_first_not_of(cpf[0]) == std::string::npos;
		const bool same14 = cnpj.find_first_not_of(cnpj[0]) == std::string::npos;
		Require(same9 || Chave(cpf) == static_cast<int>(ChaveKind::kCpf), "a valid CPF is refused: " + cpf);
		Require(same14 || Chave(cnpj) == static_cast<int>(ChaveKind::kCnpj), "a valid CNPJ is refused: " + cnpj);
		int ddd = 11 + (size ? data[0] : 0) % 89;
		std::string phone = "+55" + std::to_string(ddd) + digits.substr(2, size % 2 ? 9 : 8);
		Require(Chave(phone) == static_cast<int>(ChaveKind::kPhone), "a valid phone key is refused: " + phone);
		std::string evp;
		for (size_t i = 0; i < 32; i++) {
			if (i == 8 || i == 12 || i == 16 || i == 20)
				evp.push_back('-');
			evp.push_back("0123456789abcdef"[(i < size ? data[i] : i) & 15]);
		}
		Require(Chave(evp) == static_cast<int>(ChaveKind::kEvp), "a valid random key is refused: " + evp);
		CheckChave(cpf, "built CPF");

		// The body of what was accepted.
		const std::string valor2 = v.empty() ? std::string("150.50") : v;
		const std::string chave = RefChave(s) >= 0 ? s : cpf;
		CheckBody(valor2, chave, d ? &s : nullptr);
	} catch (const pix::Error &e) {
		Fail(std::string("an unexpected pix::Error: ") + e.what());
	} catch (const std::exception &e) {
		Fail(std::string("an exception other than pix::Error escaped: ") + e.what());
	}
	return 0;
}
