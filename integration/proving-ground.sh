#!/usr/bin/env bash
# Proving ground (issue 5), with real processes on 127.0.0.1: kills nodes with SIGKILL at seeded
# random moments and checks that nothing is lost or applied twice.
#   integration/proving-ground.sh [quick|soak] [SEED]     quick: 50 trials (CI); soak: 500
#
# 1. Sync crashes: a township changes some of its register, then syncs; after a random delay the
#    township's `ykt sync` or the county's `ykt serve` is killed (SIGKILL). The county restarts,
#    the township syncs again. Then: every operation in the township's outbox is at the county
#    exactly once (same count and same sequence numbers), every change set acknowledged, the
#    county's change sets gapless, and both audit chains verify. Then the township as restored
#    from a backup (`ykt backup`) made before its first sync must be refused at its next sync
#    with a clear code, the county applying nothing.
# 2. Ingest crashes: the county reads a bank result file of 20,000 lines and is killed at a
#    random moment; it reads the inbox again. Then: every line paid or failed exactly as the
#    file says, the batch answered once, the townships' messages carry each line once, the file
#    moved to processed/, and the audit chain verifies.
# 2b. Dispatch crashes: `ykt batch dispatch` of a 20,000-line batch is killed at a random moment
#    or at a crash point (YKT_CRASH_AT),
#    the bank sometimes takes what is in place, the county dispatches again and the bank pays.
#    Then: the batch dispatched once (sequence 1), the file paid byte-identical to the recorded
#    SHA-256, nothing left in the outbox, and each line in the bank's ledger exactly once.
# 3. Network faults: 24 (quick) or 240 (soak) sync rounds through a proxy that drops, resets,
#    delays, truncates and flips bytes (Tests/YKTCLITests/NetworkFaultTests.swift); no partial
#    change set may ever be visible at the county, and sync converges once the faults stop.
# 4. Hostile input: the refusal tests (tampered, replayed, forked, gapped change sets, another
#    township's set, revoked/expired/unknown-CA certificates, TLS 1.2, oversized, trickled,
#    stalled and malformed requests, wrong bank files) run and are counted, with the insiders'
#    refusals: operators without a role, a password or a live session, decisions written around
#    the program, rewritten audit trails found through the other side's anchors, a disabled
#    township, a retired key.
# 4b. Convergence: three townships in-process with seeded random work, partial syncs, lost
#    answers, restarts and county decisions; after quiescing all nodes agree
#    (Tests/YKTCountyTests/ConvergenceTests.swift; 6 seeds, 106 in the soak).
# 5. Hostile township: 20 (quick) or 300 (soak) seeded runs of a township with valid keys sending
#    honest and crafted rosters through the whole money loop; every payment must be traced by
#    `ykt audit trace` and nobody paid twice (Tests/YKTCountyTests/HostileTownshipTests.swift).
# 6. Fuzzing: each libFuzzer target (fuzz/run.sh) for 10 s (quick) or 300 s (soak).
# Ends with one line: trials, kills, operations and result lines checked, fuzz inputs, lost,
# duplicated (both 0).
# A failing trial prints its seed: `integration/proving-ground.sh quick SEED` runs it again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-quick}
seed=${2:-$(date +%s)}
case "$mode" in
    quick) sync_trials=40; ingest_trials=10; dispatch_trials=10; fuzz_seconds=10; fault_rounds=24; convergence_seeds=0; hostile_seeds=20 ;;
    soak) sync_trials=400; ingest_trials=100; dispatch_trials=100; fuzz_seconds=300; fault_rounds=240; convergence_seeds=100; hostile_seeds=300 ;;
    *) echo "usage: integration/proving-ground.sh [quick|soak] [SEED]" >&2; exit 2 ;;
esac
RANDOM=$seed
bash .ci/setup >/dev/null
swift build -c release --product ykt 2>&1 | tail -n 1
ykt="$root/.build/release/ykt"
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-proving.XXXXXX")
[ -n "${KEEP:-}" ] && echo "keeping $work" || trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
. "$root/integration/operators.sh" "$work"
echo "== proving ground: $mode, seed $seed"

kills=0; lost=0; duplicated=0; operations=0; lines=0
fail() { echo "FAILED (seed $seed, $1): $2" >&2; exit 1; }
rand_ms() { echo $(( RANDOM % $1 )); }
sleep_ms() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }

# --- The nodes -----------------------------------------------------------------------------
"$ykt" demo generate --out "$work/data" --seed "$seed" --townships 1 --villages 8 --people 250 >/dev/null
code=$(tail -n +2 "$work/data/townships.csv" | head -n 1 | cut -d, -f1)
pki="$work/pki"
bash certs/make-dev-pki.sh "$pki" "$code" >/dev/null
county="$work/county"; town="$work/$code"
ykt_init "$county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ntls_crl = %s\nlisten = 127.0.0.1:0\n' \
    "$pki/county.crt" "$pki/county.key" "$pki/ca.crt" "$pki/ca.crl" >> "$county/node.conf"
ykt_init "$town" admin 乡镇管理员 --township "$code" --name 试验镇 >/dev/null
ykt_add_operator admin "$town" clerk 乡镇经办员 clerk
county_key=$("$ykt" key show --json --node "$county" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ncounty_public_key = %s\n' \
    "$pki/$code.crt" "$pki/$code.key" "$pki/ca.crt" "$county_key" >> "$town/node.conf"
key=$("$ykt" key show --json --node "$town" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
ykt_as liu "$county" township enrol --township "$code" --name 试验镇 --public-key "$key" >/dev/null
ykt_as liu "$county" calendar publish data/cn-holidays.tsv >/dev/null   # the county's calendar (issue 14)
ykt_as liu "$county" policy publish "$work/data/programs.csv" >/dev/null
# (No program load: a township with a county configured takes the policy list only through sync.)
ykt_as clerk "$town" beneficiary import "$work/data/$code-register.csv" >/dev/null
mapfile -t ids < <(sqlite3 "$town/township.db" "SELECT resident_id FROM beneficiary ORDER BY id")
# Members (not household heads) may move to another household at any time; a head with members may not.
mapfile -t members < <(sqlite3 "$town/township.db" "SELECT resident_id FROM beneficiary WHERE head = 0 ORDER BY id")
ykt_as admin "$town" backup --out "$work/backup-before-sync" >/dev/null
echo "   township $code: ${#ids[@]} beneficiaries in its outbox, not yet synced"

serve_pid=0
start_county() {
    rm -f "$county/serve.port"
    "$ykt" serve --node "$county" 2>>"$work/serve.log" &
    serve_pid=$!
    for _ in $(seq 200); do
        [ -s "$county/serve.port" ] && return
        kill -0 "$serve_pid" 2>/dev/null || fail "start" "ykt serve did not start: $(tail -n 3 "$work/serve.log")"
        sleep 0.05
    done
    fail "start" "ykt serve did not report its port"
}
# The audit chain of a county whose approved rosters were written by benchmarks/county-fill.py
# straight into its database: `audit verify` rightly names those decisions (no signed entry);
# what the crash trials must keep intact is the chain itself.
chain_intact() {
    local report
    report=$(ykt_as liu "$1" audit verify --json 2>/dev/null || true)
    echo "$report" | python3 -c '
import json, sys
r = json.load(sys.stdin)
chain = [p for p in r["problems"] if p.get("kind") != "decision"]
sys.exit(1 if chain else 0)'
}
sync_town() { "$ykt" sync --node "$town" --county "127.0.0.1:$(cat "$county/serve.port")"; }

# Nothing lost, nothing twice: the township's operations and the county's, by sequence number.
check_sync() {
    local t c
    t=$(sqlite3 "$town/township.db" "SELECT count(*) || ' ' || coalesce(sum(seq), 0) FROM outbox")
    c=$(sqlite3 "$county/county.db" "SELECT count(*) || ' ' || coalesce(sum(op_seq), 0) FROM decision WHERE node_id = '$code'")
    local tn=${t% *} cn=${c% *}
    operations=$tn
    [ "$cn" -lt "$tn" ] && lost=$((lost + tn - cn))
    [ "$cn" -gt "$tn" ] && duplicated=$((duplicated + cn - tn))
    [ "$t" = "$c" ] || fail "trial $1" "township outbox (count, sum of seq) $t, county $c"
    local pending gaps
    pending=$(sqlite3 "$town/township.db" "SELECT count(*) FROM changeset_out WHERE state != 'acknowledged'")
    [ "$pending" = 0 ] || fail "trial $1" "$pending change sets not acknowledged after a whole sync"
    gaps=$(sqlite3 "$county/county.db" "SELECT count(*) - coalesce(max(seq), 0) FROM upstream WHERE node_id = '$code'")
    [ "$gaps" = 0 ] || fail "trial $1" "the county's change sets from $code have gaps"
}

# --- 1. Sync crashes -----------------------------------------------------------------------
echo "== sync crashes: $sync_trials trials"
start_county
for trial in $(seq "$sync_trials"); do
    if [ "$trial" -gt 1 ]; then   # the first trial sends the whole register
        for _ in $(seq $((1 + RANDOM % 4))); do
            ykt_as clerk "$town" beneficiary edit "${members[$((RANDOM % ${#members[@]}))]}" --household "H$trial-$RANDOM" >/dev/null
        done
    fi
    victim=$((RANDOM % 2))   # 0: the township's sync, 1: the county's server
    delay=$(rand_ms 120)
    # ykt itself in the background (not a shell function, whose subshell is what $! would name).
    "$ykt" sync --node "$town" --county "127.0.0.1:$(cat "$county/serve.port")" >/dev/null 2>&1 &
    sync_pid=$!
    sleep_ms "$delay"
    if [ "$victim" = 0 ]; then
        kill -9 "$sync_pid" 2>/dev/null && kills=$((kills + 1)) || true
        wait "$sync_pid" 2>/dev/null || true
    else
        kill -9 "$serve_pid" 2>/dev/null && kills=$((kills + 1)) || true
        wait "$serve_pid" 2>/dev/null || true
        wait "$sync_pid" 2>/dev/null || true
        start_county
    fi
    sync_town >"$work/sync.out" 2>&1 ||
        fail "trial $trial" "sync after the crash failed: $(cat "$work/sync.out")"
    check_sync "$trial"
done
ykt_as admin "$town" audit verify >/dev/null || fail "sync" "township audit chain"
ykt_as liu "$county" audit verify >/dev/null || fail "sync" "county audit chain"
echo "   $kills kills; all $operations operations at the county exactly once after every trial"

# The township restored from the backup it made before its first sync must be stopped at its
# next sync (it would re-send what the county has, and ask for messages it had acknowledged).
before=$(sqlite3 "$county/county.db" "SELECT count(*) FROM decision")
if "$ykt" sync --node "$work/backup-before-sync" --county "127.0.0.1:$(cat "$county/serve.port")" >"$work/restored.out" 2>&1; then
    fail "restore" "a township restored from an old backup synced as if nothing happened"
fi
grep -qE 'YKT-SYNC-(RESTORED|FORK)' "$work/restored.out" || fail "restore" "unclear refusal: $(cat "$work/restored.out")"
[ "$(sqlite3 "$county/county.db" "SELECT count(*) FROM decision")" = "$before" ] || fail "restore" "the county applied something"
echo "   township restored from a backup: refused ($(grep -oE 'YKT-SYNC-(RESTORED|FORK)' "$work/restored.out" | head -n 1)), nothing applied"
kill -TERM "$serve_pid"; wait "$serve_pid" || true

# --- 2. Ingest crashes ---------------------------------------------------------------------
echo "== bank-result ingest crashes: $ingest_trials trials"
template="$work/ingest"
ykt_init "$template/county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
ykt_add_operator liu "$template/county" zhi-pay 支付经办员 payments
ykt_as liu "$template/county" calendar publish data/cn-holidays.tsv >/dev/null   # deadlines count on it
ykt_as liu "$template/county" policy publish "$work/data/programs.csv" >/dev/null
ykt_as liu "$template/county" bank add --code RCC --name 广西农村信用社 --folder "$template/bank" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费 >/dev/null
python3 benchmarks/county-fill.py 20000 20000 > "$template/fill.sql"
sqlite3 "$template/county/county.db" < "$template/fill.sql" >/dev/null
ykt_as zhi-pay "$template/county" batch dispatch --date 2026-11-16 >/dev/null
"$ykt" bank simulate --folder "$template/bank" --bank RCC --seed "$seed" --fail closed=0.05,frozen=0.02 --date 2026-11-17 >/dev/null
result=$(ls "$template/bank/inbox")
expected=$(tail -n +2 "$template/bank/inbox/$result" | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
print(len(rows), sum(1 for r in rows if r[1] == "paid"), sum(1 for r in rows if r[1] == "failed"))')
ingest_kills=0
for trial in $(seq "$ingest_trials"); do
    rm -rf "$work/run"; mkdir "$work/run"
    cp -r "$template/county" "$template/bank" "$work/run/"
    sqlite3 "$work/run/county/county.db" "UPDATE agency_bank SET folder = '$work/run/bank'"
    session=$(ykt_session zhi-pay "$work/run/county")
    YKT_SESSION=$session "$ykt" bank receive --date 2026-11-18 --node "$work/run/county" >/dev/null 2>&1 &
    pid=$!
    sleep_ms "$(rand_ms 400)"
    kill -9 "$pid" 2>/dev/null && ingest_kills=$((ingest_kills + 1)) || true
    wait "$pid" 2>/dev/null || true
    ykt_as zhi-pay "$work/run/county" bank receive --date 2026-11-18 >"$work/run/receive.out" 2>&1 ||
        fail "ingest trial $trial" "reading the inbox again failed: $(cat "$work/run/receive.out")"
    got=$(sqlite3 "$work/run/county/county.db" "SELECT count(*) || ' ' || sum(status = 'paid') || ' ' || sum(status = 'failed') FROM payment WHERE batch_id = 1")
    [ "$got" = "$expected" ] || fail "ingest trial $trial" "payments (lines, paid, failed) $got, file says $expected"
    sent=$(sqlite3 "$work/run/county/county.db" "SELECT body FROM downstream WHERE kind = 'payment.result'" | python3 -c '
import json, sys
ids = [l["payment"] for m in sys.stdin for l in json.loads(m)["data"]["lines"]]
print(len(ids), len(set(ids)))')
    n=${expected%% *}
    [ "$sent" = "$n $n" ] || fail "ingest trial $trial" "payment.result messages carry (lines, distinct) $sent, expected $n $n"
    [ -z "$(ls "$work/run/bank/inbox")" ] && [ -n "$(ls "$work/run/bank/processed")" ] ||
        fail "ingest trial $trial" "the result file was not moved to processed/"
    chain_intact "$work/run/county" || fail "ingest trial $trial" "county audit chain"
    lines=$((lines + n))
done
kills=$((kills + ingest_kills))
echo "   $ingest_kills kills during ingest; each file applied whole exactly once"

# --- 2b. Dispatch crashes -------------------------------------------------------------------
# `ykt batch dispatch` of a 20,000-line batch killed at a random moment or at one of its crash
# points (staged, committed, placed: before the commit, before the rename, before it is marked
# as placed), sometimes after the bank simulator has already taken
# a file that was in place; then dispatch again and let the bank pay. Then: the batch dispatched
# exactly once with file sequence 1, the file in the outbox (or paid) byte-identical to the
# recorded SHA-256, no staged file left, and the bank's ledger holding each line exactly once.
echo "== dispatch crashes: $dispatch_trials trials"
dtemplate="$work/dispatch"
ykt_init "$dtemplate/county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
ykt_add_operator liu "$dtemplate/county" zhi-pay 支付经办员 payments
ykt_as liu "$dtemplate/county" policy publish "$work/data/programs.csv" >/dev/null
ykt_as liu "$dtemplate/county" calendar publish data/cn-holidays.tsv >/dev/null   # deadlines count on it
ykt_as liu "$dtemplate/county" bank add --code RCC --name 广西农村信用社 --folder "$dtemplate/bank" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费 >/dev/null
sqlite3 "$dtemplate/county/county.db" < "$template/fill.sql" >/dev/null
dispatch_kills=0; dispatched_lines=0; dispatch_completed=0; dispatch_repeats=0
for trial in $(seq "$dispatch_trials"); do
    rm -rf "$work/drun"; mkdir "$work/drun"
    cp -r "$dtemplate/county" "$dtemplate/bank" "$work/drun/"
    sqlite3 "$work/drun/county/county.db" "UPDATE agency_bank SET folder = '$work/drun/bank'"
    # A quarter of the trials kill after a random delay; the rest have the process kill itself
    # (YKT_CRASH_AT) at one of its crash points, since a random moment seldom falls in the
    # few milliseconds between the commit and the rename.
    point=$(( RANDOM % 4 ))
    if [ "$point" = 0 ]; then
        session=$(ykt_session zhi-pay "$work/drun/county")
        YKT_SESSION=$session "$ykt" batch dispatch --date 2026-11-16 --node "$work/drun/county" >/dev/null 2>&1 &
        pid=$!
        sleep_ms "$(rand_ms 300)"
        kill -9 "$pid" 2>/dev/null && dispatch_kills=$((dispatch_kills + 1)) || true
        wait "$pid" 2>/dev/null || true
    else
        crash=(x dispatch.staged dispatch.committed dispatch.placed)
        status=0
        # In braces whose stderr is discarded: bash itself reports the SIGKILL ("Killed") there.
        session=$(ykt_session zhi-pay "$work/drun/county")
        { YKT_SESSION=$session YKT_CRASH_AT=${crash[$point]} "$ykt" batch dispatch --date 2026-11-16 --node "$work/drun/county" >/dev/null 2>&1 || status=$?; } 2>/dev/null
        [ "$status" = 137 ] || fail "dispatch trial $trial" "the dispatch did not die at ${crash[$point]} (status $status)"
        dispatch_kills=$((dispatch_kills + 1))
    fi
    # Half the time the bank takes (and pays) whatever is in place before the county dispatches again.
    if [ $((RANDOM % 2)) = 0 ]; then
        "$ykt" bank simulate --folder "$work/drun/bank" --bank RCC --seed "$seed" --date 2026-11-17 >/dev/null ||
            fail "dispatch trial $trial" "the bank could not read what was in the outbox"
    fi
    ykt_as zhi-pay "$work/drun/county" batch dispatch --date 2026-11-16 >"$work/drun/dispatch.out" 2>&1 ||
        fail "dispatch trial $trial" "dispatching again failed: $(cat "$work/drun/dispatch.out")"
    grep -q 已补写 "$work/drun/dispatch.out" && dispatch_completed=$((dispatch_completed + 1))
    "$ykt" bank simulate --folder "$work/drun/bank" --bank RCC --seed "$seed" --date 2026-11-17 >"$work/drun/bank.out" 2>&1 ||
        fail "dispatch trial $trial" "the bank failed: $(cat "$work/drun/bank.out")"
    state=$(sqlite3 "$work/drun/county/county.db" "SELECT status || ' ' || file_seq || ' ' || (file_placed_at IS NOT NULL) || ' ' || sha256 FROM batch WHERE id = 1")
    [ "${state% *}" = "dispatched 1 1" ] || fail "dispatch trial $trial" "batch 1 is (status, seq, placed) ${state% *}"
    sha=${state##* }
    name=$(sqlite3 "$work/drun/county/county.db" "SELECT file FROM batch WHERE id = 1")
    [ "$(sha256sum < "$work/drun/bank/bank-done/$name" | cut -d' ' -f1)" = "$sha" ] ||
        fail "dispatch trial $trial" "the file the bank paid differs from the one recorded at dispatch"
    [ -z "$(ls -A "$work/drun/bank/outbox")" ] || fail "dispatch trial $trial" "left in the outbox: $(ls -A "$work/drun/bank/outbox" | head -n 3)"
    paid=$(cut -d, -f1 "$work/drun/bank/bank-ledger.csv" | sort | uniq -c | awk '{ n++; if ($1 > 1) d += $1 - 1 } END { print n + 0, d + 0 }')
    n=${expected%% *}
    d=${paid#* }
    duplicated=$((duplicated + d))
    [ "${paid% *}" -lt "$n" ] && lost=$((lost + n - ${paid% *}))
    [ "$paid" = "$n 0" ] || fail "dispatch trial $trial" "the bank's ledger has (lines, paid again) $paid, expected $n 0"
    chain_intact "$work/drun/county" || fail "dispatch trial $trial" "county audit chain"
    ls "$work/drun/bank/bank-done" | grep -q '\.repeat$' && dispatch_repeats=$((dispatch_repeats + 1))
    dispatched_lines=$((dispatched_lines + n))
done
kills=$((kills + dispatch_kills))
echo "   $dispatch_kills kills during dispatch ($dispatch_completed completed by the next dispatch, $dispatch_repeats repeated files refused by the bank); every batch dispatched once, each of $dispatched_lines lines paid once"

echo "== network faults: $fault_rounds sync rounds through a faulty proxy (NetworkFaultTests)"
swift build --build-tests 2>&1 | tail -n 1 | sed 's/^/   /'
YKT_FAULT_ROUNDS=$fault_rounds YKT_FAULT_SEED=$seed swift test --skip-build --filter NetworkFaultTests > "$work/faults.out" 2>&1 ||
    { cat "$work/faults.out" >&2; fail "network" "the network fault trial failed"; }
grep -o 'network faults.*' "$work/faults.out" | head -n 1 | sed 's/^/   /'
faults=$(grep -oE 'network faults.*: [0-9]+ injected' "$work/faults.out" | grep -oE '[0-9]+ injected' | cut -d' ' -f1)

echo "== hostile input: the refusal tests (TLS, a real county process, change sets, bank files, insiders: operators, anchors, keys)"
swift test --skip-build --filter 'TLSTests|ServeProcessTests|SyncEndToEndTests|BankFileTests|PaymentLoopTests|DispatchTests|CountyServiceTests|ExchangeFolderTests|ApprovalRaceTests|MoneyIntegrityTests|PeriodRuleTests|CountyCalendarTests|OperatorTests|OperatorCLITests|AuditAnchorTests|AuditAnchorCLITests|KeyRotationTests|KeyNetworkTests|KeyCommandTests' > "$work/hostile.out" 2>&1 ||
    { cat "$work/hostile.out" >&2; fail "hostile" "a refusal test failed"; }
hostile=$(grep -cE '^✔ Test .*(refused|tampered|trickl|malformed|wrong result file|stall|expired|another township|paid at most once|flood|unknown path|absurd|symlink|FIFO|size cap|two approvals|approved twice|not followed|lacks a field)' "$work/hostile.out" || true)
echo "   $hostile refusal tests passed (each input refused, nothing applied)"

echo "== convergence: three townships, random work, partial syncs, lost answers, restarts and decisions (ConvergenceTests)"
YKT_CONVERGENCE_SEEDS=$convergence_seeds swift test --skip-build --filter ConvergenceTests > "$work/convergence.out" 2>&1 ||
    { cat "$work/convergence.out" >&2; fail "convergence" "a convergence trial failed"; }
echo "   $((6 + convergence_seeds)) seeded runs of 240 steps each: all nodes agree, nothing lost or duplicated"

echo "== hostile township: $hostile_seeds seeded mixtures of honest and crafted rosters, money loop to the end (HostileTownshipTests)"
YKT_HOSTILE_SEEDS=$hostile_seeds swift test --skip-build --filter 'HostileTownshipTests/soak' > "$work/hostile-township.out" 2>&1 ||
    { cat "$work/hostile-township.out" >&2; fail "hostile township" "a payment without trace, or paid twice"; }
summary_line=$(grep -o 'hostile township: .*' "$work/hostile-township.out" | head -n 1)
[ -n "$summary_line" ] || { cat "$work/hostile-township.out" >&2; fail "hostile township" "no summary printed"; }
echo "   $summary_line"
untraced=$(echo "$summary_line" | sed -nE 's/.*paid without trace ([0-9]+).*/\1/p')
paid_twice=$(echo "$summary_line" | sed -nE 's/.*paid twice ([0-9]+).*/\1/p')

echo "== fuzzing: each target for $fuzz_seconds s (fuzz/run.sh)"
bash fuzz/run.sh "$fuzz_seconds" > "$work/fuzz.out" 2>&1 || { cat "$work/fuzz.out" >&2; fail "fuzz" "a fuzz target crashed"; }
tail -n 1 "$work/fuzz.out" | sed 's/^/   /'
fuzz_runs=$(tail -n 1 "$work/fuzz.out" | grep -oE '[0-9]+ runs' | awk '{ s += $1 } END { print s + 0 }')

echo "proving ground ($mode, seed $seed): trials $((sync_trials + ingest_trials + dispatch_trials + fault_rounds + 6 + convergence_seeds)), kills $kills, network faults ${faults:-0}, hostile-input tests $hostile, operations $operations, result lines $lines, dispatched lines $dispatched_lines, fuzz inputs $fuzz_runs, lost $lost, duplicated $duplicated, paid without trace $untraced, paid twice $paid_twice"
[ "$lost" = 0 ] && [ "$duplicated" = 0 ] && [ "$untraced" = 0 ] && [ "$paid_twice" = 0 ]
