#!/usr/bin/env bash
# gen_certs.sh DIR — create the throw-away PKI used by the pix_fdw test mock.
#
# Files written to DIR (all PEM, all mode 644 so the PostgreSQL server process,
# running as OS user "postgres", can read them; DIR itself is 755):
#   ca.crt / ca.key                     test CA ("pix_fdw test CA")
#   server.crt / server.key             CN=localhost, SAN DNS:localhost + IP:127.0.0.1, signed by ca
#   client.crt / client.key             CN=pix-test-client, signed by ca, clientAuth;
#                                       key is unencrypted PKCS#8 ("BEGIN PRIVATE KEY"),
#                                       like the .key file Banco Inter hands out
#   other_ca.crt / other_ca.key         a second, unrelated CA
#   other_client.crt / other_client.key client cert signed by other_ca (must be rejected)
#   expired_client.crt / expired_client.key
#                                       signed by ca, validity 2020-01-01 .. 2021-01-01 (must be rejected)
#
# Note: the parent directories of DIR must be searchable by "postgres" too.
# Keys are RSA 2048, the key type of the certificates Banco Inter issues to integrations.
# Needs only bash and the openssl CLI (tested with OpenSSL 3.0).
#
# Idempotent: if every file is present, the leaf certificates verify against their CA
# and the valid ones are not about to expire, nothing is regenerated (only modes are
# re-applied). Otherwise the whole set is recreated. Quiet unless something fails.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

FILES="ca.crt ca.key server.crt server.key client.crt client.key other_ca.crt other_ca.key
       other_client.crt other_client.key expired_client.crt expired_client.key"

fix_modes() {
    chmod 755 "$DIR"
    for f in $FILES; do chmod 644 "$DIR/$f"; done
}

already_ok() {
    local f
    for f in $FILES; do [ -s "$DIR/$f" ] || return 1; done
    # valid for at least one more day, and chained to the right CA
    openssl x509 -in "$DIR/server.crt" -noout -checkend 86400 >/dev/null 2>&1 || return 1
    openssl x509 -in "$DIR/client.crt" -noout -checkend 86400 >/dev/null 2>&1 || return 1
    openssl verify -CAfile "$DIR/ca.crt" "$DIR/server.crt" "$DIR/client.crt" >/dev/null 2>&1 || return 1
    openssl verify -CAfile "$DIR/other_ca.crt" "$DIR/other_client.crt" >/dev/null 2>&1 || return 1
    return 0
}

if already_ok; then
    fix_modes
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# run CMD... : run quietly; on failure show the command and its output, then exit 1.
run() {
    if ! "$@" >"$WORK/out" 2>&1; then
        echo "gen_certs.sh: command failed: $*" >&2
        cat "$WORK/out" >&2
        exit 1
    fi
}

# Generated in WORK and moved into DIR at the end, so a failed run never leaves a
# half-updated set behind.
newkey() {  # newkey FILE : unencrypted PKCS#8 RSA 2048 key
    run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"
}
serial() { echo "0x$(openssl rand -hex 16 | sed 's/^./1/')"; }

cat >"$WORK/ext.cnf" <<'CNF'
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
CNF

make_ca() {  # make_ca NAME CN
    newkey "$WORK/$1.key"
    run openssl req -new -x509 -key "$WORK/$1.key" -out "$WORK/$1.crt" -days 3650 \
        -subj "/O=pix_fdw tests/CN=$2" -set_serial "$(serial)" \
        -config "$WORK/ext.cnf" -extensions v3_ca
}

make_leaf() {  # make_leaf NAME CA CN EXT_SECTION
    newkey "$WORK/$1.key"
    run openssl req -new -key "$WORK/$1.key" -out "$WORK/$1.csr" -subj "/O=pix_fdw tests/CN=$3"
    run openssl x509 -req -in "$WORK/$1.csr" -CA "$WORK/$2.crt" -CAkey "$WORK/$2.key" \
        -set_serial "$(serial)" -days 825 -sha256 \
        -extfile "$WORK/ext.cnf" -extensions "$4" -out "$WORK/$1.crt"
}

make_ca ca "pix_fdw test CA"
make_ca other_ca "pix_fdw unrelated CA"
make_leaf server ca localhost v3_server
make_leaf client ca pix-test-client v3_client
make_leaf other_client other_ca pix-test-client v3_client

# Expired client certificate. `openssl x509 -req` (3.0) cannot backdate, so use
# `openssl ca` with a throw-away database and explicit -startdate/-enddate.
mkdir -p "$WORK/ca_db/newcerts"
: >"$WORK/ca_db/index.txt"
openssl rand -hex 16 | sed 's/^./1/' >"$WORK/ca_db/serial"
cat >"$WORK/ca.cnf" <<CNF
[ ca ]
default_ca = throwaway
[ throwaway ]
dir = $WORK/ca_db
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
organizationName = optional
[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
CNF
newkey "$WORK/expired_client.key"
run openssl req -new -key "$WORK/expired_client.key" -out "$WORK/expired_client.csr" \
    -subj "/O=pix_fdw tests/CN=pix-test-client"
run openssl ca -batch -notext -preserveDN -config "$WORK/ca.cnf" -extensions v3_client \
    -cert "$WORK/ca.crt" -keyfile "$WORK/ca.key" \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -in "$WORK/expired_client.csr" -out "$WORK/expired_client.crt"

for f in $FILES; do
    mv -f "$WORK/$f" "$DIR/$f"
done
fix_modes
