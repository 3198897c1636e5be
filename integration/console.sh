#!/usr/bin/env bash
# A whole day through the office console (issue 17), in Chromium driven by Selenium: a county
# (`ykt serve` for sync, `ykt console` over HTTPS with the dev PKI's server certificate, which
# Chromium trusts through its own NSS database) and a township (`ykt console` on 127.0.0.1, on a
# training clock so that 5 working days can pass). The day itself is integration/console_day.py:
# the clerk imports a register (a bad line first), records applications, records each village's
# representative meeting and opens and closes its village notice, then opens, prints (PDF) and
# closes the township notice, builds a roster; the leader submits it; the clerk syncs; the county's
# reviewer, approver and payments clerk review, approve and dispatch; the bank simulator pays
# with failures; the results come down and the clerk corrects a failed payment. Along the way:
# refusals (a county page at the township, a role without the command, a form without its CSRF
# token) and no full resident ID or account number in any page but a `/full` one.
#   integration/console.sh [--update-docs]      (YKT: the ykt binary, default .build/debug/ykt)
# OUT_DIR (default a temporary directory) receives the screenshots and the page sources; with
# --update-docs the screenshots also go to docs/console/. STEPS=a,b runs only those steps of
# console_day.py (when working on it). Ends with
# `console day: N checks passed, M failed`; exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/integration/serve-port.sh"
ykt=${YKT:-$root/.build/debug/ykt}
[ -x "$ykt" ] || { echo "console.sh: $ykt is missing: build first (swift build)" >&2; exit 2; }
python=/usr/bin/python3   # Debian's, with python3-selenium (the python3 first on PATH may lack it)
for tool in chromium chromedriver certutil pdftotext; do
    command -v "$tool" >/dev/null || { echo "console.sh: $tool is missing: run .ci/setup" >&2; exit 2; }
done
"$python" -c 'import selenium' 2>/dev/null || { echo "console.sh: python3-selenium is missing: run .ci/setup" >&2; exit 2; }
update_docs=
[ "${1:-}" = --update-docs ] && update_docs=$root/docs/console

work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-console.XXXXXX")
out=${OUT_DIR:-$work/out}
mkdir -p "$out"
echo "== 工作目录 $work（截图和页面源码在 $out）"
. "$root/integration/operators.sh" "$work"

# Every process started here is stopped on exit, by its id.
serve_pid=
cleanup() {
    if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

echo "== 演示数据：一个乡镇，2 个村"
"$ykt" demo generate --out "$work/data" --seed 17 --townships 1 --villages 2 --people 6 >/dev/null
code=$(tail -n +2 "$work/data/townships.csv" | head -n 1 | cut -d, -f1)
name=$(tail -n +2 "$work/data/townships.csv" | head -n 1 | cut -d, -f2)
township="$work/$code"
ykt_init "$township" admin 乡镇管理员 --township "$code" --name "$name" >/dev/null
township_operators "$township"

echo "== 县财政：证书、经办人、登记乡镇、发布日历和政策清单"
bash "$root/integration/county-setup.sh" "$ykt" "$work" "$code" >/dev/null
county="$work/county"
# Browsers speak no Ed25519 (the nodes' key type): the console has an ECDSA certificate of its own.
bash "$root/certs/make-dev-pki.sh" console "$work/pki" >/dev/null
cat >> "$county/node.conf" <<CONF
console_tls_certificate = $work/pki/console.crt
console_tls_key = $work/pki/console.key
console_listen = 127.0.0.1:0
clock_override = allowed
CONF
ykt_as cai-approve "$county" budget set --program GD01 --period 2026 --yuan 5000000 >/dev/null
ykt_as liu "$county" bank add --code RCC --name 广西农村信用社 --serves 中国邮政储蓄银行,中国农业银行 --folder "$work/banks/RCC" --agreement LZCZ-DF-2025-RCC --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费 >/dev/null

"$ykt" serve --node "$county" 2>"$work/serve.log" &
serve_pid=$!
port=$(serve_port "$county" "$serve_pid" "$work/serve.log")
cat >> "$township/node.conf" <<CONF
county_address = 127.0.0.1:$port
clock_override = allowed
console_listen = 127.0.0.1:0
CONF
# The first sync (calendar and policy list) before the day; the day's syncs are the button's.
"$ykt" sync --node "$township" >/dev/null

# Chromium trusts the console's CA through an NSS database of its own (HOME of the browser).
browser_home="$work/browser-home"
mkdir -p "$browser_home/.pki/nssdb"
certutil -N -d "sql:$browser_home/.pki/nssdb" --empty-password
certutil -A -d "sql:$browser_home/.pki/nssdb" -t "C,," -n "ykt-dev-console-ca" -i "$work/pki/console-ca.crt"

# The register of the day: the generated one, and a copy with one bad resident ID (check digit).
register="$work/data/$code-register.csv"
"$python" - "$register" "$work/register-bad.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))
head = rows[0]
col = next(i for i, h in enumerate(head) if "身份证" in h)
rid = rows[3][col]
rows[3][col] = rid[:17] + ("0" if rid[17] != "0" else "1")
csv.writer(open(sys.argv[2], "w", encoding="utf-8", newline="")).writerows(rows)
PY

set +e
"$python" "$root/integration/console_day.py" --ykt "$ykt" --work "$work" --township "$township" --county "$county" \
    --out "$out" --browser-home "$browser_home" ${update_docs:+--docs "$update_docs"} ${STEPS:+--steps "$STEPS"}
status=$?
set -e
exit $status
