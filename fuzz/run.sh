#!/usr/bin/env bash
# Fuzzing (issue 5): builds the libFuzzer targets (`-sanitize=fuzzer,address`, in .build/fuzz so
# the normal build is untouched) and runs each for a bounded time.
#   fuzz/run.sh [SECONDS] [TARGET...]     default 60 s each; targets: changeset csv bankfile
# Starts from the seed corpus in fuzz/corpus/TARGET and any saved regressions. A crash stops the
# run: its input is saved as fuzz/crashes/TARGET-crash-…; after the fix, copy it into
# fuzz/regressions/TARGET/, where the test suite replays it (`ykt-fuzz TARGET FILE…`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(changeset csv bankfile)
bash .ci/setup >/dev/null
YKT_SHARED_STDLIB=1 swift build -c release --product ykt-fuzz --build-path .build/fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -v 'Cannot export local symbol' | tail -n 1
fuzzer="$root/.build/fuzz/release/ykt-fuzz"
work=$(mktemp -d "${TMPDIR:-/tmp}/ykt-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p fuzz/crashes
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    cp fuzz/corpus/"$t"/* "$work/$t/"
    [ -d "fuzz/regressions/$t" ] && cp fuzz/regressions/"$t"/* "$work/$t/" 2>/dev/null || true
    if ! YKT_FUZZ_TARGET=$t "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="fuzz/crashes/$t-" "$work/$t" > "$work/$t.log" 2>&1; then
        grep -E 'ERROR|SUMMARY|Test unit written' "$work/$t.log" | head -n 5
        echo "fuzz: $t crashed; the input is in fuzz/crashes/ (replay: .build/debug/ykt-fuzz $t FILE)"
        exit 1
    fi
    runs=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$work/$t.log" | tail -n 1)
    edges=$(grep -oE 'cov: [0-9]+' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
    summary+=("$t ${runs:-0} runs, ${edges:-0} edges")
done
echo "fuzz (${seconds} s each): $(IFS=';'; echo "${summary[*]}" | sed 's/;/; /g'); 0 crashes"
