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
county="$work/county"
[ -e "$county/node.conf" ] && exit 0
. "$root/integration/operators.sh" "$work"

pki="$work/pki"
bash "$root/certs/make-dev-pki.sh" "$pki" "${codes[@]}" 450223199 >/dev/null
bash "$root/certs/make-dev-pki.sh" revoke "$pki" 450223199
rogue="$work/rogue-pki"
bash "$root/certs/make-dev-pki.sh" "$rogue" "${codes[0]}" >/dev/null

ykt_init "$county" liu 刘建华 --role county --county 450223 --name 鹿寨县
# The county's people: the administrator (accounts, keys, banks, publications) opens the
# others' accounts; nobody grants themselves, and the administrator neither reviews nor approves.
ykt_add_operator liu "$county" cai-approve 财政审定员 approver
ykt_add_operator liu "$county" zhi-pay 支付经办员 payments
ykt_add_operator liu "$county" tou-su 投诉受理员 complaints
ykt_add_operator liu "$county" shen-audit 审计查询员 auditor
cat >> "$county/node.conf" <<CONF
tls_certificate = $pki/county.crt
tls_key = $pki/county.key
tls_ca = $pki/ca.crt
tls_crl = $pki/ca.crl
io_timeout_seconds = 3
listen = 127.0.0.1:0
complaint_phone = 0772-6812000
public_url = https://ykt.luzhai.example.gov.cn/
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
public_url = https://ykt.luzhai.example.gov.cn/
CONF
    key=$("$ykt" key show --json --node "$node" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
    # The township's own name (寨沙镇), as the public site and the complaint channels show it.
    name=$(grep "^$code," "$work/data/townships.csv" 2>/dev/null | cut -d, -f2)
    ykt_as liu "$county" township enrol --township "$code" --name "${name:-$code}" --public-key "$key"
done

ykt_as liu "$county" calendar publish "$root/data/cn-holidays.tsv" --reason "国务院办公厅 2025、2026 年部分节假日安排"
ykt_as liu "$county" policy publish "$work/data/programs.csv"
# Reviewers are granted per program on the policy list, so after it is published.
ykt_add_operator liu "$county" nong-review 农业局审核员 reviewer GD01
ykt_add_operator liu "$county" min-review 民政局审核员 reviewer TF01
