#!/usr/bin/env bash
# Scans what a demo run left for personal data and keys that must never be there (issue 5, data
# safety): every full resident ID and account number the nodes hold, every node's private
# signing key, and every operator's password, session token, password record and sealed key, searched in the public files (notices, payment-result notices, summary tables 汇总表, the published site and query store, 明白卡, reports,
# reconciliations), the logs and saved command output, and any extra files named.
#   integration/scan-outputs.sh WORK_DIR [EXTRA_FILE...]
# Not scanned, by design: the databases and keys themselves, the demo's input registers, the
# import rejects and error lists a clerk needs to correct the register, and the files
# exchanged with the banks (instructions, results, statements), which carry full account
# numbers because paying needs them; they never leave the county-bank exchange folders.
set -euo pipefail
work=$1; shift
secrets=$(mktemp "${TMPDIR:-/tmp}/ykt-secrets.XXXXXX")
trap 'rm -f "$secrets"' EXIT
{
    sqlite3 "$work/county/county.db" "SELECT resident_id FROM resident UNION SELECT account_number FROM resident WHERE account_number != ''
                                       UNION SELECT resident_id FROM payment UNION SELECT account_number FROM payment"
    for db in "$work"/*/township.db; do
        sqlite3 "$db" "SELECT resident_id FROM beneficiary UNION SELECT number FROM account"
    done
    for key in "$work"/*/signing.key "$work"/*/signing.key.next; do if [ -f "$key" ]; then cut -d' ' -f2 "$key"; fi; done
    # Operators' passwords and session tokens (integration/operators.sh) and what the nodes keep
    # of them: password records and sealed signing keys, and session-token hashes.
    cat "$work"/secrets/*.pw "$work"/secrets/sessions/* 2>/dev/null || true   # *.pw includes the initial passwords
    for db in "$work"/county/county.db "$work"/*/township.db; do
        sqlite3 "$db" "SELECT password FROM operator_account UNION SELECT sealed_key FROM operator_account
                       UNION SELECT token_hash FROM operator_session"
    done
} | grep -E '.{8,}' | sort -u > "$secrets"
mapfile -t files < <(find "$work" -type f \( -path '*/out/*' -o -path "$work/reports/*" -o -path "$work/public/*" -o -name '*明白卡*' -o -name '*.log' -o -name '*.out' \
    -o -name '*.err' -o -name '*.report.txt' -o -name '*-early.txt' -o -name 'reconcile.txt' -o -name '*.json' \) \
    ! -name '*.db*' ! -name '*-rejects.csv' ! -name '*import-errors*' | sort)
files+=("$@")
found=0
for f in "${files[@]}"; do
    if grep -qF -f "$secrets" "$f"; then
        echo "unmasked personal data or a key in $f, line(s) $(grep -nF -f "$secrets" "$f" | cut -d: -f1 | head -n 5 | paste -sd,)" >&2
        found=$((found + 1))
    fi
done
echo "   scanned ${#files[@]} output files for $(wc -l < "$secrets") full IDs, account numbers, keys, passwords and session tokens: found in $found"
[ "$found" = 0 ]
