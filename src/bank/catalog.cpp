// The endpoint catalogue. Columns and types follow the user-facing contract
// (shared/design/interface.md); JSON paths follow the bank's API reference.
#include "bank/catalog.hpp"

namespace pix {

namespace {

// The API Pix lists take any inicio..fim span the reference documents; windows are still
// split so that one answer stays a bounded number of pages.
constexpr int kPixMaxWindowDays = 366;

std::vector<EndpointDef>
Build()
{
	std::vector<EndpointDef> eps;

	EndpointDef extrato;
	extrato.name = "extrato";
	extrato.http_path = "/banking/v2/extrato/completo";
	extrato.comment = "Account statement (extrato): every credit and debit of the business account, one row per entry.";
	extrato.scope = "extrato.read";
	extrato.paging = Paging::kStatement;
	extrato.rows_key = "transacoes";
	extrato.max_window_days = 90;
	extrato.rows_per_day = 50;
	extrato.rows_per_call = 0;
	extrato.max_page_size = 10000;
	extrato.date_column = "data_transacao";
	extrato.columns = {
	    {"id_transacao", "text", "idTransacao",
	     "Transaction id (identificador da transação), unique in the account; the key to upsert a local copy on."},
	    {"data_inclusao", "timestamptz", "dataInclusao",
	     "When the bank recorded the entry (data de inclusão), Brasília local time."},
	    {"data_transacao", "date", "dataTransacao",
	     "Statement date (data da transação); bounds on it become the dataInicio/dataFim window."},
	    {"tipo_transacao", "text", "tipoTransacao",
	     "Kind of entry (tipo de transação): PIX, BOLETO_COBRANCA, PAGAMENTO, TARIFA, TRANSFERENCIA, ..."},
	    {"tipo_operacao", "text", "tipoOperacao",
	     "C for a credit (crédito, money in), D for a debit (débito, money out)."},
	    {"valor", "numeric", "valor",
	     "Amount of the entry in R$ (valor da transação), positive for credits and debits alike: tipo_operacao gives the sign."},
	    {"titulo", "text", "titulo",
	     "Short title the bank gives the entry (título), e.g. Pix recebido."},
	    {"descricao", "text", "descricao",
	     "Description of the entry (descrição), as in Internet Banking."},
	    {"numero_documento", "text", "numeroDocumento",
	     "Document number (número do documento)."},
	    {"detalhes", "jsonb", "detalhes",
	     "Every detail the bank sends for this kind of entry (detalhes), raw."},
	    {"end_to_end_id", "text", "detalhes.endToEndId",
	     "Pix end-to-end id (E2E), the Pix's key across banks; NULL when not a Pix."},
	    {"txid", "text", "detalhes.txId",
	     "txid of the Pix charge (cobrança) that was paid; NULL when there is none."},
	    {"codigo_solicitacao", "text", "detalhes.codigoSolicitacao",
	     "Request code (código de solicitação) of a payment or Pix sent by this account."},
	    {"nome_pagador", "text", "detalhes.nomePagador",
	     "Name of who paid (nome do pagador)."},
	    {"cpf_cnpj_pagador", "text", "detalhes.cpfCnpjPagador",
	     "CPF or CNPJ of who paid (pagador)."},
	    {"descricao_pix", "text", "detalhes.descricaoPix",
	     "Message the Pix carried (descrição do Pix)."},
	    {"chave_pix_recebedor", "text", "detalhes.chavePixRecebedor",
	     "Pix key of the receiver (chave Pix do recebedor)."},
	    {"nome_recebedor", "text", "detalhes.nomeRecebedor",
	     "Name of the receiver (nome do recebedor)."},
	    {"cpf_cnpj_recebedor", "text", "detalhes.cpfCnpjRecebedor",
	     "CPF or CNPJ of the receiver (recebedor)."},
	};
	// Every other field the reference documents for a statement row (§4.2-4.3); they read as
	// text unless the column says otherwise. detalhes.dataTransacao is left out: its name is
	// taken by the top-level dataTransacao.
	extrato.more = {
	    "cpmf",
	    // Pix
	    "detalhes.tipoDetalhe", "detalhes.nomeEmpresaPagador", "detalhes.nomeEmpresaRecebedor",
	    "detalhes.contaBancariaRecebedor", "detalhes.agenciaRecebedor", "detalhes.origemMovimentacao",
	    // boleto de cobrança, depósito por boleto, tarifa
	    "detalhes.nossoNumero", "detalhes.seuNumero", "detalhes.codBarras", "detalhes.dataVencimento",
	    "detalhes.dataEmissao", "detalhes.dataLimite", "detalhes.juros", "detalhes.multa", "detalhes.abatimento",
	    "detalhes.desconto1", "detalhes.desconto2", "detalhes.desconto3", "detalhes.nome", "detalhes.cpfCnpj",
	    // pagamento
	    "detalhes.valorTotal", "detalhes.detalheDescricao", "detalhes.contaBancaria", "detalhes.agencia",
	    "detalhes.adicionado", "detalhes.codigoAfiliado", "detalhes.empresaEmissora", "detalhes.valorOriginal",
	    "detalhes.desconto", "detalhes.valorPrincipal", "detalhes.periodoApuracao", "detalhes.valorAumentado",
	    "detalhes.valorParcial", "detalhes.hora", "detalhes.empresaOrigem", "detalhes.nomeDestinatario",
	    "detalhes.nomeOrigem", "detalhes.codigoReceita", "detalhes.linhaDigitavel", "detalhes.autenticacao",
	    // transferência
	    "detalhes.contaBancariaPagador", "detalhes.descricaoTransferencia", "detalhes.agenciaPagador",
	    "detalhes.bancoRecebedor", "detalhes.idTransferencia", "detalhes.dataEfetivacao",
	    // cashback, compra no débito, cheque
	    "detalhes.valorCompra", "detalhes.produto", "detalhes.estabelecimento", "detalhes.numeroChequeBancario",
	    "detalhes.dataRetorno", "detalhes.motivoRetorno", "detalhes.descricaoChequeBancario", "detalhes.nomeEmpresa",
	};
	extrato.pushdown = {
	    {"dataTransacao", ParamKind::kDateWindow, nullptr},
	    {"dataInclusao", ParamKind::kTimestampWindow, nullptr},
	    // Only the documented values are sent (reference §4.2-4.4): the bank refuses others.
	    {"tipoOperacao", ParamKind::kEqual, "tipoOperacao", {"C", "D"}},
	    {"tipoTransacao", ParamKind::kEqual, "tipoTransacao",
	     {"DEBITO_EM_CONTA", "DEPOSITO_BOLETO", "ANTECIPACAO_RECEBIVEIS", "ANTECIPACAO_RECEBIVEIS_CARTAO",
	      "BOLETO_COBRANCA", "CAMBIO", "CASHBACK", "CHEQUE", "ESTORNO", "DOMICILIO_CARTAO", "FINANCIAMENTO",
	      "IMPOSTO", "INTERPAG", "INVESTIMENTO", "JUROS", "MAQUININHA_GRANITO", "MULTA", "OUTROS", "PAGAMENTO",
	      "PIX", "PROVENTOS", "SAQUE", "COMPRA_DEBITO", "DEBITO_AUTOMATICO", "TARIFA", "TRANSFERENCIA", "SEGURO"}},
	};
	eps.push_back(std::move(extrato));

	EndpointDef saldo;
	saldo.name = "saldo";
	saldo.http_path = "/banking/v2/saldo";
	saldo.comment = "Account balance (saldo): one row, today's or that of the day data_saldo names.";
	saldo.scope = "extrato.read";
	saldo.paging = Paging::kSingle;
	saldo.rows_key = nullptr;
	saldo.max_window_days = 0;
	saldo.rows_per_day = 0;
	saldo.rows_per_call = 1;
	saldo.max_page_size = 0;
	saldo.date_column = "data_saldo";
	saldo.columns = {
	    // dataSaldo is not in the answer: the row source adds the date that was asked for.
	    {"data_saldo", "date", "dataSaldo",
	     "Date of the balance (data do saldo): sent as the dataSaldo parameter, not a field of the answer; without a condition on it, today's real-time balance. API: query parameter dataSaldo"},
	    {"disponivel", "numeric", "disponivel",
	     "Available balance in R$ (saldo disponível)."},
	    {"bloqueado_cheque", "numeric", "bloqueadoCheque",
	     "R$ blocked by deposited cheques not yet cleared (bloqueado cheque); current balance only."},
	    {"bloqueado_judicialmente", "numeric", "bloqueadoJudicialmente",
	     "R$ blocked by court order (bloqueado judicialmente)."},
	    {"bloqueado_administrativo", "numeric", "bloqueadoAdministrativo",
	     "R$ blocked by the bank (bloqueado administrativo)."},
	    {"limite", "numeric", "limite",
	     "Credit limit in R$ (limite); current balance only."},
	    {"data_referencia", "date", "dataReferencia",
	     "The business day the balance really is from (data de referência), when data_saldo is not a business day."},
	};
	saldo.pushdown = {
	    {"dataSaldo", ParamKind::kEqualDate, "dataSaldo"},
	};
	eps.push_back(std::move(saldo));

	// The API Pix (the Central Bank's standard, reference §6): RFC 3339 windows, paginacao,
	// one row by key. What is Inter's own: the paths, scopes and limits below.
	EndpointDef pix;
	pix.name = "pix";
	pix.http_path = "/pix/v2/pix";
	pix.comment = "Pix received (Pix recebidos) through this account's Pix keys and charges.";
	pix.scope = "pix.read";
	pix.paging = Paging::kPaginacao;
	pix.rows_key = "pix";
	pix.max_window_days = kPixMaxWindowDays;
	pix.rows_per_day = 20;
	pix.rows_per_call = 0;
	pix.max_page_size = 1000;
	pix.columns = {
	    {"end_to_end_id", "text", "endToEndId",
	     "Pix end-to-end id (E2E), unique for every Pix; = on it reads one Pix."},
	    {"txid", "text", "txid",
	     "txid of the charge (cobrança) this Pix paid."},
	    {"valor", "numeric", "valor",
	     "Amount received in R$ (valor)."},
	    {"chave", "text", "chave",
	     "Pix key of this account that received it (chave)."},
	    {"horario", "timestamptz", "horario",
	     "When the Pix was settled (horário); bounds on it become the inicio/fim window."},
	    {"info_pagador", "text", "infoPagador",
	     "Message from the payer (informação do pagador)."},
	    {"pagador_nome", "text", "pagador.nome",
	     "Name of the payer (nome do pagador)."},
	    {"pagador_cpf_cnpj", "text", "pagador.cpfCnpj",
	     "CPF or CNPJ of the payer (pagador)."},
	    {"componentes_valor", "jsonb", "componentesValor",
	     "How the amount is made up (componentes do valor: original, saque, troco, juros, ...), raw."},
	    {"devolucoes", "jsonb", "devolucoes",
	     "Refunds of this Pix (devoluções), raw."},
	};
	pix.pushdown = {
	    {"horario", ParamKind::kTimestampWindow, nullptr},
	    {"txid", ParamKind::kEqual, "txId", {}, 26, 35, true},
	    {"endToEndId", ParamKind::kPathKey, nullptr, {}, 32, 32, true},
	};
	pix.date_column = "horario";
	pix.window_from = "inicio";
	pix.window_to = "fim";
	pix.window_format = WindowFormat::kRfc3339;
	pix.page_param = "paginacao.paginaAtual";
	pix.page_size_param = "paginacao.itensPorPagina";
	pix.item_path = "/pix/v2/pix/{}";
	pix.item_path_shown = "/pix/v2/pix/{e2eId}";
	eps.push_back(std::move(pix));

	EndpointDef cob;
	cob.name = "cobrancas";
	cob.http_path = "/pix/v2/cob";
	cob.comment = "Immediate Pix charges (cobranças imediatas, cob) this account created, with their QR code data.";
	cob.scope = "cob.read";
	cob.paging = Paging::kPaginacao;
	cob.rows_key = "cobs";
	cob.max_window_days = kPixMaxWindowDays;
	cob.rows_per_day = 20;
	cob.rows_per_call = 0;
	cob.max_page_size = 1000;
	cob.columns = {
	    {"txid", "text", "txid",
	     "Charge id (txid) chosen when it was created; = on it reads one charge."},
	    {"status", "text", "status",
	     "State of the charge: ATIVA, CONCLUIDA (paid), REMOVIDA_PELO_USUARIO_RECEBEDOR, REMOVIDA_PELO_PSP."},
	    {"revisao", "int", "revisao",
	     "Revision number of the charge (revisão), 0 when never changed."},
	    {"criacao", "timestamptz", "calendario.criacao",
	     "When the charge was created (criação); bounds on it become the inicio/fim window."},
	    {"expiracao", "int", "calendario.expiracao",
	     "Seconds the charge stays payable after its creation (expiração)."},
	    {"valor_original", "numeric", "valor.original",
	     "Amount asked for in R$ (valor original)."},
	    {"chave", "text", "chave",
	     "Pix key of this account the charge is paid to (chave)."},
	    {"devedor_nome", "text", "devedor.nome",
	     "Name of the debtor (nome do devedor)."},
	    {"devedor_cpf_cnpj", "text", "devedor.cpfCnpj",
	     "CPF or CNPJ of the debtor (devedor); the API gives devedor.cpf or devedor.cnpj."},
	    {"solicitacao_pagador", "text", "solicitacaoPagador",
	     "Text shown to the payer (solicitação ao pagador)."},
	    {"location", "text", "location",
	     "URL of the charge's payload (location), what a dynamic QR code points to."},
	    {"pix_copia_e_cola", "text", "pixCopiaECola",
	     "The charge as Pix copia e cola text (BR Code)."},
	    {"pix", "jsonb", "pix",
	     "The Pix that paid this charge, raw."},
	    {"info_adicionais", "jsonb", "infoAdicionais",
	     "Extra name/value fields shown to the payer (informações adicionais), raw."},
	};
	cob.more = {"loc", "recebedor", "valor.modalidadeAlteracao"};
	cob.pushdown = {
	    {"calendario.criacao", ParamKind::kTimestampWindow, nullptr},
	    {"status", ParamKind::kEqual, "status",
	     {"ATIVA", "CONCLUIDA", "REMOVIDA_PELO_USUARIO_RECEBEDOR", "REMOVIDA_PELO_PSP"}},
	    {"txid", ParamKind::kPathKey, nullptr, {}, 26, 35, true},
	};
	cob.date_column = "criacao";
	cob.window_from = "inicio";
	cob.window_to = "fim";
	cob.window_format = WindowFormat::kRfc3339;
	cob.page_param = "paginacao.paginaAtual";
	cob.page_size_param = "paginacao.itensPorPagina";
	cob.item_path = "/pix/v2/cob/{}";
	cob.item_path_shown = "/pix/v2/cob/{txid}";
	// The debtor is a person (cpf) or a company (cnpj): one column for either.
	cob.renames = {{"devedor", {"cpf", "cnpj"}, "cpfCnpj"}};
	eps.push_back(std::move(cob));

	// Pix payments sent (Banking, reference §5.2): only by codigoSolicitacao.
	EndpointDef env;
	env.name = "pix_enviados";
	env.http_path = "/banking/v2/pix/{codigoSolicitacao}";
	env.comment = "Pix sent by this account (Pix enviados), read one by one by codigo_solicitacao.";
	env.scope = "pagamento-pix.read";
	env.paging = Paging::kNone;
	env.rows_key = nullptr;
	env.max_window_days = 0;
	env.rows_per_day = 0;
	env.rows_per_call = 1;
	env.max_page_size = 0;
	env.columns = {
	    {"codigo_solicitacao", "uuid", "transacaoPix.codigoSolicitacao",
	     "Request code (código de solicitação) the bank gave the Pix when it was sent; every query names it (=, = ANY or a join)."},
	    {"status", "text", "transacaoPix.status",
	     "State of the payment: CRIADO, AGUARDANDO_APROVACAO, APROVADO, PAGO, ... (see historico)."},
	    {"valor", "numeric", "transacaoPix.valor",
	     "Amount sent in R$ (valor)."},
	    {"chave", "text", "transacaoPix.chave",
	     "Pix key it was sent to (chave)."},
	    {"end_to_end_id", "text", "transacaoPix.endToEnd",
	     "Pix end-to-end id (E2E) once the Pix is made."},
	    {"data_hora_solicitacao", "timestamptz", "transacaoPix.dataHoraSolicitacao",
	     "When the payment was requested (data e hora da solicitação)."},
	    {"data_hora_movimento", "timestamptz", "transacaoPix.dataHoraMovimento",
	     "When the money left the account (data e hora do movimento)."},
	    {"recebedor_nome", "text", "transacaoPix.recebedor.nome",
	     "Name of the receiver (nome do recebedor)."},
	    {"recebedor_cpf_cnpj", "text", "transacaoPix.recebedor.cpfCnpj",
	     "CPF or CNPJ of the receiver (recebedor)."},
	    {"erros", "jsonb", "transacaoPix.erros",
	     "Errors the bank reported for this payment (erros), raw."},
	    {"historico", "jsonb", "historico",
	     "Every state the payment went through, with its time (histórico), raw."},
	};
	env.more = {"transacaoPix.contaCorrente", "transacaoPix.recebedor.codIspb", "transacaoPix.recebedor.codAgencia",
	            "transacaoPix.recebedor.nroConta", "transacaoPix.recebedor.tipoConta"};
	env.pushdown = {
	    {"transacaoPix.codigoSolicitacao", ParamKind::kPathKey, nullptr, {}, 1, 64, false},
	};
	env.item_path = "/banking/v2/pix/{}";
	env.item_path_shown = "/banking/v2/pix/{codigoSolicitacao}";
	eps.push_back(std::move(env));
	return eps;
}

}  // namespace

const std::vector<EndpointDef> &
Endpoints()
{
	static const std::vector<EndpointDef> eps = Build();
	return eps;
}

const EndpointDef *
FindEndpoint(std::string_view name)
{
	for (const auto &ep : Endpoints())
		if (name == ep.name)
			return &ep;
	return nullptr;
}

const ColumnDef *
FindColumn(const EndpointDef &ep, std::string_view column)
{
	for (const auto &c : ep.columns)
		if (column == c.name)
			return &c;
	return nullptr;
}

std::string
SnakeCase(std::string_view camel)
{
	std::string out;
	out.reserve(camel.size() + 8);
	for (char c : camel) {
		if (c >= 'A' && c <= 'Z') {
			if (!out.empty())
				out.push_back('_');
			out.push_back(static_cast<char>(c - 'A' + 'a'));
		} else {
			out.push_back(c);
		}
	}
	return out;
}

const char *
ColumnToPath(const EndpointDef &ep, std::string_view column)
{
	if (const ColumnDef *c = FindColumn(ep, column))
		return c->path;
	for (const char *path : ep.more) {
		std::string_view p(path);
		size_t dot = p.rfind('.');
		if (SnakeCase(dot == std::string_view::npos ? p : p.substr(dot + 1)) == column)
			return path;
	}
	return nullptr;
}

bool
PushdownDef::Accepts(std::string_view value) const
{
	if (!values.empty()) {
		bool listed = false;
		for (std::string_view v : values)
			listed |= v == value;
		if (!listed)
			return false;
	}
	if ((min_len > 0 && static_cast<int>(value.size()) < min_len) ||
	    (max_len > 0 && static_cast<int>(value.size()) > max_len))
		return false;
	if (alnum)
		for (char c : value)
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
				return false;
	return true;
}

const PushdownDef *
KeyPushdown(const EndpointDef &ep)
{
	for (const auto &p : ep.pushdown)
		if (p.kind == ParamKind::kPathKey)
			return &p;
	return nullptr;
}

const PushdownDef *
FindPushdown(const EndpointDef &ep, std::string_view path)
{
	for (const auto &p : ep.pushdown)
		if (path == p.path)
			return &p;
	return nullptr;
}

}  // namespace pix
