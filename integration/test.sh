#!/usr/bin/env bash
# The test command: installs prerequisites, builds with warnings as errors, runs every test
# (Swift Testing: unit, SQLite, black-box CLI), then the demo end to end, the public channel on the
# demo county in Chromium (integration/public.sh, skipped with YKT_SKIP_PUBLIC_TEST=1), the office
# console's day in Chromium (integration/console.sh, skipped with YKT_SKIP_CONSOLE_TEST=1) and the proving ground's
# quick mode (50 crash trials, integration/proving-ground.sh). Ends with one line
# `tests: N passed, M failed`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup
swift build --build-tests -Xswiftc -warnings-as-errors
log=$(mktemp "${TMPDIR:-/tmp}/ykt-test.XXXXXX")
status=0
swift test --skip-build --disable-xctest 2>&1 | tee "$log" || status=$?
summary=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -n 1 || true)
total=$(echo "$summary" | sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p')
failed=$(echo "$summary" | sed -nE 's/.*with ([0-9]+) issues?.*/\1/p')
if [ "$status" -ne 0 ] || [ -z "$total" ]; then
    echo "tests: ${total:-0} run, swift test failed"
    exit 1
fi
demo_out=$(mktemp "${TMPDIR:-/tmp}/ykt-demo.XXXXXX")
if ! bash integration/demo.sh > "$demo_out" 2>&1; then
    cat "$demo_out"
    echo "demo: 0 passed, 1 failed"
    exit 1
fi
tail -n 2 "$demo_out"
# No full resident ID, account number or key in anything the demo printed or left in public files.
demo_work=$(sed -n 's/^== 工作目录 //p' "$demo_out" | head -n 1)
bash integration/scan-outputs.sh "$demo_work" "$demo_out"
# The public channel on the demo county: publish, verify, the public server, a resident's queries
# and a complaint in Chromium, imported at the county (integration/public.sh); YKT_SKIP_PUBLIC_TEST=1 skips it.
if [ -z "${YKT_SKIP_PUBLIC_TEST:-}" ]; then
    public_out=$(mktemp "${TMPDIR:-/tmp}/ykt-public.XXXXXX")
    if ! bash integration/public.sh "$demo_work" > "$public_out" 2>&1; then
        cat "$public_out"
        echo "public day: failed"
        exit 1
    fi
    tail -n 1 "$public_out"
fi
# The office console: a whole day in Chromium (integration/console.sh); YKT_SKIP_CONSOLE_TEST=1 skips it.
if [ -z "${YKT_SKIP_CONSOLE_TEST:-}" ]; then
    console_out=$(mktemp "${TMPDIR:-/tmp}/ykt-console.XXXXXX")
    if ! bash integration/console.sh > "$console_out" 2>&1; then
        cat "$console_out"
        echo "console day: failed"
        exit 1
    fi
    tail -n 1 "$console_out"
fi
# The proving ground's quick mode: 50 crash trials with a new seed each run (printed on failure).
proving_out=$(mktemp "${TMPDIR:-/tmp}/ykt-proving.XXXXXX")
if ! bash integration/proving-ground.sh quick > "$proving_out" 2>&1; then
    cat "$proving_out"
    echo "proving ground: failed"
    exit 1
fi
tail -n 1 "$proving_out"
echo "tests: $total passed, ${failed:-0} failed"
