#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_page (test/fuzz/corpus/fuzz_page/): answers of the mock bank
(test/mock, captured) and the hostile bodies of test/sql/91_hostile.sql, each behind the two
configuration bytes of fuzz_page.cpp, several pages joined by 0x1E. Run it again after editing;
the files it writes are committed."""
import os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_page")
PAGES = os.path.join(HERE, "pages")  # captured mock answers

def page(name):
    with open(os.path.join(PAGES, name), "rb") as fh:
        return fh.read()

# mode: 0 extrato, 1 saldo, 2 saldo per date, 3 pix, 4 cobrancas, 5 pix by key, 6 cob by key
def cfg(mode, flags=0, n=1, size_idx=2, span_idx=0):
    return bytes([mode | flags, (n - 1) | (size_idx << 2) | (span_idx << 5)])

def seeds():
    ext0, ext1 = page("extrato_p0.json"), page("extrato_p1.json")
    cob0, cob1 = page("cob_p0.json"), page("cob_p1.json")
    pix0, pixitem = page("pix_p0.json"), page("pix_item.json")
    saldo, saldo_d = page("saldo.json"), page("saldo_dated.json")
    yield "extrato_two_pages", cfg(0) + ext0 + b"\x1e" + ext1
    yield "extrato_json_cells", cfg(0, 0x10) + ext0 + b"\x1e" + ext1
    yield "extrato_span", cfg(0, 0x20, 2, 4, 3) + ext0 + b"\x1e" + ext1 + b"\x1e" + ext0
    yield "saldo", cfg(1) + saldo
    yield "saldo_dated", cfg(2, 0, 2) + saldo_d + b"\x1e" + saldo
    yield "pix_list", cfg(3, 0x20) + pix0
    yield "cob_two_pages", cfg(4) + cob0 + b"\x1e" + cob1
    yield "pix_by_key", cfg(5, 0x20, 2) + pixitem + b"\x1e" + pixitem
    yield "cob_by_key", cfg(6) + b'{"txid":"t","devedor":{"cnpj":"11222333000181","nome":"X"},"valor":{"original":"0.01"}}'
    # Hostile bodies (test/sql/91_hostile.sql, test.broken).
    broken = {
        "empty": b"",
        "truncated": b'{"totalPaginas":1,"transacoes":[{"idTransacao":"0395e47d',
        "trailing_comma": b'{"a":[1,2,],"b":1}',
        "not_json": b"<html><body>Bad Gateway</body></html>",
        "a_string": b'"ok"',
        "an_array": b"[]",
        "null": b"null",
        "two_documents": b"{} {}",
        "nul_after": b"{}\x00 {}",
        "nul_in_string": b'{"a":"a\x00b" }',
        "deep_65": b"[" * 65 + b"]" * 65,
        "deep_64": b"[" * 64 + b"]" * 64,
        "deep_in_row": b'{"transacoes":[{"detalhes":' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}]}",
        "escaped_nul": b'{"transacoes":[{"idTransacao":"a\\u0000b","valor":1e300,"titulo":"\\ud83d\\ude00"}]}',
        "number_too_big": b'{"transacoes":[{"valor":1e400}]}',  # RapidJSON refuses it: an error
        "invalid_utf8": b'{"transacoes":[{"descricao":"\xc3\x28 \xed\xa0\x80 \xff","valor":"-0.0"}]}',
        "wrong_types": b'{"totalElementos":"x","totalPaginas":-1,"ultimaPagina":"true","transacoes":[1,"a",null,[],{"valor":{"a":1},"detalhes":"s"}]}',
        "numbers": b'{"transacoes":[{"valor":-0.000000000000000000000012345678901234567890,"descricao":123456789012345678901234567890,"detalhes":{"a":[1E+2,2e-3,0,-0]}}]}',
        "string_number": b'{"transacoes":[{"valor":"24.90","titulo":24.90}]}',
        "dup_keys": b'{"transacoes":[{"valor":"1","valor":"2","detalhes":{"endToEndId":"a"},"detalhes":{"endToEndId":"b"}}]}',
    }
    for name, body in broken.items():
        yield "hostile_" + name, cfg(0) + body
    yield "hostile_list_count", cfg(3) + b'{"parametros":{"paginacao":{"quantidadeDePaginas":2,"quantidadeTotalDeItens":3}},"pix":[{"valor":1}]}\x1e{"parametros":{"paginacao":{"quantidadeDePaginas":2}},"pix":[{"valor":2},{"valor":3}]}'
    yield "hostile_list_empty_page", cfg(4, 0, 1, 0) + b'{"parametros":{"paginacao":{"quantidadeDePaginas":3}},"cobs":[{}]}\x1e{"cobs":[]}'
    yield "hostile_statement_10000", cfg(0, 0, 1, 7, 2) + b'{"totalElementos":20000,"transacoes":[{}]}\x1e{"totalElementos":5,"transacoes":[{}]}\x1e{"transacoes":[]}'
    # Found by fuzz_page: pages giving fewer transactions than the first page counted.
    yield "found_statement_count", cfg(0) + b'{"totalElementos":5,"ultimaPagina":true,"transacoes":[{},{},{}]}'
    yield "found_statement_count_pages", cfg(0, 0, 1, 1) + b'{"totalElementos":3,"transacoes":[{},{}]}\x1e{"transacoes":[{},{}],"ultimaPagina":true}'
    # Found by fuzz_page (a bug of the target's page model, not of pix_fdw): a statement table
    # answered with a list-shaped page is read by the statement's fields, which count nothing here.
    yield "found_statement_list_shaped", cfg(0) + b'{"parametros":{"paginacao":{"quantidadeDePaginas":2,"quantidadeTotalDeItens":5}},"cobs":[{}]}'
    # Found by fuzz_page: a page whose last byte is a backslash (the \\u scan of Page::Parse read
    # past the text's end), before a plain page with raw UTF-8 and an escaped backslash before u.
    yield "found_trailing_backslash", cfg(0, 0, 2) + b'{"transacoes":[{"idTransacao":"a\\' + b"\x1e" + \
        '{"transacoes":[{"idTransacao":"a\\\\u0000","titulo":"São João"}]}'.encode()
    yield "hostile_saldo_types", cfg(2) + b'{"disponivel":{"x":[true,false,null]},"dataSaldo":5}'
    yield "hostile_huge_string", cfg(1) + b'{"disponivel":"' + b"9" * 20000 + b'"}'

def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    for name, data in seeds():
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(data)

if __name__ == "__main__":
    main()
