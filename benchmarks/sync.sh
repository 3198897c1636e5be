#!/usr/bin/env bash
# Sync benchmark (issues 3 and 19). Builds a township outbox of N beneficiary registrations
# (default 1,000,000; about 140 bytes of data each), starts the county (`ykt serve`, mutual TLS
# on 127.0.0.1) and times the push of the whole outbox to the last receipt, next to the floor:
# the sqlite3 CLI's `.import` of the same records as CSV into an equivalent table with the same
# unique index; and the schema floor: SQLite alone filling the county's own register schema
# (three indexes, ten commits), which no push can beat. The machine is shared and noisy, so the
# floors and the push run alternately, PAIRS
# times (default 3), each pair on fresh databases; each pair prints its ratio, the CPU seconds
# of each side and the county's CPU microseconds per operation, and the end prints the medians
# and the spread (min–max). Also the county's and the township's peak memory (largest of the pairs) and the time
# of a 10-operation `ykt sync` on a new connection (handshake included), best of 5 per pair,
# median over the pairs.
# Each timed run starts after a `sync`, so that the pages the run before left to write back do
# not slow it down (they made a floor run after a push up to 25 % slower).
# CACHE_MIB=N sets the county's page cache (`cache_mib`, default 128). YKT_BIN=PATH runs that
# ykt instead of building one.
#   PAIRS=5 benchmarks/sync.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
cd "$root"
bash .ci/setup >/dev/null
n=${1:-1000000}
if [ -n "${YKT_BIN:-}" ]; then
    ykt=$YKT_BIN   # a ready binary: no build (to alternate two builds of the code)
else
    swift build -c release --product ykt 2>&1 | tail -n 1
    ykt="$root/.build/release/ykt"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-syncbench.XXXXXX")
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
serve_pid=
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

villages=100
per=$(( (n + villages - 1) / villages ))
"$ykt" demo generate --out "$work/data" --seed 9 --townships 1 --villages $villages --people $per >/dev/null
reg="$work/data/450223101-register.csv"
tail -c +4 "$reg" > "$work/plain.csv"

pairs=${PAIRS:-3}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }

# Floor: the same records into one table with the county's indexes (resident unique, per-node op key).
floor_run() {
    rm -f "$work/floor.db"
    sqlite3 "$work/floor.db" "CREATE TABLE reg(name TEXT, resident_id TEXT NOT NULL UNIQUE, village TEXT, household TEXT,
        phone TEXT, bank TEXT, kind TEXT, account TEXT, confirmation TEXT, shared_reason TEXT, head TEXT);"
    local t0 t1
    sync; t0=$(now); sqlite3 "$work/floor.db" ".import --csv --skip 1 $work/plain.csv reg"; t1=$(now)
    secs "$t0" "$t1"
}

# The schema floor: what SQLite alone needs to put the same rows into the county's register as
# the county keeps it (its columns, the unique ID and its two other indexes, 32 KiB pages, WAL,
# synchronous=FULL, a 128 MiB cache), in ten commits as the push makes about ten: no TLS, no
# parsing, no checks, no decisions, no evidence. Read from a table staged beforehand, untimed.
sqlite3 "$work/stage.db" "CREATE TABLE reg(name TEXT, resident_id TEXT NOT NULL, village TEXT, household TEXT,
    phone TEXT, bank TEXT, kind TEXT, account TEXT, confirmation TEXT, shared_reason TEXT, head TEXT);" \
    ".import --csv --skip 1 $work/plain.csv reg"
schema_floor_run() {
    rm -f "$work/schema.db" "$work/schema.db-wal" "$work/schema.db-shm"
    sqlite3 "$work/schema.db" "PRAGMA page_size=32768; PRAGMA journal_mode=WAL;" "
        CREATE TABLE resident(resident_id TEXT NOT NULL UNIQUE, node_id TEXT NOT NULL, name TEXT NOT NULL, bank TEXT NOT NULL,
            account_kind TEXT NOT NULL, account_number TEXT NOT NULL, household TEXT NOT NULL, head INTEGER NOT NULL,
            removed_at TEXT, removed_reason TEXT);
        CREATE INDEX resident_household ON resident(household, node_id) WHERE household <> '';
        CREATE INDEX resident_account ON resident(account_number) WHERE account_number <> '';" >/dev/null
    local chunk=$(( (n + 9) / 10 )) k t0 t1
    {
        echo "PRAGMA cache_size=-131072; PRAGMA synchronous=FULL; ATTACH '$work/stage.db' AS s;"
        for k in $(seq 0 9); do
            echo "INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number, household, head)
                  SELECT resident_id, '450223101', name, bank, kind, account, household, head = '是' FROM s.reg
                  WHERE rowid > $((k * chunk)) AND rowid <= $(((k + 1) * chunk));"
        done
    } > "$work/schema.sql"
    sync; t0=$(now); sqlite3 "$work/schema.db" < "$work/schema.sql" >/dev/null; t1=$(now)
    local rows; rows=$(sqlite3 "$work/schema.db" "SELECT count(*) FROM resident")
    [ "$rows" = "$n" ] || { echo "schema floor: $rows rows, not $n" >&2; exit 1; }
    secs "$t0" "$t1"
}

bash certs/make-dev-pki.sh "$work/pki" 450223101 >/dev/null
. "$root/integration/operators.sh" "$work"   # named operators, logged in (docs/operators.md)
. "$root/benchmarks/push-nodes.sh" "$work"

push_run() {
    local pair=$1
    push_nodes "$reg"
    clerk_session=$(ykt_session clerk "$work/t")
    ops=$(sqlite3 "$work/t/township.db" "SELECT count(*) FROM outbox")

    "$ykt" serve --node "$work/county" 2>"$work/serve.log" &
    serve_pid=$!
    port=$(serve_port "$work/county" "$serve_pid" "$work/serve.log")
    [ -n "${PERF_OUT:-}" ] && { perf record -g -o "$PERF_OUT" -p "$serve_pid" 2>/dev/null & perf_pid=$!; sleep 0.5; }
    cpu0=$(awk "{print \$14+\$15}" /proc/$serve_pid/stat)
    sync; t0=$(now); ${TOWN_PERF:+perf record -g -o $TOWN_PERF} /usr/bin/time -f "township: %U user %S sys %e wall %M KB" -o "$work/township.time" "$ykt" sync --node "$work/t" --county "127.0.0.1:$port" > "$work/sync.out"; t1=$(now)
    cpu1=$(awk "{print \$14+\$15}" /proc/$serve_pid/stat)
    [ -n "${PERF_OUT:-}" ] && { kill -INT $perf_pid; wait $perf_pid || true; }
    push=$(secs "$t0" "$t1")

    # 10 operations on a new connection, best of 5 (the whole `ykt sync` command).
    best=
    id=$(YKT_SESSION=$clerk_session "$ykt" beneficiary list --json --node "$work/t" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["residentID"])')
    for round in 1 2 3 4 5; do
        for i in $(seq 10); do YKT_SESSION=$clerk_session "$ykt" beneficiary edit "$id" --phone "139$(printf %04d%04d "$round" "$i")" --node "$work/t" >/dev/null; done
        # Timed with bash's own clock ($EPOCHREALTIME, microseconds): $(date …) forks a process of
        # its own at each end, which added 1.5–2.5 ms to a 20 ms command on this machine.
        t0=${EPOCHREALTIME/[.,]/}; "$ykt" sync --node "$work/t" --county "127.0.0.1:$port" >/dev/null; t1=${EPOCHREALTIME/[.,]/}
        ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e3 }')
        best=$(printf '%s\n%s\n' "${best:-$ms}" "$ms" | sort -n | head -n 1)
    done
    rss_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$serve_pid/status")   # peak resident set of ykt serve
    kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=

    county_cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", (b - a) / 100 }')
    town_cpu=$(awk '{ printf "%.2f", $2 + $4 }' "$work/township.time")
    town_mb=$(awk '{ printf "%d", $8 / 1024 }' "$work/township.time")   # peak resident set of ykt sync
    ratio=$(awk -v a="$push" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')
    us=$(awk -v c="$county_cpu" -v n="$ops" 'BEGIN { printf "%.1f", c * 1e6 / n }')
    schema_ratio=$(awk -v a="$push" -v b="$schema" 'BEGIN { printf "%.2f", a / b }')
    echo "$floor $push $ratio $county_cpu $town_cpu $us $((rss_kb / 1024)) $best $schema $schema_ratio $town_mb" >> "$work/pairs.txt"
    printf 'pair %d: floor %s s, push %s s, %s×; schema floor %s s (push %s×); CPU county %s s (%s µs/op), township %s s; peak county %d MB, township %s MB; 10-op sync %s ms\n' \
        "$pair" "$floor" "$push" "$ratio" "$schema" "$schema_ratio" "$county_cpu" "$us" "$town_cpu" "$((rss_kb / 1024))" "$town_mb" "$best"
}

: > "$work/pairs.txt"
for pair in $(seq "$pairs"); do
    floor=$(floor_run)
    schema=$(schema_floor_run)
    push_run "$pair"
done
col() { awk -v c="$1" '{ print $c }' "$work/pairs.txt"; }
printf 'operations pushed:           %d  (%s)\n' "$ops" "$(head -n 1 "$work/sync.out")"
printf 'pairs (floor, then push):    %d\n' "$pairs"
printf 'sqlite3 .import (floor):     median %s s  (%s)\n' "$(col 1 | median)" "$(col 1 | spread)"
printf 'push to last receipt:        median %s s  (%s)\n' "$(col 2 | median)" "$(col 2 | spread)"
printf 'ratio push / floor:          median %s×  (%s)\n' "$(col 3 | median)" "$(col 3 | spread)"
printf 'schema floor (SQLite alone): median %s s  (%s); push / schema floor: median %s×  (%s)\n' "$(col 9 | median)" "$(col 9 | spread)" "$(col 10 | median)" "$(col 10 | spread)"
printf 'county CPU during the push:  median %s s  (%s), %s µs per operation (%s)\n' "$(col 4 | median)" "$(col 4 | spread)" "$(col 6 | median)" "$(col 6 | spread)"
printf 'township CPU:                median %s s  (%s)\n' "$(col 5 | median)" "$(col 5 | spread)"
printf 'county peak memory:          %s MB (largest of the pairs)\n' "$(col 7 | sort -n | tail -n 1)"
printf 'township peak memory:        %s MB (largest of the pairs; the push)\n' "$(col 11 | sort -n | tail -n 1)"
printf '10-operation sync, new TLS connection, whole command: median %s ms of the pairs'"'"' best-of-5 (%s)\n' "$(col 8 | median)" "$(col 8 | spread)"
