#!/usr/bin/env bash
# The office console on the county benchmark database (issue 17): server time per page, p50 and
# p99, from the console's own log (one JSON line per request, with `ms`). The county is filled
# as benchmarks/county.sh fills it (benchmarks/county-fill.py: 1,000,000 residents, 4,000,000
# roster lines, a batch of 200,000 payments, dispatched and its results received), plus a
# township roster of ROSTER_LINES lines waiting for review, one reviewed waiting for approval,
# 1,000 more deceased residents (so `ykt warnings run` finds warnings to page through) and
# CONFLICTS open conflicts. `ykt console` (release build) serves it over TLS; each role logs in
# with POST /login (curl, cookie jar); every page is requested N times (default 20): lists at
# page 1 and at a deep page, a roster's page of lines, the review queue, approval, batches,
# warnings, conflicts, townships, audit, reports, the query (a POST, as the page sends it). A
# page over 200 ms (p99) is flagged.
# Then a township's console on a register of TOWNSHIP_PEOPLE (default 20,000; 0 skips it) with
# its applications and a notice: the register at page 1, deep and searched, a person, the
# applications, the notice's page.
#   benchmarks/console.sh [N]     (RESIDENTS=1000000 BATCH_LINES=200000 ROSTER_LINES=100000 CONFLICTS=10000)
# KEEP=1 keeps the work directory; SKIP_BUILD=1 uses the last release build (YKT=path another binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-20}
residents=${RESIDENTS:-1000000}
lines=${BATCH_LINES:-200000}
roster_lines=${ROSTER_LINES:-100000}
conflicts=${CONFLICTS:-10000}
case "$runs$residents$lines$roster_lines$conflicts" in *[!0-9]*) echo "N, RESIDENTS, ROSTER_LINES, CONFLICTS: whole numbers" >&2; exit 2 ;; esac
[ "$roster_lines" -le "$residents" ] && [ "$lines" -le "$residents" ] || { echo "ROSTER_LINES and BATCH_LINES must not exceed RESIDENTS" >&2; exit 2; }
bash .ci/setup build >/dev/null
if [ -z "${SKIP_BUILD:-}" ]; then
    flock "${BUILD_LOCK:-/tmp/ykt-build.lock}" swift build -c release --product ykt 2>&1 | tail -n 1
fi
ykt=${YKT:-$root/.build/release/ykt}
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-consolebench.XXXXXX")
console_pid=
serve_pid=
cleanup() {
    local p
    for p in $console_pid $serve_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# --- The county, as benchmarks/county.sh makes it, with the people of every county role ------
"$ykt" demo generate --out "$work/data" --seed 1 --townships 1 --villages 1 --people 1 >/dev/null
county="$work/county"
. "$root/integration/operators.sh" "$work"
ykt_init "$county" liu 刘建华 --role county --county 450223 --name 鹿寨县 >/dev/null
ykt_as liu "$county" calendar publish "$root/data/cn-holidays.tsv" >/dev/null
ykt_as liu "$county" policy publish "$work/data/programs.csv" >/dev/null
ykt_as liu "$county" bank add --code RCC --name 广西农村信用社 --folder "$work/bank" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费 >/dev/null
ykt_add_operator liu "$county" zhi-pay 支付经办员 payments
ykt_add_operator liu "$county" cai-approve 财政审定员 approver
ykt_add_operator liu "$county" nong-review 农业局审核员 reviewer GD01
ykt_add_operator liu "$county" shen-audit 审计查询员 auditor
ykt_add_operator liu "$county" tou-su 投诉受理员 complaints
roles=(nong-review cai-approve zhi-pay shen-audit tou-su liu)

t0=$(now)
python3 benchmarks/county-fill.py "$lines" "$residents" > "$work/fill.sql"
sqlite3 "$county/county.db" < "$work/fill.sql" >/dev/null
# A township roster waiting for review (5) and one waiting for approval (6), lines copied from
# roster 1; more deceased residents for the warning rules; conflicts between two townships.
sqlite3 "$county/county.db" <<SQL >/dev/null
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;
INSERT INTO township(node_id, name, enrolled_at) VALUES ('450223102', '雒容镇', 'bench');
INSERT INTO roster(id, node_id, entity, program, period, line_count, total_fen, received_at, status)
  VALUES (5, '450223101', 'roster/450223101/GD01/2025/1', 'GD01', '2025', $roster_lines, $roster_lines * 22470, '2026-11-10T09:00:00+08:00', 'received'),
         (6, '450223101', 'roster/450223101/GD01/2024/1', 'GD01', '2024', $roster_lines, $roster_lines * 22470, '2026-11-09T09:00:00+08:00', 'reviewed');
INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
  SELECT r.id, l.line_no, l.resident_id, l.name, l.village, l.bank, l.account_kind, l.account_number, l.quantity, l.amount_fen
  FROM roster_line l, (SELECT 5 AS id UNION ALL SELECT 6) r WHERE l.roster_id = 1 AND l.line_no <= $roster_lines;
INSERT OR IGNORE INTO deceased SELECT resident_id, name, '2026-03-01', 'bench' FROM roster_line WHERE roster_id = 1 AND line_no % 1000 = 8;
INSERT INTO conflict(kind, entity, node_id, op_seq, other_node, detail, created_at)
  SELECT 'resident.two-townships', 'resident/' || resident_id, '450223102', line_no, '450223101',
         '同一身份证号已由乡镇 450223101 登记', '2026-11-10T09:00:00+08:00'
  FROM roster_line WHERE roster_id = 1 AND line_no <= $conflicts;
COMMIT;
SQL
sync
t1=$(now)
echo "filled the county database in $(secs "$t0" "$t1") s: $residents residents, $((4 * residents)) roster lines, a batch of $lines payments, rosters of $roster_lines lines to review and approve, $conflicts conflicts"
t0=$(now)
export YKT_SESSION=$(ykt_session zhi-pay "$county")
"$ykt" batch dispatch --date 2026-11-16 --node "$county" >/dev/null
"$ykt" bank simulate --folder "$work/bank" --bank RCC --seed 3 --fail closed=0.02,frozen=0.01 --date 2026-11-17 >/dev/null
"$ykt" bank receive --date 2026-11-18 --node "$county" >/dev/null
"$ykt" warnings run --node "$county" >/dev/null
unset YKT_SESSION
t1=$(now)
echo "dispatched, paid (3 % failed), received and warned in $(secs "$t0" "$t1") s"

# --- The console ---------------------------------------------------------------------------
bash "$root/certs/make-dev-pki.sh" "$work/pki" >/dev/null
bash "$root/certs/make-dev-pki.sh" console "$work/pki" >/dev/null
cat >> "$county/node.conf" <<CONF
tls_certificate = $work/pki/county.crt
tls_key = $work/pki/county.key
tls_ca = $work/pki/ca.crt
console_tls_certificate = $work/pki/console.crt
console_tls_key = $work/pki/console.key
console_listen = 127.0.0.1:0
log_format = json
clock_override = allowed
CONF
# --- Timing: one console at a time ----------------------------------------------------------
# start_console NODE CLOCK: starts `ykt console` on NODE (its log: $work/console-NAME.log).
start_console() {
    local node=$1 clock=$2
    rm -f "$node/console.port"
    log="$work/console-$(basename "$node").log"
    YKT_CLOCK=$clock "$ykt" console --node "$node" 2>"$log" >/dev/null &
    console_pid=$!
    for _ in $(seq 200); do [ -s "$node/console.port" ] && break; kill -0 "$console_pid" || { cat "$log" >&2; exit 1; }; sleep 0.05; done
    [ -s "$node/console.port" ] || { echo "ykt console reported no port" >&2; exit 1; }
    if grep -q '^console_tls_certificate' "$node/node.conf"; then base="https://127.0.0.1:$(cat "$node/console.port")"; else base="http://127.0.0.1:$(cat "$node/console.port")"; fi
    for login in "${roles[@]}"; do
        tr -d '\n' < "$(op_password "$node" "$login")" |
            curl_ -o /dev/null -c "$work/$login.jar" --data-urlencode "login=$login" --data-urlencode "password@-" "$base/login"
        tokens[$login]=$(csrf "$login")
    done
}
stop_console() { kill -TERM "$console_pid"; wait "$console_pid" || true; console_pid=; }
curl_() { curl -sS --cacert "$work/pki/console-ca.crt" "$@"; }
# A form's CSRF token is derived from the session (ConsoleServer.csrfToken).
csrf() { printf 'ykt-console-csrf|%s' "$(awk '$6 == "ykt_session" { print $7 }' "$work/$1.jar")" | sha256sum | cut -c1-32; }
declare -A tokens
request() {   # LOGIN "METHOD PATH<TAB>FORM": prints the status
    local login=$1 line=$2 method path form
    method=${line%% *}; path=${line#* }; form=
    case "$path" in *$'\t'*) form=${path#*$'\t'}; path=${path%%$'\t'*} ;; esac
    if [ "$method" = POST ]; then
        local args=(--data-urlencode "csrf=${tokens[$login]}")
        local IFS='&'
        for kv in $form; do args+=(--data-urlencode "$kv"); done
        curl_ -o /dev/null -w '%{http_code}' -b "$work/$login.jar" "${args[@]}" "$base$path"
    else
        curl_ -o /dev/null -w '%{http_code}' -b "$work/$login.jar" "$base$path"
    fi
}
# time_pages TITLE: each of "${pages[@]}" with the first of "${roles[@]}" that gets 200, RUNS times;
# then p50 and p99 of the server's own `ms` per page.
time_pages() {
    : > "$work/plan.txt"
    for line in "${pages[@]}"; do
        chosen=-
        for login in "${roles[@]}"; do
            if [ "$(request "$login" "$line")" = 200 ]; then chosen=$login; break; fi
        done
        printf '%s\t%s\n' "$chosen" "$line" >> "$work/plan.txt"
    done
    local mark
    mark=$(wc -l < "$log")
    while IFS= read -r entry; do
        login=${entry%%$'\t'*}; line=${entry#*$'\t'}
        [ "$login" = - ] && continue
        for _ in $(seq "$runs"); do request "$login" "$line" >/dev/null; done
    done < "$work/plan.txt"
    stop_console
    tail -n +"$((mark + 1))" "$log" > "$work/timed.log"
    echo
    echo "$1"
    python3 - "$work/plan.txt" "$work/timed.log" <<'PY'
import json, re, sys
plan = []
for l in open(sys.argv[1]):
    login, line = l.rstrip("\n").split("\t", 1)
    method, path = line.split(" ", 1)
    plan.append((login, method, path.split("\t")[0]))
times = {}
for line in open(sys.argv[2]):
    try:
        m = json.loads(line)["metadata"]
    except (ValueError, KeyError):
        continue
    if "ms" in m:
        times.setdefault((m["method"], m["path"]), []).append(int(m["ms"]))

def pct(v, p):   # nearest rank
    v = sorted(v)
    return v[min(len(v), max(1, -(-p * len(v) // 100))) - 1]

slow = 0
print(f"{'page':40} {'role':12} {'p50':>5} {'p99':>5}")
for login, method, path in plan:
    v = times.get((method, path))
    shown = (method + " " + path) if method != "GET" else path
    if login == "-" or not v:
        print(f"{shown[:40]:40} {'-':12} {'':>5} {'':>5}  not answered 200 for any role")
        continue
    p50, p99 = pct(v, 50), pct(v, 99)
    slow += p99 > 200
    print(f"{shown[:40]:40} {login:12} {p50:5d} {p99:5d}{'  OVER 200 ms' if p99 > 200 else ''}")
print(f"pages over 200 ms (p99): {slow}")
PY
}

# --- The county's pages ----------------------------------------------------------------------
start_console "$county" 2026-11-20
# The pages: lists at page 1 and deep, a roster's lines (page 1 and deep), the queues, reports.
# "METHOD PATH" per line; a POST's form follows a tab (its CSRF token is added).
someone=$(sqlite3 "$county/county.db" "SELECT resident_id || ' ' || name FROM roster_line WHERE roster_id = 1 AND line_no = 4242")
rid=${someone%% *}; rname=${someone#* }
pages=(
    "GET /"
    "GET /review"
    "GET /rosters/5"
    "GET /rosters/5?page=1500"
    "GET /rosters/1?page=19000"
    "GET /approval"
    "GET /budgets"
    "GET /batches"
    "GET /bank"
    "GET /reissue"
    "GET /payments"
    "GET /payments?page=3000"
    "GET /warnings"
    "GET /warnings?page=20"
    "GET /warnings/1"
    "GET /conflicts"
    "GET /conflicts?page=150"
    "GET /conflicts/1"
    "GET /complaints"
    "GET /townships"
    "GET /audit"
    "GET /reports/monthly?month=2026-11"
    "GET /reports/reconcile"
    "GET /query"
    "POST /query	id=$rid&name=$rname"
)
time_pages "county: server time per page (ms, $runs requests each, from the console's log; $residents residents, $((4 * residents)) roster lines)"

# --- A township's pages: a register of TOWNSHIP_PEOPLE (0 skips) ---------------------------------
people=${TOWNSHIP_PEOPLE:-20000}
[ "$people" -gt 0 ] || exit 0
t0=$(now)
villages=10
"$ykt" demo generate --out "$work/tdata" --seed 5 --townships 1 --villages "$villages" --people $(( (people + villages - 1) / villages )) >/dev/null
code=$(tail -n +2 "$work/tdata/townships.csv" | head -n 1 | cut -d, -f1)
township="$work/$code"
ykt_init "$township" admin 乡镇管理员 --township "$code" --name 寨沙镇 >/dev/null
ykt_add_operator admin "$township" clerk 乡镇经办员 clerk
# The township's calendar and policy list, as a first sync would bring them: from a county of its own.
tc="$work/tcounty"
mkdir -p "$work/tc" && mv "$work/tdata" "$work/tc/data"
ln -s "$township" "$work/tc/$code"
bash "$root/integration/county-setup.sh" "$ykt" "$work/tc" "$code" >/dev/null
"$ykt" serve --node "$work/tc/county" 2>"$work/tserve.log" &
serve_pid=$!
for _ in $(seq 200); do [ -s "$work/tc/county/serve.port" ] && break; sleep 0.05; done
"$ykt" sync --node "$township" --county "127.0.0.1:$(cat "$work/tc/county/serve.port")" >/dev/null
kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=
echo "clock_override = allowed" >> "$township/node.conf"
echo "log_format = json" >> "$township/node.conf"
export YKT_CLOCK=2026-11-02
ykt_as clerk "$township" beneficiary import "$work/tc/data/$code-register.csv" >/dev/null
ykt_as clerk "$township" application import "$work/tc/data/$code-applications.csv" >/dev/null
# Two notices (docs/conventions.md (p)): each village's meeting and notice, closed after 5
# working days, then the township's notice.
for village in $(ykt_as clerk "$township" application list --program GD01 --period 2026 --status recorded --json \
                 | python3 -c 'import json,sys; print("\n".join(sorted({a["village"] for a in json.load(sys.stdin)})))'); do
    m=$(ykt_as clerk "$township" meeting record --village "$village" --program GD01 --period 2026 --present 20 --expected 25 \
        --outcome 评议通过 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    ykt_as clerk "$township" notice open --meeting "$m" --place "${village}村务公开栏" --phone 0772-6812345 >/dev/null
done
export YKT_CLOCK=2026-11-09
for n in $(ykt_as clerk "$township" notice list --json | python3 -c 'import json,sys; print(" ".join(str(n["id"]) for n in json.load(sys.stdin)))'); do
    ykt_as clerk "$township" notice close "$n" >/dev/null
done
ykt_as clerk "$township" notice open --program GD01 --period 2026 --place 各村村务公开栏 --phone 0772-6812345 >/dev/null
unset YKT_CLOCK
t1=$(now)
echo
echo "township: register of $(ykt_as clerk "$township" beneficiary list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') people, applications, a notice, in $(secs "$t0" "$t1") s"
roles=(clerk)
start_console "$township" 2026-11-03
name=$(sqlite3 "$township/township.db" "SELECT name FROM beneficiary LIMIT 1 OFFSET 777")
pages=(
    "GET /"
    "GET /register"
    "GET /register?page=$(( people / 50 - 5 ))"
    "GET /register?q=$name"
    "GET /register/777"
    "GET /applications"
    "GET /applications?page=$(( people / 50 - 5 ))"
    "GET /notices"
    "GET /notices/1"
    "GET /outbox"
    "GET /inbox"
    "GET /payments"
    "GET /rosters"
)
time_pages "township: server time per page (ms, $runs requests each; a register of $people people)"
