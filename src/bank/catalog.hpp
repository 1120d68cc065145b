// What the bank offers as tables: endpoint paths, scopes, pagination style, columns with
// their PostgreSQL types and JSON paths, and which quals become request parameters.
// IMPORT FOREIGN SCHEMA, the planner and EXPLAIN all read this one catalogue.
#pragma once
#include "bank/cpp_only.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pix {

enum class Paging {
	kStatement,  // extrato/completo: pagina/tamanhoPagina, scroll past 10 000 rows
	kSingle,     // one JSON object is one row (saldo)
	kPaginacao,  // API Pix lists: paginacao.paginaAtual/itensPorPagina until quantidadeDePaginas
	kNone,       // no list at all: rows only by key (pix_enviados)
};

// How a window's bounds are written (window_from / window_to).
enum class WindowFormat {
	kDate,     // YYYY-MM-DD, both ends included (Banking)
	kRfc3339,  // the instants starting the first day and the day after the last, with offset (API Pix)
};

enum class ParamKind {
	kDateWindow,       // a date column bounding dataInicio/dataFim
	kTimestampWindow,  // a timestamptz column bounding the same window (Brasília dates)
	kEqual,            // col = value  ->  param=value
	kEqualDate,        // date col = value -> param=YYYY-MM-DD
	kPathKey,          // col = value, = ANY(array) or a join: one GET of item_path per distinct value
};

// Kinds that bound the date window (dataInicio/dataFim) rather than set a parameter.
constexpr bool
IsWindow(ParamKind kind)
{
	return kind == ParamKind::kDateWindow || kind == ParamKind::kTimestampWindow;
}

struct ColumnDef {
	const char *name;  // column name in IMPORT FOREIGN SCHEMA
	const char *type;  // PostgreSQL type
	const char *path;  // JSON path inside one row, dot separated
	// What the column is, for COMMENT ON COLUMN at import; " API: <field>" is added unless the
	// text names its source itself ("API:").
	const char *comment = nullptr;
};

struct PushdownDef {
	const char *path;   // JSON path of the column the qual is on
	ParamKind kind;
	const char *param;  // query parameter (kEqual*); unused for windows
	// kEqual: the values the bank accepts (others are filtered locally, never sent); empty: any.
	std::vector<std::string_view> values = {};
	// kEqual, kPathKey: the shape the bank accepts (others are filtered locally: no row can have
	// them). 0: any length; alnum: letters and digits only.
	int min_len = 0;
	int max_len = 0;
	bool alnum = false;

	// Whether the bank accepts value for this parameter or key.
	bool Accepts(std::string_view value) const;
};

// Fields a row carries under another name, so one column reads them all: in object `object`
// of each row (nullptr: the row itself), the first of `from` present is renamed `to`
// (cobrança's devedor.cpf or devedor.cnpj -> devedor.cpfCnpj).
struct RenameDef {
	const char *object;
	std::vector<const char *> from;
	const char *to;
};

struct EndpointDef {
	const char *name;         // table option endpoint '...'
	const char *http_path;    // GET path below the base URL
	const char *comment = nullptr;  // what the table is (COMMENT ON FOREIGN TABLE at import)
	const char *scope;        // OAuth scope the call needs
	Paging paging;
	const char *rows_key;     // array of rows in a page (kStatement)
	int max_window_days;      // >0: dated, windows of at most this many days (both ends)
	double rows_per_day;      // planner estimate for dated endpoints
	double rows_per_call;     // planner estimate for undated endpoints
	int max_page_size;
	std::vector<ColumnDef> columns;   // what IMPORT FOREIGN SCHEMA creates
	std::vector<const char *> more;   // other known fields, matched by snake_case name
	std::vector<PushdownDef> pushdown;

	// How the planner writes requests for this endpoint.
	const char *date_column = nullptr;  // the dated column named in hints
	const char *window_from = "dataInicio";
	const char *window_to = "dataFim";
	WindowFormat window_format = WindowFormat::kDate;
	const char *page_param = nullptr;       // kPaginacao: current page (0-based)
	const char *page_size_param = nullptr;  // kPaginacao: rows per page
	// kPathKey lookups: the path of one row, "{}" standing for the URL-encoded key, and the
	// path as messages and EXPLAIN show it.
	const char *item_path = nullptr;
	const char *item_path_shown = nullptr;
	std::vector<RenameDef> renames;
};

const std::vector<EndpointDef> &Endpoints();
const EndpointDef *FindEndpoint(std::string_view name);
const ColumnDef *FindColumn(const EndpointDef &ep, std::string_view column);
// The JSON path a column name maps to: a catalogue column, else a known field whose last
// component in snake_case is the name (detalhes.tipoDetalhe -> tipo_detalhe); nullptr if none.
const char *ColumnToPath(const EndpointDef &ep, std::string_view column);
// "nomeEmpresaPagador" -> "nome_empresa_pagador"; "desconto1" -> "desconto1".
std::string SnakeCase(std::string_view camel);
const PushdownDef *FindPushdown(const EndpointDef &ep, std::string_view path);
// The endpoint's path key (kPathKey), or nullptr.
const PushdownDef *KeyPushdown(const EndpointDef &ep);

}  // namespace pix
