#!/usr/bin/env bash
# Sets up the county of a demo run, once: a development PKI, the county node with its TLS
# settings, every township enrolled and told the county's key and its own certificate, and the
# county's publications: the working-day calendar (data/cn-holidays.tsv, the State Council
# arrangement for 2025–2026; townships use only what the county publishes) and the policy list.
# Does nothing when WORK_DIR/county already exists.
#   integration/county-setup.sh YKT_BINARY WORK_DIR TOWNSHIP_CODE...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ykt=$1; work=$2; shift 2
codes=("$@")
export YKT_OPERATOR=${YKT_OPERATOR:-演示经办人}
county="$work/county"
[ -e "$county/node.conf" ] && exit 0

pki="$work/pki"
bash "$root/certs/make-dev-pki.sh" "$pki" "${codes[@]}" 450223199 >/dev/null
bash "$root/certs/make-dev-pki.sh" revoke "$pki" 450223199
rogue="$work/rogue-pki"
bash "$root/certs/make-dev-pki.sh" "$rogue" "${codes[0]}" >/dev/null

"$ykt" init --role county --county 450223 --name 鹿寨县 --node "$county"
cat >> "$county/node.conf" <<CONF
tls_certificate = $pki/county.crt
tls_key = $pki/county.key
tls_ca = $pki/ca.crt
tls_crl = $pki/ca.crl
io_timeout_seconds = 3
CONF
county_key=$("$ykt" key show --json --node "$county" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
for code in "${codes[@]}"; do
    node="$work/$code"
    cat >> "$node/node.conf" <<CONF
tls_certificate = $pki/$code.crt
tls_key = $pki/$code.key
tls_ca = $pki/ca.crt
tls_crl = $pki/ca.crl
county_public_key = $county_key
CONF
    key=$("$ykt" key show --json --node "$node" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
    "$ykt" township enrol --township "$code" --name "$code" --public-key "$key" --node "$county"
done

"$ykt" calendar publish "$root/data/cn-holidays.tsv" --reason "国务院办公厅 2025、2026 年部分节假日安排" --node "$county"
"$ykt" policy publish "$work/data/programs.csv" --node "$county"
