# A county and one township that knows it, for the push benchmarks (sync.sh, instructions.sh).
# Sourced after integration/operators.sh, with $ykt set and the dev PKI made in $1/pki:
#   . benchmarks/push-nodes.sh WORK
# push_nodes REGISTER: a new county in WORK/county (mutual TLS, listening on 127.0.0.1, a port
# the OS chooses; CACHE_MIB sets its page cache) and township 450223101 in WORK/t, enrolled
# with each other's keys, REGISTER imported by its clerk: its outbox ready to push.
push_nodes_work="$1"
push_nodes() {
    local work=$push_nodes_work reg=$1 ck tk
    rm -rf "$work/county" "$work/t"
    ykt_init "$work/county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
    printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\nlisten = 127.0.0.1:0\n' "$work/pki/county.crt" "$work/pki/county.key" "$work/pki/ca.crt" >> "$work/county/node.conf"
    [ -n "${CACHE_MIB:-}" ] && printf 'cache_mib = %s\n' "$CACHE_MIB" >> "$work/county/node.conf"
    ykt_init "$work/t" admin 乡镇管理员 --township 450223101 --name 寨沙镇 >/dev/null
    ykt_add_operator admin "$work/t" clerk 乡镇经办员 clerk
    ck=$("$ykt" key show --json --node "$work/county" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
    tk=$("$ykt" key show --json --node "$work/t" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
    printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ncounty_public_key = %s\n' \
        "$work/pki/450223101.crt" "$work/pki/450223101.key" "$work/pki/ca.crt" "$ck" >> "$work/t/node.conf"
    ykt_as liu "$work/county" township enrol --township 450223101 --name 寨沙镇 --public-key "$tk" >/dev/null
    ykt_as clerk "$work/t" beneficiary import "$reg" >/dev/null
}
