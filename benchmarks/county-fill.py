#!/usr/bin/env python3
"""SQL that fills a county database made by `ykt init --role county` (with the policy list
published and agency bank RCC added): RESIDENTS residents with valid GB 11643 IDs, four approved
rosters (GD01, YL01, GL01, CJ01 for 2026) with one line per resident, a few planted cases for
the warning rules, and one batch of LINES payments from the first roster, ready to dispatch.

    python3 benchmarks/county-fill.py LINES RESIDENTS | sqlite3 county.db

Used by benchmarks/county.sh and integration/proving-ground.sh."""
import sys

# An SQL expression for the 18-character ID of number i: region 450223, a birth date from
# 1950-01-01 on (1,000 residents per day), a 3-digit sequence, and the GB 11643 check digit.
lines, residents = int(sys.argv[1]), int(sys.argv[2])
body = "('450223' || strftime('%Y%m%d', '1950-01-01', '+' || (i / 1000) || ' days') || substr('000' || (i % 1000), -3))"
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
total = " + ".join(f"CAST(substr(b, {k+1}, 1) AS INTEGER) * {w[k]}" for k in range(17))
ident = f"(b || substr('10X98765432', (({total}) % 11) + 1, 1))"
print("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;")
print(f"""CREATE TEMP TABLE ids AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {residents} - 1)
SELECT i, {ident.replace('b', body) if False else ident} AS rid FROM (SELECT i, {body} AS b FROM n);""")
print("""INSERT INTO township(node_id, name, enrolled_at) VALUES ('450223101', '寨沙镇', 'bench');
INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number)
  SELECT rid, '450223101', '韦秀英', '广西农村信用社', 'card', '623018' || substr('0000000000000' || i, -13) FROM ids;""")
# Four approved rosters (GD01, YL01, GL01, CJ01 for 2026), one line per resident each.
for k, (prog, unit_amount) in enumerate([("GD01", 22470), ("YL01", 195600), ("GL01", 120000), ("CJ01", 108000)], start=1):
    print(f"""INSERT INTO roster(id, node_id, entity, program, period, line_count, total_fen, received_at, status)
  VALUES ({k}, '450223101', 'roster/450223101/{prog}/2026/1', '{prog}', '2026', {residents}, {residents * unit_amount}, 'bench', 'approved');
INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
  SELECT {k}, i + 1, rid, '韦秀英', '大塘村', '广西农村信用社', 'card', '623018' || substr('0000000000000' || i, -13),
         '{"2" if prog == "GD01" else "12"}', {unit_amount} FROM ids;""")
# A few planted cases so every rule has something to find.
print("""UPDATE roster_line SET account_number = '6230189999999999999' WHERE roster_id = 2 AND line_no = 10;
INSERT INTO deceased SELECT rid, '韦秀英', '2026-03-01', 'bench' FROM ids WHERE i % 100000 = 7;
INSERT INTO official SELECT rid, '韦秀英', '某局', '本人', 'bench' FROM ids WHERE i % 100000 = 9;""")
# One batch of LINES payments from roster 1, ready to dispatch.
print(f"""INSERT INTO batch(id, bank, kind, created_by, created_at, line_count, total_fen)
  VALUES (1, 'RCC', 'original', 'bench', 'bench', {lines}, {lines * 22470});
INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind, account_number, amount_fen)
  SELECT 1, 1, line_no, '450223101', 'GD01', '2026', resident_id, name, bank, account_kind, account_number, amount_fen
  FROM roster_line WHERE roster_id = 1 AND line_no <= {lines};
COMMIT;""")
