#!/usr/bin/env bash
# The money loop with real processes, after integration/sync.sh: the county (`ykt serve`) with
# operators, budgets and two agency banks; warnings; department review (one roster returned
# and resubmitted); finance approval into payment batches; instruction files; the bank
# simulator with failures; a tampered result file refused whole; results down to the
# townships; corrections up; re-issue; all paid; reconciliation clean; query, complaint,
# problem leads handed over (移交问题线索), monthly report, payment-result notices. Then the invariants are checked on the databases.
#   integration/payments.sh YKT_BINARY WORK_DIR TOWNSHIP_CODE...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
ykt=$1; work=$2; shift 2
codes=("$@")
county="$work/county"
. "$root/integration/operators.sh" "$work"
# The county's people (made by integration/county-setup.sh), each logged in as themselves.
admin() { ykt_as liu "$county" "$@"; }
approver() { ykt_as cai-approve "$county" "$@"; }
payments() { ykt_as zhi-pay "$county" "$@"; }
c() { ykt_as shen-audit "$county" "$@"; }   # reading and audit
indent() { sed 's/^/   /'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

"$ykt" serve --node "$county" 2>"$work/serve2.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true' EXIT
port=$(serve_port "$county" "$serve_pid" "$work/serve2.log")
sync_all() { for code in "${codes[@]}"; do printf '   %s：' "$code"; "$ykt" sync --node "$work/$code" --county "127.0.0.1:$port"; done; }

echo "== 县财政：经办人、预算、代发银行"
c operator list | indent
# The administrator cannot approve money, and nobody grants themselves a role.
if admin roster approve --rosters 1 2>"$work/admin-approve.err"; then echo "错误：管理员审定了清册" >&2; exit 1; fi
echo "   已拒绝：$(head -n 1 "$work/admin-approve.err")"
if admin operator grant --login liu --role auditor 2>"$work/self-grant.err"; then echo "错误：管理员给自己授予了角色" >&2; exit 1; fi
echo "   已拒绝：$(head -n 1 "$work/self-grant.err")"
approver budget set --program GD01 --period 2026 --yuan 5000000
approver budget set --program TF01 --period 2026 --yuan 500000
admin bank add --code RCC --name 广西农村信用社 --serves 中国邮政储蓄银行 --folder "$work/banks/RCC" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费
admin bank add --code ABC --name 中国农业银行 --folder "$work/banks/ABC" --agreement LZCZ-DF-2025-ABC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费
c budget list | indent
c bank list | indent
# An agency agreement runs at most 3 years (seed 003); a longer one is refused, naming the field.
if admin bank edit --code ABC --agreement LZCZ-DF-2025-ABC --agreement-start 2025-01-01 --agreement-end 2028-06-30 --fees 免费 2>"$work/agreement.err"; then
    echo "错误：登记了超过 3 年的代发协议" >&2; exit 1
fi
echo "   已拒绝：$(head -n 1 "$work/agreement.err")"

echo "== 预警：导入公职人员及亲属名单，运行规则"
first=${codes[0]}
rid=$(ykt_as clerk "$work/$first" roster show 1 --json | json 'd["lines"][0]["residentID"]')
rname=$(ykt_as clerk "$work/$first" roster show 1 --json | json 'd["lines"][0]["name"]')
printf '身份证号,姓名,工作单位,关系\n%s,%s,鹿寨县某局,父母\n' "$rid" "$rname" > "$work/officials.csv"
ykt_as nong-review "$county" officials import "$work/officials.csv"
payments warnings run | indent
warning=$(c warnings list --json --status open | json 'd[0]["id"]')

echo "== 限时办理（县财政 ykt status：各乡镇、各项目到期和逾期的乡镇审核、部门审核、财政审批）"
c status | grep -E '^限时办理|(审核|审批)(逾期|即将到期)' | sed 's/^ *- *//; s/^/   /' || true

echo "== 业务主管部门审核（${codes[1]} 的清册退回更正后重报）"
back=${codes[1]}
for id in $(c roster list --json --status received | json '" ".join(str(r["id"]) for r in d)'); do
    node=$(c roster list --json | json "[r['node'] for r in d if r['id']==$id][0]")
    program=$(c roster list --json | json "[r['program'] for r in d if r['id']==$id][0]")
    reviewer=$([ "$program" = GD01 ] && echo nong-review || echo min-review)
    if [ "$node" = "$back" ] && [ "$program" = GD01 ]; then
        ykt_as "$reviewer" "$county" roster review "$id" --reject --reason "请核对第 1 行的承包面积"
    else
        ykt_as "$reviewer" "$county" roster review "$id" --approve
    fi
done
printf '   %s：' "$back"; "$ykt" sync --node "$work/$back" --county "127.0.0.1:$port"
returned=$(ykt_as clerk "$work/$back" roster list --json | json '[r["id"] for r in d if r["status"]=="draft"][0]')
ykt_as clerk "$work/$back" roster show "$returned" | grep 退回 | indent
ykt_as clerk "$work/$back" roster build --program GD01 --period 2026 >/dev/null
ykt_as leader "$work/$back" roster submit "$returned"
printf '   %s：' "$back"; "$ykt" sync --node "$work/$back" --county "127.0.0.1:$port"
resubmitted=$(c roster list --json --status received | json 'd[0]["id"]')
ykt_as nong-review "$county" roster review "$resubmitted" --approve
c roster list | indent

echo "== 财政审定：有未处理预警时拒绝；核实排除后审定，生成支付批次"
ids=$(c roster list --json --status reviewed | json '",".join(str(r["id"]) for r in d)')
if approver roster approve --rosters "$ids" 2>"$work/approve.err"; then echo "错误：有预警却审定了" >&2; exit 1; fi
echo "   已拒绝：$(head -n 1 "$work/approve.err")"
ykt_as nong-review "$county" warnings close "$warning" --dismiss --reason "经核实为普通村民，与公职人员同名同号系名单录入错误"
approver roster approve --rosters "$ids" --note "同意拨付"
payments batch dispatch --date 2026-11-16 | indent
c batch list --due --date 2026-11-20 | indent

echo "== 代发银行（模拟）：先交来一份控制总额不符的结果文件，整份拒收"
"$ykt" bank simulate --folder "$work/banks/RCC" --bank RCC --tamper total --date 2026-11-17 | indent
if payments bank receive --bank RCC --date 2026-11-18 >"$work/receive.out" 2>&1; then echo "错误：篡改的结果文件被采用了" >&2; exit 1; fi
grep -q YKT-BANK-CONTROL "$work/receive.out"
echo "   已拒收：$(ls "$work/banks/RCC/refused" | head -n 1)（问题报告在旁）"
mv "$work/banks/RCC/bank-done/"* "$work/banks/RCC/outbox/"

echo "== 代发银行的卡库（账号 → 户主身份证号，取自底册；ABC 故意把一个账号登记成他人，演示实名核验不符）"
planted=$(sqlite3 "$county/county.db" "SELECT p.account_number FROM payment p JOIN batch b ON b.id = p.batch_id WHERE b.bank = 'ABC' ORDER BY p.id LIMIT 1")
for register in "$work"/data/*-register.csv; do
    for bank in RCC ABC; do "$ykt" bank cards --folder "$work/banks/$bank" "$register" >/dev/null; done
done
"$ykt" bank cards --folder "$work/banks/RCC" "$register" | indent
"$ykt" bank cards --folder "$work/banks/ABC" --mismatch "$planted" "$register" | indent

echo "== 代发银行发放（部分失败：销户、户名不符、冻结、户主不符），县里读取结果"
for bank in RCC ABC; do
    "$ykt" bank simulate --folder "$work/banks/$bank" --bank $bank --seed 7 --fail closed=0.08,name=0.04,frozen=0.04 --date 2026-11-17 | indent
done
payments bank receive --date 2026-11-18 | indent
[ "$(sqlite3 "$county/county.db" "SELECT count(*) FROM payment WHERE status = 'failed' AND reason_code = 'HOLDER_MISMATCH'")" -ge 1 ] \
    || { echo "错误：户主不符的行没有以 HOLDER_MISMATCH 失败" >&2; exit 1; }
echo "   户主不符：$(sqlite3 "$county/county.db" "SELECT count(*) FROM payment WHERE reason_code = 'HOLDER_MISMATCH'") 笔，已记录原因"
sync_all

echo "== 同一份支付指令再次送到银行（例如传输任务重跑）：银行拒付，不会付两次"
paid_file=$(ls "$work/banks/ABC/bank-done" | grep '^YKT-PAY-.*\.txt$' | head -n 1)
cp "$work/banks/ABC/bank-done/$paid_file" "$work/banks/ABC/outbox/"
ledger_before=$(wc -l < "$work/banks/ABC/bank-ledger.csv")
"$ykt" bank simulate --folder "$work/banks/ABC" --bank ABC --seed 7 --date 2026-11-18 | tee "$work/repeat.out" | indent
grep -q YKT-BANK-REPEAT "$work/repeat.out" || { echo "错误：银行又付了一次已付的文件" >&2; exit 1; }
[ "$(wc -l < "$work/banks/ABC/bank-ledger.csv")" = "$ledger_before" ] || { echo "错误：重复的文件被付了" >&2; exit 1; }

echo "== 乡镇更正失败的发放（换新卡须本人签字确认书；冻结的解冻后原账户重发）"
n=0
for code in "${codes[@]}"; do
    for row in $(ykt_as clerk "$work/$code" payment list --failed --json | json '" ".join(str(p["payment"]) + ":" + p["reasonCode"] for p in d)'); do
        pay=${row%%:*}; reason=${row#*:}
        n=$((n + 1))
        if [ "$reason" = ACCOUNT_FROZEN ]; then
            ykt_as clerk "$work/$code" payment correct "$pay" --note "账户已解冻" >/dev/null
        else
            acct=$(python3 -c "
body='622848' + str(7000000000 + $n * 7919)[:10] + '00'
s=0
for i,d in enumerate(reversed(body)):
    v=int(d)
    if i % 2 == 0:
        v*=2
        v = v-9 if v>9 else v
    s+=v
print(body + str((10 - s % 10) % 10))")
            ykt_as clerk "$work/$code" payment correct "$pay" --bank 中国农业银行 --account "$acct" --confirmation "QR-FIX-$n" >/dev/null
        fi
    done
done
echo "   共更正 $n 笔"
sync_all

echo "== 县里补发（链接原失败支付），银行发放，结果回传"
payments batch reissue | indent
payments batch dispatch --date 2026-11-19 | indent
for bank in RCC ABC; do "$ykt" bank simulate --folder "$work/banks/$bank" --bank $bank --seed 7 --date 2026-11-20 | indent; done
payments bank receive --date 2026-11-20 | indent
sync_all

echo "== 对账（2026 年 11 月，逐笔核对银行对账单）"
for bank in RCC ABC; do
    "$ykt" bank statement --folder "$work/banks/$bank" --bank $bank --from 2026-11-01 --to 2026-11-30 --out "$work/statement-$bank.txt" >/dev/null
    payments reconcile --statement "$work/statement-$bank.txt" --month 2026-11 --out "$work/reports" 2>/dev/null | tail -n 1 | tee -a "$work/reconcile.txt" | indent
done

echo "== 本人查询、投诉举报、月报、发放结果公示"
ykt_as tou-su "$county" query --id "$rid" --name "$rname" | indent
complaint=$(ykt_as tou-su "$county" complaint add --about "resident:$rid" --content "反映补贴到账晚" --channel 来电 --date 2026-11-21 | grep -o '[0-9]*$')
ykt_as tou-su "$county" complaint close "$complaint" --outcome "已查明 11 月 17 日到账，已电话告知" --date 2026-11-21
# A report found true (查实) is a problem lead for the discipline commission (seed 004: 移交问题线索).
upheld=$(ykt_as tou-su "$county" complaint add --about "resident:$rid" --content "反映其家属代领补贴" --channel 来信 --date 2026-11-21 | grep -o '[0-9]*$')
ykt_as tou-su "$county" complaint close "$upheld" --upheld --outcome "经核查，代领属实，已责令整改" --date 2026-11-21
approver leads export --out "$work/reports/问题线索-2026-11.csv" --date 2026-11-21 | indent
approver leads export --out "$work/reports/问题线索-again.csv" --date 2026-11-21 | indent   # nothing new: no file
c report monthly --month 2026-11 --out "$work/reports" --date 2026-11-21 | indent
grep -q "本月向纪委监委移交问题线索 1 条" "$work/reports/月报-450223-2026-11.html" || { echo "错误：月报没有计入移交的问题线索" >&2; exit 1; }
grep -o '限时办理（按工作日[^。]*。' "$work/reports/月报-450223-2026-11.html" | indent \
    || { echo "错误：月报没有限时办理一节" >&2; exit 1; }
echo "== 发放载体：按乡镇和村统计发放到社保卡、其他银行卡、存折的人数（2026 年的清册；底册按现用指定账户）"
c report carriers --period 2026 --out "$work/reports/发放载体-2026.csv" 2>/dev/null | indent
c report carriers --period 2026 --json > "$work/carriers.json"
on_rosters=$(sqlite3 "$county/county.db" "SELECT count(DISTINCT l.resident_id) FROM roster_line l JOIN roster r ON r.id = l.roster_id WHERE r.status != 'rejected' AND r.period = '2026'")
registered=$(sqlite3 "$county/county.db" "SELECT count(*) FROM resident WHERE removed_at IS NULL")
python3 - "$work/carriers.json" "$on_rosters" "$registered" <<'PY' || { echo "错误：发放载体统计与县里的清册、底册人数不符" >&2; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
on, reg = int(sys.argv[2]), int(sys.argv[3])
assert sum(x["total"] for x in r["rosters"]) == on, (r, on)
assert sum(x["total"] for x in r["register"]) == reg, (r, reg)
assert sum(x["socialSecurityCard"] for x in r["register"]) > sum(x["otherCard"] + x["passbook"] for x in r["register"]), r   # the demo: most on the card
PY
for code in "${codes[@]}"; do
    for r in $(ykt_as clerk "$work/$code" roster list --json | json '" ".join(str(r["id"]) for r in d if r["status"]=="submitted")'); do
        ykt_as clerk "$work/$code" payment notice "$r" --date 2026-11-21 2>/dev/null | head -n 1 | indent || true
    done
done

echo "== 核对不变量"
db="$county/county.db"
q() { sqlite3 "$db" "$1"; }
[ "$(q "SELECT count(*) FROM (SELECT roster_id, line_no FROM payment WHERE status='paid' GROUP BY 1,2 HAVING count(*) > 1)")" = 0 ] \
    || { echo "错误：有清册行发放了两次" >&2; exit 1; }
[ "$(q "SELECT count(*) FROM roster r WHERE (SELECT coalesce(sum(amount_fen),0) FROM payment p WHERE p.roster_id=r.id AND p.status='paid') > r.total_fen")" = 0 ] \
    || { echo "错误：有清册已发放超过审定总额" >&2; exit 1; }
[ "$(q "SELECT count(*) FROM payment WHERE status='failed' AND returned_fen != amount_fen")" = 0 ] \
    || { echo "错误：有失败支付的退回资金未记到该行" >&2; exit 1; }
[ "$(q "SELECT count(*) FROM payment f WHERE f.status='failed' AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reissue_of=f.id)")" = 0 ] \
    || { echo "错误：有失败支付未补发" >&2; exit 1; }
[ "$(q "SELECT count(*) FROM batch WHERE status = 'created' OR file_placed_at IS NULL")" = 0 ] \
    || { echo "错误：有批次未发送或文件未放入 outbox" >&2; exit 1; }
[ "$(q "SELECT count(*) FROM (SELECT bank FROM batch GROUP BY bank HAVING max(file_seq) != count(*) OR min(file_seq) != 1)")" = 0 ] \
    || { echo "错误：代发银行的文件序号不连续" >&2; exit 1; }
c summary --json > "$work/summary.json"
python3 - "$work/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["outstanding"] == 0, s
assert s["paidFen"] == s["approvedFen"], s
assert s["reissued"] == s["failedPayments"] > 0, s
assert s["returnedFen"] == 0 and s["failedOpen"] == 0 and s["returnedTotalFen"] > 0, s   # 退回资金: none waits once all re-issued
PY
for code in "${codes[@]}"; do ykt_as admin "$work/$code" audit verify  >/dev/null; done
c audit verify >/dev/null
echo "   每个批次只发送一次、文件序号连续；每行至多发放一次；已发放不超过审定总额；退回资金记到行；失败的都已补发；全部发放；审计链完整"
echo "== 逐行追溯（申请→村评议→公示→清册→审核→审定→批次→结果→更正→补发）"
c audit trace | indent

kill -TERM "$serve_pid"; wait "$serve_pid" || true
trap - EXIT
echo
echo "== 发放全程汇总"
c summary | indent
