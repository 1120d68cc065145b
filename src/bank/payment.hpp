// A Pix payment as the bank sees it (ref §5.1, §5.2): the checks made before a payment is
// queued (chave, valor, descricao), the body of POST /banking/v2/pix, and the bank's answers
// to it and to GET /banking/v2/pix/{codigoSolicitacao}. Plain C++: the ledger, pay() and the
// worker are on the PostgreSQL side.
#pragma once
#include "bank/cpp_only.hpp"

#include <string>

namespace pix {

// Scopes and path of the payment endpoints (ref §2.1, §5).
constexpr const char *kPaymentPath = "/banking/v2/pix";
constexpr const char *kPaymentWriteScope = "pagamento-pix.write";
constexpr const char *kPaymentReadScope = "pagamento-pix.read";

enum class ChaveKind { kEmail, kCpf, kCnpj, kPhone, kEvp };

// What kind of Pix key `chave` is, or pix::Error (22023) "invalid chave: <why>" with a
// detail and a hint. E-mail: at most 77 characters (BCB), one @, a local part of the usual
// characters without leading, trailing or doubled dots, and a dotted domain of letters,
// digits and inner hyphens. CPF: 11 digits, CNPJ: 14 digits, with valid check digits (all
// digits equal is invalid); digits only (a key written with . - / is refused with a hint
// showing the digits). Phone: "+55", a DDD from 11 to 99 and 8 or 9 digits. Random key
// (EVP): a UUID, 8-4-4-4-12 lowercase hexadecimal digits.
ChaveKind ValidateChave(const std::string &chave);

// The amount as the bank gets it: numeric_text is PostgreSQL's numeric_out text ("150",
// "150.5", "150.000", "-3", "NaN"). It must be positive, with at most two decimals (trailing
// zeros beyond them are fine: "150.500" is 150.50, "150.505" is refused) and at most 13
// integer digits. Returns the canonical text with two decimals ("150.50"); throws
// pix::Error (22023) "invalid valor: ...". Decimal text only, never a double.
std::string ValidateValor(const std::string &numeric_text);

// At most 140 characters (code points, not bytes) of valid UTF-8 without a NUL; throws
// pix::Error (22023) "invalid descricao: ...".
void ValidateDescricao(const std::string &utf8);

// The JSON body of POST /banking/v2/pix for a key payee:
//   {"valor":150.50,"dataPagamento":"2025-03-17","descricao":"...",
//    "destinatario":{"tipo":"CHAVE","chave":"..."}}
// valor2 is ValidateValor's text, written as a JSON number with those digits; descricao and
// data_pagamento ("YYYY-MM-DD") are left out when nullptr. Throws pix::Error (XX000) when
// valor2 or data_pagamento is not in that form (the caller validates first).
std::string PaymentBody(const std::string &valor2, const std::string &chave, const std::string *descricao,
                        const std::string *data_pagamento);

// The 200 answer of POST /banking/v2/pix. codigo_solicitacao (a UUID, as the bank wrote it)
// and tipo_retorno (APROVACAO, PROCESSADO, AGENDADO; any other non-empty text is kept as
// given) are required: without them the answer is not usable and pix::Error (HV00K) is
// thrown. data_pagamento and data_operacao ("YYYY-MM-DD") and the legacy end_to_end
// (endToEndId) are informational: empty when absent, not strings, or (for the dates) not in
// that form.
struct PaymentAnswer {
	std::string tipo_retorno, codigo_solicitacao, data_pagamento, data_operacao, end_to_end;
};
PaymentAnswer ParsePaymentAnswer(const std::string &body);

// The answer of GET /banking/v2/pix/{codigoSolicitacao}: transacaoPix.status (required, else
// pix::Error HV00K), transacaoPix.endToEnd (empty when absent) and transacaoPix.erros[] as
// "codigoErro: descricaoErro; ..." (empty when none).
struct PaymentStatus {
	std::string status, end_to_end, errors;
};
PaymentStatus ParsePaymentStatus(const std::string &body);

// PAGO is paid; REPROVADO, EXPIRADO, CANCELADO, FALHA, CANCELADO_SEM_SALDO, NAO_DEBITADO and
// AGENDAMENTO_CANCELADO are failed; any other status (an open enum) is still pending.
enum class Outcome { kPending, kPaid, kFailed };
Outcome OutcomeOf(const std::string &status);

}  // namespace pix
