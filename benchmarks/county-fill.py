#!/usr/bin/env python3
"""SQL that fills a county database made by `ykt init --role county` (with the policy list
published and agency bank RCC added): RESIDENTS residents with valid GB 11643 IDs, four approved
rosters (GD01, YL01, GL01, CJ01 for 2026) with one line per resident, a few planted cases for
the warning rules, and one batch of LINES payments from the first roster, ready to dispatch.

    python3 benchmarks/county-fill.py LINES RESIDENTS | sqlite3 county.db

Used by benchmarks/county.sh and integration/proving-ground.sh.

Options (without them the output is byte for byte what it always was):

    --dated      the four rosters carry their approval (approved 2026-11-10), as `ykt roster
                 approve` leaves them, so the monthly report counts their unpaid lines
    --years N    a county with N years of history (2026-N+1 … 2026), paid as a county pays:
                 per year the three yearly programs of the policy list, GD01 and TZ01 (每年,
                 按人: every resident) and GY01 (每年, 按户: one household head in four, with the
                 household each line paid); and two monthly programs (每月) in monthly periods
                 (`2026-03`, quantity 1 month): YL01 for one resident in 12 (paid to the social
                 security card: its carrier is 社保卡（过渡期）) and GL01 for one in 16. That is
                 4 lines per resident per year. Every roster is approved; each one whose money
                 went out before November 2026 is paid, one batch per roster, result dated in
                 its month (yearly rosters in June). Planted: several accounts and a shared
                 account (TZ01 2026), deceased (2 per 100,000; one died 2025-07-01, so
                 a year and a half of monthly lines), officials, a GL01 line above the standard,
                 a YL01 line on a bank card (carrier transition). The batch of LINES payments
                 is from GD01 2026, ready to dispatch, as without --years.
                 Counts go to standard error."""
import sys

# The options first; the two numbers as they always were.
years, dated, positional = 0, False, []
args = sys.argv[1:]
while args:
    a = args.pop(0)
    if a == "--years":
        years = int(args.pop(0))
    elif a.startswith("--years="):
        years = int(a.split("=", 1)[1])
    elif a == "--dated":
        dated = True
    else:
        positional.append(a)
if years < 0:
    sys.exit("county-fill.py: --years must be 0 or more")

# An SQL expression for the 18-character ID of number i: region 450223, a birth date from
# 1950-01-01 on (1,000 residents per day), a 3-digit sequence, and the GB 11643 check digit.
lines, residents = int(positional[0]), int(positional[1])
body = "('450223' || strftime('%Y%m%d', '1950-01-01', '+' || (i / 1000) || ' days') || substr('000' || (i % 1000), -3))"
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
total = " + ".join(f"CAST(substr(b, {k+1}, 1) AS INTEGER) * {w[k]}" for k in range(17))
ident = f"(b || substr('10X98765432', (({total}) % 11) + 1, 1))"
print("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;")
print(f"""CREATE TEMP TABLE ids AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {residents} - 1)
SELECT i, {ident.replace('b', body) if False else ident} AS rid FROM (SELECT i, {body} AS b FROM n);""")


def default_fill():
    print("""INSERT INTO township(node_id, name, enrolled_at) VALUES ('450223101', '寨沙镇', 'bench');
INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number)
  SELECT rid, '450223101', '韦秀英', '广西农村信用社', 'card', '623018' || substr('0000000000000' || i, -13) FROM ids;""")
    # Four approved rosters (GD01, YL01, GL01, CJ01 for 2026), one line per resident each.
    for k, (prog, unit_amount) in enumerate([("GD01", 22470), ("YL01", 195600), ("GL01", 120000), ("CJ01", 108000)], start=1):
        print(f"""INSERT INTO roster(id, node_id, entity, program, period, line_count, total_fen, received_at, status)
  VALUES ({k}, '450223101', 'roster/450223101/{prog}/2026/1', '{prog}', '2026', {residents}, {residents * unit_amount}, 'bench', 'approved');
INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
  SELECT {k}, i + 1, rid, '韦秀英', '大塘村', '广西农村信用社', '{"social-security-card" if prog == "YL01" else "card"}',
         '623018' || substr('0000000000000' || i, -13), '{"2" if prog == "GD01" else "12"}', {unit_amount} FROM ids;""")
    # No notices behind these rosters, as `ykt` keeps it for a roster it receives.
    print("UPDATE roster SET notices_closed_on = '';")
    if dated:
        print("UPDATE roster SET approved_by = 'bench', approved_at = '2026-11-10T10:00:00+08:00';")
    # A few planted cases so every rule has something to find.
    # (YL01, whose carrier is the social security card in transition, pays everyone onto that
    # card but line 11, still on a bank card.)
    print("""UPDATE roster_line SET account_number = '6230189999999999999' WHERE roster_id = 2 AND line_no = 10;
UPDATE roster_line SET account_kind = 'card' WHERE roster_id = 2 AND line_no = 11;
INSERT INTO deceased SELECT rid, '韦秀英', '2026-03-01', 'bench' FROM ids WHERE i % 100000 = 7;
INSERT INTO official SELECT rid, '韦秀英', '某局', '本人', 'bench' FROM ids WHERE i % 100000 = 9;""")
    # One batch of LINES payments from roster 1, ready to dispatch.
    print(f"""INSERT INTO batch(id, bank, kind, created_by, created_at, line_count, total_fen)
  VALUES (1, 'RCC', 'original', 'bench', 'bench', {lines}, {lines * 22470});
INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind, account_number, amount_fen)
  SELECT 1, 1, line_no, '450223101', 'GD01', '2026', resident_id, name, bank, account_kind, account_number, amount_fen
  FROM roster_line WHERE roster_id = 1 AND line_no <= {lines};
COMMIT;""")


ACCOUNT = "'623018' || substr('0000000000000' || i, -13)"
KIND = "CASE WHEN i % 12 = 0 THEN 'social-security-card' ELSE 'card' END"   # YL01's people hold a social security card
HOUSEHOLD = "'450223101' || substr('000000' || (i / 4), -6)"                 # 户号: households of four, the head first


def history_fill():
    print(f"""INSERT INTO township(node_id, name, enrolled_at) VALUES ('450223101', '寨沙镇', 'bench');
INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number, household, head)
  SELECT rid, '450223101', '韦秀英', '广西农村信用社', {KIND}, {ACCOUNT}, {HOUSEHOLD}, i % 4 = 0 FROM ids;""")
    # Who is on each program: (filter on i, line number of i, number of residents it selects).
    def every(m, r):
        return (f"i % {m} = {r}", f"i / {m} + 1", max(0, (residents - r + m - 1) // m)) if m > 1 else ("1", "i + 1", residents)
    # code: (who, quantity, amount in fen): GD01 112.35 元/亩 × 2 亩, TZ01 150.00 × 1 亩,
    # GY01 15.75 × 10 亩 (per household), YL01 163.00 元/人·月, GL01 100.00 元/人·月.
    programs = {"GD01": (every(1, 0), "2", 22470), "TZ01": (every(1, 0), "1", 15000), "GY01": (every(4, 0), "10", 15750),
                "YL01": (every(12, 0), "1", 16300), "GL01": (every(16, 2), "1", 10000)}
    rosters = {}      # (program, period) -> id
    paid = []         # (roster id, program, period, lines, total, dispatched on, paid on)
    count = 0
    for year in range(2026 - years + 1, 2027):
        periods = [(p, str(year), f"{year}-05") for p in ("GD01", "TZ01", "GY01")]
        periods += [(p, f"{year}-{m:02d}", f"{year}-{m:02d}") for p in ("YL01", "GL01") for m in range(1, 13)]
        for prog, period, month in periods:
            (where, line_no, n), quantity, amount = programs[prog]
            k = len(rosters) + 1
            rosters[(prog, period)] = k
            count += n
            # GD01 of this year: approved on 2026-11-10, paid by the benchmark's batch.
            approved = "2026-11" if (prog, period) == ("GD01", "2026") else month
            print(f"""INSERT INTO roster(id, node_id, entity, program, period, line_count, total_fen, received_at, status,
    reviewed_by, reviewed_at, approved_by, approved_at)
  VALUES ({k}, '450223101', 'roster/450223101/{prog}/{period}/1', '{prog}', '{period}', {n}, {n * amount}, '{approved}-01T10:00:00+08:00',
    'approved', 'bench', '{approved}-03T10:00:00+08:00', 'bench', '{approved}-{10 if approved == "2026-11" else "05"}T10:00:00+08:00');
INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
  SELECT {k}, {line_no}, rid, '韦秀英', '大塘村', '广西农村信用社', {KIND}, {ACCOUNT}, '{quantity}', {amount} FROM ids WHERE {where};""")
            if prog == "GY01":
                print(f"""INSERT INTO household_line(roster_id, line_no, node_id, household)
  SELECT {k}, {line_no}, '450223101', {HOUSEHOLD} FROM ids WHERE {where};""")
            # Paid when its money went out before November 2026 (yearly rosters in June).
            out = f"{year}-06" if period == str(year) else month
            if out < "2026-11" and (prog, period) != ("GD01", "2026"):
                paid.append((k, prog, period, n, n * amount, out))
    # Planted cases (where there are residents enough), before the payments copy the lines.
    last = lambda prog, period: rosters.get((prog, period))
    tz, gl, yl = last("TZ01", "2026"), last("GL01", "2026-05"), last("YL01", "2026-06")
    print(f"""UPDATE roster_line SET account_number = '6230189999999999999' WHERE roster_id = {tz} AND line_no = 10;
UPDATE roster_line SET account_number = '623018' || substr('0000000000000' || 12, -13) WHERE roster_id = {tz} AND line_no = 12;
UPDATE roster_line SET amount_fen = 20000 WHERE roster_id = {gl} AND line_no = 1;
UPDATE roster SET total_fen = total_fen + 10000 WHERE id = {gl} AND EXISTS (SELECT 1 FROM roster_line WHERE roster_id = {gl} AND line_no = 1);
UPDATE roster_line SET account_kind = 'card' WHERE roster_id = {yl} AND line_no = 1;
INSERT INTO deceased SELECT rid, '韦秀英', CASE WHEN i % 100000 = 7 THEN '2026-03-01' ELSE '2025-07-01' END, 'bench' FROM ids
  WHERE i % 100000 IN (7, 24);
INSERT INTO official SELECT rid, '韦秀英', '某局', '本人', 'bench' FROM ids WHERE i % 100000 = 9;""")
    # The history paid: one batch per roster, its result in the month (the 15th), all paid.
    payments = 0
    for b, (k, prog, period, n, total_fen, month) in enumerate(paid, start=1):
        payments += n
        print(f"""INSERT INTO batch(id, bank, kind, created_by, created_at, line_count, total_fen, status, file, sha256, dispatched_on,
    pay_due, report_due, result_file, result_sha256, resulted_on, file_seq, file_placed_at)
  SELECT {b}, 'RCC', 'original', 'bench', '{month}-08T09:00:00+08:00', count(*), coalesce(sum(amount_fen), 0), 'resulted',
    'YKT-PAY-450223-RCC-{b:06d}.txt', printf('%064d', {b}), '{month}-10', '{month}-14', '{month}-17',
    'YKT-RESULT-450223-RCC-{b:06d}.txt', printf('%064d', {b}), '{month}-15', {b}, '{month}-10'
  FROM roster_line WHERE roster_id = {k};
INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind, account_number,
    amount_fen, status, result_on)
  SELECT {b}, {k}, line_no, '450223101', '{prog}', '{period}', resident_id, name, bank, account_kind, account_number, amount_fen,
    'paid', '{month}-15' FROM roster_line WHERE roster_id = {k};""")
    # No notices behind these rosters, as `ykt` keeps it for a roster it receives.
    print("UPDATE roster SET notices_closed_on = '';")
    # The paid totals per roster and day, as `ykt bank receive` writes them with the results.
    print("""INSERT INTO roster_paid(roster_id, paid_on, lines, fen)
  SELECT roster_id, result_on, count(*), sum(amount_fen) FROM payment WHERE status = 'paid' GROUP BY roster_id, result_on;""")
    # One batch of LINES payments from GD01 2026, ready to dispatch.
    gd, b = rosters[("GD01", "2026")], len(paid) + 1
    print(f"""INSERT INTO batch(id, bank, kind, created_by, created_at, line_count, total_fen)
  VALUES ({b}, 'RCC', 'original', 'bench', 'bench', {lines}, {lines * 22470});
INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind, account_number, amount_fen)
  SELECT {b}, {gd}, line_no, '450223101', 'GD01', '2026', resident_id, name, bank, account_kind, account_number, amount_fen
  FROM roster_line WHERE roster_id = {gd} AND line_no <= {lines};
COMMIT;""")
    print(f"history {2026 - years + 1}–2026: {len(rosters)} rosters, {count} roster lines, "
          f"{len(paid)} batches paid ({payments} payments), a batch of {lines} from GD01 2026 (roster {gd}, batch {b})",
          file=sys.stderr)


if years == 0:
    default_fill()
else:
    history_fill()
# What `ykt` keeps with a roster it receives (county migration 31): its largest amount, and the
# standard every amount was found equal to (standard × quantity; the planted cases above it are
# no such roster's).
print("""UPDATE roster SET max_amount_fen = (SELECT max(amount_fen) FROM roster_line WHERE roster_id = roster.id);
UPDATE roster SET checked_standard_fen = (SELECT standard_fen FROM program WHERE code = roster.program)
  WHERE NOT EXISTS (SELECT 1 FROM roster_line l WHERE l.roster_id = roster.id
    AND l.amount_fen <> CAST(round((SELECT standard_fen FROM program WHERE code = roster.program) * CAST(l.quantity AS REAL)) AS INTEGER));""")
