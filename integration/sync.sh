#!/usr/bin/env bash
# Sync scenario with real processes on 127.0.0.1: a county node (`ykt serve`, port chosen by
# the OS) and the township nodes of a demo run that worked while the county was down.
#   integration/sync.sh YKT_BINARY WORK_DIR TOWNSHIP_CODE...
# Each township syncs over mutual TLS 1.3; the county's totals must equal the townships';
# then the refusals: an unknown CA, a revoked certificate, another township's certificate,
# one flipped byte in the body and one in the signed header, a gap, a fork, an unknown format version, an oversized request and a
# client that stalls (the last six sent by integration/ykt-hostile with the township's own
# certificate and key), and a replay after an interrupted acknowledgement. Ends by stopping
# the county with SIGTERM. Also: a calendar correction that would change a date the townships'
# notices used is refused, and so is a township loading holidays itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
ykt=$1; work=$2; shift 2
codes=("$@")
. "$root/integration/operators.sh" "$work"

pki="$work/pki"
rogue="$work/rogue-pki"
county="$work/county"
# The county, the PKI and the enrolments (made earlier by the demo, before the townships' first sync).
bash "$root/integration/county-setup.sh" "$ykt" "$work" "${codes[@]}"

echo "== 启动县财政同步服务（ykt serve）"
"$ykt" serve --node "$county" 2>"$work/serve.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true' EXIT
port=$(serve_port "$county" "$serve_pid" "$work/serve.log")
echo "   县财政在 127.0.0.1:$port 监听"

echo "== 各乡镇同步"
for code in "${codes[@]}"; do
    printf '   %s：' "$code"
    "$ykt" sync --node "$work/$code" --county "127.0.0.1:$port"
done

echo "== 核对：县里汇总 = 各乡镇"
ykt_as shen-audit "$county" county totals  | sed 's/^/   /'
ykt_as shen-audit "$county" county totals --json > "$work/county-totals.json"
for code in "${codes[@]}"; do
    people=$(ykt_as clerk "$work/$code" beneficiary list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    fen=$(ykt_as clerk "$work/$code" roster list --json | python3 -c 'import json,sys; print(sum(r["totalFen"] for r in json.load(sys.stdin) if r["status"]=="submitted"))')
    python3 - "$work/county-totals.json" "$code" "$people" "$fen" <<'PY'
import json, sys
rows = {r["node"]: r for r in json.load(open(sys.argv[1]))}
r = rows[sys.argv[2]]
assert r["residents"] == int(sys.argv[3]), f"{sys.argv[2]}: county has {r['residents']} residents, township {sys.argv[3]}"
assert r["rosterFen"] == int(sys.argv[4]), f"{sys.argv[2]}: county roster total {r['rosterFen']}, township {sys.argv[4]}"
PY
done
echo "   一致"

echo "== 工作日历：县里统一发布，乡镇不能自行导入；已用日期不能更正"
"$ykt" calendar show --node "$work/${codes[0]}" | sed 's/^/   /'
grep '^2026' "$root/data/cn-holidays.tsv" > "$work/cal-2026-fix.tsv"
printf '2026-10-09\tholiday\t演示：改动公示期内的日期\n' >> "$work/cal-2026-fix.tsv"
if ykt_as liu "$county" calendar correct "$work/cal-2026-fix.tsv" --reason 演示 2>"$work/cal-correct.err"; then
    echo "错误：改动已用日期的更正竟然成功了" >&2; exit 1
fi
grep -q YKT-CAL-USED "$work/cal-correct.err"
echo "   已拒绝：$(head -c 160 "$work/cal-correct.err")…"
if "$ykt" calendar load "$work/cal-2026-fix.tsv" --node "$work/${codes[0]}" 2>"$work/cal-load.err"; then
    echo "错误：乡镇自行导入节假日安排竟然成功了" >&2; exit 1
fi
grep -q YKT-CAL-COUNTY "$work/cal-load.err"
echo "   已拒绝：乡镇自行导入节假日安排（YKT-CAL-COUNTY）"

echo "== 冲突：同一人被两个乡镇登记"
a=${codes[0]}; b=${codes[1]}
dup=$(ykt_as clerk "$work/$a" beneficiary list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["residentID"])')
ykt_as clerk "$work/$b" beneficiary add  --id "$dup" --name 重复登记 --village 新村 --bank 中国农业银行 \
    --account 6228480000000000018 --confirmation QR-DUP >/dev/null
printf '   %s：' "$b"; "$ykt" sync --node "$work/$b" --county "127.0.0.1:$port"
ykt_as shen-audit "$county" conflicts list  | sed 's/^/   /'
ykt_as shen-audit "$county" conflicts show 1 | sed 's/^/   /'
ykt_as liu "$county" conflicts resolve 1 --decision "keep-$a" --reason "户籍在 $a，$b 的登记撤销"
for code in "$a" "$b"; do printf '   %s：' "$code"; "$ykt" sync --node "$work/$code" --county "127.0.0.1:$port"; done
ykt_as clerk "$work/$b" inbox list --json | python3 -c 'import json,sys; m=json.load(sys.stdin); assert any(x["kind"]=="conflict.decision" for x in m), m'
echo "   冲突处理决定已送达 $a 和 $b"

echo "== 冲突：县里和乡镇都变更了同一人的指定账户"
rid=$(ykt_as clerk "$work/$a" beneficiary list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[1]["residentID"])')
printf '   县财政：'
ykt_as cai-approve "$county" account change "$rid" --bank 中国农业银行 --account 6228480000000000026 --confirmation BANK-0001 \
    --reason 代发银行报告挂失补卡
ykt_as clerk "$work/$a" account change "$rid" --bank 中国农业银行 --account 6228480000000000034 --confirmation QR-NEW >/dev/null
printf '   %s：' "$a"; "$ykt" sync --node "$work/$a" --county "127.0.0.1:$port"
cid=$(ykt_as shen-audit "$county" conflicts list --json | python3 -c 'import json,sys; print([c for c in json.load(sys.stdin) if c["kind"]=="account.both-sides"][-1]["id"])')
ykt_as shen-audit "$county" conflicts show "$cid" | sed 's/^/   /'
ykt_as liu "$county" conflicts resolve "$cid" --decision county --reason "银行已换发新卡，以县里登记为准"
printf '   %s：' "$a"; "$ykt" sync --node "$work/$a" --county "127.0.0.1:$port"
ykt_as clerk "$work/$a" account history "$rid" --json | python3 -c '
import json, sys
h = json.load(sys.stdin)
current = [x for x in h if not x.get("replacedAt")]
assert len(current) == 1 and current[0]["number"] == "6228480000000000026", h
assert [x["number"] for x in h][-2:] == ["6228480000000000034", "6228480000000000026"], h'
echo "   处理决定送达后，乡镇的现用账户与县里一致（旧账户留存历史）"

echo "== 拒收的情形（每一种都应被拒绝，且县里什么也没有应用）"
ykt_as shen-audit "$county" county totals --json > "$work/county-totals.json"
before=$(python3 -c 'import json,sys; print(sum(r["operations"] for r in json.load(open(sys.argv[1]))))' "$work/county-totals.json")
refuse() {   # description, then the command that must fail
    local what=$1; shift
    if "$@" >"$work/refusal.out" 2>&1; then echo "   错误：$what 竟然成功了" >&2; cat "$work/refusal.out" >&2; exit 1; fi
    echo "   已拒绝：$what"
}
# Give township A new work so there is something to send.
ykt_as clerk "$work/$a" beneficiary edit "$(ykt_as clerk "$work/$a" beneficiary list --json | python3 -c 'import json,sys; print([b for b in json.load(sys.stdin) if not b["head"]][0]["residentID"])')" \
    --household 9999 >/dev/null   # a member: a head with members may not leave them
cp "$work/$a/node.conf" "$work/$a-node.conf.good"
sed -i "s#$pki/$a.crt#$rogue/$a.crt#; s#$pki/$a.key#$rogue/$a.key#" "$work/$a/node.conf"
refuse "来自陌生 CA 的证书" "$ykt" sync --node "$work/$a" --county "127.0.0.1:$port"
cp "$work/$a-node.conf.good" "$work/$a/node.conf"
sed -i "s#$pki/$a.crt#$pki/450223199.crt#; s#$pki/$a.key#$pki/450223199.key#" "$work/$a/node.conf"
refuse "已吊销的证书" "$ykt" sync --node "$work/$a" --county "127.0.0.1:$port"
cp "$work/$a-node.conf.good" "$work/$a/node.conf"
sed -i "s#$pki/$a.crt#$pki/$b.crt#; s#$pki/$a.key#$pki/$b.key#" "$work/$a/node.conf"
refuse "乡镇 $a 的变更集走乡镇 $b 的连接" "$ykt" sync --node "$work/$a" --county "127.0.0.1:$port"
grep -q YKT-SYNC-PEER "$work/refusal.out"
cp "$work/$a-node.conf.good" "$work/$a/node.conf"
hostile="$(dirname "$ykt")/ykt-hostile"
for case in flipped:正文一个字节被改动的变更集 flipped-header:签名头部一个字节被改动的变更集 gap:跳号的变更集 fork:分叉（已采纳序号、内容不同） version:不认识的格式版本 \
            oversized:超长的请求头 stall:连上后一言不发的客户端 replay:重放已采纳的变更集; do
    printf '   %s：' "${case#*:}"
    "$hostile" "${case%%:*}" "$work/$a" "127.0.0.1:$port"
done
for case in absurd-length:正文长度近乎无穷的签名头部 unknown-path-big:未知路径并声明64MiB正文; do
    printf '   %s：' "${case#*:}"
    "$hostile" "${case%%:*}" "$work/$a" "127.0.0.1:$port"
done
printf '   逐字节拖延的正文（须按实收速率断开）：'
"$hostile" trickle "$work/$a" "127.0.0.1:$port" 65536 30
printf '   另一地址的 60 个空闲连接（握手期限内关闭，不挡乡镇）：'
YKT_HOSTILE_BIND=127.0.0.2 "$hostile" idle-flood "$work/$a" "127.0.0.1:$port" 60 20
ykt_as shen-audit "$county" county totals --json > "$work/county-totals2.json"
after=$(python3 -c 'import json,sys; print(sum(r["operations"] for r in json.load(open(sys.argv[1]))))' "$work/county-totals2.json")
[ "$before" = "$after" ] || { echo "错误：拒收后县里的操作数变了（$before → $after）" >&2; exit 1; }
printf '   拒收后补发：'
"$ykt" sync --node "$work/$a" --county "127.0.0.1:$port"

echo "== 停止县财政同步服务（SIGTERM）"
kill -TERM "$serve_pid"
wait "$serve_pid"
trap - EXIT
echo "   已正常退出"
