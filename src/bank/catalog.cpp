// The endpoint catalogue. Columns and types follow the user-facing contract
// (shared/design/interface.md); JSON paths follow the bank's API reference.
#include "bank/catalog.hpp"

namespace pix {

namespace {

std::vector<EndpointDef>
Build()
{
	std::vector<EndpointDef> eps;

	EndpointDef extrato;
	extrato.name = "extrato";
	extrato.http_path = "/banking/v2/extrato/completo";
	extrato.scope = "extrato.read";
	extrato.paging = Paging::kStatement;
	extrato.rows_key = "transacoes";
	extrato.max_window_days = 90;
	extrato.rows_per_day = 50;
	extrato.rows_per_call = 0;
	extrato.max_page_size = 10000;
	extrato.columns = {
	    {"id_transacao", "text", "idTransacao"},
	    {"data_inclusao", "timestamptz", "dataInclusao"},
	    {"data_transacao", "date", "dataTransacao"},
	    {"tipo_transacao", "text", "tipoTransacao"},
	    {"tipo_operacao", "text", "tipoOperacao"},
	    {"valor", "numeric", "valor"},
	    {"titulo", "text", "titulo"},
	    {"descricao", "text", "descricao"},
	    {"numero_documento", "text", "numeroDocumento"},
	    {"detalhes", "jsonb", "detalhes"},
	    {"end_to_end_id", "text", "detalhes.endToEndId"},
	    {"txid", "text", "detalhes.txId"},
	    {"codigo_solicitacao", "text", "detalhes.codigoSolicitacao"},
	    {"nome_pagador", "text", "detalhes.nomePagador"},
	    {"cpf_cnpj_pagador", "text", "detalhes.cpfCnpjPagador"},
	    {"descricao_pix", "text", "detalhes.descricaoPix"},
	    {"chave_pix_recebedor", "text", "detalhes.chavePixRecebedor"},
	    {"nome_recebedor", "text", "detalhes.nomeRecebedor"},
	    {"cpf_cnpj_recebedor", "text", "detalhes.cpfCnpjRecebedor"},
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
	saldo.scope = "extrato.read";
	saldo.paging = Paging::kSingle;
	saldo.rows_key = nullptr;
	saldo.max_window_days = 0;
	saldo.rows_per_day = 0;
	saldo.rows_per_call = 1;
	saldo.max_page_size = 0;
	saldo.columns = {
	    // dataSaldo is not in the answer: the row source adds the date that was asked for.
	    {"data_saldo", "date", "dataSaldo"},
	    {"disponivel", "numeric", "disponivel"},
	    {"bloqueado_cheque", "numeric", "bloqueadoCheque"},
	    {"bloqueado_judicialmente", "numeric", "bloqueadoJudicialmente"},
	    {"bloqueado_administrativo", "numeric", "bloqueadoAdministrativo"},
	    {"limite", "numeric", "limite"},
	    {"data_referencia", "date", "dataReferencia"},
	};
	saldo.pushdown = {
	    {"dataSaldo", ParamKind::kEqualDate, "dataSaldo"},
	};
	eps.push_back(std::move(saldo));
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

const PushdownDef *
FindPushdown(const EndpointDef &ep, std::string_view path)
{
	for (const auto &p : ep.pushdown)
		if (path == p.path)
			return &p;
	return nullptr;
}

}  // namespace pix
