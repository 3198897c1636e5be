#!/usr/bin/env bash
# Sync benchmark (issue 3). Builds a township outbox of N beneficiary registrations (default
# 1,000,000; about 140 bytes of data each), starts the county (`ykt serve`, mutual TLS on
# 127.0.0.1) and times the push of the whole outbox to the last receipt, next to the floor:
# the sqlite3 CLI's `.import` of the same records as CSV into an equivalent table with the same
# indexes, in the same run. Also reports the county's peak memory and the time of a
# 10-operation sync on a new connection (handshake included), best of 5.
#   benchmarks/sync.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
cd "$root"
bash .ci/setup >/dev/null
n=${1:-1000000}
swift build -c release --product ykt 2>&1 | tail -n 1
ykt="$root/.build/release/ykt"
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

# Floor: the same records into one table with the county's indexes (resident unique, per-node op key).
sqlite3 "$work/floor.db" "CREATE TABLE reg(name TEXT, resident_id TEXT NOT NULL UNIQUE, village TEXT, household TEXT,
    phone TEXT, bank TEXT, kind TEXT, account TEXT, confirmation TEXT, shared_reason TEXT);"
t0=$(now); sqlite3 "$work/floor.db" ".import --csv --skip 1 $work/plain.csv reg"; t1=$(now)
floor=$(secs "$t0" "$t1")

bash certs/make-dev-pki.sh "$work/pki" 450223101 >/dev/null
. "$root/integration/operators.sh" "$work"   # named operators, logged in (docs/operators.md)
ykt_init "$work/county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\nlisten = 127.0.0.1:0\n' "$work/pki/county.crt" "$work/pki/county.key" "$work/pki/ca.crt" >> "$work/county/node.conf"
ykt_init "$work/t" admin 乡镇管理员 --township 450223101 --name 寨沙镇 >/dev/null
ykt_add_operator admin "$work/t" clerk 乡镇经办员 clerk
ck=$("$ykt" key show --json --node "$work/county" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
tk=$("$ykt" key show --json --node "$work/t" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ncounty_public_key = %s\n' \
    "$work/pki/450223101.crt" "$work/pki/450223101.key" "$work/pki/ca.crt" "$ck" >> "$work/t/node.conf"
ykt_as liu "$work/county" township enrol --township 450223101 --name 寨沙镇 --public-key "$tk" >/dev/null
ykt_as clerk "$work/t" beneficiary import "$reg" >/dev/null
clerk_session=$(ykt_session clerk "$work/t")
ops=$(sqlite3 "$work/t/township.db" "SELECT count(*) FROM outbox")

"$ykt" serve --node "$work/county" 2>"$work/serve.log" &
serve_pid=$!
port=$(serve_port "$work/county" "$serve_pid" "$work/serve.log")
[ -n "${PERF_OUT:-}" ] && { perf record -g -o "$PERF_OUT" -p "$serve_pid" 2>/dev/null & perf_pid=$!; sleep 0.5; }
cpu0=$(awk "{print \$14+\$15}" /proc/$serve_pid/stat)
t0=$(now); ${TOWN_PERF:+perf record -g -o $TOWN_PERF} /usr/bin/time -f "township: %U user %S sys %e wall %M KB" -o "$work/township.time" "$ykt" sync --node "$work/t" --county "127.0.0.1:$port" > "$work/sync.out"; t1=$(now)
cpu1=$(awk "{print \$14+\$15}" /proc/$serve_pid/stat)
[ -n "${PERF_OUT:-}" ] && { kill -INT $perf_pid; wait $perf_pid || true; }
push=$(secs "$t0" "$t1")

# 10 operations on a new connection, best of 5 (the whole `ykt sync` command).
best=
id=$(YKT_SESSION=$clerk_session "$ykt" beneficiary list --json --node "$work/t" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["residentID"])')
for round in 1 2 3 4 5; do
    for i in $(seq 10); do YKT_SESSION=$clerk_session "$ykt" beneficiary edit "$id" --household "r$round-$i" --node "$work/t" >/dev/null; done
    t0=$(now); "$ykt" sync --node "$work/t" --county "127.0.0.1:$port" >/dev/null; t1=$(now)
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
    best=$(printf '%s\n%s\n' "${best:-$ms}" "$ms" | sort -n | head -n 1)
done
rss_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$serve_pid/status")   # peak resident set of ykt serve
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=

printf 'operations pushed:           %d  (%s)\n' "$ops" "$(cat "$work/sync.out" | head -n 1)"
printf 'sqlite3 .import (floor):     %s s\n' "$floor"
printf 'push to last receipt:        %s s  (%.2f× the floor)\n' "$push" "$(awk -v a="$push" -v b="$floor" 'BEGIN { print a / b }')"
printf 'county peak memory:          %d MB\n' "$((rss_kb / 1024))"
printf '10-operation sync, new TLS connection, whole command: %s ms (best of 5)\n' "$best"
printf 'CPU during the push:         county %s s, %s\n' "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", (b - a) / 100 }')" "$(cat "$work/township.time")"
