#!/usr/bin/python3
"""Mock of Banco Inter's business (PJ) API, for the pix_fdw test suite.

Sources: /work/shared/reference/inter-api.md (cited below as "ref §n"), which compiles the
OpenAPI specs of the official portal developers.inter.co (token, banking, pix), Inter's
official Java/Python SDKs and community integrations with production notes.

What is modelled:

* Transport (ref §1.2): HTTPS with mandatory client certificates (mTLS) on every call,
  the token call included. Client certificates must chain to DIR/ca.crt; a missing,
  foreign or expired certificate fails the TLS handshake (ref §8 item 2: "Expired cert ⇒
  TLS handshake failure (not an HTTP error)"). The handshake runs in the per-connection
  thread, so a stalled client never blocks the accept loop.
* OAuth (ref §2): POST /oauth/v2/token, form-encoded client_id / client_secret /
  grant_type=client_credentials / scope (space-separated); 1 h tokens; 5 calls/min.
* Banking API (ref §3, §4): GET /banking/v2/saldo, GET /banking/v2/extrato (simple),
  GET /banking/v2/extrato/completo with traditional and scroll pagination.
* Per-endpoint scopes and per-minute limits (ref §2.2), Banking-style errors (ref §7.1),
  the optional x-conta-corrente header (ref §1.3).
* Deterministic statement data: every day from 2023-01-01 to "today" in Brasília time
  (UTC-3) has generated transactions; 2025-03-10..2025-03-14 have 2 600 each (more than
  traditional pagination can reach in one window); 2025-03-17 alone has 12 000 (only a
  scroll reaches them all); 2024-06-20 holds five hand-written fixtures. Field
  formats follow ref §4.2-§4.3 and §8 items 5, 6, 10 (valor a string without fixed scale,
  dataInclusao local time with optional fraction, polymorphic/absent/null detalhes).

* API Pix (ref §6, §7.2): GET /pix/v2/pix (received Pix paid through a charge's QR code)
  and GET /pix/v2/pix/{e2eId}, GET /pix/v2/cob and GET /pix/v2/cob/{txid}: required
  inicio/fim in RFC 3339 with a zone, paginacao (0-based, up to 1 000 per page), the
  filters of the spec, RFC 7807 application/problem+json errors with violacoes. Pix
  payments sent: GET /banking/v2/pix/{codigoSolicitacao} (ref §5.2) with historico and
  erros, looking back 90 days. The data is derived from the statement (see "Pix data").
* Pix payment (ref §5.1): POST /banking/v2/pix validates the body, honours
  x-id-idempotente (a repeated key replays the first answer and creates nothing), answers
  PROCESSADO / APROVACAO / AGENDADO; the payments it creates are found by
  GET /banking/v2/pix/{codigoSolicitacao} and, once PAGO, debited in the statement and the
  balance. 60 calls/min and 1 call/s per client (see "Pix payments").

Not modelled yet: /banking/v2/extrato/exportar; it answers 404 like any unknown path. It
is meant to be added as one Route in ROUTES (see "Routing").

A plain-HTTP control API (separate port, no TLS) lets test scripts inspect call counts and
the request log, inject faults, change limits and read exact expected sums; it is
described in ControlHandler's docstring.

Where the reference leaves behaviour open, the choice made here is marked "Undocumented:"
in a comment. Run with /usr/bin/python3 (standard library only):

  mock_bank.py --certs DIR --port-file FILE [--port 0] [--control-port-file FILE]
               [--control-port 0] [--rate-limits on|off] [--log FILE]
"""

import argparse
import base64
import binascii
import collections
import dataclasses
import datetime as dt
import email.utils
import functools
import gzip
import heapq
import json
import math
import os
import random
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qs, urlsplit

BRT = dt.timezone(dt.timedelta(hours=-3))  # Brasília (no DST since 2019)


def today_brt() -> dt.date:
    """The bank's calendar day; the only wall-clock dependence of the generated data."""
    return dt.datetime.now(BRT).date()


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# =========================================================================================
# Statement data
# =========================================================================================

FIRST_DAY = dt.date(2023, 1, 1)                 # the account's first day with movements
BUSY_DAYS = frozenset(dt.date(2025, 3, d) for d in range(10, 15))
BUSY_DAY_ROWS = 2600                            # 5 x 2 600 = 13 000 > 10 000 (one window cannot)
HUGE_DAY = dt.date(2025, 3, 17)                 # a single day over 10 000: needs scroll
HUGE_DAY_ROWS = 12000
FIXTURE_DAY = dt.date(2024, 6, 20)
# Balance before FIRST_DAY. Large because fixture (e) is a debit of 1 234 567 890.12.
OPENING_BALANCE = Decimal("1300000000.00")
# Blocked amounts / limit of the full /saldo answer (constant, deterministic).
SALDO_BLOQUEADO_CHEQUE = Decimal("240.25")
SALDO_BLOQUEADO_JUDICIAL = Decimal("510.35")
SALDO_BLOQUEADO_ADMIN = Decimal("0.00")
SALDO_LIMITE = Decimal("5000.00")

ID_NAMESPACE = uuid.UUID("6f1c7f52-0b43-4d38-9c5e-7a1c2b3d4e5f")

# The mocked account holder (us).
OWN_NAME = "EMPRESA TESTE PIX LTDA"
OWN_CNPJ = "11222333000181"
OWN_AGENCIA = "0001"
OWN_CONTA = "12345678"
OWN_KEYS = (OWN_CNPJ, "financeiro@empresateste.com.br", "7d9f0335-8dcc-4054-9bf9-0c8a8b1e9d4a")
INTER_ISPB, INTER_NAME = "00416968", "BANCO INTER"

BANKS = (  # (ISPB, name) of counterpart institutions
    ("00000000", "BCO DO BRASIL S.A."),
    ("00360305", "CAIXA ECONOMICA FEDERAL"),
    ("60701190", "ITAÚ UNIBANCO S.A."),
    ("60746948", "BCO BRADESCO S.A."),
    ("90400888", "BCO SANTANDER (BRASIL) S.A."),
    ("18236120", "NU PAGAMENTOS - IP"),
    ("00416968", "BANCO INTER"),
)
FIRST_NAMES = ("Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Hugo",
               "Isabela", "João", "Karina", "Lucas", "Mariana", "Nícolas", "Otávio", "Paula",
               "Rafael", "Sofia", "Thiago", "Vitória")
LAST_NAMES = ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira", "Almeida",
              "Costa", "Gomes", "Ribeiro", "Martins", "Araújo", "Barbosa", "Conceição", "Braga")
COMPANIES = ("Padaria Pão Quente Ltda", "Distribuidora Água Viva ME",
             "Tech Soluções em Software Ltda", "Mercado São João Eireli",
             "Auto Peças Três Irmãos Ltda", "Construtora Horizonte S.A.",
             "Papelaria Estrela Ltda", "Farmácia Saúde & Vida Ltda",
             "Transportes Rápido Sul Ltda", "Consultoria Ômega Ltda")
PIX_DESCRIPTIONS = ("", "", "", "Pagamento do aluguel", "Pedido 4471", "Serviços de manutenção",
                    "Reembolso", "NF 000123", "Mensalidade", "Obrigado!")
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Row:
    """One statement entry, pre-serialised for /extrato/completo."""
    key: int            # sort key within its day (time of day in µs * 10^5 + sequence)
    day: dt.date
    op: str             # tipoOperacao C | D
    tipo: str           # tipoTransacao
    valor: str          # the string exactly as served
    amount: Decimal     # Decimal(valor)
    json: str           # compact JSON of the TransacaoCompleta object
    titulo: str
    descricao_simples: str  # PDF-style description used by the simple /extrato


def _cpf(rng: random.Random) -> str:
    d = [int(c) for c in _digits(rng, 9)]
    for n in (10, 11):
        d.append(sum(x * w for x, w in zip(d, range(n, 1, -1))) * 10 % 11 % 10)
    return "".join(map(str, d))


def _cnpj(rng: random.Random) -> str:
    d = [int(c) for c in _digits(rng, 8)] + [0, 0, 0, 1]
    for w in ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)):
        r = sum(x * y for x, y in zip(d, w)) % 11
        d.append(0 if r < 2 else 11 - r)
    return "".join(map(str, d))


def _fmt_cpf(c: str) -> str:
    return f"{c[:3]}.{c[3:6]}.{c[6:9]}-{c[9:]}"


def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10 ** n):0{n}d}"


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(ALNUM, k=n))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _end_to_end(rng: random.Random, ispb: str, local: dt.datetime) -> str:
    """BCB end-to-end id: E + ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics."""
    utc = local + dt.timedelta(hours=3)
    return "E" + ispb + utc.strftime("%Y%m%d%H%M") + _alnum(rng, 11)


def _fmt_valor(cents: int, two_decimals: bool) -> str:
    """Statement amounts are strings without fixed scale (ref §8 item 5): some look like
    Java's Double.toString ("24.9", "1400.0"), some carry two decimals ("130.00")."""
    whole, c = divmod(cents, 100)
    if two_decimals:
        return f"{whole}.{c:02d}"
    if c == 0:
        return f"{whole}.0"
    if c % 10 == 0:
        return f"{whole}.{c // 10}"
    return f"{whole}.{c:02d}"


def _person(rng: random.Random) -> tuple[str, str]:
    """(name, document) of a counterpart: a person (CPF) or a company (CNPJ)."""
    if rng.random() < 0.35:
        return rng.choice(COMPANIES), _cnpj(rng)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    if rng.random() < 0.5:
        name = name.upper()
    return name, _cpf(rng)


def _pix_key(rng: random.Random, name: str, doc: str) -> str:
    r = rng.random()
    if r < 0.3:
        return doc
    if r < 0.55:
        return name.split()[0].lower() + "@example.com"
    if r < 0.75:
        return "+55" + rng.choice(("11", "21", "31", "41", "51", "61", "71", "81")) + "9" + _digits(rng, 8)
    return _uuid(rng)


def _amount_cents(rng: random.Random, lo: float, hi: float) -> int:
    """Log-uniform amount in [lo, hi] reais; a share of round values gives "1400.0"-like strings."""
    cents = int(math.exp(rng.uniform(math.log(lo * 100), math.log(hi * 100))))
    r = rng.random()
    if r < 0.2:
        cents = max(100, cents // 100 * 100)
    elif r < 0.3:
        cents = max(10, cents // 10 * 10)
    return cents


def _make_row(day: dt.date, seq: int, local: dt.datetime, frac: str, tipo: str, op: str,
              valor: str, titulo: str, descricao: str, numero_documento: str,
              detalhes, descricao_simples: str, id_transacao: Optional[str] = None) -> Row:
    """Assemble a TransacaoCompleta. detalhes: a dict, None (serialised as null) or
    Ellipsis (key absent)."""
    ds = day.isoformat()
    obj = {
        # Undocumented: idTransacao is an opaque string (ref §4.2); a UUID is used here.
        "idTransacao": id_transacao or str(uuid.uuid5(ID_NAMESPACE, f"{ds}/{seq}")),
        "dataInclusao": local.strftime("%Y-%m-%d %H:%M:%S") + frac,
        "dataTransacao": ds,
        "tipoTransacao": tipo,
        "tipoOperacao": op,
        "valor": valor,
        "titulo": titulo,
        "descricao": descricao,
        "numeroDocumento": numero_documento,
    }
    if detalhes is not Ellipsis:
        obj["detalhes"] = detalhes
    micro = (local.hour * 3600 + local.minute * 60 + local.second) * 1_000_000 + local.microsecond
    return Row(key=micro * 100_000 + seq, day=day, op=op, tipo=tipo, valor=valor,
               amount=Decimal(valor), json=dumps(obj), titulo=titulo,
               descricao_simples=descricao_simples)


def _gen_row(rng: random.Random, day: dt.date, seq: int) -> Row:
    """One random transaction of `day`. Mix: PIX 60 % (C and D), BOLETO_COBRANCA 12 %,
    TRANSFERENCIA 12 %, PAGAMENTO 10 %, TARIFA 6 %."""
    secs = rng.randrange(86400)
    if rng.random() < 1 / 3:            # about a third carry milliseconds
        ms = rng.randrange(1000)
        frac = f".{ms:03d}"
    else:
        ms, frac = 0, ""
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=secs, milliseconds=ms)
    two_dec = rng.random() < 0.5
    numero_documento = "0" if rng.random() < 0.4 else _digits(rng, rng.choice((7, 8, 9)))

    r = rng.random()
    if r < 0.60:
        tipo = "PIX"
        op = "C" if rng.random() < 0.6 else "D"
        cents = _amount_cents(rng, 1, 5000)
    elif r < 0.72:
        tipo, op, cents = "BOLETO_COBRANCA", "C", _amount_cents(rng, 100, 10000)
    elif r < 0.84:
        tipo = "TRANSFERENCIA"
        op = "C" if rng.random() < 0.5 else "D"
        cents = _amount_cents(rng, 100, 30000)
    elif r < 0.94:
        tipo, op, cents = "PAGAMENTO", "D", _amount_cents(rng, 50, 8000)
    else:
        tipo, op = "TARIFA", "D"
        cents = rng.choice((1, 99, 250, 390, 990, 1490, 2990))
    valor = _fmt_valor(cents, two_dec)
    name, doc = _person(rng)
    bank_ispb, bank_name = rng.choice(BANKS)

    # Non-Pix rows sometimes come without detalhes, or with "detalhes": null (ref §4.2).
    detalhes_mode = "present"
    if tipo != "PIX":
        r2 = rng.random()
        detalhes_mode = "absent" if r2 < 0.08 else "null" if r2 < 0.16 else "present"

    if tipo == "PIX":
        incomplete = rng.random() < 0.10
        det = {"tipoDetalhe": "INCOMPLETE" if incomplete else "COMPLETE"}
        if op == "C":
            if rng.random() < 0.4:      # Pix paying a cob/QR code carries the charge's txid
                det["txId"] = _alnum(rng, rng.randint(26, 35))
            det["endToEndId"] = _end_to_end(rng, bank_ispb, local)
            det["nomePagador"] = name
            det["cpfCnpjPagador"] = doc
            det["nomeEmpresaPagador"] = bank_name
            det["descricaoPix"] = rng.choice(PIX_DESCRIPTIONS)
            det["chavePixRecebedor"] = rng.choice(OWN_KEYS)
            det["nomeRecebedor"] = OWN_NAME
            det["cpfCnpjRecebedor"] = OWN_CNPJ
            det["nomeEmpresaRecebedor"] = INTER_NAME
            det["agenciaRecebedor"] = OWN_AGENCIA
            det["contaBancariaRecebedor"] = OWN_CONTA
            det["origemMovimentacao"] = "CHAVE"
            titulo = "Pix recebido"
            descricao = name if not incomplete else "PIX RECEBIDO"
            simples = f"PIX RECEBIDO - Cp :{bank_ispb}-{name.upper()}"
        else:
            det["endToEndId"] = _end_to_end(rng, INTER_ISPB, local)
            det["nomePagador"] = OWN_NAME
            det["cpfCnpjPagador"] = OWN_CNPJ
            det["nomeEmpresaPagador"] = INTER_NAME
            det["descricaoPix"] = rng.choice(PIX_DESCRIPTIONS)
            det["chavePixRecebedor"] = _pix_key(rng, name, doc)
            det["nomeRecebedor"] = name
            det["cpfCnpjRecebedor"] = doc
            det["nomeEmpresaRecebedor"] = bank_name
            det["agenciaRecebedor"] = _digits(rng, 4)
            det["contaBancariaRecebedor"] = _digits(rng, 8)
            det["origemMovimentacao"] = "CHAVE"
            det["codigoSolicitacao"] = _uuid(rng)
            titulo = "Pix enviado "     # trailing space as seen in real data (ref §4.1)
            descricao = name
            simples = f"PIX ENVIADO - Cp :{bank_ispb}-{name.upper()}"
        if incomplete:                   # INCOMPLETE entries lack payer name / document
            det.pop("nomePagador")
            det.pop("cpfCnpjPagador")
        detalhes = det
    elif tipo == "BOLETO_COBRANCA":
        venc = day - dt.timedelta(days=rng.randrange(0, 20))
        detalhes = {
            "tipoDetalhe": "COMPLETE",
            "nossoNumero": _digits(rng, 11),
            "seuNumero": str(rng.randint(1, 99999)),
            "codBarras": "0779" + _digits(rng, 40),
            "dataVencimento": venc.isoformat(),
            "dataEmissao": (venc - dt.timedelta(days=rng.randrange(1, 30))).isoformat(),
            "dataLimite": (venc + dt.timedelta(days=11)).isoformat(),
            "dataTransacao": local.strftime("%Y-%m-%d %H:%M:%S") + f".{ms:03d}",
            "juros": "0",
            "multa": "0" if venc >= day else "2.00",
            "abatimento": "0",
            "desconto1": "0",
            "nome": name,
            "cpfCnpj": doc,
        }
        titulo, descricao = "Boleto de cobrança recebido", "BoletoCobranca"
        simples = f"BOLETO RECEBIDO - {name.upper()}"
    elif tipo == "TRANSFERENCIA":
        other = {"nome": name, "cpfCnpj": _fmt_cpf(doc) if len(doc) == 11 else doc,
                 "agencia": _digits(rng, 4), "conta": _digits(rng, 8)}
        us = {"nome": OWN_NAME, "cpfCnpj": OWN_CNPJ, "agencia": OWN_AGENCIA, "conta": OWN_CONTA}
        payer, payee = (other, us) if op == "C" else (us, other)
        detalhes = {
            "tipoDetalhe": "COMPLETE",
            "idTransferencia": "PAG" + day.strftime("%Y%m%d") + _digits(rng, 9),
            "nomePagador": payer["nome"],
            "cpfCnpjPagador": payer["cpfCnpj"],
            "agenciaPagador": payer["agencia"],
            "contaBancariaPagador": payer["conta"],
            "nomeRecebedor": payee["nome"],
            "cpfCnpjRecebedor": payee["cpfCnpj"],
            "bancoRecebedor": INTER_NAME if op == "C" else bank_name,
            "agenciaRecebedor": payee["agencia"],
            "contaBancariaRecebedor": payee["conta"],
            "descricaoTransferencia": rng.choice(PIX_DESCRIPTIONS),
            "dataEfetivacao": day.strftime("%d/%m/%Y"),     # DD/MM/YYYY (ref §4.3)
        }
        titulo = "Transferência recebida" if op == "C" else "Transferência enviada"
        descricao = name
        simples = ("TED RECEBIDA - " if op == "C" else "TED ENVIADA - ") + name.upper()
    elif tipo == "PAGAMENTO":
        empresa = rng.choice(COMPANIES)
        detalhes = {
            "tipoDetalhe": "COMPLETE",
            "codBarras": _digits(rng, 44),
            "linhaDigitavel": _digits(rng, 47),
            "dataVencimento": (day + dt.timedelta(days=rng.randrange(0, 5))).isoformat(),
            "valorTotal": valor,
            "nomeDestinatario": empresa,
            "empresaEmissora": empresa,
            "cpfCnpj": _cnpj(rng),
            "hora": local.strftime("%Hh%M"),
            "autenticacao": _alnum(rng, 24).upper(),
        }
        titulo, descricao = "Pagamento efetuado", empresa
        simples = f"PAGAMENTO DE TITULO - {empresa.upper()}"
    else:  # TARIFA: DetalheTarifa has no tipoDetalhe (ref §4.3)
        detalhes = {
            "dataEmissao": day.isoformat(),
            "dataVencimento": day.isoformat(),
            "dataTransacao": day.isoformat(),
            "nossoNumero": _digits(rng, 11),
            "seuNumero": str(rng.randint(1, 99999)),
        }
        titulo = "Tarifa"
        descricao = rng.choice(("Tarifa boleto liquidado", "Tarifa Pix recebido", "Tarifa TED"))
        simples = descricao.upper()
    if detalhes_mode == "absent":
        detalhes = Ellipsis
    elif detalhes_mode == "null":
        detalhes = None
    return _make_row(day, seq, local, frac, tipo, op, valor, titulo, descricao,
                     numero_documento, detalhes, simples)


def _fixture_rows() -> list[Row]:
    """The hand-written transactions of FIXTURE_DAY (2024-06-20); nothing random that day."""
    d = FIXTURE_DAY

    def at(h, m, s, us=0):
        return dt.datetime(d.year, d.month, d.day, h, m, s, us)

    rows = [
        # (a) Pix received, COMPLETE details (values of the portal example, ref §4.2).
        _make_row(d, 0, at(14, 36, 12), "", "PIX", "C", "24.9", "Pix recebido", "Nome Pagador", "0", {
            "tipoDetalhe": "COMPLETE",
            "txId": "Rv1pt4pjd2jtjdzx5nafhtjks7",
            "endToEndId": "E00416968202406201436ghzKRVgnb7A",
            "nomePagador": "Nome Pagador",
            "cpfCnpjPagador": "90105709247",
            "nomeEmpresaPagador": "Banco Inter",
            "descricaoPix": "Pagamento do aluguel",
            "chavePixRecebedor": OWN_KEYS[1],
            "nomeRecebedor": OWN_NAME,
            "cpfCnpjRecebedor": OWN_CNPJ,
            "nomeEmpresaRecebedor": INTER_NAME,
            "agenciaRecebedor": OWN_AGENCIA,
            "contaBancariaRecebedor": OWN_CONTA,
            "origemMovimentacao": "CHAVE",
        }, "PIX RECEBIDO - Cp :00416968-NOME PAGADOR"),
        # (b) Pix received late in the evening (02:30 UTC on the 21st), INCOMPLETE details.
        _make_row(d, 1, at(23, 30, 0, 123000), ".123", "PIX", "C", "1400.0", "Pix recebido",
                  "PIX RECEBIDO", "0", {
                      "tipoDetalhe": "INCOMPLETE",
                      "endToEndId": "E18236120202406210230Xq7LmN2pR4s",
                      "descricaoPix": "",
                      "chavePixRecebedor": OWN_KEYS[0],
                      "nomeRecebedor": OWN_NAME,
                      "cpfCnpjRecebedor": OWN_CNPJ,
                      "nomeEmpresaRecebedor": INTER_NAME,
                      "agenciaRecebedor": OWN_AGENCIA,
                      "contaBancariaRecebedor": OWN_CONTA,
                      "origemMovimentacao": "CHAVE",
                  }, "PIX RECEBIDO - Cp :18236120-"),
        # (c) Payment, no "detalhes" key at all.
        _make_row(d, 2, at(9, 0, 1), "", "PAGAMENTO", "D", "130.00", "Pagamento efetuado",
                  "PAGAMENTO DARF", "3456789", Ellipsis, "PAGAMENTO DARF - "),
        # (d) One-cent fee at midnight, "detalhes": null.
        _make_row(d, 3, at(0, 0, 0), "", "TARIFA", "D", "0.01", "Tarifa", "Tarifa Pix enviado",
                  "0", None, "TARIFA PIX ENVIADO"),
        # (e) Huge Pix sent; one-digit fraction in dataInclusao.
        _make_row(d, 4, at(12, 0, 0, 500000), ".5", "PIX", "D", "1234567890.12", "Pix enviado ",
                  "Fornecedor Exemplo Ltda", "0", {
                      "tipoDetalhe": "COMPLETE",
                      "endToEndId": "E00416968202406201500Fx9Kd3LmQ2w",
                      "nomePagador": OWN_NAME,
                      "cpfCnpjPagador": OWN_CNPJ,
                      "nomeEmpresaPagador": INTER_NAME,
                      "descricaoPix": "Pagamento fornecedor",
                      "chavePixRecebedor": "fornecedor@example.com",
                      "nomeRecebedor": "Fornecedor Exemplo Ltda",
                      "cpfCnpjRecebedor": "45723174000110",
                      "nomeEmpresaRecebedor": "BCO BRADESCO S.A.",
                      "agenciaRecebedor": "3012",
                      "contaBancariaRecebedor": "00451278",
                      "origemMovimentacao": "CHAVE",
                      "codigoSolicitacao": "c42f0787-02cb-4b31-827e-459ec9d7ece1",
                  }, "PIX ENVIADO - Cp :60746948-FORNECEDOR EXEMPLO LTDA"),
    ]
    rows.sort(key=lambda r: r.key, reverse=True)
    return rows


@functools.lru_cache(maxsize=None)
def day_rows(day: dt.date) -> tuple[Row, ...]:
    """All transactions of one past-or-present day, newest first. Deterministic: seeded
    with the ISO date string. Callers must not ask for days after today_brt()."""
    if day < FIRST_DAY:
        return ()
    if day == FIXTURE_DAY:
        return tuple(_fixture_rows())
    rng = random.Random(day.isoformat())
    n = BUSY_DAY_ROWS if day in BUSY_DAYS else HUGE_DAY_ROWS if day == HUGE_DAY else rng.randint(3, 12)
    rows = [_gen_row(rng, day, seq) for seq in range(n)]
    rows.sort(key=lambda r: r.key, reverse=True)
    return tuple(rows)


@functools.lru_cache(maxsize=None)
def day_net(day: dt.date) -> Decimal:
    """Credits minus debits of one day."""
    net = Decimal(0)
    for r in day_rows(day):
        net += r.amount if r.op == "C" else -r.amount
    return net


_balance_lock = threading.Lock()
_balances: list[Decimal] = []  # index i: end-of-day balance of FIRST_DAY + i days


def balance_at(day: dt.date) -> Decimal:
    """End-of-day balance (a running balance consistent with the statement)."""
    if day < FIRST_DAY:
        return OPENING_BALANCE
    i = (day - FIRST_DAY).days
    with _balance_lock:
        while len(_balances) <= i:
            prev = _balances[-1] if _balances else OPENING_BALANCE
            _balances.append(prev + day_net(FIRST_DAY + dt.timedelta(days=len(_balances))))
        return _balances[i]


def _select_rows(inicio: dt.date, fim: dt.date, op: Optional[str], tipo: Optional[str]) -> tuple[Row, ...]:
    out: list[Row] = []
    d = fim
    one = dt.timedelta(days=1)
    while d >= inicio and d >= FIRST_DAY:
        rows = day_rows(d)
        if op is None and tipo is None:
            out.extend(rows)
        else:
            out.extend(r for r in rows if (op is None or r.op == op) and (tipo is None or r.tipo == tipo))
        d -= one
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _window_cached(inicio, fim, op, tipo):
    return _select_rows(inicio, fim, op, tipo)


def window_rows(inicio: dt.date, fim: dt.date, op: Optional[str] = None,
                tipo: Optional[str] = None, cache: bool = True) -> tuple[Row, ...]:
    """Transactions with inicio <= dataTransacao <= fim, newest first. Days after today
    have no transactions (the end is clipped, which also keeps the cache valid across
    midnight)."""
    fim = min(fim, today_brt())
    if fim < inicio:
        return ()
    return (_window_cached if cache else _select_rows)(inicio, fim, op, tipo)


def warm_up() -> None:
    """Generate every day up to today in the background so the first queries are fast."""
    balance_at(today_brt())
    pix_index()


# =========================================================================================
# Pix data: received Pix and charges (API Pix, ref §6), Pix payments sent (ref §5.2)
# =========================================================================================
#
# Everything here is derived from the statement above, which stays exactly as it was:
#
# * A received Pix that carries a txId in the statement (PIX, C, detalhes.txId) paid a
#   charge's QR code; it is the one thing GET /pix/v2/pix lists (ref §6, §8 item 9: plain
#   Pix to a key are only in the statement). Same endToEndId, amount and instant
#   (dataInclusao, Brasília time, is horario in UTC). An INCOMPLETE statement entry (no
#   payer name/document) gives a Pix without "pagador". Some carry refunds (devolucoes).
#   Known gap: a refund's debit is not in the statement (adding rows would change the
#   statement data other tests depend on).
# * Each such Pix has its charge (cob), CONCLUIDA, whose "pix" list holds it; charges that
#   were not paid (ATIVA, REMOVIDA_PELO_USUARIO_RECEBEDOR, REMOVIDA_PELO_PSP) are generated
#   per day from their own seed, so the statement's random sequence is untouched.
# * Each Pix sent in the statement (PIX, D, detalhes.codigoSolicitacao) is a payment whose
#   GET /banking/v2/pix/{codigoSolicitacao} says PAGO; payments that moved no money
#   (REPROVADO, FALHA, EXPIRADO) are generated per day and are not in the statement.
#
# Hand-written fixtures (FIXTURE_DAY, 2024-06-20; listed by the control endpoint
# GET /pix_fixtures): the charge Rv1pt4pjd2jtjdzx5nafhtjks7 (CONCLUIDA, paid by the
# statement's fixture (a), 24.90, with one 4.90 refund DEVOLVIDO), one charge in each
# other status, and the payments sent c42f0787-... (PAGO, fixture (e)), REPROVADO, FALHA
# and EXPIRADO; plus two payments of "yesterday" (FALHA, REPROVADO) with fixed ids that
# GET /banking/v2/pix/{id} finds inside its 90-day lookback.

PIX_HOST = "spi-qrcode.bancointer.com.br/spi/pj/v2/"   # location prefix of the QR codes
COB_STATUSES = ("ATIVA", "CONCLUIDA", "REMOVIDA_PELO_USUARIO_RECEBEDOR", "REMOVIDA_PELO_PSP")
PIX_LOOKBACK_DAYS = 90      # ref §5.2, §8 item 7: GET /banking/v2/pix/{id} looks back 90 days
TXID_RE = re.compile(r"^[a-zA-Z0-9]{26,35}$")
E2E_RE = re.compile(r"^[a-zA-Z0-9]{32}$")
UTC = dt.timezone.utc

FIX_COB_CONCLUIDA = "Rv1pt4pjd2jtjdzx5nafhtjks7"           # = fixture (a)'s txId
FIX_COB_ATIVA = "fixtureCobAtiva20240620000001"
FIX_COB_ATIVA_CNPJ = "fixtureCobAtivaCnpj2024062000002"
FIX_COB_REMOVIDA_USUARIO = "fixtureCobRemovidaUsuario20240620"
FIX_COB_REMOVIDA_PSP = "fixtureCobRemovidaPsp2024062000003"
FIX_E2E_QR = "E00416968202406201436ghzKRVgnb7A"              # fixture (a)'s endToEndId
FIX_E2E_NOT_QR = "E18236120202406210230Xq7LmN2pR4s"          # fixture (b): not a QR payment
FIX_SENT_PAGO = "c42f0787-02cb-4b31-827e-459ec9d7ece1"       # fixture (e)
FIX_SENT_REPROVADO = "0b7e6a52-9f1d-4c3e-8a27-5d4c3b2a1f10"
FIX_SENT_FALHA = "3f9c2d1e-7b6a-4e5d-9c8b-a1b2c3d4e5f6"
FIX_SENT_EXPIRADO = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
RECENT_SENT_FALHA = "e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f"   # dated yesterday
RECENT_SENT_REPROVADO = "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"  # dated yesterday
for _t in (FIX_COB_ATIVA, FIX_COB_ATIVA_CNPJ, FIX_COB_REMOVIDA_USUARIO, FIX_COB_REMOVIDA_PSP):
    assert TXID_RE.match(_t), _t


def _local_of(data_inclusao: str) -> dt.datetime:
    """A statement dataInclusao ("YYYY-MM-DD HH:MM:SS[.f]") as a naive Brasília datetime."""
    base, _, frac = data_inclusao.partition(".")
    t = dt.datetime(int(base[:4]), int(base[5:7]), int(base[8:10]), int(base[11:13]),
                    int(base[14:16]), int(base[17:19]))
    return t + dt.timedelta(microseconds=int((frac + "000000")[:6])) if frac else t


def _rfc3339(local: dt.datetime) -> str:
    """A naive Brasília time as RFC 3339 UTC with milliseconds, like the API Pix examples
    ("2020-09-10T13:03:33.902Z")."""
    u = local + dt.timedelta(hours=3)
    return u.strftime("%Y-%m-%dT%H:%M:%S") + f".{u.microsecond // 1000:03d}Z"


def _aware(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=BRT)


def _mask_cpf_pix(doc: str) -> str:
    """API Pix masks a person's CPF ("***853226**", ref §6.1 pagador); a CNPJ is shown."""
    return f"***{doc[3:9]}**" if len(doc) == 11 else doc


def _mask_cpf_banking(doc: str) -> str:
    """Banking masks a person's CPF as "***.777.888-**" (ref §5.2)."""
    return f"***.{doc[3:6]}.{doc[6:9]}-**" if len(doc) == 11 else doc


def _money2(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _cents(valor: str) -> int:
    return int((Decimal(valor) * 100).to_integral_value())


def _crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of a BR Code (EMV QRCPS), as its last field."""
    return f"{binascii.crc_hqx(data.encode('utf-8'), 0xFFFF):04X}"


def _emv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _br_code(location: str, valor: Optional[str]) -> str:
    """The pixCopiaECola of a dynamic (location-based) charge."""
    s = (_emv("00", "01") + _emv("01", "12")
         + _emv("26", _emv("00", "br.gov.bcb.pix") + _emv("25", location))
         + _emv("52", "0000") + _emv("53", "986") + (_emv("54", valor) if valor else "")
         + _emv("58", "BR") + _emv("59", OWN_NAME[:25]) + _emv("60", "BELO HORIZONTE")
         + _emv("62", _emv("05", "***")) + "6304")
    return s + _crc16(s)


@dataclass(frozen=True)
class PixRec:
    """A received Pix of GET /pix/v2/pix, pre-serialised."""
    e2e: str
    txid: str
    at: dt.datetime             # aware
    amount: Decimal
    payer_doc: Optional[str]    # unmasked CPF/CNPJ (filters cpf / cnpj), None without pagador
    devolucoes: tuple           # of dicts
    json: str


@dataclass(frozen=True)
class CobRec:
    txid: str
    status: str
    criacao: dt.datetime        # aware
    original: Decimal
    devedor_doc: Optional[str]
    pix: tuple                  # of PixRec
    json: str


@dataclass(frozen=True)
class SentRec:
    """A Pix payment sent (GET /banking/v2/pix/{codigoSolicitacao}), pre-serialised."""
    codigo: str
    status: str
    requested: dt.datetime      # naive Brasília (dataHoraSolicitacao)
    amount: Decimal
    json: str


def _pix_obj(e2e, txid, valor, chave, local, info, payer, devolucoes) -> dict:
    o = {"endToEndId": e2e, "txid": txid, "valor": valor, "chave": chave,
         "componentesValor": {"original": {"valor": valor}}, "horario": _rfc3339(local)}
    if info:
        o["infoPagador"] = info
    if payer:   # (nome, doc); ref §6.1: documented for callbacks only, served here when known
        o["pagador"] = {"nome": payer[0], "cpfCnpj": _mask_cpf_pix(payer[1])}
    if devolucoes:
        o["devolucoes"] = list(devolucoes)
    return o


def _devolucoes(rng: random.Random, local: dt.datetime, cents: int, cutoff: dt.date) -> list:
    """About one Pix in eight has refunds: one full or partial, sometimes two partial ones;
    mostly DEVOLVIDO, a few NAO_REALIZADO. Only refunds asked for by `cutoff` (the bank's
    today) exist yet."""
    if rng.random() >= 0.125 or cents < 2:
        return []
    out = []
    n = 2 if rng.random() < 0.25 else 1
    left = cents
    when = local
    for i in range(n):
        full = i == n - 1 and rng.random() < 0.5
        part = left if full or left < 2 else rng.randrange(1, left)
        when = when + dt.timedelta(minutes=rng.randrange(10, 2 * 24 * 60))
        if when.date() > cutoff:
            break
        status = "NAO_REALIZADO" if rng.random() < 0.15 else "DEVOLVIDO"
        d = {"id": "D" + _alnum(rng, 11), "rtrId": _end_to_end(rng, INTER_ISPB, when).replace("E", "D", 1),
             "valor": _money2(part), "natureza": "ORIGINAL",
             "horario": {"solicitacao": _rfc3339(when)}, "status": status}
        if status == "DEVOLVIDO":
            d["horario"]["liquidacao"] = _rfc3339(when + dt.timedelta(milliseconds=rng.randrange(300, 5000)))
            left -= part
        else:
            d["motivo"] = "Devolução não realizada: conta do pagador encerrada."
        out.append(d)
        if left < 1:
            break
    return out


def _cob_obj(txid, status, revisao, criacao_local, expiracao, original, modalidade, chave,
             devedor, solicitacao, info_adicionais, loc_id, pix_objs) -> dict:
    location = PIX_HOST + uuid.uuid5(ID_NAMESPACE, "loc/" + txid).hex
    o = {"calendario": {"criacao": _rfc3339(criacao_local), "expiracao": expiracao},
         "txid": txid, "revisao": revisao,
         "loc": {"id": loc_id, "location": location, "tipoCob": "cob",
                 "criacao": _rfc3339(criacao_local)},
         "location": location, "status": status}
    if devedor:
        name, doc = devedor
        o["devedor"] = {("cpf" if len(doc) == 11 else "cnpj"): doc, "nome": name}
    o["valor"] = {"original": original, "modalidadeAlteracao": modalidade}
    o["chave"] = chave
    if solicitacao:
        o["solicitacaoPagador"] = solicitacao
    if info_adicionais:
        o["infoAdicionais"] = info_adicionais
    o["pixCopiaECola"] = _br_code(location, None if modalidade else original)
    if pix_objs:
        o["pix"] = pix_objs
    return o


def _cob_rec(o: dict, pix: tuple) -> CobRec:
    dev = o.get("devedor") or {}
    return CobRec(o["txid"], o["status"],
                  dt.datetime.fromisoformat(o["calendario"]["criacao"].replace("Z", "+00:00")),
                  Decimal(o["valor"]["original"]), dev.get("cpf") or dev.get("cnpj"), pix, dumps(o))


def _pix_rec(o: dict, payer_doc: Optional[str]) -> PixRec:
    return PixRec(o["endToEndId"], o["txid"],
                  dt.datetime.fromisoformat(o["horario"].replace("Z", "+00:00")),
                  Decimal(o["valor"]), payer_doc, tuple(o.get("devolucoes", ())), dumps(o))


def _fixture_cobs() -> list:
    d = FIXTURE_DAY
    at = lambda h, m, s, ms=0: dt.datetime(d.year, d.month, d.day, h, m, s, ms * 1000)  # noqa: E731
    paid_at = at(14, 36, 12)
    dev = [{"id": "DEVFIX0001", "rtrId": "D00416968202406211300Rf1xTuR3Mo0",
            "valor": "4.90", "natureza": "ORIGINAL", "descricao": "Desconto concedido",
            "horario": {"solicitacao": "2024-06-21T13:00:00.000Z", "liquidacao": "2024-06-21T13:00:01.250Z"},
            "status": "DEVOLVIDO"}]
    pix_a = _pix_obj(FIX_E2E_QR, FIX_COB_CONCLUIDA, "24.90", OWN_KEYS[1], paid_at,
                     "Pagamento do aluguel", ("Nome Pagador", "90105709247"), dev)
    specs = [
        # txid, status, revisao, criacao, expiracao, original, modalidade, devedor, solicitacao, infoAdicionais, pix
        (FIX_COB_CONCLUIDA, "CONCLUIDA", 0, at(14, 30, 0), 3600, "24.90", 0, ("Nome Pagador", "90105709247"),
         "Pedido 1001", [{"nome": "Pedido", "valor": "1001"}], [pix_a]),
        (FIX_COB_ATIVA, "ATIVA", 0, at(9, 15, 0, 250), 86400, "150.00", 0, ("Ana Souza", "52998224725"),
         "Pedido 1002", None, None),
        (FIX_COB_ATIVA_CNPJ, "ATIVA", 1, at(23, 45, 30, 999), 604800, "1999.99", 1,
         ("Padaria Pão Quente Ltda", "45723174000110"), None,
         [{"nome": "Nota fiscal", "valor": "NF 000123"}, {"nome": "Campo 2", "valor": "Informação"}], None),
        (FIX_COB_REMOVIDA_USUARIO, "REMOVIDA_PELO_USUARIO_RECEBEDOR", 1, at(10, 0, 0), 3600, "80.00", 0,
         None, "Pedido 1003 (cancelado)", None, None),
        (FIX_COB_REMOVIDA_PSP, "REMOVIDA_PELO_PSP", 0, at(0, 0, 0), 1800, "0.01", 0,
         ("BRUNO LIMA", "11144477735"), None, None, None),
    ]
    out = []
    for i, (txid, st, rev, cri, exp, orig, mod, devd, sol, info, pix) in enumerate(specs):
        o = _cob_obj(txid, st, rev, cri, exp, orig, mod, OWN_KEYS[1], devd, sol, info, 1000 + i, pix)
        out.append(_cob_rec(o, tuple(_pix_rec(p, "90105709247") for p in pix or ())))
    return out


def _unpaid_txids(day: dt.date) -> list:
    """txids of the charges created on `day` that nobody paid (cheap: the index needs
    them for every day; their contents come from another seed)."""
    rng = random.Random("cobkeys/" + day.isoformat())
    n = rng.choice((0, 1, 1, 2, 3)) + (40 if day in BUSY_DAYS or day == HUGE_DAY else 0)
    return [_alnum(rng, rng.randint(26, 35)) for _ in range(n)]


def _failed_codigos(day: dt.date) -> list:
    """codigoSolicitacao of the payments requested on `day` that moved no money."""
    rng = random.Random("sentkeys/" + day.isoformat())
    return [_uuid(rng)] if rng.random() < 0.15 else []


@functools.lru_cache(maxsize=None)
def _pix_day_cached(day: dt.date, cutoff: dt.date) -> tuple:
    """(pix, cobs) of one Brasília day: received QR-code Pix ordered by horario, charges
    created that day ordered by criacao. `cutoff` bounds the refunds that exist yet."""
    if day == FIXTURE_DAY:
        cobs = _fixture_cobs()
        pix = [p for c in cobs for p in c.pix]
        return tuple(pix), tuple(sorted(cobs, key=lambda c: (c.criacao, c.txid)))
    pix, cobs = [], []
    loc_base = (day - FIRST_DAY).days * 100_000
    for row in sorted(day_rows(day), key=lambda r: r.key):
        if row.tipo != "PIX" or row.op != "C":
            continue
        t = json.loads(row.json)
        det = t.get("detalhes") or {}
        txid = det.get("txId")
        if not txid:
            continue
        rng = random.Random("pix/" + det["endToEndId"])
        local = _local_of(t["dataInclusao"])
        cents = _cents(row.valor)
        valor = _money2(cents)
        payer = (det["nomePagador"], det["cpfCnpjPagador"]) if "cpfCnpjPagador" in det else None
        p = _pix_obj(det["endToEndId"], txid, valor, det.get("chavePixRecebedor"), local,
                     det.get("descricaoPix"), payer, _devolucoes(rng, local, cents, cutoff))
        prec = _pix_rec(p, payer[1] if payer else None)
        pix.append(prec)
        # Its charge: created up to the expiry before the payment (same day), mostly for
        # the exact amount; one in twenty let the payer change it (modalidadeAlteracao 1)
        # and was paid another amount.
        expiracao = rng.choice((600, 1800, 3600, 3600, 86400))
        start = dt.datetime.combine(day, dt.time())
        cri = max(start, local - dt.timedelta(seconds=rng.randrange(5, expiracao),
                                              milliseconds=rng.randrange(1000)))
        if rng.random() < 0.05:
            modalidade, original = 1, _money2(max(1, cents + rng.choice((-1, 1)) * rng.randrange(1, 5000)))
        else:
            modalidade, original = 0, valor
        devedor = payer if payer and rng.random() < 0.6 else None
        info = [{"nome": "Pedido", "valor": str(rng.randrange(1000, 99999))}] if rng.random() < 0.3 else None
        o = _cob_obj(txid, "CONCLUIDA", 0, cri, expiracao, original, modalidade,
                     det.get("chavePixRecebedor"), devedor, rng.choice(("", "", "Obrigado pela compra")),
                     info, loc_base + len(cobs), [p])
        cobs.append(_cob_rec(o, (prec,)))
    # Charges nobody paid, from their own seed.
    rng = random.Random("cob/" + day.isoformat())
    for txid in _unpaid_txids(day):
        status = rng.choices(COB_STATUSES[:1] + COB_STATUSES[2:], weights=(5, 3, 2))[0]
        cri = dt.datetime.combine(day, dt.time()) + dt.timedelta(
            seconds=rng.randrange(86400), milliseconds=rng.randrange(1000))
        name, doc = _person(rng)
        revisao = 1 if status == "REMOVIDA_PELO_USUARIO_RECEBEDOR" else rng.choice((0, 0, 1))
        o = _cob_obj(txid, status, revisao, cri, rng.choice((1800, 3600, 86400, 604800)),
                     _money2(_amount_cents(rng, 1, 3000)), 0, rng.choice(OWN_KEYS), (name, doc) if rng.random() < 0.7 else None,
                     rng.choice(("", "Pedido " + str(rng.randrange(1000, 9999)))), None,
                     loc_base + 50_000 + len(cobs), None)
        cobs.append(_cob_rec(o, ()))
    pix.sort(key=lambda p: (p.at, p.e2e))
    cobs.sort(key=lambda c: (c.criacao, c.txid))
    return tuple(pix), tuple(cobs)


def pix_day(day: dt.date) -> tuple:
    """(pix, cobs) of a day; nothing before FIRST_DAY or after the bank's today."""
    today = today_brt()
    if day < FIRST_DAY or day > today:
        return (), ()
    return _pix_day_cached(day, min(today, day + dt.timedelta(days=3)))


def _sent_obj(codigo, status, requested, valor_raw, chave, recebedor, e2e, moved, historico, erros,
              conta=None) -> SentRec:
    """conta: (ispb, agencia, conta, tipoConta) of a bank-details payment (ref §5.2: only
    those carry codIspb/codAgencia/nroConta/tipoConta)."""
    rec = {}
    if conta:
        rec = {"codIspb": conta[0], "codAgencia": conta[1], "nroConta": conta[2]}
    rec.update({"cpfCnpj": _mask_cpf_banking(recebedor[1]), "nome": recebedor[0]})
    if conta:
        rec["tipoConta"] = conta[3]
    tp = {"contaCorrente": OWN_CONTA, "recebedor": rec, "erros": erros}
    if e2e:
        tp["endToEnd"] = e2e
    tp["valor"] = "__VALOR__"
    tp["status"] = status
    if moved:
        tp["dataHoraMovimento"] = moved.strftime("%Y-%m-%dT%H:%M:%S.%f")
    tp["dataHoraSolicitacao"] = requested.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    tp["chave"] = chave
    tp["codigoSolicitacao"] = codigo
    hist = [{"status": s, "dataHoraEvento": t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]} for s, t in historico]
    # valor is a JSON number here (ref §5.2), written with the statement's exact digits.
    body = dumps({"transacaoPix": tp, "historico": hist}).replace('"__VALOR__"', valor_raw, 1)
    return SentRec(codigo, status, requested, Decimal(valor_raw), body)


def _sent_failure(rng, codigo, status, requested, cents, chave, recebedor) -> SentRec:
    """A payment that moved no money. Undocumented: the bank's erros codes; the SPI reason
    codes (pacs.002) are used for FALHA, an approval code for REPROVADO / EXPIRADO."""
    ms = lambda a, b: dt.timedelta(milliseconds=rng.randrange(a, b))  # noqa: E731
    if status == "FALHA":
        sent = requested + ms(100, 900)
        failed = sent + ms(500, 30000)
        e2e = _end_to_end(rng, INTER_ISPB, sent)
        code, desc = rng.choice((
            ("AC03", "Número da conta transacional do usuário recebedor inexistente ou inválido."),
            ("AC06", "Conta transacional do usuário recebedor encontra-se bloqueada."),
            ("AB03", "Liquidação da transação interrompida devido a decurso de tempo (timeout) no SPI."),
            ("BE01", "CPF/CNPJ do usuário recebedor não é consistente com o titular da conta.")))
        hist = [("CRIADO", requested), ("ENVIADO", sent), ("FALHA", failed)]
        erros = [{"codigoErro": code, "descricaoErro": desc, "codigoErroComplementar": "SPI-" + code}]
    else:
        waiting = requested + ms(100, 900)
        ended = waiting + dt.timedelta(minutes=rng.randrange(5, 600)) if status == "REPROVADO" \
            else dt.datetime.combine(requested.date(), dt.time(23, 59, 59, 900000))
        e2e = None
        if status == "REPROVADO":
            erros = [{"codigoErro": "PAG-REPROVADO", "descricaoErro": "Pagamento reprovado pelo aprovador.",
                      "codigoErroComplementar": "GESTAO_APROVACOES"}]
        else:
            erros = [{"codigoErro": "PAG-EXPIRADO", "descricaoErro": "Prazo de aprovação do pagamento expirado.",
                      "codigoErroComplementar": "GESTAO_APROVACOES"}]
        hist = [("CRIADO", requested), ("AGUARDANDO_APROVACAO", waiting), (status, ended)]
    return _sent_obj(codigo, status, requested, _money2(cents), chave, recebedor, e2e, None, hist, erros)


def _fixture_sent() -> list:
    d = FIXTURE_DAY
    at = lambda h, m, s, us=0: dt.datetime(d.year, d.month, d.day, h, m, s, us)  # noqa: E731
    forn = ("Fornecedor Exemplo Ltda", "45723174000110")
    joao = ("JOÃO DA SILVA", "12345678909")
    return [
        _sent_obj(FIX_SENT_PAGO, "PAGO", at(11, 58, 30, 120000), "1234567890.12", "fornecedor@example.com",
                  forn, "E00416968202406201500Fx9Kd3LmQ2w", at(12, 0, 0, 500000),
                  [("CRIADO", at(11, 58, 30, 120000)), ("AGUARDANDO_APROVACAO", at(11, 58, 30, 480000)),
                   ("APROVADO", at(11, 59, 58, 10000)), ("PAGO", at(12, 0, 0, 500000))], []),
        _sent_obj(FIX_SENT_REPROVADO, "REPROVADO", at(15, 10, 0), "999.99", "fornecedor@example.com", forn,
                  None, None,
                  [("CRIADO", at(15, 10, 0)), ("AGUARDANDO_APROVACAO", at(15, 10, 0, 350000)),
                   ("REPROVADO", at(16, 45, 12, 789000))],
                  [{"codigoErro": "PAG-REPROVADO", "descricaoErro": "Pagamento reprovado pelo aprovador.",
                    "codigoErroComplementar": "GESTAO_APROVACOES"}]),
        _sent_obj(FIX_SENT_FALHA, "FALHA", at(16, 10, 5, 1000), "150.00", "+5511987654321", joao,
                  "E00416968202406201910Fh4Lq8ZpX2m", None,
                  [("CRIADO", at(16, 10, 5, 1000)), ("ENVIADO", at(16, 10, 5, 420000)),
                   ("FALHA", at(16, 10, 35, 900000))],
                  [{"codigoErro": "AC03",
                    "descricaoErro": "Número da conta transacional do usuário recebedor inexistente ou inválido.",
                    "codigoErroComplementar": "SPI-AC03"}]),
        _sent_obj(FIX_SENT_EXPIRADO, "EXPIRADO", at(8, 0, 0), "42.00", "financeiro@fornecedor.com.br", forn,
                  None, None,
                  [("CRIADO", at(8, 0, 0)), ("AGUARDANDO_APROVACAO", at(8, 0, 0, 200000)),
                   ("EXPIRADO", at(23, 59, 59, 900000))],
                  [{"codigoErro": "PAG-EXPIRADO", "descricaoErro": "Prazo de aprovação do pagamento expirado.",
                    "codigoErroComplementar": "GESTAO_APROVACOES"}]),
    ]


@functools.lru_cache(maxsize=None)
def _sent_day_cached(day: dt.date, recent: bool) -> tuple:
    """Payments sent whose request was made on `day`, by dataHoraSolicitacao."""
    if day == FIXTURE_DAY:
        out = _fixture_sent()
    else:
        out = []
        for row in day_rows(day):
            if row.tipo != "PIX" or row.op != "D":
                continue
            t = json.loads(row.json)
            det = t.get("detalhes") or {}
            codigo = det.get("codigoSolicitacao")
            if not codigo:
                continue
            rng = random.Random("sent/" + codigo)
            moved = _local_of(t["dataInclusao"])
            start = dt.datetime.combine(day, dt.time())
            requested = max(start, moved - dt.timedelta(milliseconds=rng.randrange(80, 2500)))
            hist = [("CRIADO", requested)]
            if rng.random() < 0.2 and requested - start > dt.timedelta(minutes=10):   # needed approval
                requested = requested - dt.timedelta(minutes=rng.randrange(1, 10))
                hist = [("CRIADO", requested), ("AGUARDANDO_APROVACAO", requested + dt.timedelta(milliseconds=300)),
                        ("APROVADO", moved - dt.timedelta(milliseconds=50))]
            hist.append(("PAGO", moved))
            rec = (det.get("nomeRecebedor", ""), det.get("cpfCnpjRecebedor", ""))
            out.append(_sent_obj(codigo, "PAGO", requested, row.valor, det.get("chavePixRecebedor"), rec,
                                 det.get("endToEndId"), moved, hist, []))
        rng = random.Random("sentfail/" + day.isoformat())
        for codigo in _failed_codigos(day):
            status = rng.choices(("REPROVADO", "FALHA", "EXPIRADO"), weights=(5, 4, 1))[0]
            requested = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                seconds=rng.randrange(6 * 3600, 20 * 3600), milliseconds=rng.randrange(1000))
            name, doc = _person(rng)
            out.append(_sent_failure(rng, codigo, status, requested, _amount_cents(rng, 1, 5000),
                                     _pix_key(rng, name, doc), (name, doc)))
    if recent:
        rng = random.Random("recent")
        y = dt.datetime.combine(day, dt.time())
        out.append(_sent_failure(rng, RECENT_SENT_FALHA, "FALHA", y + dt.timedelta(hours=10, minutes=15),
                                 31415, "+5531999990000", ("Hugo Braga", "39053344705")))
        out.append(_sent_failure(rng, RECENT_SENT_REPROVADO, "REPROVADO", y + dt.timedelta(hours=16, minutes=40),
                                 27182, "hugo@example.com", ("Hugo Braga", "39053344705")))
    out.sort(key=lambda s: (s.requested, s.codigo))
    return tuple(out)


def sent_day(day: dt.date) -> tuple:
    today = today_brt()
    if day < FIRST_DAY or day > today:
        return ()
    return _sent_day_cached(day, day == today - dt.timedelta(days=1))


_pix_index_lock = threading.Lock()
_pix_index = {"upto": FIRST_DAY - dt.timedelta(days=1), "e2e": {}, "txid": {}, "sent": {}}


_TXID_IN_ROW = re.compile(r'"txId":"([^"]+)"')
_E2E_IN_ROW = re.compile(r'"endToEndId":"([^"]+)"')
_CODIGO_IN_ROW = re.compile(r'"codigoSolicitacao":"([^"]+)"')


def pix_index() -> dict:
    """Key -> day of: received Pix (e2e), charges (txid), payments sent (codigo), for all
    days up to today (extended when the bank's day changes)."""
    today = today_brt()
    with _pix_index_lock:
        d = _pix_index["upto"]
        e2e, txids, sent = _pix_index["e2e"], _pix_index["txid"], _pix_index["sent"]
        while d < today:
            d += dt.timedelta(days=1)
            if d == FIXTURE_DAY:
                pix, cobs = pix_day(d)
                e2e.update((p.e2e, d) for p in pix)
                txids.update((c.txid, d) for c in cobs)
                sent.update((x.codigo, d) for x in sent_day(d))
            else:
                # Read from the statement's text (what pix_day / sent_day derive), so
                # that no day's objects need building here.
                for row in day_rows(d):
                    if row.tipo != "PIX":
                        continue
                    if row.op == "C":
                        m = _TXID_IN_ROW.search(row.json)
                        if m:
                            txids[m.group(1)] = d
                            e2e[_E2E_IN_ROW.search(row.json).group(1)] = d
                    else:
                        m = _CODIGO_IN_ROW.search(row.json)
                        if m:
                            sent[m.group(1)] = d
                txids.update((t, d) for t in _unpaid_txids(d))
                sent.update((c, d) for c in _failed_codigos(d))
            _pix_index["upto"] = d
        # "yesterday"'s fixed ids move with the calendar.
        y = today - dt.timedelta(days=1)
        for k in (RECENT_SENT_FALHA, RECENT_SENT_REPROVADO):
            _pix_index["sent"][k] = y
        return _pix_index


def _days(a: dt.datetime, b: dt.datetime):
    """Brasília days touched by the instants a..b, clipped to FIRST_DAY..today."""
    d = max(a.astimezone(BRT).date(), FIRST_DAY)
    end = min(b.astimezone(BRT).date(), today_brt())
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


def pix_in(inicio: dt.datetime, fim: dt.datetime) -> list:
    return [p for d in _days(inicio, fim) for p in pix_day(d)[0] if inicio <= p.at <= fim]


def cobs_in(inicio: dt.datetime, fim: dt.datetime) -> list:
    return [c for d in _days(inicio, fim) for c in pix_day(d)[1] if inicio <= c.criacao <= fim]


def sent_in(inicio: dt.datetime, fim: dt.datetime) -> list:
    return [s for d in _days(inicio, fim) for s in sent_day(d) if inicio <= _aware(s.requested) <= fim]


# =========================================================================================
# Integrations, scopes, limits
# =========================================================================================

# Every scope of ref §2.1 (Banking, API Pix, Cobrança v3, Pix Automático).
ALL_SCOPES = (
    "extrato.read",
    "pagamento-pix.write", "pagamento-pix.read",
    "pagamento-boleto.read", "pagamento-boleto.write",
    "pagamento-darf.write", "pagamento-darf.read",
    "pagamento-lote.read", "pagamento-lote.write",
    "webhook-banking.read", "webhook-banking.write",
    "cob.read", "cob.write", "cobv.read", "cobv.write", "lotecobv.read", "lotecobv.write",
    "pix.read", "pix.write", "payloadlocation.read", "payloadlocation.write",
    "webhook.read", "webhook.write",
    "boleto-cobranca.read", "boleto-cobranca.write",
    "rec.read", "rec.write", "solicrec.read", "solicrec.write", "cobr.read", "cobr.write",
    "payloadlocationrec.read", "payloadlocationrec.write",
    "webhookrec.read", "webhookrec.write", "webhookcobr.read", "webhookcobr.write",
)


@dataclass(frozen=True)
class Integration:
    client_id: str
    client_secret: str
    scopes: frozenset


# The integrations "created in Internet Banking". Undocumented: the real bank ties the
# client certificate to the integration (ref §1.2: a mismatch gives 401/403 on the token
# call); this mock accepts any certificate of the test CA for either integration.
INTEGRATIONS = {
    i.client_id: i for i in (
        Integration("pix-test-client", "pix-test-secret", frozenset(ALL_SCOPES)),
        Integration("pix-limited-client", "pix-limited-secret", frozenset({"pix.read"})),
    )
}

# Calls per minute per client_id and endpoint (ref §2.2, production column).
DEFAULT_LIMITS = {
    "token": 5,
    "saldo": 10,
    "extrato": 10,          # GET /banking/v2/extrato/completo
    "extrato_simples": 10,  # GET /banking/v2/extrato
    "pix_recebidos": 120,   # GET /pix/v2/pix
    "pix_recebido": 120,    # GET /pix/v2/pix/{e2eId}
    "cob": 120,             # GET /pix/v2/cob
    "cob_txid": 120,        # GET /pix/v2/cob/{txid}
    "pix_consulta": 20,     # GET /banking/v2/pix/{codigoSolicitacao}
    "pix_pagamento": 60,    # POST /banking/v2/pix
}
RATE_WINDOW = 60.0
# Endpoints with a minimum spacing between two calls of one client, in seconds, on top of
# the per-minute budget: POST /banking/v2/pix is "limited to 1 call per second" in
# production (ref §2.2, §5.1, §8 item 14). A call that comes sooner gets 429 with
# Retry-After: 1 and, like every refused call, still counts (it is the new "previous call").
# Only while rate limits are on; a limit of 0 (unlimited) lifts the per-minute budget only.
MIN_INTERVALS = {"pix_pagamento": 1.0}


# =========================================================================================
# Responses and Banking-style errors (ref §7.1)
# =========================================================================================

@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: Optional[str] = "application/json"
    headers: list = field(default_factory=list)


def json_response(status: int, obj) -> Response:
    return Response(status, dumps(obj).encode("utf-8"))


def bank_timestamp() -> str:
    """Like "2023-01-01T00:00:00.000000000-03:00" (nanosecond digits, Brasília offset)."""
    now = dt.datetime.now(BRT)
    return now.strftime("%Y-%m-%dT%H:%M:%S") + f".{now.microsecond * 1000:09d}-03:00"


def banking_error(status: int, title: str, detail: str, violacoes=None, timestamp=True,
                  headers=None) -> Response:
    """Banking-format problem: title, status (a STRING), detail, timestamp, violacoes."""
    body = {"title": title, "status": str(status), "detail": detail}
    if timestamp:
        body["timestamp"] = bank_timestamp()
    if violacoes:
        body["violacoes"] = violacoes
    return Response(status, dumps(body).encode("utf-8"), headers=list(headers or []))


DETAIL_DADOS_INVALIDOS = ("Verifique se os dados informados estão de acordo com a documentação "
                          "disponibilizada e tente novamente.")
RAZAO_NULO = "O valor não pode ser nulo."
RAZAO_CONVERTER = "Não foi possível converter o valor."


def invalid_data(violacoes) -> Response:
    """400 RequisicaoInvalida (ref §3, §4.1 examples)."""
    return banking_error(400, "Dados inválidos.", DETAIL_DADOS_INVALIDOS, violacoes)


def violacao(razao: str, propriedade: str) -> dict:
    return {"razao": razao, "propriedade": propriedade}


def not_found() -> Response:
    """Exactly the portal's NaoEncontrado example (no timestamp)."""
    return banking_error(404, "Não Encontrado.", "Entidade não encontrada.", timestamp=False)


# Bodies for injected "status" faults and generic errors.
STATUS_ERRORS = {
    400: ("Dados inválidos.", DETAIL_DADOS_INVALIDOS),
    401: ("Acesso negado", "Login/senha inválido."),
    403: ("Acesso Negado", "Requisição de participante autenticado que viola alguma regra de autorização."),
    404: ("Não Encontrado.", "Entidade não encontrada."),
    405: ("Método não permitido.", "O método HTTP utilizado não é suportado por este recurso."),
    409: ("Conflito.", "A requisição conflita com o estado atual do recurso."),
    422: ("Entidade improcessável.", "A requisição não pôde ser processada."),
    429: ("Too Many Requests", "Limite de requisições por minuto excedido. Tente novamente mais tarde."),
    500: ("Ocorreu um erro!", "Algo deu errado! Nós já estamos resolvendo isso."),
    502: ("Erro de comunicação.", "Não foi possível obter resposta do serviço de destino. Tente novamente mais tarde."),
    503: ("Serviço Indisponível", "Serviço não está disponível no momento. Serviço solicitado pode estar "
                                   "em manutenção ou fora da janela de funcionamento."),
    504: ("Indisponibilidade por tempo esgotado", "O serviço não respondeu a tempo. Tente novamente mais tarde."),
}


def status_error(status: int) -> Response:
    title, detail = STATUS_ERRORS.get(
        status, (BaseHTTPRequestHandler.responses.get(status, ("Erro",))[0], "Erro ao processar a requisição."))
    headers = [("Retry-After", "1")] if status == 429 else []
    return banking_error(status, title, detail, headers=headers)


def too_many_requests(retry_after: int) -> Response:
    # Undocumented (ref §10): the real 429 body and whether Retry-After is sent.
    return banking_error(429, *STATUS_ERRORS[429], headers=[("Retry-After", str(retry_after))])


# =========================================================================================
# Mutable state (tokens, counts, request log, faults, scrolls, rate-limit windows)
# =========================================================================================

@dataclass
class Token:
    client_id: str
    scopes: frozenset
    expires_at: float   # time.monotonic()
    revoked: bool = False


@dataclass
class Scroll:
    id: str
    account: tuple      # (client_id, x-conta-corrente or None): one active scroll per account
    rows: tuple
    size: int
    pos: int
    last_used: float    # time.monotonic()


@dataclass
class Fault:
    endpoint: str       # endpoint name or "*"
    kind: str           # one of FAULT_KINDS
    ms: int
    status: int
    count: int          # remaining applications; -1 = until reset
    body: bytes = b""   # kind "body": the answer's exact bytes (any status)
    retry_after_date: Optional[int] = None  # kind "status" 429: Retry-After as an HTTP-date
                                            # this many seconds ahead (instead of "1")
    total: object = None  # kind "total": the totalElementos to answer (None: leave it out)
    bytes: int = 0      # big, big_gzip: the answer's JSON is padded to at least this size
    location: str = ""  # redirect: the Location header
    chunk: int = 16     # drip: bytes sent every `ms`

    def describe(self) -> dict:
        d = {"endpoint": self.endpoint, "kind": self.kind, "ms": self.ms,
             "status": self.status, "count": self.count, "bytes": self.bytes}
        if self.kind == "total":
            d["total"] = self.total
        if self.kind == "body":
            d["body_b64"] = base64.b64encode(self.body).decode()
        if self.retry_after_date is not None:
            d["retry_after_date"] = self.retry_after_date
        if self.kind == "redirect":
            d["location"] = self.location
        if self.kind == "drip":
            d["chunk"] = self.chunk
        return d


FAULT_KINDS = ("delay", "hang", "drop", "status", "empty_body", "body", "total", "big", "big_gzip",
               "hang_after", "status_after", "redirect", "drip", "tls_abort")
# When each kind acts: "delay", "hang", "status" and "empty_body" before the request is
# processed (a hung or refused POST /banking/v2/pix creates and records nothing); "drop",
# "hang_after" and "status_after" after it was processed (a payment is created and
# recorded, then its answer is cut halfway, never sent, or replaced by the fault's status:
# the "lost answer" cases); "body", "total", "big", "big_gzip" rewrite the real answer;
# "redirect" answers a 3xx with a Location; "drip" sends the real answer slowly.
# "tls_abort" (endpoint "connection" only) acts on new connections, before any request: the
# server closes the socket in the middle of the TLS handshake (after reading ClientHello).


def padded(resp: Response, size: int, compress: bool) -> Response:
    """The answer with a "padding" member that makes its JSON object at least `size` bytes;
    gzip-compressed (Content-Encoding: gzip) when asked, so that it is small on the wire."""
    body = resp.body
    if body.startswith(b"{"):
        fill = b"x" * max(0, size - len(body))
        body = b'{"padding":"' + fill + b'"' + (b"," if body.strip() != b"{}" else b"") + body[1:]
    headers = list(resp.headers)
    if compress:
        body = gzip.compress(body, 6)
        headers.append(("Content-Encoding", "gzip"))
    return Response(resp.status, body, resp.content_type, headers)
REQUEST_LOG_SIZE = 5000
HANG_MAX_SECONDS = 600


class State:
    def __init__(self, rate_limits: bool):
        self.lock = threading.Lock()
        self.rate_limits = rate_limits
        self.token_ttl = 3600          # ref §2: tokens live one hour
        self.scroll_ttl = 360          # ref §4.2: scroll expires after 6 min idle
        self.pix_lookback_days = PIX_LOOKBACK_DAYS
        self.limits = dict(DEFAULT_LIMITS)
        self.tokens: dict[str, Token] = {}
        self.issued: list[str] = []    # every access token ever issued (GET /secrets; never reset)
        self.calls = collections.Counter()
        self.requests = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self.faults: list[Fault] = []
        self.fault_epoch = 0           # bumped by reset / DELETE /fault: releases hangs
        self.scrolls: dict[str, Scroll] = {}
        self.windows: dict[tuple, collections.deque] = {}
        self.stopping = threading.Event()
        # Pix payments created by POST /banking/v2/pix (see "Pix payments"): by
        # codigoSolicitacao in creation order, and canonical x-id-idempotente -> codigo.
        # POST /reset keeps them (a bank does not forget payments); DELETE /payments
        # forgets them.
        self.payments: dict[str, "Payment"] = {}
        self.payment_keys: dict[str, str] = {}
        self.approval_above: Optional[Decimal] = None   # tipoRetorno APROVACAO from this amount
        self.contas: Optional[frozenset] = None  # the accounts x-conta-corrente may name; None = any
        self.clock_skew = 0            # seconds added to the Date header of the bank's answers

    # ---- counting -------------------------------------------------------------------
    def record_request(self, endpoint: str, entry: dict) -> None:
        with self.lock:
            self.calls[endpoint] += 1
            self.calls["total"] += 1
            self.requests.append((endpoint, entry))

    def record_tls_fail(self) -> None:
        with self.lock:
            self.calls["tls_fail"] += 1

    def record_connection(self) -> None:
        """A TLS connection completed its handshake (clients that reuse keep-alive
        connections make few of these)."""
        with self.lock:
            self.calls["connections"] += 1

    def calls_snapshot(self) -> dict:
        with self.lock:
            out = {name: 0 for name in endpoint_names()}
            out.update({"unknown": 0, "tls_fail": 0, "connections": 0})
            out.update(self.calls)
            out["total"] = self.calls["total"]
            return out

    # ---- tokens ---------------------------------------------------------------------
    def issue_token(self, client_id: str, scopes: frozenset) -> tuple[str, int]:
        with self.lock:
            ttl = self.token_ttl
            tok = str(uuid.uuid4())
            self.tokens[tok] = Token(client_id, scopes, time.monotonic() + ttl)
            self.issued.append(tok)
            return tok, ttl

    def valid_token(self, value: str) -> Optional[Token]:
        with self.lock:
            t = self.tokens.get(value)
            if t is None or t.revoked or time.monotonic() >= t.expires_at:
                return None
            return t

    def revoke_all(self) -> int:
        with self.lock:
            for t in self.tokens.values():
                t.revoked = True
            return len(self.tokens)

    # ---- rate limits ----------------------------------------------------------------
    def rate_hit(self, client_id: str, endpoint: str) -> Optional[int]:
        """Record one call in the sliding window; return None if it is within the limit,
        else the Retry-After seconds. Rejected calls are recorded too (they still count)."""
        with self.lock:
            limit = self.limits.get(endpoint)
            interval = MIN_INTERVALS.get(endpoint)
            if not self.rate_limits or not (limit or interval):
                return None
            now = time.monotonic()
            dq = self.windows.setdefault((client_id, endpoint), collections.deque())
            while dq and dq[0] <= now - RATE_WINDOW:
                dq.popleft()
            too_soon = bool(interval and dq and now - dq[-1] < interval)
            allowed = not limit or len(dq) < limit
            dq.append(now)
            if allowed and not too_soon:
                return None
            if allowed:
                return 1        # the 1-call-per-second rule: Retry-After 1
            # A later call is allowed once fewer than `limit` calls remain in the window,
            # i.e. when the entry at index len-limit has left it.
            free_at = dq[len(dq) - limit] + RATE_WINDOW
            return max(1, math.ceil(free_at - now))

    # ---- faults ---------------------------------------------------------------------
    def take_fault(self, endpoint: str) -> Optional[tuple[Fault, int]]:
        """The next fault for a request to `endpoint` (or, with endpoint "connection", for a new
        connection: "*" never matches that), consumed once; None when none is set."""
        with self.lock:
            for f in self.faults:
                if f.endpoint == endpoint or (f.endpoint == "*" and endpoint != "connection"):
                    if f.count > 0:
                        f.count -= 1
                        if f.count == 0:
                            self.faults.remove(f)
                    return dataclasses.replace(f), self.fault_epoch
            return None

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.fault_epoch += 1

    # ---- scrolls --------------------------------------------------------------------
    def _expire_scrolls(self, now: float) -> None:
        for sid in [s.id for s in self.scrolls.values() if now - s.last_used > self.scroll_ttl]:
            del self.scrolls[sid]

    def start_scroll(self, account: tuple, rows: tuple, size: int):
        """Returns (page, scroll_id or None, has_more, total) or None if the account
        (client_id, conta) already has an active scroll (ref §4.2: one per account)."""
        with self.lock:
            now = time.monotonic()
            self._expire_scrolls(now)
            if any(s.account == account for s in self.scrolls.values()):
                return None
            page = rows[:size]
            has_more = len(rows) > size
            sid = None
            if has_more:
                sid = str(uuid.uuid4())
                self.scrolls[sid] = Scroll(sid, account, rows, size, size, now)
            return page, sid, has_more, len(rows)

    def continue_scroll(self, client_id: str, sid: str):
        """Returns (page, scroll_id or None, has_more, total) or None if unknown/expired."""
        with self.lock:
            now = time.monotonic()
            self._expire_scrolls(now)
            s = self.scrolls.get(sid)
            if s is None or s.account[0] != client_id:
                return None
            page = s.rows[s.pos:s.pos + s.size]
            s.pos += len(page)
            s.last_used = now
            has_more = s.pos < len(s.rows)
            if not has_more:             # auto-closed when hasMore is false (ref §4.2)
                del self.scrolls[sid]
            return page, (sid if has_more else None), has_more, len(s.rows)

    def active_scrolls(self) -> list:
        with self.lock:
            now = time.monotonic()
            self._expire_scrolls(now)
            return [{"client_id": s.account[0], "conta": s.account[1], "size": s.size, "pos": s.pos,
                     "total": len(s.rows), "idle_s": round(now - s.last_used, 3)}
                    for s in self.scrolls.values()]

    # ---- control --------------------------------------------------------------------
    def reset(self, forget_tokens: bool) -> None:
        with self.lock:
            self.calls.clear()
            self.requests.clear()
            self.faults.clear()
            self.fault_epoch += 1
            self.scrolls.clear()
            self.windows.clear()
            if forget_tokens:
                self.tokens.clear()
            else:
                for t in self.tokens.values():
                    t.revoked = False

    def config(self) -> dict:
        with self.lock:
            return {"rate_limits": self.rate_limits, "token_ttl": self.token_ttl,
                    "scroll_ttl": self.scroll_ttl, "limits": dict(self.limits),
                    "pix_lookback_days": self.pix_lookback_days,
                    "approval_above": None if self.approval_above is None else str(self.approval_above),
                    "contas": None if self.contas is None else sorted(self.contas),
                    "clock_skew": self.clock_skew}

    # ---- Pix payments (see "Pix payments") ----------------------------------------
    def create_payment(self, key, canon, err, fields) -> Response:
        with self.lock:
            if canon is not None and canon in self.payment_keys:
                p = self.payments[self.payment_keys[canon]]
                p.posts += 1
                return Response(200, p.answer)
            if err is not None:
                return err
            now = _now_brt()
            today = now.date()
            valor = fields["valor"]
            if fields["data_pagamento"] > today:
                tipo_retorno, status = "AGENDADO", "AGENDADO"
            elif self.approval_above is not None and valor >= self.approval_above:
                tipo_retorno, status = "APROVACAO", "AGUARDANDO_APROVACAO"
            else:
                tipo_retorno, status = "PROCESSADO", "CRIADO"
            p = Payment(key=key, codigo=str(uuid.uuid4()), body=fields["body"], valor=valor,
                        chave=fields["chave"], recebedor=fields["recebedor"], bank=fields["bank"],
                        agencia=fields["agencia"], conta=fields["conta"],
                        conta_consulta=fields["conta_consulta"], origem=fields["origem"],
                        descricao=fields["descricao"], data_pagamento=fields["data_pagamento"],
                        data_operacao=today, tipo_retorno=tipo_retorno, status=status, requested=now,
                        created=time.time(), historico=[("CRIADO", now)])
            if status == "CRIADO":
                _pay_now(p)
            else:
                p.historico.append((status, now))
            p.answer = dumps({"tipoRetorno": tipo_retorno, "codigoSolicitacao": p.codigo,
                              "dataPagamento": p.data_pagamento.isoformat(),
                              "dataOperacao": today.isoformat()}).encode("utf-8")
            self.payments[p.codigo] = p
            if canon is not None:
                self.payment_keys[canon] = p.codigo
            return Response(200, p.answer)

    def payment_consulta(self, codigo: str) -> Optional[bytes]:
        with self.lock:
            p = self.payments.get(codigo)
            return p.consulta_json() if p else None

    def set_payment_status(self, codigo: str, status: str, erros) -> Optional[str]:
        """Move a created payment to `status`; None on success, else the reason."""
        with self.lock:
            p = self.payments.get(codigo)
            if p is None:
                return f"no payment {codigo!r} was created through POST /banking/v2/pix"
            if p.status == "PAGO":
                return "the payment is PAGO already: the money has moved"
            if status == "PAGO":
                _pay_now(p)
            else:
                p.status = status
                p.historico.append((status, _now_brt()))
                if erros is not None:
                    p.erros = erros
                elif status in PIX_FAILURE_ERROS:
                    c, d, x = PIX_FAILURE_ERROS[status]
                    p.erros = [{"codigoErro": c, "descricaoErro": d, "codigoErroComplementar": x}]
            return None

    def live_rows(self, inicio: dt.date, fim: dt.date, op, tipo) -> list:
        """Statement debits of PAGO payments in the window, newest first."""
        if op not in (None, "D") or tipo not in (None, "PIX"):
            return []
        with self.lock:
            rows = [p.row for p in self.payments.values() if p.row is not None and inicio <= p.row.day <= fim]
        rows.sort(key=lambda r: (r.day, r.key), reverse=True)
        return rows

    def paid_upto(self, day: dt.date) -> Decimal:
        with self.lock:
            return sum((p.row.amount for p in self.payments.values() if p.row is not None and p.row.day <= day),
                       Decimal(0))

    def payments_list(self) -> list:
        with self.lock:
            return [p.record() for p in self.payments.values()]

    def forget_payments(self) -> int:
        with self.lock:
            n = len(self.payments)
            self.payments.clear()
            self.payment_keys.clear()
            return n


# =========================================================================================
# Request context and parameter helpers
# =========================================================================================

@dataclass
class Ctx:
    method: str
    path: str
    raw_query: str
    query: dict            # name -> first value
    headers: object        # http.client.HTTPMessage
    body: bytes
    state: State
    token: Optional[Token] = None
    path_params: dict = field(default_factory=dict)

    @property
    def client_id(self) -> Optional[str]:
        return self.token.client_id if self.token else None


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RE = re.compile(r"^[+-]?\d{1,9}$")
CONTA_RE = re.compile(r"^[1-9][0-9]*$")


def parse_date(value: str) -> Optional[dt.date]:
    if not DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def date_param(ctx: Ctx, name: str, viol: list, required: bool) -> Optional[dt.date]:
    v = ctx.query.get(name)
    if v is None or v == "":
        if required:
            viol.append(violacao(RAZAO_NULO, name))
        return None
    d = parse_date(v)
    if d is None:
        viol.append(violacao(RAZAO_CONVERTER, name))
    return d


def int_param(ctx: Ctx, name: str, viol: list, default: int, lo: int, hi: Optional[int]) -> Optional[int]:
    v = ctx.query.get(name)
    if v is None or v == "":
        return default
    if not INT_RE.match(v):
        viol.append(violacao(RAZAO_CONVERTER, name))
        return None
    n = int(v)
    if n < lo or (hi is not None and n > hi):
        rng = f"entre {lo} e {hi}" if hi is not None else f"maior ou igual a {lo}"
        viol.append(violacao(f"O valor deve ser {rng}.", name))
        return None
    return n


def statement_window(ctx: Ctx, viol: list):
    """dataInicio/dataFim validation shared by the statement endpoints (ref §4.1, §4.2):
    both required, YYYY-MM-DD, inicio <= fim, at most 90 days counting both ends, i.e.
    (fim - inicio).days <= 89. Undocumented: whether the bank counts both ends (ref §8
    item 7 reports it does, unverified) and which property the violation names."""
    inicio = date_param(ctx, "dataInicio", viol, True)
    fim = date_param(ctx, "dataFim", viol, True)
    if inicio and fim:
        if inicio > fim:
            viol.append(violacao("A data de início deve ser menor ou igual à data de fim.", "dataInicio"))
        elif (fim - inicio).days > 89:
            viol.append(violacao("O período entre dataInicio e dataFim não pode ser maior que 90 dias.",
                                 "dataFim"))
    return inicio, fim


def statement_filters(ctx: Ctx, viol: list):
    op = ctx.query.get("tipoOperacao") or None
    if op is not None and op not in ("C", "D"):
        viol.append(violacao(RAZAO_CONVERTER, "tipoOperacao"))
    # tipoTransacao is a free string in the spec (open enum, ref §4.4): an unknown value
    # simply matches nothing.
    tipo = ctx.query.get("tipoTransacao") or None
    return op, tipo


# =========================================================================================
# Bank endpoint handlers (one function per endpoint; see ROUTES)
# =========================================================================================

def h_token(ctx: Ctx) -> Response:
    """POST /oauth/v2/token (ref §2)."""
    ctype = (ctx.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    form = {}
    if ctype == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(ctx.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            parsed = {}
        form = {k: v[0] for k, v in parsed.items()}
    # Undocumented: the token endpoint's error bodies (ref §2); Banking style is used.
    viol = [violacao(RAZAO_NULO, f) for f in ("client_id", "client_secret", "grant_type", "scope")
            if not form.get(f, "").strip()]
    if form.get("grant_type", "").strip() and form["grant_type"] != "client_credentials":
        viol.append(violacao("Valor inválido. Valor aceito: client_credentials.", "grant_type"))
    if viol:
        return invalid_data(viol)
    integ = INTEGRATIONS.get(form["client_id"])
    if integ is None or integ.client_secret != form["client_secret"]:
        return banking_error(401, "Acesso negado", "Login/senha inválido.")
    requested = list(dict.fromkeys(form["scope"].split()))   # space-separated, de-duplicated
    unknown = [s for s in requested if s not in ALL_SCOPES]
    if unknown:
        return invalid_data([violacao(f"Escopo inválido: {s}.", "scope") for s in unknown])
    lacking = [s for s in requested if s not in integ.scopes]
    if lacking:
        return banking_error(403, "Acesso Negado",
                             "A integração não possui permissão para o(s) escopo(s) solicitado(s): "
                             + " ".join(lacking) + ".")
    tok, ttl = ctx.state.issue_token(integ.client_id, frozenset(requested))
    return json_response(200, {"access_token": tok, "token_type": "Bearer",
                               "expires_in": ttl, "scope": " ".join(requested)})


def _money(d: Decimal) -> str:
    return str(d.quantize(Decimal("0.01")))


def h_saldo(ctx: Ctx) -> Response:
    """GET /banking/v2/saldo (ref §3). Balances are JSON numbers with two decimals."""
    today = today_brt()
    raw = ctx.query.get("dataSaldo")
    if raw is None or raw == "":
        # Current position, real time. Undocumented: disponivel here equals the running
        # balance including all of today's generated entries (same as dataSaldo=today).
        fields = [("disponivel", balance_at(today) - ctx.state.paid_upto(today)),
                  ("bloqueadoCheque", SALDO_BLOQUEADO_CHEQUE),
                  ("bloqueadoJudicialmente", SALDO_BLOQUEADO_JUDICIAL),
                  ("bloqueadoAdministrativo", SALDO_BLOQUEADO_ADMIN),
                  ("limite", SALDO_LIMITE)]
        body = "{" + ",".join(f'"{k}":{_money(v)}' for k, v in fields) + "}"
        return Response(200, body.encode())
    day = parse_date(raw)
    if day is None:
        return invalid_data([violacao(RAZAO_CONVERTER, "dataSaldo")])
    if day > today:
        # Undocumented: the bank's answer for a future dataSaldo; a 400 is assumed.
        return invalid_data([violacao("A data do saldo não pode ser maior que a data atual.", "dataSaldo")])
    ref = None
    if day.weekday() >= 5:
        # Balances are not updated on non-business days: the last business day's
        # position is returned with dataReferencia (ref §3). Only weekends are treated as
        # non-business days here (bank holidays are not modelled).
        ref = day - dt.timedelta(days=day.weekday() - 4)
    body = '{"disponivel":' + _money(balance_at(ref or day) - ctx.state.paid_upto(ref or day))
    if ref:
        body += ',"dataReferencia":"' + ref.strftime("%d/%m/%Y") + '"'
    return Response(200, (body + "}").encode())


def _rows_json(rows) -> str:
    return "[" + ",".join(r.json for r in rows) + "]"


TRADITIONAL_MAX = 10_000   # traditional pagination reaches at most 10 000 rows (ref §4.2)


def h_extrato_completo(ctx: Ctx) -> Response:
    """GET /banking/v2/extrato/completo (ref §4.2): traditional and scroll pagination."""
    state = ctx.state
    sid = ctx.query.get("scrollId")
    if sid:
        # Continuing a scroll: the other parameters are accepted but ignored (the scroll
        # keeps its original filters and page size). Undocumented.
        got = state.continue_scroll(ctx.client_id, sid)
        if got is None:
            return scroll_expired()
        return scroll_page(*got)

    viol: list = []
    inicio, fim = statement_window(ctx, viol)
    op, tipo = statement_filters(ctx, viol)
    size = int_param(ctx, "tamanhoPagina", viol, 50, 1, 10_000)
    pagina = int_param(ctx, "pagina", viol, 0, 0, None)
    scroll_raw = (ctx.query.get("scrollEnabled") or "false").lower()
    if scroll_raw not in ("true", "false"):
        viol.append(violacao(RAZAO_CONVERTER, "scrollEnabled"))
    if viol:
        return invalid_data(viol)
    rows = statement_rows(state, inicio, fim, op, tipo)

    if scroll_raw == "true":
        got = state.start_scroll((ctx.client_id, ctx.headers.get("x-conta-corrente")), rows, size)
        if got is None:
            # Body exactly as the portal example (ref §4.2): no "status" field.
            return Response(400, dumps({
                "title": "Já existe um scroll ativo para esta conta corrente.",
                "detail": "Aguarde o scroll atual expirar ou finalize-o antes de iniciar um novo.",
                "timestamp": bank_timestamp(), "typeError": "SCROLL_ALREADY_ACTIVE"}).encode())
        return scroll_page(*got)

    offset = pagina * size
    if offset >= TRADITIONAL_MAX:
        # Undocumented: what the bank answers past the 10 000th row in traditional mode.
        return invalid_data([violacao(
            "A paginação tradicional alcança no máximo 10.000 transações. Utilize a paginação "
            "com scroll (scrollEnabled=true) para consultar mais transações.", "pagina")])
    total = len(rows)
    # A page straddling the limit is cut at the 10 000th row (undocumented).
    page = rows[offset:min(offset + size, TRADITIONAL_MAX)]
    total_pages = max(1, math.ceil(total / size))
    head = dumps({"totalPaginas": total_pages, "totalElementos": total,
                  "ultimaPagina": pagina >= total_pages - 1, "primeiraPagina": pagina == 0,
                  "tamanhoPagina": size, "numeroDeElementos": len(page)})
    return Response(200, (head[:-1] + ',"transacoes":' + _rows_json(page) + "}").encode("utf-8"))


def scroll_page(page, sid, has_more, total) -> Response:
    head = dumps({"totalElementos": total, "numeroDeElementos": len(page),
                  "scrollId": sid, "hasMore": has_more})
    return Response(200, (head[:-1] + ',"transacoes":' + _rows_json(page) + "}").encode("utf-8"))


def with_total(resp: Response, total) -> Response:
    """The "total" fault: a statement answer whose totalElementos is left out (None) or
    replaced by the given JSON value, to test clients that must not trust it blindly."""
    if resp.status != 200:
        return resp
    d = json.loads(resp.body)
    if not isinstance(d, dict) or "totalElementos" not in d:
        return resp
    if total is None:
        del d["totalElementos"]
    else:
        d["totalElementos"] = total
    return Response(resp.status, dumps(d).encode("utf-8"), resp.content_type, resp.headers)


def scroll_expired() -> Response:
    # Body exactly as the portal example (ref §4.2).
    return Response(400, dumps({
        "title": "Scroll ID não encontrado ou expirou.",
        "detail": "O scroll expirou após 6 minutos de inatividade ou o ID é inválido. "
                  "Inicie uma nova consulta com scroll.",
        "timestamp": bank_timestamp(), "typeError": "SCROLL_EXPIRED"}).encode())


def h_extrato_simples(ctx: Ctx) -> Response:
    """GET /banking/v2/extrato (ref §4.1): no ids, no pagination, 90-day window."""
    viol: list = []
    inicio, fim = statement_window(ctx, viol)
    if viol:
        return invalid_data(viol)
    items = [dumps({"cpmf": "", "dataEntrada": r.day.isoformat(), "tipoTransacao": r.tipo,
                    "tipoOperacao": r.op, "valor": r.valor, "titulo": r.titulo,
                    "descricao": r.descricao_simples})
             for r in statement_rows(ctx.state, inicio, fim)]
    return Response(200, ('{"transacoes":[' + ",".join(items) + "]}").encode("utf-8"))


# ---- API Pix (ref §6) and Pix payments sent (ref §5.2) -----------------------------------

PIX_ERROR_BASE = "https://pix.bcb.gov.br/api/v2/error/"
# Titles and details of the portal's examples (ref §7.2, S2); where none is given, the
# BCB meaning of the type is used (marked *).
PIX_ERRORS = {
    "PixConsultaInvalida": (400, "Consulta Pix Inválida",
                            "Os parâmetros de consulta à lista de pix recebidos não respeitam o schema "
                            "ou não fazem sentido semanticamente."),
    "CobConsultaInvalida": (400, "Consulta de cobranças inválida.",  # *
                            "Os parâmetros de consulta à lista de cobranças para pagamento imediato não "
                            "respeitam o schema ou não fazem sentido semanticamente."),
    "RequisicaoInvalida": (400, "Requisição inválida.", "Requisição inválida."),  # *
    "AcessoNegado": (403, "Acesso Negado",
                     "Requisição de participante autenticado que viola alguma regra de autorização."),
    "NaoEncontrado": (404, "Não Encontrado", "Entidade não encontrada."),
    "ErroInternoDoServidor": (500, "Erro interno do servidor",  # *
                              "Condição inesperada ao processar requisição."),
    "ServicoIndisponivel": (503, "Serviço Indisponível",
                            "Serviço não está disponível no momento. Serviço solicitado pode estar em "
                            "manutenção ou fora da janela de funcionamento."),
}


def pix_problem(tipo: str, violacoes=None, status=None, title=None, detail=None, headers=None) -> Response:
    """API Pix error (ref §7.2): RFC 7807 application/problem+json, integer status."""
    st, ti, de = PIX_ERRORS.get(tipo, (status, title, detail))
    body = {"type": PIX_ERROR_BASE + tipo, "title": title or ti, "status": status or st,
            "detail": detail or de}
    if violacoes:
        body["violacoes"] = violacoes
    return Response(status or st, dumps(body).encode("utf-8"), "application/problem+json",
                    list(headers or []))


def pix_status_error(status: int) -> Response:
    """An injected or generic failure on an API Pix endpoint, in the API Pix format.
    Undocumented: the API Pix bodies of statuses the BCB types do not cover (the Banking
    titles are used); a 429 is answered as on the Banking API (ref §9, §10)."""
    if status == 429:
        return status_error(429)
    tipo = {400: "RequisicaoInvalida", 403: "AcessoNegado", 404: "NaoEncontrado",
            500: "ErroInternoDoServidor", 503: "ServicoIndisponivel"}.get(status)
    if tipo:
        return pix_problem(tipo)
    title, detail = STATUS_ERRORS.get(status, ("Erro", "Erro ao processar a requisição."))
    return pix_problem("AcessoNegado" if status == 401 else "ErroInternoDoServidor" if status >= 500
                       else "RequisicaoInvalida", status=status, title=title, detail=detail,
                       headers=[("Retry-After", "1")] if status == 429 else [])


RFC3339_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{3})?(Z|[+-]\d{2}:\d{2})$")


def parse_rfc3339(v: str) -> Optional[dt.datetime]:
    """inicio / fim: "yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX" (ref §6.1): seconds required, an
    optional three-digit fraction, and a zone (Z or ±HH:MM) required. An unencoded "+"
    arrives as a space and does not parse (ref §8 item 6: URL-encode it)."""
    m = RFC3339_RE.match(v or "")
    if not m:
        return None
    try:
        zone = "+00:00" if m.group(3) == "Z" else m.group(3)
        if not -14 * 60 <= int(zone[1:3]) * 60 + int(zone[4:]) <= 14 * 60 or int(zone[4:]) > 59:
            return None
        return dt.datetime.fromisoformat(m.group(1) + (m.group(2) or "") + zone)
    except ValueError:
        return None


def _viol(razao: str, propriedade: str, valor=None) -> dict:
    v = {"razao": razao, "propriedade": propriedade}
    if valor is not None:
        v["valor"] = valor
    return v


RAZAO_FORMATO = "tem seu formato inválido"     # the portal's example (S2)


def pix_window(ctx: Ctx, viol: list):
    """Required inicio/fim (ref §6.1, §6.4); fim before inicio is a violation (BCB)."""
    out = []
    for name in ("inicio", "fim"):
        raw = ctx.query.get(name)
        if raw is None or raw == "":
            viol.append(_viol(f"O parâmetro {name} é obrigatório.", name))
            out.append(None)
            continue
        t = parse_rfc3339(raw)
        if t is None:
            viol.append(_viol(RAZAO_FORMATO, name, raw))
        out.append(t)
    if out[0] and out[1] and out[1] < out[0]:
        viol.append(_viol("O timestamp representado pelo parâmetro fim é anterior ao timestamp "
                          "representado pelo parâmetro inicio.", "fim"))
    return out


def pix_paging(ctx: Ctx, viol: list):
    """paginacao.paginaAtual (default 0, >= 0), paginacao.itensPorPagina (default 100,
    1..1000) (ref §6.1, §8 item 8)."""
    vals = []
    for name, default, hi in (("paginacao.paginaAtual", 0, None), ("paginacao.itensPorPagina", 100, 1000)):
        raw = ctx.query.get(name)
        if raw is None or raw == "":
            vals.append(default)
            continue
        if not INT_RE.match(raw):
            viol.append(_viol(RAZAO_FORMATO, name, raw))
            vals.append(None)
            continue
        n = int(raw)
        lo = 0 if hi is None else 1
        if n < lo or (hi is not None and n > hi):
            viol.append(_viol(f"O valor deve ser {'maior ou igual a 0' if hi is None else 'entre 1 e 1000'}.",
                              name, raw))
            vals.append(None)
            continue
        vals.append(n)
    return vals


def pix_doc_filter(ctx: Ctx, viol: list) -> Optional[str]:
    cpf, cnpj = ctx.query.get("cpf") or None, ctx.query.get("cnpj") or None
    if cpf and cnpj:
        viol.append(_viol("Os parâmetros cpf e cnpj não podem ser preenchidos ao mesmo tempo.", "cnpj"))
    if cpf and not re.fullmatch(r"\d{11}", cpf):
        viol.append(_viol(RAZAO_FORMATO, "cpf", cpf))
    if cnpj and not re.fullmatch(r"\d{14}", cnpj):
        viol.append(_viol(RAZAO_FORMATO, "cnpj", cnpj))
    return cpf or cnpj


def pix_bool(ctx: Ctx, name: str, viol: list) -> Optional[bool]:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        viol.append(_viol(RAZAO_FORMATO, name, raw))
        return None
    return raw.lower() == "true"


def pix_page_response(ctx: Ctx, items: list, list_key: str, extra_params: dict, pagina: int, size: int) -> Response:
    """{"parametros": {inicio, fim, ..., paginacao}, "<list_key>": [...]}; a page past the
    last one is empty (BCB: quantidadeDePaginas >= 1 even with no items)."""
    total = len(items)
    pages = max(1, math.ceil(total / size))
    page = items[pagina * size:(pagina + 1) * size]
    params = {"inicio": ctx.query["inicio"], "fim": ctx.query["fim"]}
    params.update(extra_params)
    params["paginacao"] = {"paginaAtual": pagina, "itensPorPagina": size,
                           "quantidadeDePaginas": pages, "quantidadeTotalDeItens": total}
    head = dumps({"parametros": params})
    return Response(200, (head[:-1] + f',"{list_key}":[' + ",".join(x.json for x in page) + "]}").encode("utf-8"))


def h_pix_list(ctx: Ctx) -> Response:
    """GET /pix/v2/pix (ref §6.1): Pix received through a charge's QR code, by horario
    (inicio <= horario <= fim), oldest first (undocumented order)."""
    viol: list = []
    inicio, fim = pix_window(ctx, viol)
    txid = ctx.query.get("txId") or None
    if txid and not TXID_RE.match(txid):
        viol.append(_viol(RAZAO_FORMATO, "txId", txid))
    tx_presente = pix_bool(ctx, "txIdPresente", viol)
    dev_presente = pix_bool(ctx, "devolucaoPresente", viol)
    doc = pix_doc_filter(ctx, viol)
    pagina, size = pix_paging(ctx, viol)
    if viol:
        return pix_problem("PixConsultaInvalida", viol)
    items = [p for p in pix_in(inicio, fim)
             if (txid is None or p.txid == txid)
             and (tx_presente is None or tx_presente == bool(p.txid))
             and (dev_presente is None or dev_presente == bool(p.devolucoes))
             and (doc is None or p.payer_doc == doc)]
    extra = {k: ctx.query[k] for k in ("txId", "txIdPresente", "devolucaoPresente", "cpf", "cnpj")
             if ctx.query.get(k)}
    if "txId" in extra:
        extra["txid"] = extra.pop("txId")   # echoed as parametros.txid (ref §6.1)
    return pix_page_response(ctx, items, "pix", extra, pagina, size)


def _find(index_key: str, key: str, pick) -> Optional[object]:
    day = pix_index()[index_key].get(key)
    if day is None:
        return None
    return next((x for x in pick(day) if (x.e2e if index_key == "e2e" else x.txid if index_key == "txid"
                                          else x.codigo) == key), None)


def h_pix_item(ctx: Ctx) -> Response:
    """GET /pix/v2/pix/{e2eId} (ref §6.2); 404 for a Pix that did not pay a QR code."""
    e2e = ctx.path_params["e2eId"]
    if not E2E_RE.match(e2e):
        # Undocumented: a malformed e2eId; the generic BCB type is used.
        return pix_problem("RequisicaoInvalida", [_viol(RAZAO_FORMATO, "e2eId", e2e)])
    p = _find("e2e", e2e, lambda d: pix_day(d)[0])
    if p is None:
        return pix_problem("NaoEncontrado")
    return Response(200, p.json.encode("utf-8"))


def h_cob_list(ctx: Ctx) -> Response:
    """GET /pix/v2/cob (ref §6.4): charges by calendario.criacao, oldest first
    (undocumented order)."""
    viol: list = []
    inicio, fim = pix_window(ctx, viol)
    doc = pix_doc_filter(ctx, viol)
    loc = pix_bool(ctx, "locationPresente", viol)
    status = ctx.query.get("status") or None
    if status and status not in COB_STATUSES:
        viol.append(_viol(RAZAO_FORMATO, "status", status))
    pagina, size = pix_paging(ctx, viol)
    if viol:
        return pix_problem("CobConsultaInvalida", viol)
    items = [c for c in cobs_in(inicio, fim)
             if (status is None or c.status == status)
             and (doc is None or c.devedor_doc == doc)
             and loc is not False]            # every charge here has a location
    extra = {k: ctx.query[k] for k in ("cpf", "cnpj", "locationPresente", "status") if ctx.query.get(k)}
    return pix_page_response(ctx, items, "cobs", extra, pagina, size)


def h_cob_item(ctx: Ctx) -> Response:
    """GET /pix/v2/cob/{txid}[?revisao=] (ref §6.4). Every charge here is at its first
    revision or at 1; a revisao above the charge's is CobConsultaInvalida (BCB)."""
    txid = ctx.path_params["txid"]
    if not TXID_RE.match(txid):
        return pix_problem("CobConsultaInvalida", [_viol(RAZAO_FORMATO, "txid", txid)])
    c = _find("txid", txid, lambda d: pix_day(d)[1])
    if c is None:
        return pix_problem("NaoEncontrado")
    rev = ctx.query.get("revisao")
    if rev is not None and rev != "":
        if not re.fullmatch(r"\d{1,9}", rev):
            return pix_problem("CobConsultaInvalida", [_viol(RAZAO_FORMATO, "revisao", rev)])
        if int(rev) > json.loads(c.json)["revisao"]:
            return pix_problem("CobConsultaInvalida", [_viol(
                "O parâmetro revisao corresponde a uma revisão inexistente para a cobrança.", "revisao", rev)])
    return Response(200, c.json.encode("utf-8"))


def h_pix_consulta(ctx: Ctx) -> Response:
    """GET /banking/v2/pix/{codigoSolicitacao} (ref §5.2), Banking-style errors. A payment
    requested more than pix_lookback_days ago (default 90, ref §8 item 7; /config can
    change it, 0 = no limit) is not found."""
    raw = ctx.path_params["codigo"]
    try:
        codigo = str(uuid.UUID(raw))
        if len(raw) != 36:
            raise ValueError
    except ValueError:
        return invalid_data([violacao(RAZAO_CONVERTER, "codigoSolicitacao")])
    made = ctx.state.payment_consulta(codigo)     # made through POST /banking/v2/pix
    if made is not None:
        return Response(200, made)
    s = _find("sent", codigo, sent_day)
    lookback = ctx.state.pix_lookback_days
    if s is None or (lookback and s.requested.date() < today_brt() - dt.timedelta(days=lookback)):
        return not_found()
    return Response(200, s.json.encode("utf-8"))


# ---- Pix payments (ref §5.1, §5.2, §8 items 13-14, §9) -----------------------------------
#
# POST /banking/v2/pix creates a Payment in State.payments (under State.lock, so two
# concurrent POSTs with one x-id-idempotente create one payment). What the bank does:
#
# * tipoRetorno AGENDADO when dataPagamento is after the bank's today; else APROVACAO when
#   valor >= the configurable approval_above (POST /config {"approval_above": "1000.00"};
#   null, the default, = no payment needs approval); else PROCESSADO.
# * GET /banking/v2/pix/{codigoSolicitacao}: PROCESSADO is PAGO at once (endToEnd,
#   dataHoraMovimento, historico CRIADO -> PAGO); APROVACAO is AGUARDANDO_APROVACAO and
#   AGENDADO is AGENDADO until the control call POST /payment_status moves them (it stands
#   for the person approving in Internet Banking and for the bank's scheduler).
# * A PAGO payment is a debit in /banking/v2/extrato, /banking/v2/extrato/completo
#   (tipoTransacao PIX, tipoOperacao D, detalhes like the generated Pix sent) on the day of
#   its dataHoraMovimento, and /banking/v2/saldo goes down by it. The generated statement
#   and its caches are untouched: these rows are merged in per request (statement_rows).
# * Idempotency (ref §5.1 leaves it open; §5.1 suggests replaying): the first POST with a
#   key that creates a payment binds the key; every later POST with that key, whatever its
#   body, gets the first answer byte for byte and creates nothing. Undocumented: a POST
#   that was refused (400/422, or 401/403/429 and faults acting before processing) binds
#   nothing, so the key can still be used. Without the header every POST creates a new
#   payment. Keys are compared as UUIDs (case-insensitive).
# * The mock's payee directory (DICT): every well-formed key is registered, with a payee
#   derived from the key, except e-mails of the domain "naoexiste.example"
#   (UNREGISTERED_EMAIL_DOMAIN), which answer 422 "Chave não encontrada". A key that is a
#   CPF/CNPJ belongs to that document.

PIX_STATUSES = ("CRIADO", "AGUARDANDO_APROVACAO", "APROVADO", "REPROVADO", "EXPIRADO", "CANCELADO",
                "FALHA", "AGENDADO", "PAGO", "ENVIADO", "CANCELADO_SEM_SALDO", "DEBITADO",
                "PARCIALMENTE_DEBITADO", "PARCIALMENTE_PAGO", "NAO_DEBITADO", "AGENDAMENTO_CANCELADO",
                # the official SDK's enum adds these (ref §5.2)
                "TRANSACAO_CRIADA", "TRANSACAO_APROVADA", "PIX_ENVIADO", "PIX_PAGO")
# Undocumented: the bank's erros of each failure; filled in by POST /payment_status unless
# it gives its own "erros".
PIX_FAILURE_ERROS = {
    "REPROVADO": ("PAG-REPROVADO", "Pagamento reprovado pelo aprovador.", "GESTAO_APROVACOES"),
    "EXPIRADO": ("PAG-EXPIRADO", "Prazo de aprovação do pagamento expirado.", "GESTAO_APROVACOES"),
    "CANCELADO": ("PAG-CANCELADO", "Pagamento cancelado.", "GESTAO_APROVACOES"),
    "FALHA": ("AC03", "Número da conta transacional do usuário recebedor inexistente ou inválido.", "SPI-AC03"),
    "CANCELADO_SEM_SALDO": ("PAG-SEM-SALDO", "Pagamento cancelado por saldo insuficiente.", "SALDO"),
    "NAO_DEBITADO": ("PAG-NAO-DEBITADO", "Não foi possível debitar o valor da conta.", "SALDO"),
    "AGENDAMENTO_CANCELADO": ("PAG-AGENDAMENTO-CANCELADO", "Agendamento cancelado.", "AGENDAMENTO"),
}
TIPOS_CONTA = ("CONTA_CORRENTE", "CONTA_POUPANCA", "CONTA_SALARIO", "CONTA_PAGAMENTO")
# Undocumented: recebedor.tipoConta of GET /banking/v2/pix for each tipoConta of the POST
# (ref §5.2's example shows "CAC" for a checking account).
TIPO_CONTA_CONSULTA = {"CONTA_CORRENTE": "CAC", "CONTA_POUPANCA": "PP", "CONTA_SALARIO": "CS",
                       "CONTA_PAGAMENTO": "PG"}
UNREGISTERED_EMAIL_DOMAIN = "naoexiste.example"
EMAIL_KEY_RE = re.compile(r"^[A-Za-z0-9.!#$&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
PHONE_KEY_RE = re.compile(r"^\+55[1-9]{2}9\d{8}$")      # ref §5.1: +55DD9XXXXXXXX
EVP_KEY_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
UUID_RE = EVP_KEY_RE
RAZAO_CHAVE = "Chave Pix inválida."


def valid_cpf(d: str) -> bool:
    if not re.fullmatch(r"\d{11}", d):
        return False
    x = [int(c) for c in d]
    for n in (9, 10):
        if sum(v * w for v, w in zip(x, range(n + 1, 1, -1))) * 10 % 11 % 10 != x[n]:
            return False
    return True


def valid_cnpj(d: str) -> bool:
    if not re.fullmatch(r"\d{14}", d):
        return False
    x = [int(c) for c in d]
    for n, w in ((12, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)), (13, (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))):
        r = sum(a * b for a, b in zip(x, w)) % 11
        if (0 if r < 2 else 11 - r) != x[n]:
            return False
    return True


def _decimal_places(v: Decimal) -> int:
    """Significant decimal places of an exact Decimal (10.500 has 1), without rounding."""
    t = v.as_tuple()
    digits, exp = list(t.digits), t.exponent
    while exp < 0 and len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    return max(0, -exp)


def _tlv(code: str) -> Optional[dict]:
    """The top-level fields of an EMV BR Code, or None if it does not parse."""
    out, i = {}, 0
    while i < len(code):
        if i + 4 > len(code) or not code[i:i + 4].isdigit():
            return None
        tag, n = code[i:i + 2], int(code[i + 2:i + 4])
        if i + 4 + n > len(code):
            return None
        out[tag] = code[i + 4:i + 4 + n]
        i += 4 + n
    return out


def parse_br_code(code: str) -> Optional[dict]:
    """A Pix Copia e Cola (EMV QRCPS BR Code): payload format 01 first, merchant account
    information 26 with GUI br.gov.bcb.pix, CRC16 (field 63) correct. Its fields, or None."""
    if not code.startswith("000201") or len(code) < 12 or code[-8:-4] != "6304":
        return None
    if _crc16(code[:-4]) != code[-4:].upper():
        return None
    f = _tlv(code)
    if f is None or "26" not in f:
        return None
    mai = _tlv(f["26"])
    if mai is None or mai.get("00", "").lower() != "br.gov.bcb.pix":
        return None
    f["26"] = mai
    return f


@dataclass
class Payment:
    key: Optional[str]          # x-id-idempotente as received (None without the header)
    codigo: str
    body: str                   # the first POST's body as received
    valor: Decimal
    chave: Optional[str]
    recebedor: tuple            # (nome, cpfCnpj)
    bank: tuple                 # (ispb, name) of the payee's institution
    agencia: str
    conta: str
    conta_consulta: Optional[tuple]  # bank-details payments: (ispb, agencia, conta, tipoConta)
    origem: str                 # destinatario.tipo
    descricao: str
    data_pagamento: dt.date
    data_operacao: dt.date
    tipo_retorno: str
    status: str
    requested: dt.datetime      # naive Brasília
    created: float              # epoch seconds
    answer: bytes = b""         # the first answer's body (replayed for the same key)
    posts: int = 1
    historico: list = field(default_factory=list)   # [(status, naive Brasília datetime)]
    e2e: Optional[str] = None
    moved: Optional[dt.datetime] = None
    erros: list = field(default_factory=list)
    row: Optional[Row] = None   # the statement debit, once PAGO

    @property
    def valor_raw(self) -> str:
        return format(self.valor, "f")

    def consulta_json(self) -> bytes:
        return _sent_obj(self.codigo, self.status, self.requested, self.valor_raw, self.chave,
                         self.recebedor, self.e2e, self.moved, self.historico, self.erros,
                         self.conta_consulta).json.encode("utf-8")

    def record(self) -> dict:
        return {"key": self.key, "codigo": self.codigo, "posts": self.posts, "body": self.body,
                "valor": self.valor_raw, "chave": self.chave, "tipoRetorno": self.tipo_retorno,
                "status": self.status, "created": self.created,
                "dataPagamento": self.data_pagamento.isoformat(), "endToEnd": self.e2e,
                "historico": [s for s, _ in self.historico]}


def _now_brt() -> dt.datetime:
    return dt.datetime.now(BRT).replace(tzinfo=None)


def _pay_now(p: Payment) -> None:
    """The money moves: PAGO, endToEnd, dataHoraMovimento and the statement debit."""
    moved = _now_brt()
    rng = random.Random("pagamento/" + p.codigo)
    p.e2e = p.e2e or _end_to_end(rng, INTER_ISPB, moved)
    p.moved = moved
    p.status = "PAGO"
    p.historico.append(("PAGO", moved))
    det = {"tipoDetalhe": "COMPLETE", "endToEndId": p.e2e, "nomePagador": OWN_NAME,
           "cpfCnpjPagador": OWN_CNPJ, "nomeEmpresaPagador": INTER_NAME, "descricaoPix": p.descricao,
           "chavePixRecebedor": p.chave or "", "nomeRecebedor": p.recebedor[0],
           "cpfCnpjRecebedor": p.recebedor[1], "nomeEmpresaRecebedor": p.bank[1],
           "agenciaRecebedor": p.agencia, "contaBancariaRecebedor": p.conta,
           # Undocumented: origemMovimentacao of payments by bank details / Copia e Cola.
           "origemMovimentacao": p.origem, "codigoSolicitacao": p.codigo}
    ms = moved.microsecond // 1000
    # valor in the statement's string style (ref §8 item 5): Double.toString-like ("150.0").
    p.row = _make_row(moved.date(), 99_999, moved.replace(microsecond=ms * 1000), f".{ms:03d}", "PIX", "D",
                      _fmt_valor(_cents(p.valor_raw), False), "Pix enviado ", p.recebedor[0], "0", det,
                      f"PIX ENVIADO - Cp :{p.bank[0]}-{p.recebedor[0].upper()}",
                      id_transacao=str(uuid.uuid5(ID_NAMESPACE, "pagamento/" + p.codigo)))


def _payee_of_key(chave: str) -> tuple:
    """(nome, cpfCnpj, (ispb, bank), agencia, conta) the mock's DICT holds for a key."""
    rng = random.Random("dict/" + chave.lower())
    name, doc = _person(rng)
    if valid_cpf(chave) and len(chave) == 11:
        name, doc = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", chave
    elif valid_cnpj(chave) and len(chave) == 14:
        name, doc = rng.choice(COMPANIES), chave
    return name, doc, rng.choice(BANKS), _digits(rng, 4), _digits(rng, 8)


def _str_field(obj: dict, name: str, prop: str, viol: list, required: bool = True) -> Optional[str]:
    v = obj.get(name)
    if v is None:
        if required:
            viol.append(violacao(RAZAO_NULO, prop))
        return None
    if not isinstance(v, str):
        viol.append(violacao(RAZAO_CONVERTER, prop))
        return None
    if required and not v.strip():
        viol.append(violacao("O valor não pode ser vazio.", prop))
        return None
    return v


def chave_problem(chave: str) -> Optional[str]:
    """None if `chave` is a well-formed Pix key (ref §5.1): e-mail, CPF / CNPJ with valid
    check digits, +55 mobile phone, random key (EVP, a UUID); else the reason."""
    if "@" in chave:
        # Undocumented: the DICT limits e-mail keys to 77 characters; case is ignored.
        return None if EMAIL_KEY_RE.match(chave) and len(chave) <= 77 else RAZAO_CHAVE
    if chave.startswith("+"):
        return None if PHONE_KEY_RE.match(chave) else RAZAO_CHAVE
    if chave.isdigit() and len(chave) == 11:
        return None if valid_cpf(chave) else "CPF inválido (dígitos verificadores)."
    if chave.isdigit() and len(chave) == 14:
        return None if valid_cnpj(chave) else "CNPJ inválido (dígitos verificadores)."
    return None if EVP_KEY_RE.match(chave) else RAZAO_CHAVE


def validate_payment(ctx: Ctx):
    """(error Response, None) or (None, fields) for the body of POST /banking/v2/pix."""
    def bad_constant(c):
        raise ValueError(c)
    try:
        text = ctx.body.decode("utf-8")
        obj = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=bad_constant)
    except (UnicodeDecodeError, ValueError):
        # Undocumented: the answer to a body that is not JSON.
        return invalid_data([violacao("O corpo da requisição não é um JSON válido.", "body")]), None
    if not isinstance(obj, dict):
        return invalid_data([violacao(RAZAO_CONVERTER, "body")]), None
    viol: list = []
    valor = obj.get("valor")
    if valor is None:
        viol.append(violacao(RAZAO_NULO, "valor"))
    elif not isinstance(valor, Decimal) or not valor.is_finite():
        # Undocumented: a string amount ("150.00") is refused; the spec types it a number.
        viol.append(violacao(RAZAO_CONVERTER, "valor"))
        valor = None
    elif valor <= 0:
        viol.append(violacao("O valor deve ser maior que zero.", "valor"))
    elif _decimal_places(valor) > 2:
        viol.append(violacao("O valor deve ter no máximo duas casas decimais.", "valor"))
    descricao = _str_field(obj, "descricao", "descricao", viol, required=False)
    if descricao is not None and len(descricao) > 140:
        viol.append(violacao("A descrição deve ter no máximo 140 caracteres.", "descricao"))
    today = today_brt()
    data_pag = today
    raw = obj.get("dataPagamento")
    if raw is not None:
        d = parse_date(raw) if isinstance(raw, str) else None
        if d is None:
            viol.append(violacao(RAZAO_CONVERTER, "dataPagamento"))
        elif d < today:
            viol.append(violacao("A data de pagamento não pode ser anterior à data atual.", "dataPagamento"))
        else:
            data_pag = d
    dest = obj.get("destinatario")
    payee = None
    unregistered = qr_invalid = False
    fields = {}
    if dest is None:
        viol.append(violacao(RAZAO_NULO, "destinatario"))
    elif not isinstance(dest, dict):
        viol.append(violacao(RAZAO_CONVERTER, "destinatario"))
    else:
        tipo = dest.get("tipo")
        if tipo is None:
            viol.append(violacao(RAZAO_NULO, "destinatario.tipo"))
        elif tipo not in ("CHAVE", "DADOS_BANCARIOS", "PIX_COPIA_E_COLA"):
            # Undocumented: the SDKs' "BANK_DETAILS" (ref §8 item 15) is refused like any other.
            viol.append(violacao("Valor inválido. Valores aceitos: CHAVE, DADOS_BANCARIOS, "
                                 "PIX_COPIA_E_COLA.", "destinatario.tipo"))
        elif tipo == "CHAVE":
            chave = _str_field(dest, "chave", "destinatario.chave", viol)
            if chave is not None:
                why = chave_problem(chave)
                if why:
                    viol.append(violacao(why, "destinatario.chave"))
                elif "@" in chave and chave.lower().endswith("@" + UNREGISTERED_EMAIL_DOMAIN):
                    unregistered = True
                else:
                    name, doc, bank, ag, ct = _payee_of_key(chave)
                    payee = dict(chave=chave, recebedor=(name, doc), bank=bank, agencia=ag, conta=ct,
                                 conta_consulta=None, origem="CHAVE")
        elif tipo == "DADOS_BANCARIOS":
            p = "destinatario."
            conta = _str_field(dest, "contaCorrente", p + "contaCorrente", viol)
            if conta is not None and not re.fullmatch(r"\d{1,20}", conta):
                viol.append(violacao("O valor deve conter apenas números.", p + "contaCorrente"))
            tconta = _str_field(dest, "tipoConta", p + "tipoConta", viol)
            if tconta is not None and tconta not in TIPOS_CONTA:
                viol.append(violacao("Valor inválido. Valores aceitos: " + ", ".join(TIPOS_CONTA) + ".",
                                     p + "tipoConta"))
            doc = _str_field(dest, "cpfCnpj", p + "cpfCnpj", viol)
            if doc is not None and not (valid_cpf(doc) or valid_cnpj(doc)):
                viol.append(violacao("CPF/CNPJ inválido.", p + "cpfCnpj"))
            agencia = _str_field(dest, "agencia", p + "agencia", viol)
            if agencia is not None and not re.fullmatch(r"\d{1,4}", agencia):
                viol.append(violacao("O valor deve conter de 1 a 4 números.", p + "agencia"))
            nome = _str_field(dest, "nome", p + "nome", viol)
            inst = dest.get("instituicaoFinanceira")
            ispb = None
            if inst is None:
                viol.append(violacao(RAZAO_NULO, p + "instituicaoFinanceira"))
            elif not isinstance(inst, dict):
                viol.append(violacao(RAZAO_CONVERTER, p + "instituicaoFinanceira"))
            else:
                ispb = _str_field(inst, "ispb", p + "instituicaoFinanceira.ispb", viol)
                if ispb is not None and not re.fullmatch(r"\d{8}", ispb):
                    viol.append(violacao("O ISPB deve ter 8 números.", p + "instituicaoFinanceira.ispb"))
            if not viol:
                bank = next((b for b in BANKS if b[0] == ispb), (ispb, f"INSTITUIÇÃO {ispb}"))
                payee = dict(chave=None, recebedor=(nome, doc), bank=bank, agencia=agencia, conta=conta,
                             conta_consulta=(ispb, agencia, conta, TIPO_CONTA_CONSULTA[tconta]),
                             origem="DADOS_BANCARIOS")
        else:
            code = _str_field(dest, "pixCopiaECola", "destinatario.pixCopiaECola", viol)
            if code is not None:
                f = parse_br_code(code)
                if f is None:
                    qr_invalid = True
                else:
                    chave = f["26"].get("01")
                    rng = random.Random("qr/" + code)
                    bank = rng.choice(BANKS)
                    name = f.get("59") or rng.choice(COMPANIES)
                    doc = chave if chave and (valid_cpf(chave) or valid_cnpj(chave)) else _cnpj(rng)
                    payee = dict(chave=chave, recebedor=(name, doc), bank=bank, agencia=_digits(rng, 4),
                                 conta=_digits(rng, 8), conta_consulta=None, origem="PIX_COPIA_E_COLA")
    if viol:
        return invalid_data(viol), None
    if unregistered:
        # Undocumented: the bank's exact words; shaped like the 422 of ref §5.1 (no status).
        return Response(422, dumps({"title": "Chave não encontrada.",
                                    "detail": "A chave Pix informada não foi encontrada. Verifique a chave "
                                              "e tente novamente.",
                                    "timestamp": bank_timestamp()}).encode("utf-8")), None
    if qr_invalid:
        # Exactly the 422 example of ref §5.1.
        return Response(422, dumps({"title": "Não foi possível processar o QR Code",
                                    "detail": "Por favor, verifique com quem o gerou. Você consegue pagar de "
                                              "outra forma, buscando nos favoritos ou inserindo a chave.",
                                    "timestamp": bank_timestamp()}).encode("utf-8")), None
    fields.update(payee)
    fields.update(body=text, valor=valor, descricao=descricao or "", data_pagamento=data_pag)
    return None, fields


def h_pix_pagamento(ctx: Ctx) -> Response:
    """POST /banking/v2/pix (ref §5.1): validate, replay by x-id-idempotente, create."""
    key = ctx.headers.get("x-id-idempotente")
    canon = None
    if key is not None:
        if not UUID_RE.match(key.strip()):
            # Undocumented: the answer to a key that is not a UUID (ref §5.1: "optional UUID").
            return invalid_data([violacao("O valor deve ser um UUID.", "x-id-idempotente")])
        canon = key.strip().lower()
    err, fields = validate_payment(ctx)
    return ctx.state.create_payment(key, canon, err, fields)


def statement_rows(state: State, inicio: dt.date, fim: dt.date, op: Optional[str] = None,
                   tipo: Optional[str] = None, cache: bool = True) -> tuple:
    """window_rows plus the debits of payments made through POST /banking/v2/pix, newest
    first (rows ordered by day, then time of day)."""
    gen = window_rows(inicio, fim, op, tipo, cache)
    live = state.live_rows(inicio, min(fim, today_brt()), op, tipo)
    if not live:
        return gen
    return tuple(heapq.merge(gen, live, key=lambda r: (r.day, r.key), reverse=True))


# =========================================================================================
# Routing
# =========================================================================================

@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str                      # endpoint name: counts, request log, limits, faults
    scope: Optional[str]           # required token scope; None = token endpoint (no bearer)
    handler: Callable[[Ctx], Response]


def _r(method, path_regex, name, scope, handler) -> Route:
    return Route(method, re.compile("^" + path_regex + "$"), name, scope, handler)


ROUTES = (
    _r("POST", "/oauth/v2/token", "token", None, h_token),
    _r("GET", "/banking/v2/saldo", "saldo", "extrato.read", h_saldo),
    _r("GET", "/banking/v2/extrato", "extrato_simples", "extrato.read", h_extrato_simples),
    _r("GET", "/banking/v2/extrato/completo", "extrato", "extrato.read", h_extrato_completo),
    _r("GET", "/banking/v2/pix/(?P<codigo>[^/]+)", "pix_consulta", "pagamento-pix.read", h_pix_consulta),
    _r("POST", "/banking/v2/pix", "pix_pagamento", "pagamento-pix.write", h_pix_pagamento),
    _r("GET", "/pix/v2/pix", "pix_recebidos", "pix.read", h_pix_list),
    _r("GET", "/pix/v2/pix/(?P<e2eId>[^/]+)", "pix_recebido", "pix.read", h_pix_item),
    _r("GET", "/pix/v2/cob", "cob", "cob.read", h_cob_list),
    _r("GET", "/pix/v2/cob/(?P<txid>[^/]+)", "cob_txid", "cob.read", h_cob_item),
    # A new endpoint is one handler plus its DEFAULT_LIMITS entry. API Pix handlers
    # (/pix/v2/...) answer their own errors with pix_problem() (ref §7.2).
)


def is_pix_api(route: Optional[Route]) -> bool:
    """API Pix routes answer errors in RFC 7807 form (ref §7.2)."""
    return route is not None and route.pattern.pattern.startswith("^/pix/v2/")


def endpoint_names() -> list:
    return list(dict.fromkeys(r.name for r in ROUTES))


def match_route(method: str, path: str):
    """Returns (route, path_params, path_known)."""
    path_known = False
    for r in ROUTES:
        m = r.pattern.match(path)
        if m:
            path_known = True
            if r.method == method:
                return r, m.groupdict(), True
    return None, {}, path_known


# =========================================================================================
# HTTP plumbing
# =========================================================================================

class Logger:
    def __init__(self, path: Optional[str]):
        self.lock = threading.Lock()
        self.fh = open(path, "a", encoding="utf-8", buffering=1) if path else sys.stderr

    def __call__(self, msg: str) -> None:
        stamp = dt.datetime.now(BRT).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        with self.lock:
            try:
                self.fh.write(f"{stamp} {msg}\n")
                self.fh.flush()
            except (OSError, ValueError):
                pass


HANDSHAKE_TIMEOUT = 10.0     # seconds for a client to complete the TLS handshake
IDLE_TIMEOUT = 60.0          # keep-alive connections idle longer than this are closed
MAX_BODY = 10 * 1024 * 1024


class JSONHandlerBase(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every response has a Content-Length."""
    protocol_version = "HTTP/1.1"
    server_version = "mock-inter-api"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def version_string(self):
        return self.server_version

    def log_request(self, code="-", size="-"):
        pass                    # requests are logged by the subclasses

    def log_message(self, fmt, *args):
        self.server.log(f"{self.client_address[0]}:{self.client_address[1]} " + (fmt % args))

    def send(self, resp: Response, partial: bool = False) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.content_type and resp.body:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if not partial:
            self.wfile.write(resp.body)
            return
        # "drop" fault: the full Content-Length was announced, send about half the body,
        # then cut the TCP connection (no TLS close_notify).
        self.wfile.write(resp.body[:len(resp.body) // 2])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_error(self, code, message=None, explain=None):
        """Malformed requests (bad request line, unsupported method, ...): JSON instead of
        http.server's HTML page."""
        try:
            short = self.responses[code][0]
        except KeyError:
            short = "Erro"
        self.close_connection = True
        resp = banking_error(code, short, message or short)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        if code >= 200 and code not in (204, 304):
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
        else:
            self.end_headers()

    def read_body(self) -> Optional[bytes]:
        """Request body (Content-Length or chunked). None after answering an error."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if te:
            if te != "chunked":
                self.send_error(501, "Transfer-Encoding não suportado")
                return None
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.send_error(400, "Chunk inválido")
                    return None
                if n == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass    # trailers
                    return b"".join(chunks)
                total += n
                if total > MAX_BODY:
                    self.send_error(413)
                    return None
                chunks.append(self.rfile.read(n))
                self.rfile.readline(8)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.send_error(400, "Content-Length inválido")
            return None
        if n > MAX_BODY:
            self.send_error(413)
            return None
        return self.rfile.read(n) if n else b""


def _bearer(headers) -> Optional[str]:
    parts = (headers.get("Authorization") or "").split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    return None


def _form_client_id(ctx: Ctx) -> Optional[str]:
    try:
        v = parse_qs(ctx.body.decode("utf-8"), keep_blank_values=True).get("client_id")
    except UnicodeDecodeError:
        return None
    return v[0] if v else None


class BankHandler(JSONHandlerBase):
    """The HTTPS side: the bank API."""

    def date_time_string(self, timestamp=None):
        # The Date header (RFC 9110), off by the configured clock_skew (POST /config).
        if timestamp is None:
            timestamp = time.time() + self.server.state.clock_skew
        return super().date_time_string(timestamp)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def dispatch(self) -> None:
        server = self.server
        state: State = server.state
        t0 = time.monotonic()
        parts = urlsplit(self.path)
        path, raw_query = parts.path, parts.query
        body = self.read_body()
        if body is None:
            return
        route, params, path_known = match_route(self.command, path)
        endpoint = route.name if route else "unknown"
        conta = self.headers.get("x-conta-corrente")
        entry = {"method": self.command, "path": path, "query": raw_query, "status": None,
                 "conta": conta, "idempotency_key": self.headers.get("x-id-idempotente"),
                 "t": time.time()}
        state.record_request(endpoint, entry)
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        ctx = Ctx(self.command, path, raw_query, query, self.headers, body, state,
                  path_params=params)

        # Who is calling (for the per-client rate limit)? Only valid tokens and known
        # client_ids are counted; calls with bad credentials have no client to charge.
        limited_client = None
        if route is not None:
            if route.scope is None:
                cid = _form_client_id(ctx)
                limited_client = cid if cid in INTEGRATIONS else None
            else:
                bearer = _bearer(self.headers)
                ctx.token = state.valid_token(bearer) if bearer else None
                limited_client = ctx.client_id
        retry_after = state.rate_hit(limited_client, endpoint) if limited_client else None

        got = state.take_fault(endpoint)
        fault, epoch = got if got else (None, 0)
        if fault and fault.kind == "delay":
            time.sleep(fault.ms / 1000.0)
        if fault and fault.kind == "hang":
            self.hang(state, epoch)
            self.log_line(entry, endpoint, limited_client, t0, "hang")
            return
        if fault and fault.kind == "status":
            resp = pix_status_error(fault.status) if is_pix_api(route) else status_error(fault.status)
            if fault.status == 429 and fault.retry_after_date is not None:
                when = email.utils.formatdate(time.time() + fault.retry_after_date, usegmt=True)
                resp.headers = [("Retry-After", when)]
        elif fault and fault.kind == "body":
            # Test data the generator cannot produce (odd text, exact big numbers), served
            # as the endpoint's answer after the usual token and scope checks.
            resp = self.process(ctx, route, path_known, retry_after)
            if resp.status == 200:
                resp = Response(fault.status, fault.body)
        elif fault and fault.kind == "redirect":
            resp = Response(fault.status, b"", content_type=None, headers=[("Location", fault.location)])
        elif fault and fault.kind == "empty_body":
            resp = Response(fault.status, b"", content_type=None,
                            headers=[("Retry-After", "1")] if fault.status == 429 else [])
        else:
            resp = self.process(ctx, route, path_known, retry_after)
            if fault and fault.kind == "total":
                resp = with_total(resp, fault.total)
            if fault and fault.kind == "hang_after":
                # Processed (a payment is created and recorded), then no answer ever comes.
                self.hang(state, epoch)
                self.log_line(entry, endpoint, limited_client, t0, "hang_after")
                return
            if fault and fault.kind == "status_after":
                # Processed, then the fault's error is answered instead of the real answer.
                resp = pix_status_error(fault.status) if is_pix_api(route) else status_error(fault.status)
        if fault and fault.kind in ("big", "big_gzip"):
            resp = padded(resp, fault.bytes, fault.kind == "big_gzip")
        entry["status"] = resp.status
        if fault and fault.kind == "drip":
            self.drip(resp, fault, state, epoch)
            self.log_line(entry, endpoint, limited_client, t0, "drip")
            return
        self.send(resp, partial=bool(fault and fault.kind == "drop"))
        self.log_line(entry, endpoint, limited_client, t0, fault.kind if fault else "")

    def process(self, ctx: Ctx, route: Optional[Route], path_known: bool,
                retry_after: Optional[int]) -> Response:
        if route is None:
            if path_known:
                # Undocumented: wrong method on a known path; 405 assumed.
                allowed = sorted({r.method for r in ROUTES if r.pattern.match(ctx.path)})
                return banking_error(405, *STATUS_ERRORS[405], headers=[("Allow", ", ".join(allowed))])
            return not_found()
        pix_api = is_pix_api(route)
        if route.scope is not None and ctx.token is None:
            # Missing, unknown, expired or revoked bearer token.
            if pix_api:
                return pix_problem("AcessoNegado", status=401, title="Acesso negado",
                                   detail="Token de acesso inválido, expirado ou revogado.")
            return banking_error(401, "Acesso negado", "Token de acesso inválido, expirado ou revogado.")
        if retry_after is not None:
            return too_many_requests(retry_after)   # both APIs: its body is undocumented (ref §10)
        if route.scope is not None:
            if route.scope not in ctx.token.scopes and pix_api:
                return pix_problem("AcessoNegado", detail="Requisição de participante autenticado que viola "
                                   f"alguma regra de autorização. Escopo necessário: {route.scope}.")
            if route.scope not in ctx.token.scopes:
                return banking_error(403, "Acesso Negado",
                                     "Requisição de participante autenticado que viola alguma regra "
                                     f"de autorização. Escopo necessário: {route.scope}.")
            conta = ctx.headers.get("x-conta-corrente")
            if conta is not None and not CONTA_RE.match(conta):
                # Undocumented: whether the account must belong to the integration; any
                # well-formed number is accepted here.
                return invalid_data([violacao("O valor deve conter apenas números, sem zeros à esquerda.",
                                              "x-conta-corrente")])
            if conta is not None and ctx.state.contas is not None and conta not in ctx.state.contas:
                # Undocumented: the answer for an account the integration may not use (only
                # set with POST /config {"contas": [...]}); Banking-style 403 assumed.
                detail = "A conta corrente informada não está associada a esta integração."
                if pix_api:
                    return pix_problem("AcessoNegado", detail=detail)
                return banking_error(403, "Acesso Negado", detail)
        try:
            return route.handler(ctx)
        except Exception:       # a bug in the mock: answer 500, keep serving
            self.server.log("handler error:\n" + traceback.format_exc())
            return pix_status_error(500) if pix_api else status_error(500)

    def drip(self, resp: Response, fault: Fault, state: State, epoch: int) -> None:
        """Sends the answer's headers (full Content-Length), then its body `chunk` bytes every
        `ms`; stops when the client goes away or the fault is cleared (then closes)."""
        self.close_connection = True
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.content_type and resp.body:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("Connection", "close")
        try:
            self.end_headers()
            for i in range(0, len(resp.body), max(1, fault.chunk)):
                if state.fault_epoch != epoch or state.stopping.is_set():
                    return
                self.wfile.write(resp.body[i:i + max(1, fault.chunk)])
                self.wfile.flush()
                time.sleep(fault.ms / 1000.0)
        except OSError:
            return              # the client is gone

    def hang(self, state: State, epoch: int) -> None:
        """Never answer: wait until the client goes away, the fault is cleared (reset /
        DELETE /fault) or HANG_MAX_SECONDS pass; then close the connection."""
        conn = self.connection
        self.close_connection = True
        deadline = time.monotonic() + HANG_MAX_SECONDS
        try:
            conn.setblocking(False)
        except OSError:
            return
        while (time.monotonic() < deadline and state.fault_epoch == epoch
               and not state.stopping.is_set()):
            try:
                readable, _, _ = select.select([conn], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not readable:
                continue
            try:
                data = conn.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except OSError:
                return          # reset / TLS EOF: the client is gone
            if not data:
                return          # orderly close

    def log_line(self, entry, endpoint, client_id, t0, fault_kind) -> None:
        ms = (time.monotonic() - t0) * 1000
        q = "?" + entry["query"] if entry["query"] else ""
        self.server.log(
            f"{self.client_address[0]}:{self.client_address[1]} {entry['method']} {entry['path']}{q} "
            f"-> {entry['status'] if entry['status'] is not None else '-'} endpoint={endpoint} "
            f"client={client_id or '-'} conta={entry['conta'] or '-'} {ms:.1f}ms"
            + (f" fault={fault_kind}" if fault_kind else ""))


class BankServer(ThreadingHTTPServer):
    """HTTPS server. The TLS handshake runs in the per-connection thread."""
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, state: State, ssl_ctx: ssl.SSLContext, log: Logger):
        self.state, self.ssl_ctx, self.log = state, ssl_ctx, log
        super().__init__(addr, BankHandler)

    def finish_request(self, request, client_address):
        peer = f"{client_address[0]}:{client_address[1]}"
        if self.state.take_fault("connection"):
            try:  # read the ClientHello, then close mid-handshake (no ServerHello)
                request.settimeout(HANDSHAKE_TIMEOUT)
                request.recv(16384)
            except OSError:
                pass
            self.state.record_tls_fail()
            self.log(f"{peer} TLS handshake aborted (fault tls_abort)")
            request.close()
            return
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            conn = self.ssl_ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            self.log(f"{peer} socket error before TLS: {e}")
            return
        try:
            try:
                conn.do_handshake()
            except (ssl.SSLError, OSError) as e:
                reason = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e) or type(e).__name__
                self.state.record_tls_fail()
                self.log(f"{peer} TLS handshake failed: {reason}")
                return
            self.state.record_connection()
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        peer = f"{client_address[0]}:{client_address[1]}"
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            self.log(f"{peer} connection error: {type(exc).__name__}: {exc}")
        else:
            self.log(f"{peer} error:\n" + traceback.format_exc())


# =========================================================================================
# Control API (plain HTTP)
# =========================================================================================

class ControlHandler(JSONHandlerBase):
    """Plain-HTTP control API for test scripts; every answer is one line of compact JSON.

    GET  /health                     {"ok":true}
    GET  /calls                      requests per endpoint name since the last reset, plus
                                     "unknown" (unrouted paths), "total" (all bank requests)
                                     and "tls_fail" (failed handshakes, not in "total"),
                                     "connections" (completed handshakes)
    GET  /secrets                    {"tokens": every access token issued since start (not
                                     forgotten by /reset), "client_secrets": of every
                                     integration}: what a client must never leak
    GET  /requests[?endpoint=NAME]   [{"method","path","query","status","conta",
                                     "idempotency_key","t"}, ...] in arrival order, last
                                     5 000; status null = no answer (hang, hang_after);
                                     idempotency_key = the x-id-idempotente header (null
                                     without it); t = arrival, epoch seconds (a float)
    POST /reset[?tokens=1]           clear counts, log, faults, scrolls, rate-limit windows,
                                     revocations (and all tokens with tokens=1); payments
                                     and the config are kept
    POST /revoke                     every token issued so far becomes invalid
    GET  /config                     {"rate_limits","token_ttl","scroll_ttl","limits",
                                     "pix_lookback_days","approval_above","contas",
                                     "clock_skew"}
    POST /config                     JSON with any of those keys ("limits" is merged);
                                     "approval_above": "1000.00" (a string) makes every
                                     POST /banking/v2/pix of at least that amount answer
                                     tipoRetorno APROVACAO; null (default) = never;
                                     "contas": ["12345678"] makes a bank call whose
                                     x-conta-corrente names another account answer 403
                                     (null, the default: any well-formed account);
                                     "clock_skew": N shifts the bank's Date header by N s
    GET  /fault                      pending faults
    POST /fault                      {"endpoint": NAME|"*", "kind": delay|hang|drop|status|
                                     empty_body|body|total|big|big_gzip|hang_after|
                                     status_after|redirect|drip|tls_abort
                                     (tls_abort: endpoint "connection", the next new
                                     connections' handshakes are cut), "ms": 500, "status": 503,
                                     "count": 1|N|-1}
                                     BEFORE the request is processed: "delay" waits ms,
                                     "hang" never answers, "status" / "empty_body" answer
                                     that status (for "pix_pagamento": no payment is
                                     created or recorded, the key stays unused);
                                     AFTER it was processed (a payment is created and
                                     recorded, posts counted): "drop" announces the whole
                                     answer, sends half and cuts the connection (the
                                     lost answer), "hang_after" never answers,
                                     "status_after" answers the fault's status instead
                                     kind "body": answer with "body" (text, sent as UTF-8) or
                                     "body_b64" (exact bytes) and "status" (default 200)
                                     once the request passed the usual checks;
                                     "retry_after_date": N with status 429: Retry-After is
                                     the HTTP-date N seconds ahead;
                                     kind "total" answers normally but with totalElementos
                                     replaced by "total" (left out when null or absent)
                                     kinds "big", "big_gzip": "bytes": 2097152 pads the
                                     answer's JSON to that size (big_gzip also gzips it)
                                     kind "redirect": "status" (default 302) with the
                                     header Location: "location" (default "/captura")
                                     kind "drip": the answer, "chunk" bytes (default 16)
                                     every "ms" (a slow-drip body)
    DELETE /fault                    clear pending faults (and release hung requests)
    GET  /scrolls                    active statement scrolls: [{"client_id","conta","size",
                                     "pos","total","idle_s"}]
    GET  /summary?dataInicio=&dataFim=[&tipoOperacao=][&tipoTransacao=]
                                     {"count","sum_c","sum_d"} of the generated statement
    GET  /pix_summary?inicio=&fim=   (RFC 3339; URL-encode "+") what the API Pix holds:
                                     {"pix":{"count","sum","with_devolucoes","devolucoes",
                                     "devolvido_sum","without_pagador"} by horario,
                                     "cob":{"count","by_status","sum_original"} by criacao,
                                     "pix_enviados":{"count","by_status","sum"} by
                                     dataHoraSolicitacao (Brasília)}
    GET  /pix_ids?kind=pix|cob|pix_enviados&inicio=&fim=[&status=][&filter=devolucoes|
                                     sem_pagador|com_pagador]  the ids (e2e, txid,
                                     codigoSolicitacao) in the endpoint's order
    GET  /pix_fixtures               the hand-written fixture ids (see "Pix data")
    GET  /payments                   the payments created by POST /banking/v2/pix, in
                                     creation order: [{"key" (x-id-idempotente as received,
                                     or null), "codigo", "posts" (POSTs with this key that
                                     reached the payment: the first plus replays), "body"
                                     (the first POST's body as received, a string),
                                     "valor" (exact decimal string), "chave" (null for
                                     bank details), "tipoRetorno", "status" (now),
                                     "created" (epoch seconds, a float), "dataPagamento",
                                     "endToEnd", "historico" (statuses)}]
    DELETE /payments                 forget them all (with their statement debits)
    POST /payment_status {"codigo": C, "status": S[, "erros": [...]]}
                                     move a created payment to any status of ref §5.2
                                     (appended to historico): PAGO sets endToEnd,
                                     dataHoraMovimento and the statement debit; a failure
                                     (REPROVADO, FALHA, ...) fills erros (or the given
                                     ones). 404 for an unknown codigo, 409 once PAGO.
    POST /config {"pix_lookback_days": N}  GET /banking/v2/pix/{id} finds payments
                                     requested in the last N days (default 90; 0 = all)
    """

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def reply(self, status: int, obj) -> None:
        # one line of compact JSON, newline-terminated
        self.send(Response(status, (dumps(obj) + "\n").encode("utf-8")))

    def dispatch(self) -> None:
        body = self.read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        key = (self.command, parts.path.rstrip("/") or "/")
        fn = {
            ("GET", "/health"): self.c_health,
            ("GET", "/calls"): self.c_calls,
            ("GET", "/requests"): self.c_requests,
            ("GET", "/secrets"): self.c_secrets,
            ("POST", "/reset"): self.c_reset,
            ("POST", "/revoke"): self.c_revoke,
            ("GET", "/config"): self.c_config_get,
            ("POST", "/config"): self.c_config_post,
            ("GET", "/fault"): self.c_fault_get,
            ("POST", "/fault"): self.c_fault_post,
            ("DELETE", "/fault"): self.c_fault_delete,
            ("GET", "/scrolls"): self.c_scrolls,
            ("GET", "/summary"): self.c_summary,
            ("GET", "/pix_summary"): self.c_pix_summary,
            ("GET", "/pix_ids"): self.c_pix_ids,
            ("GET", "/pix_fixtures"): self.c_pix_fixtures,
            ("GET", "/payments"): self.c_payments_get,
            ("DELETE", "/payments"): self.c_payments_delete,
            ("POST", "/payment_status"): self.c_payment_status,
        }.get(key)
        if fn is None:
            self.reply(404, {"error": f"no control endpoint {self.command} {parts.path}"})
            return
        data = None
        if self.command == "POST" and body.strip() and key[1] in ("/config", "/fault", "/payment_status"):
            try:
                data = json.loads(body)
            except ValueError as e:
                self.reply(400, {"error": f"invalid JSON: {e}"})
                return
            if not isinstance(data, dict):
                self.reply(400, {"error": "JSON object expected"})
                return
        try:
            status, obj = fn(q, data if data is not None else {})
        except Exception:
            self.server.log("control error:\n" + traceback.format_exc())
            status, obj = 500, {"error": "internal error"}
        self.reply(status, obj)

    @property
    def state(self) -> State:
        return self.server.state

    def c_health(self, q, data):
        return 200, {"ok": True}

    def c_calls(self, q, data):
        return 200, self.state.calls_snapshot()

    def c_secrets(self, q, data):
        with self.state.lock:
            tokens = list(self.state.issued)
        return 200, {"tokens": tokens, "client_secrets": sorted({i.client_secret for i in INTEGRATIONS.values()})}

    def c_requests(self, q, data):
        ep = q.get("endpoint")
        with self.state.lock:
            items = [dict(e) for name, e in self.state.requests if not ep or name == ep]
        return 200, items

    def c_reset(self, q, data):
        forget = q.get("tokens") in ("1", "true", "yes")
        self.state.reset(forget)
        return 200, {"ok": True, "tokens_forgotten": forget}

    def c_revoke(self, q, data):
        return 200, {"ok": True, "revoked": self.state.revoke_all()}

    def c_config_get(self, q, data):
        return 200, self.state.config()

    def c_config_post(self, q, data):
        st = self.state
        unknown = set(data) - {"rate_limits", "token_ttl", "scroll_ttl", "limits", "pix_lookback_days",
                               "approval_above", "contas", "clock_skew"}
        if unknown:
            return 400, {"error": f"unknown config keys: {sorted(unknown)}"}
        if "rate_limits" in data and not isinstance(data["rate_limits"], bool):
            return 400, {"error": "rate_limits must be true or false"}
        for k in ("token_ttl", "scroll_ttl"):
            v = data.get(k)
            if k in data and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                return 400, {"error": f"{k} must be a positive number of seconds"}
        v = data.get("pix_lookback_days")
        if "pix_lookback_days" in data and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            return 400, {"error": "pix_lookback_days must be an integer >= 0 (0 = no limit)"}
        if "token_ttl" in data and not isinstance(data["token_ttl"], int):
            return 400, {"error": "token_ttl must be an integer (it is sent as expires_in)"}
        approval = None
        if data.get("approval_above") is not None:
            v = data["approval_above"]
            try:
                approval = Decimal(v) if isinstance(v, (str, int)) and not isinstance(v, bool) else None
            except ArithmeticError:
                approval = None
            if approval is None or not approval.is_finite() or approval < 0:
                return 400, {"error": 'approval_above must be an amount >= 0 as a string ("1000.00") or null'}
        contas = data.get("contas")
        if contas is not None and (not isinstance(contas, list) or
                                   not all(isinstance(c, str) and CONTA_RE.match(c) for c in contas)):
            return 400, {"error": 'contas must be a list of account numbers ("12345678") or null'}
        v = data.get("clock_skew")
        if "clock_skew" in data and (isinstance(v, bool) or not isinstance(v, int)):
            return 400, {"error": "clock_skew must be an integer number of seconds"}
        limits = data.get("limits", {})
        if not isinstance(limits, dict):
            return 400, {"error": "limits must be an object"}
        for name, v in limits.items():
            if name not in endpoint_names():
                return 400, {"error": f"unknown endpoint {name!r}; known: {endpoint_names()}"}
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                return 400, {"error": f"limit for {name} must be an integer >= 0 (0 = unlimited)"}
        with st.lock:
            if "rate_limits" in data:
                st.rate_limits = data["rate_limits"]
            if "token_ttl" in data:
                st.token_ttl = data["token_ttl"]
            if "scroll_ttl" in data:
                st.scroll_ttl = data["scroll_ttl"]
            if "pix_lookback_days" in data:
                st.pix_lookback_days = data["pix_lookback_days"]
            if "approval_above" in data:
                st.approval_above = approval
            if "contas" in data:
                st.contas = None if contas is None else frozenset(contas)
            if "clock_skew" in data:
                st.clock_skew = data["clock_skew"]
            st.limits.update(limits)
        return 200, st.config()

    def c_fault_get(self, q, data):
        with self.state.lock:
            return 200, [f.describe() for f in self.state.faults]

    def c_fault_post(self, q, data):
        endpoint = data.get("endpoint", "*")
        if endpoint not in endpoint_names() + ["*", "unknown", "connection"]:
            return 400, {"error": f"unknown endpoint {endpoint!r}; known: {endpoint_names()}, 'connection' or '*'"}
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            return 400, {"error": f"kind must be one of {list(FAULT_KINDS)}"}
        if (kind == "tls_abort") != (endpoint == "connection"):
            return 400, {"error": 'kind "tls_abort" goes with endpoint "connection", and only it'}
        ms, status, count = (data.get("ms", 500),
                             data.get("status", 200 if kind in ("body", "drip") else
                                      302 if kind == "redirect" else 503),
                             data.get("count", 1))
        location, chunk = data.get("location", "/captura"), data.get("chunk", 16)
        if not isinstance(location, str) or isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            return 400, {"error": "location must be a string and chunk an integer >= 1"}
        rad = data.get("retry_after_date")
        size = data.get("bytes", 2 * 1024 * 1024)
        for name, v in (("ms", ms), ("status", status), ("count", count), ("bytes", size)) + ((("retry_after_date", rad),) if rad is not None else ()):
            if isinstance(v, bool) or not isinstance(v, int):
                return 400, {"error": f"{name} must be an integer"}
        if ms < 0 or not 100 <= status <= 599 or (count < 1 and count != -1) or not 0 <= size <= 1 << 30:
            return 400, {"error": "need ms >= 0, 100 <= status <= 599, count >= 1 or -1, 0 <= bytes <= 1 GiB"}
        body = b""
        if kind == "body":
            try:
                if "body_b64" in data:
                    body = base64.b64decode(data["body_b64"], validate=True)
                elif isinstance(data.get("body"), str):
                    body = data["body"].encode("utf-8")
                else:
                    return 400, {"error": 'kind "body" needs "body" (a string) or "body_b64"'}
            except (ValueError, TypeError):
                return 400, {"error": "body_b64 must be base64"}
        f = Fault(endpoint, kind, ms, status, count, body, rad, data.get("total"), size, location, chunk)
        with self.state.lock:
            self.state.faults.append(f)
            pending = [x.describe() for x in self.state.faults]
        return 200, {"ok": True, "faults": pending}

    def c_fault_delete(self, q, data):
        self.state.clear_faults()
        return 200, {"ok": True}

    def c_scrolls(self, q, data):
        return 200, self.state.active_scrolls()

    def c_summary(self, q, data):
        inicio, fim = parse_date(q.get("dataInicio", "")), parse_date(q.get("dataFim", ""))
        if inicio is None or fim is None:
            return 400, {"error": "dataInicio and dataFim (YYYY-MM-DD) are required"}
        op = q.get("tipoOperacao") or None
        if op not in (None, "C", "D"):
            return 400, {"error": "tipoOperacao must be C or D"}
        rows = statement_rows(self.state, inicio, fim, op, q.get("tipoTransacao") or None, cache=False)
        sum_c = sum((r.amount for r in rows if r.op == "C"), Decimal(0))
        sum_d = sum((r.amount for r in rows if r.op == "D"), Decimal(0))
        return 200, {"count": len(rows), "sum_c": _money(sum_c), "sum_d": _money(sum_d)}

    @staticmethod
    def _pix_window(q):
        inicio, fim = parse_rfc3339(q.get("inicio", "")), parse_rfc3339(q.get("fim", ""))
        if inicio is None or fim is None:
            return None
        return inicio, fim

    def c_pix_summary(self, q, data):
        w = self._pix_window(q)
        if w is None:
            return 400, {"error": "inicio and fim (RFC 3339, e.g. 2024-06-20T00:00:00-03:00; "
                                  "URL-encode +) are required"}
        pix, cobs, sent = pix_in(*w), cobs_in(*w), sent_in(*w)
        devs = [d for p in pix for d in p.devolucoes]
        by_status = {s: sum(1 for c in cobs if c.status == s) for s in COB_STATUSES}
        sent_status = dict(sorted(collections.Counter(s.status for s in sent).items()))
        return 200, {
            "pix": {"count": len(pix), "sum": _money(sum((p.amount for p in pix), Decimal(0))),
                    "with_devolucoes": sum(1 for p in pix if p.devolucoes),
                    "devolucoes": len(devs),
                    "devolvido_sum": _money(sum((Decimal(d["valor"]) for d in devs
                                                 if d["status"] == "DEVOLVIDO"), Decimal(0))),
                    "without_pagador": sum(1 for p in pix if p.payer_doc is None)},
            "cob": {"count": len(cobs), "by_status": by_status,
                    "sum_original": _money(sum((c.original for c in cobs), Decimal(0)))},
            "pix_enviados": {"count": len(sent), "by_status": sent_status,
                             "sum": _money(sum((s.amount for s in sent), Decimal(0)))},
        }

    def c_pix_ids(self, q, data):
        w = self._pix_window(q)
        kind, status, flt = q.get("kind"), q.get("status") or None, q.get("filter") or None
        if w is None or kind not in ("pix", "cob", "pix_enviados"):
            return 400, {"error": "kind=pix|cob|pix_enviados and inicio, fim (RFC 3339) are required"}
        if kind == "pix":
            if flt not in (None, "devolucoes", "sem_pagador", "com_pagador"):
                return 400, {"error": "filter must be devolucoes, sem_pagador or com_pagador"}
            return 200, [p.e2e for p in pix_in(*w)
                         if flt is None or (flt == "devolucoes" and p.devolucoes)
                         or (flt == "sem_pagador" and p.payer_doc is None)
                         or (flt == "com_pagador" and p.payer_doc is not None)]
        if kind == "cob":
            return 200, [c.txid for c in cobs_in(*w) if status is None or c.status == status]
        return 200, [s.codigo for s in sent_in(*w) if status is None or s.status == status]

    def c_payments_get(self, q, data):
        return 200, self.state.payments_list()

    def c_payments_delete(self, q, data):
        return 200, {"ok": True, "forgotten": self.state.forget_payments()}

    def c_payment_status(self, q, data):
        codigo, status, erros = data.get("codigo"), data.get("status"), data.get("erros")
        if not isinstance(codigo, str) or status not in PIX_STATUSES:
            return 400, {"error": f'need "codigo" and "status", one of {list(PIX_STATUSES)}'}
        if erros is not None and not (isinstance(erros, list) and all(isinstance(e, dict) for e in erros)):
            return 400, {"error": '"erros" must be a list of objects'}
        why = self.state.set_payment_status(codigo, status, erros)
        if why:
            return (404 if why.startswith("no payment") else 409), {"error": why}
        with self.state.lock:
            return 200, self.state.payments[codigo].record()

    def c_pix_fixtures(self, q, data):
        return 200, {
            "day": FIXTURE_DAY.isoformat(),
            "cob": {"CONCLUIDA": FIX_COB_CONCLUIDA, "ATIVA": FIX_COB_ATIVA, "ATIVA_CNPJ": FIX_COB_ATIVA_CNPJ,
                    "REMOVIDA_PELO_USUARIO_RECEBEDOR": FIX_COB_REMOVIDA_USUARIO,
                    "REMOVIDA_PELO_PSP": FIX_COB_REMOVIDA_PSP},
            "pix": {"qr_with_devolucao": FIX_E2E_QR, "not_qr": FIX_E2E_NOT_QR},
            "pix_enviados": {"PAGO": FIX_SENT_PAGO, "REPROVADO": FIX_SENT_REPROVADO,
                             "FALHA": FIX_SENT_FALHA, "EXPIRADO": FIX_SENT_EXPIRADO},
            "pix_enviados_yesterday": {"FALHA": RECENT_SENT_FALHA, "REPROVADO": RECENT_SENT_REPROVADO},
        }


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, state: State, log: Logger):
        self.state, self.log = state, log
        super().__init__(addr, ControlHandler)

    def handle_error(self, request, client_address):
        self.log(f"control connection error: {sys.exc_info()[1]!r}")


# =========================================================================================
# Main
# =========================================================================================

def write_port_file(path: str, port: int) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(f"{port}\n")
    os.replace(tmp, path)       # atomic: readers never see a partial file


def remove_quietly(path: Optional[str]) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def make_ssl_context(certs: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # Undocumented: the protocol versions the bank accepts; TLS 1.2 and 1.3 are allowed
    # (the official Java SDK uses TLSv1.2, ref §1.2).
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(certs, "server.crt"), os.path.join(certs, "server.key"))
    ctx.load_verify_locations(cafile=os.path.join(certs, "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Banco Inter PJ API mock for pix_fdw tests")
    ap.add_argument("--certs", required=True, help="directory made by gen_certs.sh")
    ap.add_argument("--port-file", required=True, help="file receiving the HTTPS port")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port (0 = any free port)")
    ap.add_argument("--control-port-file", help="file receiving the control (HTTP) port")
    ap.add_argument("--control-port", type=int, default=0, help="control port (0 = any free port)")
    ap.add_argument("--rate-limits", choices=("on", "off"), default="on")
    ap.add_argument("--log", help="log file (default: stderr)")
    args = ap.parse_args(argv)

    log = Logger(args.log)
    remove_quietly(args.port_file)
    remove_quietly(args.control_port_file)
    try:
        ssl_ctx = make_ssl_context(args.certs)
    except (OSError, ssl.SSLError) as e:
        print(f"mock_bank: cannot load certificates from {args.certs}: {e}", file=sys.stderr)
        return 2

    t0 = time.monotonic()
    warm_up()   # generate all days up to today once, so that no request pays for it
    state = State(rate_limits=args.rate_limits == "on")
    bank = BankServer(("127.0.0.1", args.port), state, ssl_ctx, log)
    control = ControlServer(("127.0.0.1", args.control_port), state, log)
    for srv in (bank, control):
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    bank_port, control_port = bank.server_address[1], control.server_address[1]
    write_port_file(args.port_file, bank_port)
    if args.control_port_file:
        write_port_file(args.control_port_file, control_port)
    log(f"mock_bank pid={os.getpid()} https=127.0.0.1:{bank_port} control=127.0.0.1:{control_port} "
        f"rate_limits={args.rate_limits} ready in {time.monotonic() - t0:.2f}s")

    def on_signal(signum, frame):
        state.stopping.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not state.stopping.wait(0.5):
        pass

    for srv in (bank, control):
        srv.shutdown()
        srv.server_close()
    remove_quietly(args.port_file)
    remove_quietly(args.control_port_file)
    log("mock_bank stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
