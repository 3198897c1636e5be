#!/usr/bin/env bash
# The public query server (issue 18): queries per second and latency on loopback with HTTP
# keep-alive, then the rate limiter under a flood from one address.
#
# A store of N made-up residents (default 100,000; `ykt demo public-store`, scrypt at the
# standard cost) is served by `ykt public serve` (release build) on 127.0.0.1 with a
# development ECDSA certificate (certs/make-dev-pki.sh console). Then:
#   1. throughput: THREADS client threads (default 8; /usr/bin/python3, ssl + http.client, one
#      kept-alive connection each) post QUERIES queries in all (default 4,000), half hits and half
#      misses, with the limits lifted; prints queries per second and p50/p99 latency of hits and
#      of misses, as the client measured them;
#   2. the limiter at its defaults: FLOOD queries (default 300) as fast as 4 connections from
#      127.0.0.1 can send them: how many were answered 200 and how many 429, and then whether
#      a query from another address (127.0.0.2) is still answered.
# Prints figures only.
#   benchmarks/public-query.sh [N]     (THREADS=8 QUERIES=4000 FLOOD=300)
# KEEP=1 keeps the work directory; SKIP_BUILD=1 uses the last release build (YKT=path another binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
residents=${1:-100000}
threads=${THREADS:-8}
queries=${QUERIES:-4000}
flood=${FLOOD:-300}
case "$residents$threads$queries$flood" in *[!0-9]*) echo "N, THREADS, QUERIES, FLOOD: whole numbers" >&2; exit 2 ;; esac
bash .ci/setup build >/dev/null
if [ -z "${SKIP_BUILD:-}" ]; then
    flock "${BUILD_LOCK:-/tmp/ykt-build.lock}" swift build -c release --product ykt 2>&1 | tail -n 1
fi
ykt=${YKT:-$root/.build/release/ykt}
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-publicbench.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

t0=$(now)
"$ykt" demo public-store --out "$work/query.store" --residents "$residents" --site "$work/site" --public-key-out "$work/county.pub" >/dev/null
t1=$(now)
echo "store: $residents residents built in $(secs "$t0" "$t1") s, $(( $(stat -c %s "$work/query.store") / 1048576 )) MiB"
bash certs/make-dev-pki.sh console "$work/pki" >/dev/null 2>&1

# serve EXTRA-FLAGS…: starts the server, waits for its port.
serve() {
    if [ -n "$server_pid" ]; then kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; fi
    rm -f "$work/port"
    "$ykt" public serve --store "$work/query.store" --site "$work/site" --listen 127.0.0.1:0 --port-file "$work/port" \
        --certificate "$work/pki/console.crt" --key "$work/pki/console.key" --public-key "$work/county.pub" "$@" 2>>"$work/server.log" &
    server_pid=$!
    for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
    [ -s "$work/port" ] || { echo "the server did not start:" >&2; tail -n 5 "$work/server.log" >&2; exit 1; }
    port=$(cat "$work/port")
}

cat > "$work/client.py" <<'EOF'
import http.client, re, ssl, sys, threading, time, urllib.parse

mode, port, ca, residents = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
context = ssl.create_default_context(cafile=ca)

def resident(i):
    return "45022319%010d" % i, "测试%d" % i

class Client:
    """One kept-alive connection from `source`, with the query form's token."""
    def __init__(self, source="127.0.0.1"):
        self.c = http.client.HTTPSConnection("127.0.0.1", port, context=context, source_address=(source, 0), timeout=30)
        self.c.request("GET", "/query")
        page = self.c.getresponse().read().decode()
        self.token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    def query(self, id, name):
        body = urllib.parse.urlencode({"token": self.token, "id": id, "name": name})
        self.c.request("POST", "/query", body, {"Content-Type": "application/x-www-form-urlencoded"})
        r = self.c.getresponse()
        page = r.read().decode()
        return r.status, page

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000 if values else float("nan")

if mode == "throughput":
    threads, total = int(sys.argv[5]), int(sys.argv[6])
    hits, misses, errors = [], [], []
    lock = threading.Lock()
    def work(k):
        c = Client()
        mine_h, mine_m = [], []
        for j in range(k, total, threads):
            i = 1 + (j * 7919) % residents
            id, name = resident(i)
            hit = j % 2 == 0
            t = time.perf_counter()
            status, page = c.query(id, name if hit else name + "甲")
            dt = time.perf_counter() - t
            found = "records" in page
            if status != 200 or found != hit:
                with lock: errors.append((status, hit))
            (mine_h if hit else mine_m).append(dt)
        with lock:
            hits.extend(mine_h); misses.extend(mine_m)
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    elapsed = time.perf_counter() - start
    n = len(hits) + len(misses)
    print("throughput: %d queries by %d kept-alive connections in %.1f s: %.0f queries/s" % (n, threads, elapsed, n / elapsed))
    print("  hits   %5d  p50 %6.2f ms  p99 %6.2f ms" % (len(hits), pct(hits, 50), pct(hits, 99)))
    print("  misses %5d  p50 %6.2f ms  p99 %6.2f ms" % (len(misses), pct(misses, 50), pct(misses, 99)))
    print("  wrong answers: %d" % len(errors))
elif mode == "flood":
    total = int(sys.argv[5])
    counts = {}
    lock = threading.Lock()
    id, name = resident(1)
    def work(k):
        c = Client()
        for _ in range(k, total, 4):
            status, _ = c.query(id, name)
            with lock: counts[status] = counts.get(status, 0) + 1
    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    start = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    elapsed = time.perf_counter() - start
    print("flood from 127.0.0.1: %d queries in %.1f s: %d answered 200, %d answered 429, other %d" % (
        total, elapsed, counts.get(200, 0), counts.get(429, 0), total - counts.get(200, 0) - counts.get(429, 0)))
    status, page = Client("127.0.0.2").query(id, name)
    print("then from 127.0.0.2: %d (%s)" % (status, "records shown" if "records" in page else "no records"))
EOF

serve --query-rate 1000000/s --query-burst 1000000 --global-rate 1000000/s --global-burst 1000000
/usr/bin/python3 "$work/client.py" throughput "$port" "$work/pki/console-ca.crt" "$residents" "$threads" "$queries"

serve
echo "limiter (defaults): per address 30/min after a burst of 10; all addresses 300/s after a burst of 600"
/usr/bin/python3 "$work/client.py" flood "$port" "$work/pki/console-ca.crt" "$residents" "$flood"
