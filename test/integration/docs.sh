#!/usr/bin/env bash
# The documentation does not rot: the generated catalogue in docs/reference.md matches the code
# (docs/gen_reference.py --check); every option, foreign table, column (with its type), function,
# table, view and setting that the running extension defines is in docs/reference.md, and every
# one the docs name exists; the messages docs/troubleshooting.md quotes are pix_fdw's own; the
# PGXN META.json is valid; and the local-copy recipe of docs/local-copy.md runs as written
# against the mock bank (the upsert copies the window, and a second run rewrites nothing).
set -u
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REF=$ROOT/docs/reference.md
DIR=$(mktemp -d "${PIX_TMP:-/tmp}/pix_docs.XXXXXX")
DB=pix_docs_test
# Names the docs mention that come with a branch not merged yet (the set-up check). A check
# below fails once such a name exists, so that it leaves this list and gets documented.
PENDING_FUNCTIONS=""
finish() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	[ -z "${KEEP_WORK:-}" ] && rm -rf "$DIR"
}
trap finish EXIT
d() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# --- the generated block ------------------------------------------------------------------
if python3 "$ROOT/docs/gen_reference.py" --check >"$DIR/gen.diff" 2>&1; then
	ok "docs/reference.md's catalogue is what docs/gen_reference.py makes from the code"
else
	head -40 "$DIR/gen.diff"
	not_ok "docs/reference.md's catalogue is stale: run python3 docs/gen_reference.py"
fi

# --- a scratch database with the extension, a server at the mock, the imported schema ------
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1
d -v url="$PIX_MOCK_URL" -v certs="$PIX_CERTS" >/dev/null <<'SQL'
CREATE EXTENSION pix_fdw;
CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url :'url', rate_limits 'off', cache_ttl '0');
SELECT format('ALTER SERVER inter OPTIONS (ADD ca_file %L)', :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
CREATE SCHEMA inter;
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter;
SQL

# --- options: the validator's own lists, per object ---------------------------------------
valid() { # valid SQL: the option names of the hint "Valid options in this context are: ..."
	d -c "BEGIN" -c "$1" 2>&1 | sed -n 's/^HINT:  Valid options in this context are: \(.*\)\.$/\1/p' | tr ',' '\n' | tr -d ' '
}
{
	valid "CREATE SERVER zz_docs FOREIGN DATA WRAPPER pix_fdw OPTIONS (zz_bogus 'x')" | sed 's/^/server /'
	valid "CREATE USER MAPPING FOR PUBLIC SERVER inter OPTIONS (zz_bogus 'x')" | sed 's/^/user_mapping /'
	valid "CREATE FOREIGN TABLE zz_docs (a int) SERVER inter OPTIONS (zz_bogus 'x')" | sed 's/^/table /'
	valid "CREATE FOREIGN TABLE zz_docs (a int OPTIONS (zz_bogus 'x')) SERVER inter OPTIONS (endpoint 'saldo')" | sed 's/^/column /'
} >"$DIR/options"
check "the validator lists options for server, user mapping, table and column ($(wc -l <"$DIR/options") in all)" \
	bash -c 'for c in server user_mapping table column; do grep -q "^$c " "$1" || exit 1; done' _ "$DIR/options"
missing=$(while read -r ctx name; do
	grep -qF "| \`$name\` | ${ctx/_/ } |" "$REF" || echo "$ctx:$name"
done <"$DIR/options")
check "every option the code accepts is in docs/reference.md, on the right object${missing:+ (missing: $missing)}" test -z "$missing"
# The hand-written options table (| where | option | meaning |) names only real options.
unknown=$(sed -n '/^## Options: what each one does/,/^## /p' "$REF" | grep -E '^\| (server|user mapping|table|column|server, table) \|' |
	cut -d'|' -f3 | grep -o '`[a-z_]*`' | tr -d '`' | sort -u | while read -r name; do
		grep -q " $name\$" "$DIR/options" || echo "$name"
	done)
check "every option docs/reference.md describes exists${unknown:+ (unknown: $unknown)}" test -z "$unknown"

# --- foreign tables and columns, with their types -------------------------------------------
python3 - "$REF" >"$DIR/doc_columns" <<'EOF'
import re, sys
table = None
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"#### `(\w+)`", line)
    if m:
        table = m.group(1)
    m = re.match(r"\| `(\w+)` \| `([\w ]+)` \| `[^`]+` \|$", line.rstrip("\n"))
    if table and m:
        print(table, m.group(1), m.group(2))
EOF
d -c "SELECT c.relname || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'inter'::regnamespace AND c.relkind = 'f' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1" >"$DIR/live_columns"
# The docs write the catalogue's type names (int, timestamptz): compare them as types.
values=$(awk '{printf "%s(%s, %s, %s)", (NR > 1 ? ", " : ""), "'\''" $1 "'\''", "'\''" $2 "'\''", "'\''" $3 "'\''"}' "$DIR/doc_columns")
diff_cols=$(d -c "WITH doc(t, c, ty) AS (VALUES $values),
    live AS (SELECT c.relname::text AS t, a.attname::text AS c, a.atttypid AS ty
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = 'inter'::regnamespace AND c.relkind = 'f' AND a.attnum > 0 AND NOT a.attisdropped)
  SELECT 'undocumented ' || l.t || '.' || l.c FROM live l LEFT JOIN doc USING (t, c) WHERE doc.t IS NULL
  UNION ALL SELECT 'not imported ' || doc.t || '.' || doc.c FROM doc LEFT JOIN live l USING (t, c) WHERE l.t IS NULL
  UNION ALL SELECT 'type of ' || l.t || '.' || l.c FROM doc JOIN live l USING (t, c) WHERE doc.ty::regtype <> l.ty" 2>&1)
check "IMPORT FOREIGN SCHEMA makes $(wc -l <"$DIR/live_columns") columns in $(cut -d' ' -f1 "$DIR/live_columns" | sort -u | wc -l) tables" \
	test "$(wc -l <"$DIR/live_columns")" -gt 40
check "every imported table and column is in docs/reference.md with its type, and nothing else is${diff_cols:+ ($diff_cols)}" \
	test -z "$diff_cols"

# --- functions, tables, views, their columns, settings --------------------------------------
d -c "SELECT proname FROM pg_proc WHERE pronamespace = 'pix_fdw'::regnamespace
      UNION SELECT relname FROM pg_class WHERE relnamespace = 'pix_fdw'::regnamespace AND relkind IN ('r', 'v')" |
	sort -u >"$DIR/objects"
missing=$(while read -r o; do grep -qF "\`pix_fdw.$o\`" "$REF" || echo "$o"; done <"$DIR/objects")
check "every function, table and view of schema pix_fdw ($(wc -l <"$DIR/objects")) is in docs/reference.md${missing:+ (missing: $missing)}" \
	test -z "$missing"
missing=$(d -c "SELECT c.relname || '.' || a.attname || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                WHERE c.relnamespace = 'pix_fdw'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped" |
	while read -r qual col _; do grep -qF "\`$col " "$REF" || echo "$qual"; done)
check "every column of the ledger and the counters view is in docs/reference.md${missing:+ (missing: $missing)}" test -z "$missing"
d -c "LOAD 'pix_fdw'" -c "SELECT name FROM pg_settings WHERE name LIKE 'pix_fdw.%' ORDER BY 1" >"$DIR/gucs"
missing=$(while read -r g; do grep -qF "| \`$g\` |" "$REF" || echo "$g"; done <"$DIR/gucs")
check "every setting ($(tr '\n' ' ' <"$DIR/gucs")) is in docs/reference.md${missing:+ (missing: $missing)}" \
	bash -c '[ -s "$1" ] && [ -z "$2" ]' _ "$DIR/gucs" "$missing"
# Every pix_fdw.<name> the docs and the README mention exists (a function, table, view or setting).
cut -d. -f2 "$DIR/gucs" >>"$DIR/objects"
unknown=$(cat "$ROOT"/README.md "$ROOT"/docs/*.md "$ROOT"/docs/pt-BR/*.md | grep -o 'pix_fdw\.[a-z_]\+' | cut -d. -f2 |
	grep -v -x -e so -e control | sort -u |  # the files pix_fdw.so and pix_fdw.control
	while read -r n; do
		grep -qx "$n" "$DIR/objects" && continue
		[[ " $PENDING_FUNCTIONS " == *" $n "* ]] && continue
		echo "$n"
	done)
check "every pix_fdw.<name> the docs mention exists${unknown:+ (unknown: $unknown)}" test -z "$unknown"
now_exists=$(for n in $PENDING_FUNCTIONS; do grep -qx "$n" "$DIR/objects" && echo "$n"; done)
check "PENDING_FUNCTIONS in docs.sh names nothing that exists already${now_exists:+ (document $now_exists in docs/reference.md and drop it from the list)}" \
	test -z "$now_exists"

# --- the messages troubleshooting.md quotes are in the code ---------------------------------
python3 - "$ROOT" >"$DIR/messages" <<'EOF'
import glob, os, re, sys
root = sys.argv[1]
src = "".join(open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(root, "src", "**", "*.cpp"), recursive=True))
src = src.replace('\\"', '"')
for line in open(os.path.join(root, "docs", "troubleshooting.md"), encoding="utf-8"):
    if line.startswith("## Bank errors by SQLSTATE"):
        break  # from here on: tables by SQLSTATE and by fault, not by message
    if not line.startswith("| `") and not line.startswith("| WARNING `"):
        continue
    cell = line.split("|")[1]
    for msg in re.findall(r"`([^`]+)`", cell):
        # the longest literal piece between placeholders ("...", quoted names)
        pieces = [p.strip(" :(") for p in re.split(r'\.\.\.|"[^"]*"|\(HTTP \d+\)|N calls|N days', msg)]
        piece = max(pieces, key=len)
        if len(piece) < 12:
            continue
        print(("found " if piece in src else "MISSING ") + piece)
EOF
check "docs/troubleshooting.md quotes $(grep -c . "$DIR/messages") messages, each found in src/" \
	bash -c '[ "$(grep -c "^found " "$1")" -gt 30 ] && ! grep "^MISSING" "$1"' _ "$DIR/messages"

# --- every relative link of the docs and the README leads to a file, and to a heading there ---
if python3 - "$ROOT" >"$DIR/links" 2>&1 <<'EOF'; then
import glob, os, re, sys
root = sys.argv[1]
def slugs(path):
    out = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#+ (.*)", line)
        if m:  # GitHub's anchors: lower case, punctuation dropped, spaces to hyphens
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out
bad, n = [], 0
for doc in [os.path.join(root, "README.md")] + glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True):
    text = re.sub(r"```.*?```", "", open(doc, encoding="utf-8").read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        n += 1
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(full):
            bad.append("%s: %s (no such file)" % (os.path.relpath(doc, root), target))
        elif anchor and full.endswith(".md") and anchor not in slugs(full):
            bad.append("%s: %s (no such heading)" % (os.path.relpath(doc, root), target))
print(n, "links")
for b in bad:
    print(b)
sys.exit(1 if bad or n < 20 else 0)
EOF
	ok "every relative link of the docs and the README resolves ($(head -1 "$DIR/links"))"
else
	cat "$DIR/links"
	not_ok "every relative link of the docs and the README resolves"
fi

# --- META.json (PGXN) -------------------------------------------------------------------------
if python3 - "$ROOT" >"$DIR/meta.out" 2>&1 <<'EOF'; then
import json, os, re, sys
root = sys.argv[1]
meta = json.load(open(os.path.join(root, "META.json"), encoding="utf-8"))
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    assert key in meta, "META.json lacks " + key
semver = r"^\d+\.\d+\.\d+$"
assert re.match(semver, meta["version"]), "version is not semantic"
assert meta["meta-spec"]["version"] == "1.0.0"
control = open(os.path.join(root, "pix_fdw.control"), encoding="utf-8").read()
default = re.search(r"default_version\s*=\s*'([^']+)'", control).group(1)
assert meta["version"].startswith(default + "."), "META.json version %s is not default_version %s" % (meta["version"], default)
ext = meta["provides"]["pix_fdw"]
assert re.match(semver, ext["version"]) and ext["version"] == meta["version"]
for f in ("file", "docfile"):
    assert os.path.isfile(os.path.join(root, ext[f])), ext[f] + " does not exist"
assert meta["prereqs"]["runtime"]["requires"]["PostgreSQL"].startswith("15.")
print("ok")
EOF
	ok "META.json is valid PGXN metadata whose version is the control file's default_version"
else
	cat "$DIR/meta.out"
	not_ok "META.json is valid PGXN metadata whose version is the control file's default_version"
fi

# --- the local-copy recipe, as written ---------------------------------------------------------
python3 - "$ROOT/docs/local-copy.md" >"$DIR/recipe.sql" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for block in re.findall(r"```sql\n(.*?)```", text, re.S):
    if "cron." not in block:      # pg_cron is not part of the suite
        print(block)
EOF
if d -f "$DIR/recipe.sql" >"$DIR/recipe.out" 2>&1; then
	ok "the SQL of docs/local-copy.md runs as written"
else
	cat "$DIR/recipe.out"
	not_ok "the SQL of docs/local-copy.md runs as written"
fi
W="data_transacao >= (now() AT TIME ZONE 'America/Sao_Paulo')::date - 90"
want=$(d -c "SELECT count(*) || ' ' || sum(valor) FROM inter.extrato WHERE $W" 2>&1)
got=$(d -c "SELECT count(*) || ' ' || sum(valor) FROM extrato_local WHERE $W" 2>&1)
check "CALL sync_extrato(90) copies the last 90 days ($got)" bash -c '[ "$1" = "$2" ] && [ "${1%% *}" -gt 0 ]' _ "$got" "$want"
before=$(d -c "SELECT max(synced_at) FROM extrato_local")
d -c "CALL sync_extrato(90)" >/dev/null 2>&1
after=$(d -c "SELECT max(synced_at) || ' ' || count(*) FROM extrato_local")
check "a second run rewrites no unchanged row and adds none" test "$after" = "$before ${got%% *}"
