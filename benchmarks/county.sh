#!/usr/bin/env bash
# County benchmarks (issue 4), each the whole `ykt` command on a county database filled with
# sqlite3 (valid GB 11643 IDs, one agency bank):
#   1. writing a 200,000-line instruction file (`ykt batch dispatch`)          target ≤ 1 s
#   2. validating and applying a 200,000-line result file (`ykt bank receive`) target ≤ 2 s
#   3. the warning rules over 1,000,000 beneficiaries and 4,000,000 roster lines
#      (`ykt warnings run`)                                                    target ≤ 3 s
#   benchmarks/county.sh [LINES] [RESIDENTS]      (defaults 200000 1000000; 4 lines per resident)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup >/dev/null
lines=${1:-200000}
residents=${2:-1000000}
swift build -c release --product ykt 2>&1 | tail -n 1
ykt="$root/.build/release/ykt"
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-countybench.XXXXXX")
[ -n "${KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

"$ykt" demo generate --out "$work/data" --seed 1 --townships 1 --villages 1 --people 1 >/dev/null
county="$work/county"
. "$root/integration/operators.sh" "$work"   # named operators, logged in (docs/operators.md)
ykt_init "$county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
ykt_add_operator liu "$county" zhi-pay 支付经办员 payments
ykt_as liu "$county" calendar publish "$root/data/cn-holidays.tsv" >/dev/null   # dispatch deadlines count on it
ykt_as liu "$county" policy publish "$work/data/programs.csv" >/dev/null
ykt_as liu "$county" bank add --code RCC --name 广西农村信用社 --folder "$work/bank" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费 >/dev/null
export YKT_SESSION=$(ykt_session zhi-pay "$county")   # the timed commands run as the payments clerk, already logged in

# The fill (benchmarks/county-fill.py): IDs with a birth date from 1950-01-01 on (1,000
# residents per day), a 3-digit sequence and the GB 11643 check digit.
python3 benchmarks/county-fill.py "$lines" "$residents" > "$work/fill.sql"
t0=$(now); sqlite3 "$county/county.db" < "$work/fill.sql" >/dev/null; t1=$(now)
echo "filled the county database in $(secs "$t0" "$t1") s: $residents residents, $((4 * residents)) roster lines, a batch of $lines payments"
# The fill leaves ~1 GB of dirty pages; flush them first, or the first command's fsync waits for
# the fill's write-back instead of measuring its own work.
sync

t0=$(now); "$ykt" batch dispatch --date 2026-11-16 --node "$county" >/dev/null; t1=$(now)
dispatch=$(secs "$t0" "$t1")
"$ykt" bank simulate --folder "$work/bank" --bank RCC --seed 3 --fail closed=0.02,frozen=0.01 --date 2026-11-17 >/dev/null
t0=$(now); "$ykt" bank receive --date 2026-11-18 --node "$county" >/dev/null; t1=$(now)
receive=$(secs "$t0" "$t1")
t0=$(now); "$ykt" warnings run --node "$county" > "$work/warnings.out"; t1=$(now)
warn=$(secs "$t0" "$t1")

printf 'instruction file, %d lines (ykt batch dispatch):          %s s  (target ≤ 1 s)\n' "$lines" "$dispatch"
printf 'result file, %d lines, validated and applied (ykt bank receive): %s s  (target ≤ 2 s)\n' "$lines" "$receive"
printf 'warning rules, %d beneficiaries, %d roster lines (ykt warnings run): %s s  (target ≤ 3 s)\n' "$residents" "$((4 * residents))" "$warn"
sed 's/^/    /' "$work/warnings.out"
