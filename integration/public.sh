#!/usr/bin/env bash
# The public channel on the demo county, in Chromium (issue 18): the county publishes its site
# and query store (`ykt publish`), anyone checks the signature (`ykt publish verify`, and a
# tampered copy is refused), `ykt public serve` answers over HTTPS with the dev PKI's server
# certificate, and integration/public_day.py plays a resident on a phone-sized screen (the
# home page and its static pages, a query that hits, one that misses, a complaint). The
# complaint is then imported at the county (`ykt complaint import`) and listed there.
#   integration/public.sh DEMO_WORK [--update-docs]
# DEMO_WORK: the work directory integration/demo.sh left (its county has paid and failed
# payments). YKT: the ykt binary (default .build/release/ykt, the demo's). With --update-docs
# the screenshots also go to docs/public/. Ends with `public day: N checks passed, M failed`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo=${1:?usage: integration/public.sh DEMO_WORK [--update-docs]}
ykt=${YKT:-$root/.build/release/ykt}
[ -x "$ykt" ] || { echo "public.sh: $ykt is missing: run integration/demo.sh first" >&2; exit 2; }
python=/usr/bin/python3   # Debian's, with python3-selenium
for tool in chromium chromedriver certutil; do
    command -v "$tool" >/dev/null || { echo "public.sh: $tool is missing: run .ci/setup" >&2; exit 2; }
done
update_docs=
[ "${2:-}" = --update-docs ] && update_docs=$root/docs/public
. "$root/integration/operators.sh" "$demo"
county="$demo/county"
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-public.XXXXXX")
echo "== 工作目录 $work"

serve_pid=
cleanup() {
    if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

echo "== 县财政发布公开网站和查询库"
ykt_as tou-su "$county" publish --out "$work/public"
"$ykt" key show --node "$county" > "$work/county.pub"
echo "== 任何人都可以校验签名"
"$ykt" publish verify "$work/public" --public-key "$work/county.pub"
# A mirror that changed one byte of one page is refused, and the page is named.
cp -r "$work/public" "$work/tampered"
page=$(cd "$work/tampered/site" && find . -name '*.html' ! -name index.html | head -n 1)
printf ' ' >> "$work/tampered/site/$page"
if "$ykt" publish verify "$work/tampered" --public-key "$work/county.pub" 2>"$work/tampered.txt"; then
    echo "public.sh: a tampered copy passed verification" >&2; exit 1
fi
grep -q "${page#./}" "$work/tampered.txt" || { echo "public.sh: the refusal does not name ${page#./}:" >&2; cat "$work/tampered.txt" >&2; exit 1; }
echo "   改动过的副本被拒绝：$(head -n 1 "$work/tampered.txt")"

bash "$root/certs/make-dev-pki.sh" console "$work/pki" >/dev/null
"$ykt" public serve --store "$work/public/query.store" --listen 127.0.0.1:0 --port-file "$work/public.port" \
    --certificate "$work/pki/console.crt" --key "$work/pki/console.key" --spool "$work/spool" \
    --public-key "$work/county.pub" 2>"$work/public.log" &
serve_pid=$!
for _ in $(seq 1 100); do [ -s "$work/public.port" ] && break; sleep 0.1; done
[ -s "$work/public.port" ] || { echo "public.sh: ykt public serve did not start:" >&2; cat "$work/public.log" >&2; exit 1; }
port=$(cat "$work/public.port")
echo "== 公众查询服务 https://127.0.0.1:$port/"

# Chromium trusts the dev CA through an NSS database of its own (HOME of the browser).
browser_home="$work/browser-home"
mkdir -p "$browser_home/.pki/nssdb"
certutil -N -d "sql:$browser_home/.pki/nssdb" --empty-password
certutil -A -d "sql:$browser_home/.pki/nssdb" -t "C,," -n "ykt-dev-public-ca" -i "$work/pki/console-ca.crt"

# A resident who was paid, by the county's own query; and every full ID, account and phone of
# the demo, none of which may show on any public page.
read -r rid rname rtownship < <(ykt_as shen-audit "$county" payment list --status paid --json | "$python" -c '
import json, sys
p = json.load(sys.stdin)[0]
print(p["residentID"], p["name"], p["node"])')
secrets=()
while IFS= read -r s; do secrets+=(--secret "$s"); done < <("$python" - "$demo/data" <<'PY'
import csv, glob, sys
for path in glob.glob(sys.argv[1] + "/*-register.csv"):
    raw = open(path, "rb").read()
    text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" else raw.decode("gb18030")
    rows = list(csv.reader(text.splitlines()))
    head = rows[0]
    cols = [i for i, h in enumerate(head) if any(k in h for k in ("身份证", "账号", "卡号", "电话", "手机"))]
    for r in rows[1:]:
        for i in cols:
            if i < len(r) and len(r[i]) >= 11:
                print(r[i])
PY
)
echo "== 浏览器：首页、查询（查到、查不到）、投诉举报（${#secrets[@]} 个完整号码不得出现在页面上）"
set +e
county_name=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["county"])' "$work/public/site/manifest.json")
"$python" "$root/integration/public_day.py" --base "https://127.0.0.1:$port/" --county "$county_name" --township "$rtownship" \
    --id "$rid" --name "$rname" "${secrets[@]}" --browser-home "$browser_home" --out "$work/out" \
    ${update_docs:+--docs "$update_docs"} | tee "$work/day.txt"
status=${PIPESTATUS[0]}
set -e
# The server's log names no resident: neither the ID queried nor the complainant's phone.
if grep -q -e "$rid" -e 13800001234 "$work/public.log"; then
    echo "public.sh: personal data in the public server's log" >&2; status=1
fi

echo "== 县财政导入网上投诉举报"
ykt_as tou-su "$county" complaint import "$work/spool"
receipt=$(sed -n 's/^receipt: //p' "$work/day.txt" | head -n 1)
if ! ykt_as tou-su "$county" complaint list | grep -q "网上"; then
    echo "public.sh: the imported complaint is not in the county's list" >&2; status=1
fi
# Importing the same spool again adds nothing.
before=$(ykt_as tou-su "$county" complaint list --json | "$python" -c 'import json,sys; print(len(json.load(sys.stdin)))')
ykt_as tou-su "$county" complaint import "$work/spool" >/dev/null 2>&1 || true
after=$(ykt_as tou-su "$county" complaint list --json | "$python" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$before" = "$after" ] || { echo "public.sh: a second import added complaints ($before → $after)" >&2; status=1; }
echo "   受理编号 ${receipt:-（无）} 已导入县财政（投诉举报 $after 件）"
tail -n 1 "$work/day.txt"
exit $status
