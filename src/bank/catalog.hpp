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
};

enum class ParamKind {
	kDateWindow,       // a date column bounding dataInicio/dataFim
	kTimestampWindow,  // a timestamptz column bounding the same window (Brasília dates)
	kEqual,            // col = value  ->  param=value
	kEqualDate,        // date col = value -> param=YYYY-MM-DD
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
};

struct PushdownDef {
	const char *path;   // JSON path of the column the qual is on
	ParamKind kind;
	const char *param;  // query parameter (kEqual*); unused for windows
	// kEqual: the values the bank accepts (others are filtered locally, never sent); empty: any.
	std::vector<std::string_view> values = {};
};

struct EndpointDef {
	const char *name;         // table option endpoint '...'
	const char *http_path;    // GET path below the base URL
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

}  // namespace pix
