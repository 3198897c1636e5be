#!/usr/bin/env bash
# Makes a development PKI with the openssl CLI: a county CA, the county server certificate
# (CN = the county code, $YKT_COUNTY or 450223; for 127.0.0.1/localhost), one client certificate per township whose subject CN is the
# township code, and an empty CRL. For tests and the demo only; see README.md for production.
#
#   certs/make-dev-pki.sh OUT_DIR [TOWNSHIP_CODE ...]
#   certs/make-dev-pki.sh revoke OUT_DIR TOWNSHIP_CODE      # revoke one township, renew the CRL
#   certs/make-dev-pki.sh expired OUT_DIR TOWNSHIP_CODE     # CODE-expired.crt/.key: valid only in January 2020
#   certs/make-dev-pki.sh crl-expired OUT_DIR [FILE]        # a CRL whose nextUpdate passed (2020-01-02) into FILE (ca.crl)
#
# Keys are written with mode 0600 and never committed (.gitignore: *.key, certs/out/).
set -euo pipefail
umask 077

if [ "${1:-}" = revoke ]; then
    out=$2; code=$3
    openssl ca -config "$out/ca.cnf" -revoke "$out/$code.crt" -batch 2>/dev/null
    openssl ca -config "$out/ca.cnf" -gencrl -out "$out/ca.crl" -batch 2>/dev/null
    exit 0
fi

if [ "${1:-}" = crl-expired ]; then
    # A CRL whose nextUpdate has passed (January 2020), to show nodes refuse a stale list.
    out=$2; file=${3:-$out/ca.crl}
    openssl ca -config "$out/ca.cnf" -gencrl -crl_lastupdate 200101000000Z -crl_nextupdate 200102000000Z \
        -out "$file.tmp" -batch 2>/dev/null
    mv "$file.tmp" "$file"
    exit 0
fi

if [ "${1:-}" = expired ]; then
    out=$2; code=$3
    openssl req -newkey ed25519 -keyout "$out/$code-expired.key" -out "$out/$code-expired.csr" -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=$code" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' > "$out/$code-expired.ext"
    openssl ca -config "$out/ca.cnf" -in "$out/$code-expired.csr" -out "$out/$code-expired.crt" -startdate 20200101000000Z \
        -enddate 20200201000000Z -batch -notext -md default -extfile "$out/$code-expired.ext" 2>/dev/null
    rm -f "$out/$code-expired.csr" "$out/$code-expired.ext" "$out"/*.pem
    chmod 600 "$out/$code-expired.key"
    exit 0
fi

out=${1:?usage: make-dev-pki.sh OUT_DIR [TOWNSHIP_CODE ...]}
shift
mkdir -p "$out"
touch "$out/index.txt"
[ -f "$out/crlnumber" ] || echo 1000 > "$out/crlnumber"
[ -f "$out/serial" ] || echo 7E000001 > "$out/serial"   # for `openssl ca` (expired); above the serials issued below
cat > "$out/ca.cnf" <<CNF
[ ca ]
default_ca = county
[ county ]
dir = $out
database = \$dir/index.txt
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_crl_days = 30
new_certs_dir = \$dir
serial = \$dir/serial
policy = policy_any
[ policy_any ]
commonName = supplied
organizationName = optional
countryName = optional
CNF

days=825
if [ ! -f "$out/ca.key" ]; then
    openssl req -x509 -newkey ed25519 -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=County CA 450223" 2>/dev/null
fi
serial=$(( $(date +%s) % 100000000 ))

issue() {   # name CN extensions
    local name=$1 cn=$2 ext=$3
    openssl req -newkey ed25519 -keyout "$out/$name.key" -out "$out/$name.csr" -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=$cn" 2>/dev/null
    printf '%s\n' "$ext" > "$out/$name.ext"
    serial=$((serial + 1))
    openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -set_serial "$serial" \
        -days $days -extfile "$out/$name.ext" -out "$out/$name.crt" 2>/dev/null
    rm -f "$out/$name.csr" "$out/$name.ext"
    # Record it in the CA database so it can be revoked.
    local subject expiry
    subject=$(openssl x509 -in "$out/$name.crt" -noout -subject -nameopt compat | sed 's/^subject=//')
    expiry=$(openssl x509 -in "$out/$name.crt" -noout -enddate | sed 's/notAfter=//')
    printf 'V\t%s\t\t%08X\tunknown\t%s\n' "$(date -u -d "$expiry" +%y%m%d%H%M%SZ)" "$serial" "$subject" >> "$out/index.txt"
}

issue county "${YKT_COUNTY:-450223}" "basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
for code in "$@"; do
    issue "$code" "$code" "basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=clientAuth"
done
openssl ca -config "$out/ca.cnf" -gencrl -out "$out/ca.crl" -batch 2>/dev/null
chmod 600 "$out"/*.key
echo "$out"
