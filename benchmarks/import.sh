#!/usr/bin/env bash
# Import benchmark (issue: township foundation). Generates a register of N beneficiaries
# (default 100,000) with the seeded demo generator, then in the same run times
#   1. the sqlite3 CLI's `.import` of the same CSV into a table of the same shape
#      (same columns, UNIQUE resident ID, index on the account number): the floor;
#   2. `ykt beneficiary import` into a new township node (release build): full validation
#      of every line, register + account + one outbound operation per person + audit,
#      all in one transaction.
# Prints the figures and the ratio. Targets: ykt ≤ 3 s and ≤ 2 × the sqlite3 floor.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup >/dev/null
n=${1:-100000}
runs=${RUNS:-3}
swift build -c release --product ykt 2>&1 | tail -n 1
ykt="$root/.build/release/ykt"
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
best() { sort -n | head -n 1; }

floor=$(for i in $(seq "$runs"); do
    rm -f "$work/floor.db"
    sqlite3 "$work/floor.db" "CREATE TABLE reg(name TEXT, resident_id TEXT NOT NULL UNIQUE, village TEXT, household TEXT,
        phone TEXT, bank TEXT, kind TEXT, account TEXT, confirmation TEXT, shared_reason TEXT);
        CREATE INDEX reg_account ON reg(account);"
    t0=$(now)
    sqlite3 "$work/floor.db" ".import --csv --skip 1 $work/plain.csv reg"
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
done | best)

ours=$(for i in $(seq "$runs"); do
    rm -rf "$work/node"
    ykt_init "$work/node" admin 乡镇管理员 --township 450223101 --name 寨沙镇 >/dev/null
    ykt_add_operator admin "$work/node" clerk 乡镇经办员 clerk
    session=$(ykt_session clerk "$work/node")   # logged in before the clock starts
    t0=$(now)
    YKT_NODE="$work/node" YKT_SESSION=$session "$ykt" beneficiary import "$csv" >/dev/null
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
done | best)

imported=$(sqlite3 "$work/node/township.db" "SELECT count(*) FROM beneficiary")
ops=$(sqlite3 "$work/node/township.db" "SELECT count(*) FROM outbox")
printf 'rows in file:            %d\n' "$rows"
printf 'sqlite3 .import (floor): %.3f s\n' "$floor"
printf 'ykt beneficiary import:  %.3f s  (%d beneficiaries, %d operations)\n' "$ours" "$imported" "$ops"
printf 'ratio ykt / floor:       %.2f×   (best of %d runs each)\n' "$(awk -v a="$ours" -v b="$floor" 'BEGIN { print a / b }')" "$runs"
