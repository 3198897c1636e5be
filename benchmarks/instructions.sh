#!/usr/bin/env bash
# Instruction counts (issue 19): figures that do not move with the machine's load. Runs, under
# valgrind's callgrind (one count per thread),
#   1. the county (`ykt serve`) while a township pushes N beneficiary registrations (default
#      20,000) over mutual TLS: instructions per registration in the county's whole process and
#      in applying the change sets (`CountyNode.apply`, the writing thread's part);
#   2. `ykt beneficiary import` of a register of N lines: instructions per line in the whole
#      process and on the writing thread (the main one; the checking runs beside it).
# The same binary gives the same counts to within a fraction of a percent, where the clock of
# this shared machine moves by 15 % between runs: use it to compare two builds (YKT_BIN=PATH
# runs that ykt instead of building one). The seconds stay with benchmarks/sync.sh and
# benchmarks/import.sh. Under valgrind OpenSSL runs its portable SHA-256 and AES (not SHA-NI and
# AES-NI), so the county's whole-process count weighs hashing and TLS more than the machine
# does; the applying count has no hashing in it.
#   bash benchmarks/instructions.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
cd "$root"
bash .ci/setup build >/dev/null
if ! command -v valgrind >/dev/null 2>&1 || ! command -v callgrind_annotate >/dev/null 2>&1; then
    echo "installing: valgrind (for this benchmark only)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; fi
fi
n=${1:-20000}
if [ -n "${YKT_BIN:-}" ]; then
    ykt=$YKT_BIN
else
    swift build -c release --product ykt 2>&1 | tail -n 1
    ykt="$root/.build/release/ykt"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-instr.XXXXXX")
serve_pid=
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
villages=20
"$ykt" demo generate --out "$work/data" --seed 9 --townships 1 --villages $villages --people $(( (n + villages - 1) / villages )) >/dev/null
reg="$work/data/450223101-register.csv"
rows=$(( $(wc -l < "$reg") - 1 ))
. "$root/integration/operators.sh" "$work"

# summary THREAD_FILES...: the instructions counted in those files.
summary() { cat "$@" | awk '/^summary:/ { s += $2 } END { printf "%.0f", s }'; }
# inclusive SYMBOL FILES...: the instructions spent in SYMBOL and what it called, over the files.
inclusive() {
    local symbol=$1 f total=0 v; shift
    for f in "$@"; do
        v=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | grep -F "$symbol" | head -n 1 | awk '{ gsub(",", "", $1); print $1 }')
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }

# 1. The push, the county counted.
bash certs/make-dev-pki.sh "$work/pki" 450223101 >/dev/null
. "$root/benchmarks/push-nodes.sh" "$work"
push_nodes "$reg"
mkdir "$work/cg-serve"
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg-serve/out" "$ykt" serve --node "$work/county" 2>"$work/serve.log" &
serve_pid=$!
port=$(for _ in $(seq 1200); do [ -s "$work/county/serve.port" ] && { cat "$work/county/serve.port"; break; }; sleep 0.1; done)
[ -n "$port" ] || { echo "the county did not start under valgrind:" >&2; tail -n 5 "$work/serve.log" >&2; exit 1; }
"$ykt" sync --node "$work/t" --county "127.0.0.1:$port" > "$work/sync.out"
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=
pushed=$(sqlite3 "$work/county/county.db" "SELECT count(*) FROM resident")
[ "$pushed" = "$rows" ] || { echo "the county holds $pushed residents, not $rows" >&2; exit 1; }
county_all=$(summary "$work"/cg-serve/out-*)
county_apply=$(inclusive 'CountyNode+Receive.swift:$s9YKTCounty10CountyNodeC5applyyAC6AnswerVAC15StagedChangeSetVKF ' "$work"/cg-serve/out-*)

# 2. The import, counted.
ykt_init "$work/i" admin 乡镇管理员 --township 450223101 --name 寨沙镇 >/dev/null
ykt_add_operator admin "$work/i" clerk 乡镇经办员 clerk
session=$(ykt_session clerk "$work/i")
mkdir "$work/cg-import"
YKT_NODE="$work/i" YKT_SESSION=$session valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg-import/out" \
    "$ykt" beneficiary import "$reg" >/dev/null 2>"$work/import.log"
imported=$(sqlite3 "$work/i/township.db" "SELECT count(*) FROM beneficiary")
[ "$imported" = "$rows" ] || { echo "the import wrote $imported, not $rows" >&2; exit 1; }
import_all=$(summary "$work"/cg-import/out-*)
import_writer=$(summary "$work"/cg-import/out-01)

printf 'registrations:                 %d\n' "$rows"
printf 'county, whole process:         %s instructions per registration\n' "$(per "$county_all" "$rows")"
printf 'county, applying:              %s instructions per registration\n' "$(per "$county_apply" "$rows")"
printf 'import, whole process:         %s instructions per line\n' "$(per "$import_all" "$rows")"
printf 'import, writing thread:        %s instructions per line\n' "$(per "$import_writer" "$rows")"
