#!/usr/bin/env bash
# Import benchmark (issue: township foundation). Generates a register of N beneficiaries
# (default 100,000) with the seeded demo generator, then in the same run times
#   1. the sqlite3 CLI's `.import` of the same CSV into a table of the same shape
#      (same columns, UNIQUE resident ID, index on the account number): the floor;
#   2. `ykt beneficiary import` into a new township node (release build): full validation
#      of every line, register + account + one outbound operation per person + audit,
#      all in one transaction.
# The machine is shared and noisy, so the two run alternately, PAIRS times (default 3; RUNS is
# the old name): each pair prints its ratio, and the end prints the medians and the spread
# (min–max). Targets: ykt ≤ 3 s and a median ratio ≤ 1.2 × the sqlite3 floor (issue 19).
# Each timed run starts after a `sync` (the run before leaves pages to write back). At the end,
# the seconds and peak memory of listing the imported register (`ykt beneficiary list`).
# YKT_BIN=PATH runs that ykt instead of building one.
#   PAIRS=5 benchmarks/import.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup >/dev/null
n=${1:-100000}
pairs=${PAIRS:-${RUNS:-3}}
if [ -n "${YKT_BIN:-}" ]; then
    ykt=$YKT_BIN   # a ready binary: no build (to alternate two builds of the code)
else
    swift build -c release --product ykt 2>&1 | tail -n 1
    ykt="$root/.build/release/ykt"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-bench.XXXXXX")
. "$root/integration/operators.sh" "$work"   # named operators, logged in (docs/operators.md)
trap 'rm -rf "$work"' EXIT

villages=40
per=$(( (n + villages - 1) / villages ))
"$ykt" demo generate --out "$work/data" --seed 42 --townships 1 --villages $villages --people $per >/dev/null
csv="$work/data/450223101-register.csv"
# sqlite3 does not skip a BOM: give it the same bytes without one.
tail -c +4 "$csv" > "$work/plain.csv"
rows=$(($(wc -l < "$work/plain.csv") - 1))

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }

floor_run() {
    rm -f "$work/floor.db"
    sqlite3 "$work/floor.db" "CREATE TABLE reg(name TEXT, resident_id TEXT NOT NULL UNIQUE, village TEXT, household TEXT,
        phone TEXT, bank TEXT, kind TEXT, account TEXT, confirmation TEXT, shared_reason TEXT, head TEXT);
        CREATE INDEX reg_account ON reg(account);"
    local t0 t1
    sync; t0=$(now)
    sqlite3 "$work/floor.db" ".import --csv --skip 1 $work/plain.csv reg"
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

ours_run() {
    rm -rf "$work/node"
    ykt_init "$work/node" admin 乡镇管理员 --township 450223101 --name 寨沙镇 >/dev/null
    ykt_add_operator admin "$work/node" clerk 乡镇经办员 clerk
    local session t0 t1
    session=$(ykt_session clerk "$work/node")   # logged in before the clock starts
    sync; t0=$(now)
    YKT_NODE="$work/node" YKT_SESSION=$session "$ykt" beneficiary import "$csv" >/dev/null
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

: > "$work/pairs.txt"
for pair in $(seq "$pairs"); do
    f=$(floor_run)
    o=$(ours_run)
    r=$(awk -v a="$o" -v b="$f" 'BEGIN { printf "%.2f", a / b }')
    echo "$f $o $r" >> "$work/pairs.txt"
    printf 'pair %d: floor %.3f s, ykt %.3f s, %s×\n' "$pair" "$f" "$o" "$r"
done
col() { awk -v c="$1" '{ print $c }' "$work/pairs.txt"; }

imported=$(sqlite3 "$work/node/township.db" "SELECT count(*) FROM beneficiary")
ops=$(sqlite3 "$work/node/township.db" "SELECT count(*) FROM outbox")
printf 'rows in file:            %d\n' "$rows"
printf 'sqlite3 .import (floor): median %s s  (%s)\n' "$(col 1 | median)" "$(col 1 | spread)"
printf 'ykt beneficiary import:  median %s s  (%s)  (%d beneficiaries, %d operations)\n' "$(col 2 | median)" "$(col 2 | spread)" "$imported" "$ops"
printf 'ratio ykt / floor:       median %s×  (%s)  (%d pairs, run alternately)\n' "$(col 3 | median)" "$(col 3 | spread)" "$pairs"

# Listing the imported register (read one person at a time; issue 19's notes): seconds and peak
# memory of the table and of the JSON.
session=$(ykt_session clerk "$work/node")
for form in table json; do
    YKT_NODE="$work/node" YKT_SESSION=$session /usr/bin/time -f "%e %M" -o "$work/list.time" \
        "$ykt" beneficiary list $([ $form = json ] && echo --json) >/dev/null
    read -r secs kb < "$work/list.time"
    printf 'ykt beneficiary list (%s): %s s, peak %d MB\n' "$form" "$secs" $((kb / 1024))
done
