#!/usr/bin/python3
"""Pre-rendered mock of the bank for bench/run.sh: the same mTLS as test/mock/mock_bank.py, but
statement pages are slices of one pre-serialised buffer, so serving a 10 000-row page costs a
binary search and a socket write (never JSON work). It answers
  POST /oauth/v2/token                    any form: a token (counted as a mint)
  GET  /banking/v2/extrato/completo       dataInicio, dataFim, pagina, tamanhoPagina
and, on a plain-HTTP control port, GET /stats (calls per endpoint, seconds spent serving,
the query strings asked for) and POST /reset.

  mock.py --certs DIR --data FILE.jsonl --port-file F --control-port-file F
The data file has one statement row (a JSON object) per line, sorted by dataTransacao.
"""
import argparse
import bisect
import datetime as dt
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "mock"))
import mock_bank  # noqa: E402  (certificates context only)


class Data:
    def __init__(self, path):
        days, offsets, parts = [], [0], []
        pos = 0
        with open(path, "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                # "dataTransacao":"YYYY-MM-DD" is where the mock generator puts it.
                i = line.index(b'"dataTransacao":"') + 17
                days.append(dt.date.fromisoformat(line[i:i + 10].decode()).toordinal())
                parts.append(line)
                pos += len(line) + 1
                offsets.append(pos)
        self.days = days
        self.offsets = offsets     # row k spans blob[offsets[k] : offsets[k+1] - 1]
        self.blob = b",".join(parts) + b","
        self.view = memoryview(self.blob)


class State:
    def __init__(self, data):
        self.data = data
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.calls = {"token": 0, "extrato": 0}
            self.queries = []
            self.serve_seconds = 0.0
            self.bytes = 0


class Bank(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive
    # A page is written as its head, the rows and a short tail: with Nagle's algorithm the tail
    # waits for the client's delayed ACK (40 ms on Linux), which no real server makes a client wait.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, parts):
        n = sum(len(p) for p in parts)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        for p in parts:
            self.wfile.write(p)
        return n

    def do_POST(self):
        t0 = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        st = self.server.state
        if urlsplit(self.path).path != "/oauth/v2/token":
            self.reply(404, [b'{"title":"not found"}'])
            return
        body = json.dumps({"access_token": "bench-%d" % time.monotonic_ns(), "token_type": "Bearer",
                           "expires_in": 3600, "scope": "extrato.read"}).encode()
        n = self.reply(200, [body])
        with st.lock:
            st.calls["token"] += 1
            st.serve_seconds += time.perf_counter() - t0
            st.bytes += n

    def do_GET(self):
        t0 = time.perf_counter()
        st = self.server.state
        u = urlsplit(self.path)
        if u.path != "/banking/v2/extrato/completo":
            self.reply(404, [b'{"title":"not found"}'])
            return
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        try:
            lo = dt.date.fromisoformat(q["dataInicio"]).toordinal()
            hi = dt.date.fromisoformat(q["dataFim"]).toordinal()
            size = int(q.get("tamanhoPagina", "50"))
            page = int(q.get("pagina", "0"))
        except (KeyError, ValueError):
            self.reply(400, [b'{"title":"Dados invalidos"}'])
            return
        d = st.data
        a = bisect.bisect_left(d.days, lo)
        b = bisect.bisect_right(d.days, hi)
        total = b - a
        first = min(a + page * size, b)
        last = min(first + size, b, a + 10000)
        first = min(first, last)
        pages = max(1, -(-total // size))
        head = json.dumps({"totalPaginas": pages, "totalElementos": total, "ultimaPagina": page >= pages - 1,
                           "primeiraPagina": page == 0, "tamanhoPagina": size,
                           "numeroDeElementos": last - first}, separators=(",", ":"))
        parts = [head[:-1].encode() + b',"transacoes":[']
        if last > first:
            parts.append(d.view[d.offsets[first]:d.offsets[last] - 1])
        parts.append(b"]}")
        n = self.reply(200, parts)
        with st.lock:
            st.calls["extrato"] += 1
            st.queries.append(u.query)
            st.serve_seconds += time.perf_counter() - t0
            st.bytes += n


class Control(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        with st.lock:
            self.answer({"calls": st.calls, "queries": st.queries, "serve_seconds": st.serve_seconds,
                         "bytes": st.bytes, "rows": len(st.data.days)})

    def do_POST(self):
        self.server.state.reset()
        self.answer({"ok": True})


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, state, ctx):
        self.state, self.ctx = state, ctx
        super().__init__(addr, Bank)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True), addr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--certs", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--control-port-file", required=True)
    a = ap.parse_args()
    state = State(Data(a.data))
    bank = TlsServer(("127.0.0.1", 0), state, mock_bank.make_ssl_context(a.certs))
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    control.state = state
    threading.Thread(target=control.serve_forever, daemon=True).start()
    for path, srv in ((a.control_port_file, control), (a.port_file, bank)):
        with open(path + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(path + ".tmp", path)
    bank.serve_forever()


if __name__ == "__main__":
    main()
