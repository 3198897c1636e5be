#!/usr/bin/env bash
# Makes a development PKI with the openssl CLI: a county CA, the county server certificate
# (CN = the county code, $YKT_COUNTY or 450223; for 127.0.0.1/localhost), one client certificate per township whose subject CN is the
# township code, and an empty CRL. For tests and the demo only; see README.md for production.
#
#   certs/make-dev-pki.sh OUT_DIR [TOWNSHIP_CODE ...]
#   certs/make-dev-pki.sh revoke OUT_DIR TOWNSHIP_CODE      # revoke one township, renew the CRL
#   certs/make-dev-pki.sh expired OUT_DIR TOWNSHIP_CODE     # CODE-expired.crt/.key: valid only in January 2020
#   certs/make-dev-pki.sh crl-expired OUT_DIR [FILE]        # a CRL whose nextUpdate passed (2020-01-02) into FILE (ca.crl)
#   certs/make-dev-pki.sh console OUT_DIR                   # console-ca.crt and console.crt/.key: ECDSA P-256 for the
#                                                           # county's web console (browsers accept no Ed25519 certificate)
#
# Run again on an existing OUT_DIR with new codes, it adds those townships to the same CA: the CA,
# the county's certificate and the townships already issued are kept (a code already issued is
# skipped, with a note). Every failure says why on stderr (openssl's own message included).
#
# Keys are written with mode 0600 and never committed (.gitignore: *.key, certs/out/).
set -Eeuo pipefail
umask 077

fail() { echo "make-dev-pki.sh：$*" >&2; exit 1; }
trap 'echo "make-dev-pki.sh：第 $LINENO 行的命令失败：$BASH_COMMAND" >&2' ERR
command -v openssl >/dev/null || fail "找不到 openssl 命令：请安装 openssl（Debian：apt-get install openssl）"

# openssl, quiet when it works; when it fails, what it was doing and openssl's own message.
ossl() {
    local log status=0
    log=$(mktemp)
    openssl "$@" 2>"$log" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "make-dev-pki.sh：openssl $1 失败（退出码 $status）：" >&2
        sed 's/^/  /' "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
}

# An existing PKI made by this script (for revoke, expired, crl-expired).
existing() {
    [ -n "${1:-}" ] || fail "缺少证书目录"
    [ -f "$1/ca.cnf" ] && [ -f "$1/ca.key" ] || fail "$1 不是本脚本生成的证书目录（没有 ca.cnf 或 ca.key）：先运行 make-dev-pki.sh $1 乡镇代码…"
}

if [ "${1:-}" = revoke ]; then
    out=${2:-}; code=${3:-}
    existing "$out"
    [ -n "$code" ] || fail "用法：make-dev-pki.sh revoke 证书目录 乡镇代码"
    [ -f "$out/$code.crt" ] || fail "$out 中没有乡镇 $code 的证书（$code.crt）"
    ossl ca -config "$out/ca.cnf" -revoke "$out/$code.crt" -batch
    ossl ca -config "$out/ca.cnf" -gencrl -out "$out/ca.crl" -batch
    exit 0
fi

if [ "${1:-}" = crl-expired ]; then
    # A CRL whose nextUpdate has passed (January 2020), to show nodes refuse a stale list.
    out=${2:-}; existing "$out"; file=${3:-$out/ca.crl}
    ossl ca -config "$out/ca.cnf" -gencrl -crl_lastupdate 200101000000Z -crl_nextupdate 200102000000Z \
        -out "$file.tmp" -batch
    mv "$file.tmp" "$file"
    exit 0
fi

if [ "${1:-}" = expired ]; then
    out=${2:-}; code=${3:-}
    existing "$out"
    [ -n "$code" ] || fail "用法：make-dev-pki.sh expired 证书目录 乡镇代码"
    ossl req -newkey ed25519 -keyout "$out/$code-expired.key" -out "$out/$code-expired.csr" -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=$code"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' > "$out/$code-expired.ext"
    ossl ca -config "$out/ca.cnf" -in "$out/$code-expired.csr" -out "$out/$code-expired.crt" -startdate 20200101000000Z \
        -enddate 20200201000000Z -batch -notext -md default -extfile "$out/$code-expired.ext"
    rm -f "$out/$code-expired.csr" "$out/$code-expired.ext" "$out"/*.pem
    chmod 600 "$out/$code-expired.key"
    exit 0
fi

if [ "${1:-}" = console ]; then
    # The county's office console is opened in ordinary browsers, which speak no Ed25519 (Chromium
    # ends the handshake with ERR_SSL_VERSION_OR_CIPHER_MISMATCH): a CA and a server certificate
    # of their own, ECDSA P-256, for 127.0.0.1 and localhost (node.conf console_tls_certificate,
    # console_tls_key; browsers trust console-ca.crt).
    out=${2:-}
    [ -n "$out" ] || fail "用法：make-dev-pki.sh console 证书目录"
    mkdir -p "$out" || fail "不能建立证书目录 $out"
    if [ ! -f "$out/console-ca.key" ]; then
        ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$out/console-ca.key" -out "$out/console-ca.crt" \
            -days 3650 -nodes -subj "/C=CN/O=Yikatong dev/CN=County console CA ${YKT_COUNTY:-450223}" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    fi
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$out/console.key" -out "$out/console.csr" -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=${YKT_COUNTY:-450223} console"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$out/console.ext"
    ossl x509 -req -in "$out/console.csr" -CA "$out/console-ca.crt" -CAkey "$out/console-ca.key" -set_serial "$(date +%s)" \
        -days 397 -sha256 -extfile "$out/console.ext" -out "$out/console.crt"
    rm -f "$out/console.csr" "$out/console.ext"
    chmod 600 "$out/console.key" "$out/console-ca.key"
    echo "$out"
    exit 0
fi

[ -n "${1:-}" ] || fail "用法：make-dev-pki.sh 证书目录 [乡镇代码 ...]"
out=$1
shift
for code in "$@"; do
    [[ "$code" =~ ^[0-9]{9}$ ]] || fail "乡镇代码「$code」应为 9 位数字（例如 450223101）；什么也没有签发"
done
mkdir -p "$out" || fail "不能建立证书目录 $out"
[ -w "$out" ] || fail "证书目录 $out 不可写"
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
    [ ! -f "$out/ca.crt" ] || fail "$out 中有 ca.crt 却没有 ca.key：不能用这个 CA 签发；换一个空目录，或放回 ca.key"
    ossl req -x509 -newkey ed25519 -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=County CA 450223"
fi
[ -f "$out/ca.crt" ] || fail "$out 中有 ca.key 却没有 ca.crt：放回 ca.crt，或换一个空目录"
# Serial numbers: above every one issued before (a PKI extended later, even within the same second).
serial=$(( $(date +%s) % 100000000 ))
for hex in $(awk -F'\t' '$4 ~ /^[0-9A-Fa-f]+$/ { print $4 }' "$out/index.txt"); do
    if [ $((16#$hex)) -lt $((16#7E000000)) ] && [ $((16#$hex)) -ge "$serial" ]; then serial=$((16#$hex)); fi
done

issue() {   # name CN extensions
    local name=$1 cn=$2 ext=$3
    ossl req -newkey ed25519 -keyout "$out/$name.key" -out "$out/$name.csr" -nodes \
        -subj "/C=CN/O=Yikatong dev/CN=$cn"
    printf '%s\n' "$ext" > "$out/$name.ext"
    serial=$((serial + 1))
    ossl x509 -req -in "$out/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -set_serial "$serial" \
        -days $days -extfile "$out/$name.ext" -out "$out/$name.crt"
    rm -f "$out/$name.csr" "$out/$name.ext"
    # Record it in the CA database so it can be revoked.
    local subject expiry
    subject=$(openssl x509 -in "$out/$name.crt" -noout -subject -nameopt compat | sed 's/^subject=//')
    expiry=$(openssl x509 -in "$out/$name.crt" -noout -enddate | sed 's/notAfter=//')
    printf 'V\t%s\t\t%08X\tunknown\t%s\n' "$(date -u -d "$expiry" +%y%m%d%H%M%SZ)" "$serial" "$subject" >> "$out/index.txt"
}

if [ -f "$out/county.crt" ]; then
    echo "make-dev-pki.sh：沿用已有的县级服务器证书 $out/county.crt" >&2
else
    issue county "${YKT_COUNTY:-450223}" "basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
fi
for code in "$@"; do
    if [ -f "$out/$code.crt" ]; then
        echo "make-dev-pki.sh：乡镇 $code 的证书已有（$out/$code.crt），未重新签发；要换发：先 make-dev-pki.sh revoke $out $code，删除 $code.crt 和 $code.key 后再运行" >&2
        continue
    fi
    issue "$code" "$code" "basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=clientAuth"
done
ossl ca -config "$out/ca.cnf" -gencrl -out "$out/ca.crl" -batch
chmod 600 "$out"/*.key
echo "$out"
