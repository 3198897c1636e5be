#!/usr/bin/env bash
# Load test of the county node (issue 13): TOWNSHIPS township nodes (default 30) as real
# processes, each with a register of PEOPLE residents (default 10,000, so each pushes about
# 10,000 operations), sync concurrently with one `ykt serve` on 127.0.0.1, each township round
# after round until a round has nothing left to push (at most ROUNDS rounds, default 100, and
# SYNC_SECONDS in all, default 900; a failed round is tried again 2 s later). Hostile clients (integration/ykt-hostile, with an enrolled township of their own, from
# 127.0.0.2 when this host lets a socket bind it) run alongside while the townships sync, each
# case at most HOSTILE_RUNS times: an idle-socket flood, a body trickled 4 bytes a second, an
# oversized header, a signed header with an absurd body length, and an unknown path announcing
# 64 MiB.
#   benchmarks/serve-load.sh                      # 30 townships × 10,000 residents
#   TOWNSHIPS=5 PEOPLE=1000 benchmarks/serve-load.sh
# Prints townships converged (every change set acknowledged, the county's operations from the
# township = the township's outbox), seconds per sync round (p50, p99), the county's peak memory
# (VmHWM), what each hostile run reported, and the wall time. Loopback only; every process it
# starts is stopped on exit. KEEP=1 keeps the work directory; SKIP_BUILD=1 uses the last build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
cd "$root"
townships=${TOWNSHIPS:-30}
people=${PEOPLE:-10000}
max_rounds=${ROUNDS:-100}
sync_seconds=${SYNC_SECONDS:-900}
hostile_runs=${HOSTILE_RUNS:-3}
case "$townships$people$max_rounds$sync_seconds$hostile_runs" in *[!0-9]*) echo "TOWNSHIPS, PEOPLE, ROUNDS, SYNC_SECONDS, HOSTILE_RUNS: whole numbers" >&2; exit 2 ;; esac
[ "$townships" -ge 1 ] && [ "$townships" -le 90 ] || { echo "TOWNSHIPS: 1…90" >&2; exit 2; }
[ "$people" -ge 10 ] && [ "$people" -le 200000 ] || { echo "PEOPLE: 10…200000" >&2; exit 2; }
[ "$sync_seconds" -le 3600 ] && [ "$max_rounds" -le 100 ] && [ "$hostile_runs" -le 20 ] || { echo "SYNC_SECONDS ≤ 3600, ROUNDS ≤ 100, HOSTILE_RUNS ≤ 20" >&2; exit 2; }

bash .ci/setup >/dev/null
if [ -z "${SKIP_BUILD:-}" ]; then
    # Other builds share this machine: one at a time.
    flock "${BUILD_LOCK:-/tmp/ykt-build.lock}" swift build -c release --product ykt 2>&1 | tail -n 1
    flock "${BUILD_LOCK:-/tmp/ykt-build.lock}" swift build -c release --product ykt-hostile 2>&1 | tail -n 1
fi
ykt="$root/.build/release/ykt"
hostile="$root/.build/release/ykt-hostile"
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-serveload.XXXXXX")
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
started=$(now)

# Every process this script starts is recorded here and stopped on exit, by its id.
serve_pid=
loops=()
cleanup() {
    local p
    for p in "${loops[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${loops[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
    if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The nodes -----------------------------------------------------------------------------
villages=10
per=$(( (people + villages - 1) / villages ))
"$ykt" demo generate --out "$work/data" --seed 13 --townships "$townships" --villages "$villages" --people "$per" >/dev/null
mapfile -t codes < <(tail -n +2 "$work/data/townships.csv" | cut -d, -f1)
bad=450223199   # the hostile clients' township: enrolled, never syncs, so their sequence numbers are free
pki="$work/pki"
bash certs/make-dev-pki.sh "$pki" "${codes[@]}" "$bad" >/dev/null
county="$work/county"
. "$root/integration/operators.sh" "$work"   # named operators, logged in (docs/operators.md)
ykt_init "$county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ntls_crl = %s\nlisten = 127.0.0.1:0\n' \
    "$pki/county.crt" "$pki/county.key" "$pki/ca.crt" "$pki/ca.crl" >> "$county/node.conf"
county_key=$("$ykt" key show --json --node "$county" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
ykt_as liu "$county" policy publish "$work/data/programs.csv" >/dev/null
for code in "${codes[@]}" "$bad"; do
    node="$work/$code"
    ykt_init "$node" admin 乡镇管理员 --township "$code" --name "乡镇$code" >/dev/null
    ykt_add_operator admin "$node" clerk 乡镇经办员 clerk
    printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ncounty_public_key = %s\n' \
        "$pki/$code.crt" "$pki/$code.key" "$pki/ca.crt" "$county_key" >> "$node/node.conf"
    key=$("$ykt" key show --json --node "$node" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
    ykt_as liu "$county" township enrol --township "$code" --name "乡镇$code" --public-key "$key" >/dev/null
    # (No program load: the policy list reaches a township with a county only through sync.)
    [ "$code" = "$bad" ] || ykt_as clerk "$node" beneficiary import "$work/data/$code-register.csv" >/dev/null
done
total_ops=0
for code in "${codes[@]}"; do
    total_ops=$((total_ops + $(sqlite3 "$work/$code/township.db" "SELECT count(*) FROM outbox")))
done
bind=127.0.0.2
python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0))' "$bind" 2>/dev/null || bind=
echo "== $townships townships × $people residents: $total_ops operations to push; hostile clients from ${bind:-127.0.0.1}"

"$ykt" serve --node "$county" 2>"$work/serve.log" &
serve_pid=$!
port=$(serve_port "$county" "$serve_pid" "$work/serve.log")
echo "   ykt serve: pid $serve_pid, 127.0.0.1:$port"

# --- Sync and hostile clients, side by side ------------------------------------------------
mkdir "$work/sync" "$work/hostile"
touch "$work/sync/rounds" "$work/hostile/results"
deadline=$(( $(date +%s) + sync_seconds ))

# One township: rounds until one pushes nothing (all sent and acknowledged, messages pulled),
# at most $max_rounds and until the deadline; a failed round is tried again after 2 seconds.
sync_loop() {
    local code=$1 child= n rc t0 t1 ops
    trap '[ -z "$child" ] || kill "$child" 2>/dev/null; exit 143' TERM
    for n in $(seq "$max_rounds"); do
        [ "$(date +%s)" -lt "$deadline" ] || break
        t0=$(now)
        "$ykt" sync --json --node "$work/$code" --county "127.0.0.1:$port" >"$work/sync/$code.$n.out" 2>"$work/sync/$code.$n.err" &
        child=$!
        rc=0; wait "$child" || rc=$?
        child=
        t1=$(now)
        echo "$code $n $rc $(secs "$t0" "$t1")" >> "$work/sync/rounds"
        if [ "$rc" = 0 ]; then
            ops=$(grep -oE '"operations" *: *[0-9]+' "$work/sync/$code.$n.out" | grep -oE '[0-9]+$' || echo 1)
            [ "$ops" = 0 ] && break
        else
            sleep 2
        fi
    done
}

# One hostile case, after a delay, again and again while townships sync, at most $hostile_runs times.
hostile_loop() {
    local name=$1 delay=$2 child= i rc from; shift 2
    trap '[ -z "$child" ] || kill "$child" 2>/dev/null; exit 143' TERM
    sleep "$delay"
    for i in $(seq "$hostile_runs"); do
        [ -e "$work/syncing" ] || break
        from=$bind
        # The flood comes from an address of its own: the county's per-address cap would
        # otherwise (rightly) refuse the other hostile cases sent from the flooded address.
        [ "$name" = idle-flood ] && [ -n "$bind" ] && from=${FLOOD_BIND:-127.0.0.3}
        YKT_HOSTILE_BIND=$from "$hostile" "$@" >"$work/hostile/$name.$i.out" 2>&1 &
        child=$!
        rc=0; wait "$child" || rc=$?
        child=
        echo "$name $i $rc" >> "$work/hostile/results"
        sleep 2
    done
}

# The hostile clients start first, the idle flood among them, and the townships three seconds
# later under them (a quick run's townships would otherwise be done before the first hostile
# connection). The flood holds its sockets for 30 s, longer than any round here.
touch "$work/syncing"
target="127.0.0.1:$port"
hostile_loops=()
hostile_loop trickle 0 trickle "$work/$bad" "$target" & hostile_loops+=($!)
hostile_loop oversized 0 oversized "$work/$bad" "$target" & hostile_loops+=($!)
hostile_loop absurd-length 0 absurd-length "$work/$bad" "$target" & hostile_loops+=($!)
hostile_loop unknown-path-big 0 unknown-path-big "$work/$bad" "$target" & hostile_loops+=($!)
hostile_loop idle-flood 0 idle-flood "$work/$bad" "$target" 100 30 & hostile_loops+=($!)
loops+=("${hostile_loops[@]}")
sleep 3
sync_started=$(now)
sync_loops=()
for code in "${codes[@]}"; do sync_loop "$code" & sync_loops+=($!); loops+=($!); done
for p in "${sync_loops[@]}"; do wait "$p" || true; done
sync_done=$(now)
rm -f "$work/syncing"
for p in "${hostile_loops[@]}"; do wait "$p" || true; done
loops=()

county_alive=yes
kill -0 "$serve_pid" 2>/dev/null || county_alive=no
peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$serve_pid/status" 2>/dev/null || echo 0)
if [ "$county_alive" = yes ]; then kill -TERM "$serve_pid"; wait "$serve_pid" || true; else wait "$serve_pid" 2>/dev/null || true; fi
serve_pid=

# --- Results -------------------------------------------------------------------------------
converged=0
not_converged=()
for code in "${codes[@]}"; do
    t="$work/$code/township.db"
    read -r outbox maxseq < <(sqlite3 -separator ' ' "$t" "SELECT count(*), coalesce(max(seq), 0) FROM outbox")
    unacked=$(sqlite3 "$t" "SELECT count(*) FROM changeset_out WHERE state != 'acknowledged'")
    covered=$(sqlite3 "$t" "SELECT coalesce(max(last_op), 0) FROM changeset_out WHERE state = 'acknowledged'")
    at_county=$(sqlite3 "$county/county.db" "SELECT count(*) FROM decision WHERE node_id = '$code'")
    if [ "$unacked" = 0 ] && [ "$covered" = "$maxseq" ] && [ "$at_county" = "$outbox" ]; then
        converged=$((converged + 1))
    else
        last=$(ls -v "$work/sync/$code".*.err 2>/dev/null | tail -n 1 || true)
        not_converged+=("$code: outbox $outbox, acknowledged up to $covered, $unacked change sets unacknowledged, county has $at_county; last round: $(tail -c 300 "$last" 2>/dev/null | tr '\n' ' ')")
    fi
done

python3 - "$work/sync/rounds" <<'PY'
import math, sys
rows = [l.split() for l in open(sys.argv[1])]
def pct(xs, p):   # nearest rank
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)] if xs else float("nan")
ok = [float(r[3]) for r in rows if r[2] == "0"]
every = [float(r[3]) for r in rows]
per = {}
for r in rows: per[r[0]] = per.get(r[0], 0) + 1
print(f"sync rounds:                 {len(every)} ({len(every) - len(ok)} failed; at most {max(per.values(), default=0)} for one township)")
print(f"seconds per round:           p50 {pct(every, 50):.2f}, p99 {pct(every, 99):.2f} (successful rounds: p50 {pct(ok, 50):.2f}, p99 {pct(ok, 99):.2f})")
PY
printf 'townships converged:         %d/%d\n' "$converged" "$townships"
for line in "${not_converged[@]}"; do printf '   not converged: %s\n' "$line"; done
printf 'county peak memory (VmHWM):  %d MB%s\n' "$((peak_kb / 1024))" "$([ "$county_alive" = yes ] || echo ' — ykt serve had died before the end (see below)')"
echo "hostile runs (exit 0: the county behaved as docs/protocol.md says; 1: it did not):"
for name in trickle idle-flood oversized absurd-length unknown-path-big; do
    runs=$(grep -c "^$name " "$work/hostile/results" 2>/dev/null || true)
    good=$(grep -c "^$name [0-9]* 0$" "$work/hostile/results" 2>/dev/null || true)
    printf '   %-17s %s runs, %s as documented\n' "$name" "${runs:-0}" "${good:-0}"
    for f in $(ls -v "$work/hostile/$name".*.out 2>/dev/null); do
        grep -v '^ *$' "$f" | head -n 2 | cut -c 1-400 | sed 's/^/      /' || true
    done
done
dropped=$(cat "$work"/hostile/idle-flood.*.out 2>/dev/null | grep -oE '断开了 [0-9]+/[0-9]+' | awk -F'[ /]' '{ d += $2; n += $3 } END { printf "%d/%d", d, n }' || true)
printf 'idle connections closed by the county before the flood gave up: %s\n' "${dropped:-0/0}"
# The county logs refusals once per interval with a count (count=N), and each request once.
sum_refused() { grep -E "$1" "$work/serve.log" | grep -oE 'count=[0-9]+' | awk -F= '{ n += $2 } END { print n + 0 }'; }
printf 'county log: %d connections refused at capacity, %d unauthenticated connections refused (per-address or total cap), %d handshakes refused or timed out, %d requests answered 4xx/5xx, %d requests in all\n' \
    "$(sum_refused 'authenticated connections already open')" "$(sum_refused 'too many unauthenticated')" \
    "$(sum_refused 'handshake refused')" "$(grep -cE 'status=[45][0-9][0-9]' "$work/serve.log" || true)" \
    "$(grep -c ' request ' "$work/serve.log" || true)"
if [ "$county_alive" = no ] || grep -q 'Fatal error\|runtime failure' "$work/serve.log"; then
    echo "ykt serve crashed:"; grep -m 3 -E 'Fatal error|runtime failure|CountyNode|TLSServer' "$work/serve.log" | sed 's/^/   /' || true
fi
printf 'wall time:                   %s s (set-up to the end; sync phase %s s)\n' "$(secs "$started" "$(now)")" "$(secs "$sync_started" "$sync_done")"
