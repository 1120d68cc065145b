#!/usr/bin/env python3
"""Searches test artefacts for secrets (used by zz_secrets.sh; never prints a secret).

    secret_scan.py SECRETS [--log FILE]... [--result SQL_FILE OUT_FILE]... [--plain FILE]...

SECRETS: one "KIND<TAB>VALUE" a line. KIND is
  secret  a client_secret       key     a line of a private key's PEM body
  token   an access token       ledger  the ledger's HMAC key (hex; searched as hex, any
                                        case, and as base64)
The Authorization header ("Authorization:" or "Bearer <something>") is always searched.

Where the text is the client's own SQL, a client_secret or key line in it is PostgreSQL's
exposure (the README says so), not pix_fdw's, and is counted apart ("echoes"), never a leak:
  --log     a server log (log_line_prefix '%m [%p] '): records "LOG:  statement: ...",
            "LOG:  execute ...", "STATEMENT:  ...", "DETAIL:  parameters: ..." and
            'CONTEXT:  SQL statement "CREATE|ALTER USER MAPPING ...' with their continuation
            lines are the client's statements;
  --result  a pg_regress result file: the lines equal to a line of its .sql file are the
            echoed input;
  --plain   everything is searched.
Tokens, the ledger key and the Authorization header are leaks wherever they are: no test
puts them in SQL.
Prints "leak KIND FILE:LINE: <line with the secret masked>" per leak, then
"scanned F files, L lines; leaks N; echoes E" and exits 1 if N > 0.
"""
import base64
import re
import sys

PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \S+ \[\d+\] ")
# (log_error_verbosity = verbose puts the SQLSTATE after the level)
ECHO = re.compile(r"^(LOG|DEBUG\d?):  ([0-9A-Z]{5}: )?(statement|execute [^:]*|duration: [^:]*(statement|execute))|"
                  r"^STATEMENT:  |^DETAIL:  ([0-9A-Z]{5}: )?parameters: |"
                  # a mapping made by EXECUTE in a function: any message logged meanwhile has it in
                  # its CONTEXT (pix_fdw never makes a user mapping)
                  r"^CONTEXT:  SQL statement \"(CREATE|ALTER) USER MAPPING ")
AUTH = [re.compile(r"(?i)authorization\s*:"), re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")]
ECHO_KINDS = {"secret", "key"}


def load(path):
    needles = []  # (kind, compiled regex)
    for raw in open(path, encoding="utf-8"):
        raw = raw.rstrip("\n")
        if not raw or "\t" not in raw:
            continue
        kind, value = raw.split("\t", 1)
        if len(value) < 6:
            continue  # too short to mean anything
        if kind == "ledger":
            needles.append((kind, re.compile(re.escape(value), re.I)))
            b = base64.b64encode(bytes.fromhex(value)).decode()
            needles.append((kind, re.compile(re.escape(b[:40]))))
        else:
            needles.append((kind, re.compile(re.escape(value))))
    return needles


def find(needles, text):
    hits = [(k, r) for k, r in needles if r.search(text)]
    hits += [("auth", r) for r in AUTH if r.search(text)]
    return hits


def mask(text, hits):
    for _, r in hits:
        text = r.sub(lambda m: "<" + "*" * 6 + ">", text)
    return text[:200]


class Scan:
    def __init__(self, needles):
        self.needles, self.files, self.lines, self.leaks, self.echoes = needles, 0, 0, 0, 0

    def report(self, path, n, text, echo):
        hits = find(self.needles, text)
        if not hits:
            return
        if echo and all(k in ECHO_KINDS for k, _ in hits):
            self.echoes += 1
            return
        self.leaks += 1
        kinds = ",".join(sorted({k for k, _ in hits if not (echo and k in ECHO_KINDS)}))
        print(f"leak {kinds} {path}:{n}: {mask(text, hits)}")

    def log(self, path):
        self.files += 1
        echo = False
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                self.lines += 1
                line = line.rstrip("\n")
                m = PREFIX.match(line)
                if m:
                    echo = bool(ECHO.match(line[m.end():]))
                self.report(path, n, line, echo)

    def result(self, sql, path):
        self.files += 1
        try:
            inputs = set(l.rstrip("\n") for l in open(sql, encoding="utf-8", errors="replace"))
        except OSError:
            inputs = set()
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                self.lines += 1
                line = line.rstrip("\n")
                self.report(path, n, line, line in inputs)

    def plain(self, path):
        self.files += 1
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                self.lines += 1
                self.report(path, n, line.rstrip("\n"), False)


def main(argv):
    scan = Scan(load(argv[1]))
    i = 2
    while i < len(argv):
        if argv[i] == "--log":
            scan.log(argv[i + 1])
            i += 2
        elif argv[i] == "--result":
            scan.result(argv[i + 1], argv[i + 2])
            i += 3
        elif argv[i] == "--plain":
            scan.plain(argv[i + 1])
            i += 2
        else:
            sys.exit(f"unknown argument {argv[i]}")
    print(f"scanned {scan.files} files, {scan.lines} lines; leaks {scan.leaks}; echoes {scan.echoes}")
    return 1 if scan.leaks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
