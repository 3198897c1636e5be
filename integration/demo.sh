#!/usr/bin/env bash
# The main job: builds ykt, makes a demo county (which publishes the working-day calendar and
# the policy list, taken by each township in a first sync), and runs three township nodes
# through a whole offline workday: import the register (GB18030, as WPS writes it) → applications → public
# village meeting → village notices → township notice (5 working days across National Day) →
# objection → close → roster → submit.
# Then a county node starts (`ykt serve`, mutual TLS on 127.0.0.1) and every township syncs
# (integration/sync.sh), and the county runs the money loop with the bank simulator: review,
# approval, bank files, failures, corrections, re-issue until all paid, reconciliation, and the
# invariants checked (integration/payments.sh). Everything happens in a temporary directory on this machine; it prints where the printed
# notices are and a summary, and exits 0 when all went as expected.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash "$root/.ci/setup" build >/dev/null

echo "== 构建 ykt"
swift build -c release --product ykt 2>&1 | tail -n 1
swift build -c release --product ykt-hostile 2>&1 | tail -n 1   # the refusal scenarios' client
ykt="$root/.build/release/ykt"

work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-demo.XXXXXX")
echo "== 工作目录 $work"
# Everyone logs in as themselves: passwords in 0600 files under $work/secrets (integration/operators.sh).
. "$root/integration/operators.sh" "$work"

echo "== 生成演示县（种子 2026；第一个乡镇的底册植入 2 个校验码错误和 1 个共用账户）"
"$ykt" demo generate --out "$work/data" --seed 2026 --townships 3 --villages 4 --people 30 \
    --defects checkdigit=2,shared-account=1 --encoding gb18030 >/dev/null

codes=$(tail -n +2 "$work/data/townships.csv" | cut -d, -f1)
for code in $codes; do
    name=$(grep "^$code," "$work/data/townships.csv" | cut -d, -f2)
    echo
    echo "== $name（$code）：建立节点"
    ykt_init "$work/$code" admin 乡镇管理员 --township "$code" --name "$name"
    township_operators "$work/$code"
done

# Working days are counted on the county's calendar only: the county publishes it (with the
# policy list) and each township takes it in a first sync before it opens notices offline.
echo
echo "== 县财政：建立节点，登记乡镇，发布工作日历和政策清单；各乡镇首次同步"
bash "$root/integration/county-setup.sh" "$ykt" "$work" $codes
. "$root/integration/serve-port.sh"
"$ykt" serve --node "$work/county" 2>"$work/serve0.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true' EXIT
port=$(serve_port "$work/county" "$serve_pid" "$work/serve0.log")
for code in $codes; do
    printf '   %s：' "$code"; "$ykt" sync --node "$work/$code" --county "127.0.0.1:$port"
    "$ykt" calendar show --node "$work/$code" | grep 县财政工作日历 | sed 's/^/     /'
done
kill -TERM "$serve_pid"
wait "$serve_pid"
trap - EXIT

notices=()
summaries=()
total_people=0
total_lines=0
total_fen=0
for code in $codes; do
    name=$(grep "^$code," "$work/data/townships.csv" | cut -d, -f2)
    node="$work/$code"
    clerk() { ykt_as clerk "$node" "$@"; }
    leader() { ykt_as leader "$node" "$@"; }
    echo
    echo "== $name（$code）：离线办理"
    # The demo plays a whole autumn in a few seconds: each step runs on its own day's clock
    # (YKT_CLOCK, allowed only on a node configured for demonstrations), so every date is
    # recorded on the day it happened and nothing is backdated.
    echo "clock_override = allowed" >> "$node/node.conf"
    export YKT_CLOCK=2026-09-20
    register="$work/data/$code-register.csv"
    if ! clerk beneficiary import "$register" 2>"$work/$code-import-errors.txt"; then
        echo "   底册有错误，整批未导入：$(grep -c '^  - ' "$work/$code-import-errors.txt") 处问题（见 $work/$code-import-errors.txt）"
        clerk beneficiary import "$register" --keep-good --rejects "$work/$code-rejects.csv"
    fi
    clerk application import "$work/data/$code-applications.csv"
    # 一人（户）一卡: 生态公益林补偿 (GY01) is paid per household (按户): only the head (户主) applies.
    member=$(clerk beneficiary list --json | python3 -c 'import json,sys; print(next(b["residentID"] for b in json.load(sys.stdin) if b["household"] and not b["head"]))')
    if clerk application add --id "$member" --program GY01 --period 2026 --quantity 2 2>"$work/$code-member.txt"; then
        echo "   错误：非户主申请了按户发放的项目" >&2; exit 1
    fi
    echo "   生态公益林补偿按户发放：户主申请 $(clerk application list --program GY01 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') 户；户内其他成员申请被拒绝（$(grep -o 'YKT-HOUSEHOLD-HEAD' "$work/$code-member.txt" | head -1)）"
    # Two notices (seed 004; docs/conventions.md「两级公示」). First each village: its
    # representative meeting evaluates (date, attendance, outcome), then it posts the proposed
    # beneficiaries for 5 working days.
    export YKT_CLOCK=2026-09-21
    village_notices=()
    while IFS= read -r village; do
        meeting=$(clerk meeting record --village "$village" --program GD01 --period 2026 --present 21 --expected 25 \
            --outcome "评议通过，同意列入拟补贴对象名单" --date 2026-09-21 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
        clerk notice open --meeting "$meeting" --place "${village}村务公开栏" --phone 0772-6812345 --date 2026-09-21
        village_notices+=($(clerk notice list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])'))
    done < <(clerk application list --program GD01 --period 2026 --status recorded --json \
             | python3 -c 'import json,sys; print("\n".join(sorted({a["village"] for a in json.load(sys.stdin)})))')
    # The township notice cannot come first: it lists only what the village notices cleared.
    if clerk notice open --program GD01 --period 2026 --place "镇政府公告栏" --phone 0772-6812345 --date 2026-09-21 2>"$work/$code-first.txt"; then
        echo "   错误：村级公示未结束就张贴了乡镇公示" >&2; exit 1
    fi
    echo "   村级公示未结束，乡镇公示被拒绝：$(grep -o 'YKT-NOTICE-EMPTY[^。]*' "$work/$code-first.txt")"
    export YKT_CLOCK=2026-09-29
    for v in "${village_notices[@]}"; do clerk notice close "$v" --date 2026-09-29; done
    paths=$(clerk notice print "${village_notices[0]}" --date 2026-09-29)
    notices+=($paths)
    # Then the township: the reviewed roster (审核后的发放清册) with the complaint phone.
    tn=$(YKT_CLOCK=2026-09-30 clerk notice open --program GD01 --period 2026 --place "镇政府公告栏、各村村务公开栏" --phone 0772-6812345 \
         --date 2026-09-30 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    echo "   已张贴乡镇公示 $tn（审核后的发放清册）"
    first=$(clerk notice show "$tn" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["applications"][0]["residentID"])')
    YKT_CLOCK=2026-10-09 clerk objection add --notice "$tn" --id "$first" --content "反映该户承包地已流转" --complainant 村民 --date 2026-10-09
    # Closing on the last day of the notice is refused and names the earliest date.
    export YKT_CLOCK=2026-10-12
    if clerk notice close "$tn" --date 2026-10-12 2>"$work/$code-early.txt"; then
        echo "   错误：公示未满 5 个工作日却结束了" >&2; exit 1
    fi
    echo "   提前结束被拒绝：$(grep -o '最早可于[^（]*' "$work/$code-early.txt")"
    objection=$(clerk objection list --notice "$tn" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
    clerk objection settle "$objection" --upheld --reason "经村委会核实属实，已流转给合作社" --date 2026-10-12
    export YKT_CLOCK=2026-10-13
    clerk notice close "$tn" --date 2026-10-13 --proof "$work/data/programs.csv"
    clerk notice list | sed 's/^/     /'
    paths=$(clerk notice print "$tn" --date 2026-10-13)
    notices+=($paths)
    clerk roster build --program GD01 --period 2026 >/dev/null
    clerk roster build --program TF01 --period 2026 >/dev/null 2>&1 || true
    # The summary table (汇总表) of the GD01 roster, signed on paper by the station head and the
    # township leader before the leader submits; the builder cannot submit it (YKT-ROSTER-SIGNERS).
    summary_paths=$(clerk roster summary 1 --date 2026-10-13)
    summaries+=($summary_paths)
    # The clerk builds; the leader signs the submission (乡镇审核) with their own password.
    if clerk roster submit 1 2>"$work/$code-clerk-submit.txt"; then echo "   错误：经办人报送了清册" >&2; exit 1; fi
    echo "   经办人不能报送：$(grep -o 'YKT-ROLE[^。]*' "$work/$code-clerk-submit.txt")"
    # 限时办理 (docs/conventions.md (p)): the last township's leader signs only on 2026-10-30,
    # after the 10 working days its review may take from the notice's close (due 2026-10-26);
    # its ykt status says so first.
    if [ "$code" = "$(echo "$codes" | tail -n 1)" ]; then
        export YKT_CLOCK=2026-10-30
        clerk status | grep -E '^限时办理|乡镇审核(逾期|即将到期)' | sed 's/^ *- *//; s/^/   /'
    fi
    for r in $(clerk roster list --json | python3 -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)))'); do
        leader roster submit "$r"
    done
    ykt_as admin "$node" audit verify
    people=$(clerk beneficiary list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    read -r lines fen < <(clerk roster list --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(x["lineCount"] for x in r), sum(x["totalFen"] for x in r))')
    total_people=$((total_people + people))
    total_lines=$((total_lines + lines))
    total_fen=$((total_fen + fen))
    echo "   待同步操作："
    clerk outbox list --summary | sed 's/^/     /'
    unset YKT_CLOCK
done

echo
bash "$root/integration/sync.sh" "$ykt" "$work" $codes
echo
bash "$root/integration/payments.sh" "$ykt" "$work" $codes

echo
echo "== 公开栏目：县财政发布公开站点和公众查询库（签名），任何人可校验"
ykt_as tou-su "$work/county" publish --out "$work/public" | sed 's/^/   /'
"$ykt" key show --node "$work/county" > "$work/county-public-key.txt"
"$ykt" publish verify "$work/public" --public-key "$work/county-public-key.txt" | sed 's/^/   /'
first_code=$(echo "$codes" | head -n 1)
ykt_as clerk "$work/$first_code" card print --out "$work/$first_code-明白卡.html" | sed 's/^/   /'

echo
echo "== 可打印的两级公示：各乡镇第一个村的村级拟补贴对象名单公示和乡镇审核后的发放清册公示（A4 HTML 和 CSV，身份证号已脱敏）"
for p in "${notices[@]}"; do echo "   $p"; done
echo
echo "== 汇总表（A4 HTML 和 CSV：按村汇总人数和金额、公示期间，职能站所负责人和乡镇主要负责人签字栏、盖章处；不列个人信息）"
for p in "${summaries[@]}"; do echo "   $p"; done
echo
echo "== 汇总"
printf '   乡镇 %s 个；底册 %s 人；已报送清册 %s 行，金额 %s.%02d 元；离线完成后已同步到县财政，县里汇总与各乡镇一致。\n' \
    "$(echo "$codes" | wc -w)" "$total_people" "$total_lines" "$((total_fen / 100))" "$((total_fen % 100))"
ykt_as shen-audit "$work/county" summary --json > "$work/summary.json"
python3 - "$work/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
fen = s["paidFen"]
print(f"   发放：补贴对象 {s['residents']} 人，清册明细 {s['rosterLines']} 行，已发放 {s['paidLines']} 行（{fen // 100}.{fen % 100:02d} 元），"
      f"失败 {s['failedPayments']} 笔，补发 {s['reissued']} 笔，未发放 {s['outstanding']} 行。")
PY
sed 's/^ */   /' "$work/reconcile.txt"
