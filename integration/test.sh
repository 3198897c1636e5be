#!/usr/bin/env bash
# The test command: installs prerequisites, builds with warnings as errors, runs every test
# (Swift Testing: unit, SQLite, black-box CLI), then the demo end to end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash .ci/setup
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build
bash integration/demo.sh > "${TMPDIR:-/tmp}/ykt-demo-output.txt" 2>&1 || { cat "${TMPDIR:-/tmp}/ykt-demo-output.txt"; echo "demo failed"; exit 1; }
tail -n 3 "${TMPDIR:-/tmp}/ykt-demo-output.txt"
