#!/usr/bin/env python
"""Times the points liability report on a large ledger, before and after the rollup.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_liability \
        .venv/bin/python bench/liability_report.py [--entries 5000000] [--tail 20000]

Migrates the database, seeds 10,000 members if it has none, and appends --entries
synthetic ledger entries (earn / spend / expire / reverse / adjust, spread over 24 months)
with set-based SQL, unless the ledger already holds that many. Then it times:

1. the report with no rollup at all (every entry is in the live tail: a full scan — what
   the report would cost without the rollup);
2. the first full rollup (`points_liability_rollup`, 500,000 ids per transaction);
3. the report right after it (totals only);
4. the report with --tail new entries after the cursor (about an hour of a busy programme);
5. the incremental rollup of that tail.

It checks that every report agrees with a plain SUM over the ledger. Informational, not part
of the test suite. It adds rows to the ledger and resets the rollup: use a database of its
own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

if not os.environ.get("DATABASE_URL"):
    sys.exit("DATABASE_URL is required (a database of its own)")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from points.selectors.liability import liability_report  # noqa: E402
from points.services.liability import points_liability_rollup  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)

# Kinds cycle by id: 5 in 10 earn, 2 spend, 1 expire, 1 reverse, 1 unlock; times spread
# evenly over the 24 months before NOW, in id order (as a real ledger is).
INSERT_SQL = """
INSERT INTO points_pointsentry (member_id, kind, available_delta, pending_delta, held_delta,
                                debt_delta, reason, created_at)
SELECT m.ids[1 + (g %% array_length(m.ids, 1))],
       (ARRAY['earn','earn','earn','earn','earn','spend','spend','expire','reverse','unlock'])
           [1 + g %% 10],
       CASE WHEN g %% 10 < 5 THEN 100 WHEN g %% 10 = 9 THEN 10 ELSE -40 END,
       0, 0, 0, 'bench',
       %(now)s - make_interval(secs => (%(total)s - g) * (730.0 * 86400 / %(total)s))
FROM generate_series(%(start)s, %(stop)s) g,
     (SELECT array_agg(id) AS ids FROM (SELECT id FROM members_member LIMIT 10000) s) m
"""


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label:<48} {time.perf_counter() - started:8.2f} s")
    return result


def ledger_sums() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT COALESCE(SUM(available_delta + pending_delta + held_delta), 0),
                                 COALESCE(SUM(available_delta) FILTER (WHERE kind = 'earn'), 0)
                          FROM points_pointsentry""")
        return tuple(int(x) for x in cursor.fetchone())


def check(report) -> None:
    outstanding, issued = ledger_sums()
    assert (report.outstanding, report.issued) == (outstanding, issued), (report, outstanding)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--tail", type=int, default=20_000)
    args = parser.parse_args()

    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], check=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_member")
        if cursor.fetchone()[0] == 0:
            subprocess.run([*manage, "seed_members", "--members", "10000",
                            "--orders-per-member", "0"], check=True)
        cursor.execute("SELECT count(*) FROM points_pointsentry")
        have = cursor.fetchone()[0]
        batch = 1_000_000
        for start in range(have, args.entries, batch):
            stop = min(start + batch, args.entries) - 1
            timed(f"insert entries {start:,}–{stop:,}", lambda: cursor.execute(
                INSERT_SQL, {"now": NOW, "total": args.entries, "start": start, "stop": stop}))
        cursor.execute("ANALYZE points_pointsentry")
        cursor.execute("TRUNCATE points_pointsmonthtotal, points_pointsrollupcursor")
        cursor.execute("SELECT count(*) FROM points_pointsentry")
        print(f"ledger entries: {cursor.fetchone()[0]:,}")

    check(timed("report, no rollup (full scan)", liability_report))
    timed("first rollup (all entries)", lambda: points_liability_rollup(now=NOW))
    report = timed("report after rollup", liability_report)
    check(report)
    print(f"  months: {len(report.months)}, outstanding {report.outstanding:,}, "
          f"breakage {report.breakage_rate}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM points_pointsentry")
        top = cursor.fetchone()[0]
        cursor.execute(INSERT_SQL, {"now": NOW, "total": args.entries + args.tail,
                                    "start": args.entries, "stop": args.entries + args.tail - 1})
        cursor.execute("ANALYZE points_pointsentry")
    check(timed(f"report with {args.tail:,} entries after the cursor", liability_report))
    timed("incremental rollup of those", lambda: points_liability_rollup(now=NOW))
    check(timed("report after it", liability_report))
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_entry_id FROM points_pointsrollupcursor")
        assert cursor.fetchone()[0] > top


if __name__ == "__main__":
    main()
