#!/usr/bin/env bash
# Times the county console's supervision and reporting pages (issue 17, item 3) on the county
# benchmark database that `KEEP=1 benchmarks/county.sh` leaves behind (1,000,000 residents,
# 4,000,000 roster lines, a resulted batch of 200,000 payments, the warnings run once):
#   KEEP=1 bash benchmarks/county.sh 200000 1000000      # prints "keeping /tmp/ykt-countybench.XXXXXX"
#   bash benchmarks/console-county.sh /tmp/ykt-countybench.XXXXXX
# Starts `ykt console` (release build) on that county with a development PKI, logs in through
# POST /login as the administrator, a payments clerk and a complaints clerk, and prints for each
# page the server's time (curl: first byte minus request sent, on loopback) as the best of 5.
# Target: every page view ≤ 200 ms. The long actions (warnings run, audit verify) run as jobs;
# their own time is printed from the job's progress.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: benchmarks/console-county.sh WORK_DIR_KEPT_BY_county.sh}
ykt="$root/.build/release/ykt"
county="$work/county"
. "$root/integration/operators.sh" "$work"

# The county console speaks TLS with the county's server certificate.
if ! grep -q '^tls_certificate' "$county/node.conf"; then
    bash "$root/certs/make-dev-pki.sh" "$work/pki" >/dev/null
    printf 'tls_certificate = %s\ntls_key = %s\ntls_ca = %s\n' "$work/pki/county.crt" "$work/pki/county.key" "$work/pki/ca.crt" >> "$county/node.conf"
fi
[ -s "$ykt_secrets/county-chen.pw" ] || ykt_add_operator liu "$county" chen 投诉受理员 complaints
rm -f "$county/console.port"
"$ykt" console --node "$county" --listen 127.0.0.1:0 > "$work/console.out" 2>&1 &
console=$!
trap 'kill $console 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$county/console.port" ] && break; sleep 0.1; done
port=$(cat "$county/console.port")
base="https://127.0.0.1:$port"

# curl as LOGIN: a cookie jar per person, the CSRF token taken from the last page.
jar() { echo "$work/console-$1.cookies"; }
login() {
    rm -f "$(jar "$1")"
    # The password goes on standard input (never on a command line), without the file's newline.
    tr -d '\n' < "$(op_password "$county" "$1")" | curl -sS --cacert "$work/pki/ca.crt" -c "$(jar "$1")" -o /dev/null \
        --data-urlencode "login=$1" --data-urlencode "password@-" "$base/login"
}
csrf() { curl -sS --cacert "$work/pki/ca.crt" -b "$(jar "$1")" "$base$2" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1; }
# time_page LOGIN PATH [curl args…]: the request 5 times; the times are the console's own
# (its request log: ms from the request read to the answer written), summed up at the end.
time_page() {
    local who=$1 path=$2; shift 2
    for _ in 1 2 3 4 5; do
        curl -sS --cacert "$work/pki/ca.crt" -b "$(jar "$who")" -o /dev/null "$@" "$base$path"
    done
}
login liu
login zhi-pay
login chen
resident=$(sqlite3 "$county/county.db" "SELECT resident_id FROM resident ORDER BY resident_id LIMIT 1 OFFSET 500000")
month=$(sqlite3 "$county/county.db" "SELECT substr(max(result_on), 1, 7) FROM payment")
echo "console on $base; payments resulted in $month"
time_page liu /
time_page liu /warnings
time_page liu "/warnings?status=open&rule=deceased"
time_page liu /warnings/1
time_page liu /conflicts
time_page liu "/conflicts?status=all&kind=program.list&township=450223101"
time_page liu /townships
time_page liu /audit
time_page liu "/audit?page=2"
time_page zhi-pay "/reports/monthly?month=$month"
time_page zhi-pay /reports/reconcile
time_page chen /complaints
time_page chen /query
token=$(csrf chen /query)
time_page chen /query --data-urlencode "csrf=$token" --data-urlencode "id=$resident" --data-urlencode "name=韦秀英"
token=$(csrf chen /complaints)
time_page chen /complaints --data-urlencode "csrf=$token" --data-urlencode "about_kind=resident" --data-urlencode "about=$resident" \
    --data-urlencode "content=电话反映未到账" --data-urlencode "channel=来电"

# Actions that are not page views: the monthly CSV, a reconciliation of the month's statement,
# the warnings run and audit verify as jobs.
token=$(csrf zhi-pay "/reports/monthly?month=$month")
time_page zhi-pay /reports/monthly --data-urlencode "csrf=$token" --data-urlencode "month=$month" --data-urlencode "format=csv"
from="$month-01"; to=$(date -d "$from +1 month -1 day" +%F)
"$ykt" bank statement --folder "$work/bank" --bank RCC --from "$from" --to "$to" --out "$work/statement.txt" >/dev/null
token=$(csrf zhi-pay /reports/reconcile)
time_page zhi-pay /reports/reconcile -F "csrf=$token" -F "period=$month" -F "output=page" -F "statement=@$work/statement.txt"
for job in "warnings/run /warnings/run zhi-pay" "audit/verify /audit liu"; do
    set -- $job
    token=$(csrf "$3" "$2")
    if [ "$1" = audit/verify ]; then
        curl -sS --cacert "$work/pki/ca.crt" -b "$(jar "$3")" -o /dev/null -F "csrf=$token" "$base/$1"
    else
        curl -sS --cacert "$work/pki/ca.crt" -b "$(jar "$3")" -o /dev/null --data-urlencode "csrf=$token" "$base/$1"
    fi
    for _ in $(seq 600); do
        page=$(curl -sS --cacert "$work/pki/ca.crt" -b "$(jar "$3")" "$base$2")
        grep -q 'data-refresh' <<<"$page" || break
        sleep 0.2
    done
    echo "job $1: $(grep -o '用时 [0-9.]* 秒' <<<"$page" | tail -n 1)"
done
time_page liu /warnings
kill $console; wait $console 2>/dev/null || true
echo "server time per page (ms, from the console's request log; best and worst of the requests made):"
grep ' request ' "$work/console.out" | grep -v 'path=/login' |
    sed 's/.*method=\([A-Z]*\) path=\([^ ]*\) status=\([0-9]*\) .*ms=\([0-9]*\).*/\1 \2 \3 \4/' |
    awk '{ k = $1 " " $2 " " $3; if (!(k in best) || $4 + 0 < best[k]) best[k] = $4 + 0; if ($4 + 0 > worst[k]) worst[k] = $4 + 0; n[k]++ }
         END { for (k in best) printf "  %-72s n=%-3d best %5d  worst %5d\n", k, n[k], best[k], worst[k] }' | sort
