#!/usr/bin/env bash
# County benchmarks (issue 4), each the whole `ykt` command on a county database filled with
# sqlite3 (valid GB 11643 IDs, one agency bank):
#   1. writing a 200,000-line instruction file (`ykt batch dispatch`)          target ≤ 1 s
#   2. validating and applying a 200,000-line result file (`ykt bank receive`) target ≤ 2 s
#   3. the warning rules over 1,000,000 beneficiaries and 4,000,000 roster lines
#      (`ykt warnings run`)                                                    target ≤ 3 s
#   benchmarks/county.sh [LINES] [RESIDENTS]      (defaults 200000 1000000; 4 lines per resident)
#
# HISTORY_YEARS=N (N > 0; issue 21) measures two counties in one run and prints each figure
# side by side: the default one above (its rosters with their approval date) and one with the
# same residents and N years of rosters, paid (benchmarks/county-fill.py --years N: about 4
# lines per resident per year). On each: the three figures above (the warning rules as a full
# run, `ykt warnings run --full`), then an incremental run (`ykt warnings run` after one new
# approved roster of LINES lines, target ≤ 1 s), the monthly report and the reconciliation of
# the month the batch was paid (≤ 2 s each) and one resident's query (median of 20, ≤ 50 ms).
#   HISTORY_YEARS=4 benchmarks/county.sh 200000 1000000
# YKT_BIN=PATH runs that ykt instead of building one (`swift build -c release`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup >/dev/null
lines=${1:-200000}
residents=${2:-1000000}
years=${HISTORY_YEARS:-0}
case $years in ''|*[!0-9]*) echo "HISTORY_YEARS must be a whole number of years (0: the default county only), not '$years'" >&2; exit 2;; esac
if [ -n "${YKT_BIN:-}" ]; then
    ykt=$YKT_BIN   # a ready binary (or a wrapper): no build
else
    swift build -c release --product ykt 2>&1 | tail -n 1
    ykt="$root/.build/release/ykt"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-countybench.XXXXXX")
[ -n "${KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

"$ykt" demo generate --out "$work/data" --seed 1 --townships 1 --villages 1 --people 1 >/dev/null
. "$root/integration/operators.sh" "$work"   # named operators, logged in (docs/operators.md)

# county_node NODE BANK_FOLDER: a county with its calendar, the policy list, agency bank RCC and
# a payments clerk (zhi-pay).
county_node() {
    ykt_init "$1" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
    ykt_add_operator liu "$1" zhi-pay 支付经办员 payments
    ykt_as liu "$1" calendar publish "$root/data/cn-holidays.tsv" >/dev/null   # dispatch deadlines count on it
    ykt_as liu "$1" policy publish "$work/data/programs.csv" >/dev/null
    ykt_as liu "$1" bank add --code RCC --name 广西农村信用社 --folder "$2" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费 >/dev/null
}

if [ "$years" -eq 0 ]; then
    county="$work/county"
    county_node "$county" "$work/bank"
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
    exit 0
fi

# ---- HISTORY_YEARS=N: the default county and the history county, figure by figure ----

declare -A fig      # fig[SIDE.FIGURE] = the measured value, for the table at the end
indent() { sed 's/^/    /'; }
# median of the numbers on standard input
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure SIDE FILL_OPTIONS...: a county named SIDE, filled by county-fill.py FILL_OPTIONS LINES
# RESIDENTS, then every figure timed on it.
measure() {
    local side=$1; shift
    local county="$work/$side" bank="$work/$side-bank" out="$work/$side-out"
    mkdir -p "$out"
    county_node "$county" "$bank"
    ykt_add_operator liu "$county" xu-ts 投诉受理员 complaints   # `ykt query` is the complaints desk's
    local pay ts
    pay=$(ykt_session zhi-pay "$county")
    ts=$(ykt_session xu-ts "$county")

    python3 benchmarks/county-fill.py "$@" "$lines" "$residents" > "$out/fill.sql" 2> "$out/fill.txt"
    local t0 t1 rosterlines
    t0=$(now); sqlite3 "$county/county.db" < "$out/fill.sql" >/dev/null; t1=$(now)
    fig[$side.fill]=$(secs "$t0" "$t1")
    rosterlines=$(sqlite3 "$county/county.db" "SELECT sum(line_count) FROM roster")
    fig[$side.size]="$residents residents, $rosterlines roster lines in $(sqlite3 "$county/county.db" "SELECT count(*) FROM roster") rosters, $(sqlite3 "$county/county.db" "SELECT count(*) FROM payment") payments"
    echo "== $side: ${fig[$side.size]}"
    [ -s "$out/fill.txt" ] && indent < "$out/fill.txt"
    echo "filled in ${fig[$side.fill]} s ($(du -m "$county/county.db" | cut -f1) MB)"
    sync   # flush the fill's dirty pages first (see above)

    export YKT_SESSION=$pay   # the timed commands run as the payments clerk, already logged in
    t0=$(now); "$ykt" batch dispatch --date 2026-11-16 --node "$county" >/dev/null; t1=$(now)
    fig[$side.dispatch]=$(secs "$t0" "$t1")
    printf 'instruction file, %d lines (ykt batch dispatch): %s s  (target ≤ 1 s)\n' "$lines" "${fig[$side.dispatch]}"
    "$ykt" bank simulate --folder "$bank" --bank RCC --seed 3 --fail closed=0.02,frozen=0.01 --date 2026-11-17 >/dev/null
    t0=$(now); "$ykt" bank receive --date 2026-11-18 --node "$county" >/dev/null; t1=$(now)
    fig[$side.receive]=$(secs "$t0" "$t1")
    printf 'result file, %d lines, validated and applied (ykt bank receive): %s s  (target %s)\n' "$lines" "${fig[$side.receive]}" \
        "$([ "$side" = default ] && echo '≤ 1.5 s' || echo '≤ 2 s')"

    t0=$(now); "$ykt" warnings run --full --node "$county" > "$out/warnings-full.out"; t1=$(now)
    fig[$side.full]=$(secs "$t0" "$t1")
    printf 'warning rules, full run over %d roster lines (ykt warnings run --full): %s s  (target ≤ 3 s)\n' "$rosterlines" "${fig[$side.full]}"
    indent < "$out/warnings-full.out"

    # One new approved roster after the full run, as a township's sync brings one: GD01 of 2027
    # (a period neither county has yet; approved 2026-12-01, after the month reported below),
    # LINES lines for the first LINES residents at their designated accounts; line 3 is paid to
    # the 5th resident's account (一卡多人), and the fill's deceased (7th resident) and official
    # (9th) are on it.
    local id
    id=$(sqlite3 "$county/county.db" "SELECT max(id) + 1 FROM roster")
    sqlite3 "$county/county.db" >/dev/null <<SQL
BEGIN;
INSERT INTO roster(id, node_id, entity, program, period, line_count, total_fen, received_at, status, reviewed_by, reviewed_at,
    approved_by, approved_at)
  VALUES ($id, '450223101', 'roster/450223101/GD01/2027/1', 'GD01', '2027', $lines, $lines * 22470, '2026-11-26T10:00:00+08:00',
    'approved', 'bench', '2026-11-30T10:00:00+08:00', 'bench', '2026-12-01T10:00:00+08:00');
INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
  SELECT $id, rowid, resident_id, name, '大塘村', bank, account_kind, account_number, '2', 22470 FROM resident WHERE rowid <= $lines;
UPDATE roster_line SET account_number = (SELECT account_number FROM resident WHERE rowid = 5) WHERE roster_id = $id AND line_no = 3;
UPDATE roster SET max_amount_fen = 22470, checked_standard_fen = 11235 WHERE id = $id;   -- as kept at receipt (2 亩 × 112.35)
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
    sync
    t0=$(now); "$ykt" warnings run --node "$county" > "$out/warnings-new.out"; t1=$(now)
    fig[$side.incremental]=$(secs "$t0" "$t1")
    printf 'warning rules, incremental run after roster %d (GD01 2027, %d lines) (ykt warnings run): %s s  (target ≤ 1 s)\n' \
        "$id" "$lines" "${fig[$side.incremental]}"
    indent < "$out/warnings-new.out"

    # The month the batch was paid (the bank's result date, 2026-11-17).
    t0=$(now); "$ykt" report monthly --month 2026-11 --out "$out/reports" --date 2026-11-30 --node "$county" > "$out/report.out"; t1=$(now)
    fig[$side.report]=$(secs "$t0" "$t1")
    printf 'monthly report 2026-11 (ykt report monthly): %s s  (target ≤ 2 s)\n' "${fig[$side.report]}"
    # The bank's statement of the month, from the simulated bank's ledger (`ykt bank statement`).
    "$ykt" bank statement --folder "$bank" --bank RCC --from 2026-11-01 --to 2026-11-30 --out "$out/statement.txt" >/dev/null
    local rc=0
    t0=$(now); "$ykt" reconcile --statement "$out/statement.txt" --month 2026-11 --out "$out/reports" --node "$county" > "$out/reconcile.out" 2> "$out/reconcile.err" || rc=$?; t1=$(now)
    fig[$side.reconcile]=$(secs "$t0" "$t1")
    printf 'reconciliation with RCC, 2026-11 (ykt reconcile): %s s  (target ≤ 2 s; exit %d)\n' "${fig[$side.reconcile]}" "$rc"
    grep '^对账结果' "$out/reconcile.out" | indent || true

    # One resident's query (the 37th: YL01 every month, GY01 as a household head, in the batch),
    # as the complaints desk, 20 times.
    local rid i ms=()
    rid=$(sqlite3 "$county/county.db" "SELECT resident_id FROM resident WHERE rowid = 37")
    export YKT_SESSION=$ts
    "$ykt" query --id "$rid" --name 韦秀英 --node "$county" > "$out/query.out"
    for i in $(seq 20); do
        t0=$(now); "$ykt" query --id "$rid" --name 韦秀英 --node "$county" >/dev/null; t1=$(now)
        ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')")
    done
    fig[$side.query]=$(printf '%s\n' "${ms[@]}" | median)
    printf 'query, one resident with %d lines (ykt query), median of 20: %s ms (min %s, max %s)  (target ≤ 50 ms)\n' \
        "$(tail -n +4 "$out/query.out" | wc -l)" "${fig[$side.query]}" \
        "$(printf '%s\n' "${ms[@]}" | sort -n | head -n 1)" "$(printf '%s\n' "${ms[@]}" | sort -n | tail -n 1)"
    echo
}

measure default --dated
measure history --years "$years"

echo "| figure | default | history ($years years) | target |"
echo "| --- | --- | --- | --- |"
echo "| county | ${fig[default.size]} | ${fig[history.size]} | |"
echo "| fill (sqlite3, journal off) | ${fig[default.fill]} s | ${fig[history.fill]} s | |"
echo "| \`ykt batch dispatch\`, $lines lines | ${fig[default.dispatch]} s | ${fig[history.dispatch]} s | ≤ 1 s |"
echo "| \`ykt bank receive\`, $lines lines | ${fig[default.receive]} s | ${fig[history.receive]} s | ≤ 1.5 s / ≤ 2 s |"
echo "| \`ykt warnings run --full\` | ${fig[default.full]} s | ${fig[history.full]} s | ≤ 3 s |"
echo "| \`ykt warnings run\` after a new $lines-line roster | ${fig[default.incremental]} s | ${fig[history.incremental]} s | ≤ 1 s |"
echo "| \`ykt report monthly\` 2026-11 | ${fig[default.report]} s | ${fig[history.report]} s | ≤ 2 s |"
echo "| \`ykt reconcile\` 2026-11 | ${fig[default.reconcile]} s | ${fig[history.reconcile]} s | ≤ 2 s |"
echo "| \`ykt query\`, median of 20 | ${fig[default.query]} ms | ${fig[history.query]} ms | ≤ 50 ms |"
