#!/usr/bin/env python
"""Times `tiers.services.ladder.tier_reevaluate_due` (the set-based batch re-evaluation) on a
large database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench \
        .venv/bin/python bench/tiers_reevaluate.py [--chunks 5000,20000] [--due-percent 60]
        [--explain] [--explain-chunk 5000]

Meant for a database filled by `manage.py seed_members` (1M members, 5M orders) and
migrated (tiers tables and the reference ladder). For every chunk size it:

1. resets what an earlier run wrote (growth entries and tier changes stamped with the
   benchmark's `now`, the tier system tags, all growth accounts) and re-populates one growth
   account per member with set-based SQL: growth spread deterministically from
   hashtext(id), the tier that growth qualifies for (Bronze only with a sale), the tier's
   tag, and for tiers with a validity a `tier_valid_until` that has ended at `now` for
   --due-percent of them;
2. times `tier_reevaluate_due(now=NOW, chunk=N)`, split by statement (candidate query,
   account locks, the chunk statement), and counts what it wrote;
3. runs it again: it must find nothing due.

With --explain, one chunk's statement is shown with EXPLAIN (ANALYZE, BUFFERS) inside a
transaction that is rolled back, before the timed run.

The append-only triggers on tiers_growthentry / tiers_tierchange are lifted
(`pgtrigger.ignore`, this connection only) while the reset deletes the benchmark's rows.
Informational, not part of the test suite. Never point it at a database whose tiers data
matters: it rewrites every growth account.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

import pgtrigger  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from tiers.services import ladder as services  # noqa: E402
from tiers.services.ladder import tier_reevaluate_due  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

# growth = |hashtext(id)| mod 50,000: ~4% below Silver, 16% Silver, 40% Gold, 40% Diamond.
# A second hash decides who is due (tier_valid_until in the last 180 days) and who is not
# (valid up to a year ahead); a third gives period_growth as 0-99% of growth / 4.
POPULATE_SQL = """
INSERT INTO tiers_growthaccount (member_id, growth, tier_id, tier_since, tier_valid_until,
                                 period_growth, updated_at)
SELECT s.id, s.growth, t.id,
       CASE WHEN t.validity_months IS NULL THEN %(now)s - interval '400 days'
            ELSE s.valid_until - make_interval(months => t.validity_months) END,
       CASE WHEN t.validity_months IS NULL THEN NULL ELSE s.valid_until END,
       s.growth * s.p / 400, %(now)s - interval '1 day'
FROM (
    SELECT m.id,
           (abs(hashtext(m.id::text)::bigint) %% 50000) AS growth,
           EXISTS (SELECT 1 FROM members_order o
                   WHERE o.member_id = m.id AND o.kind = 'sale') AS purchased,
           CASE WHEN abs(hashtext('due' || m.id)::bigint) %% 100 < %(due)s
                THEN %(now)s - make_interval(days => (abs(hashtext('d' || m.id)::bigint) %% 180)::int)
                ELSE %(now)s + make_interval(days => 1 + (abs(hashtext('d' || m.id)::bigint) %% 364)::int)
           END AS valid_until,
           abs(hashtext('p' || m.id)::bigint) %% 100 AS p
    FROM members_member m
) s
CROSS JOIN LATERAL (
    SELECT t.id, t.validity_months FROM tiers_tier t
    WHERE t.is_active AND (t.min_growth IS NULL OR t.min_growth <= s.growth)
      AND (NOT t.requires_first_purchase OR s.purchased)
    ORDER BY t.rank DESC LIMIT 1
) t
"""

TAG_SQL = """
INSERT INTO members_membertag (member_id, tag_id, added_at)
SELECT a.member_id, t.tag_id, a.tier_since
FROM tiers_growthaccount a JOIN tiers_tier t ON t.id = a.tier_id
ON CONFLICT (member_id, tag_id) DO NOTHING
"""


def sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        try:
            return cursor.fetchall()
        except Exception:  # noqa: BLE001 - statements without rows
            return None


def reset_and_populate(due_percent: int) -> None:
    t0 = time.perf_counter()
    with transaction.atomic():
        with pgtrigger.ignore("tiers.GrowthEntry:append_only", "tiers.TierChange:append_only"):
            ge = sql("WITH d AS (DELETE FROM tiers_growthentry WHERE created_at = %s "
                     "RETURNING 1) SELECT count(*) FROM d", [NOW])[0][0]
            tc = sql("WITH d AS (DELETE FROM tiers_tierchange WHERE created_at = %s "
                     "RETURNING 1) SELECT count(*) FROM d", [NOW])[0][0]
        tags = sql("WITH d AS (DELETE FROM members_membertag "
                   "WHERE tag_id IN (SELECT tag_id FROM tiers_tier) RETURNING 1) "
                   "SELECT count(*) FROM d")[0][0]
        left = sql("SELECT (SELECT count(*) FROM tiers_growthentry), "
                   "(SELECT count(*) FROM tiers_tierchange)")[0]
        if left != (0, 0):
            raise SystemExit(f"tiers_growthentry / tiers_tierchange hold rows this benchmark "
                             f"did not write ({left}); refusing to rewrite the accounts")
        sql("DELETE FROM tiers_growthaccount")
    t1 = time.perf_counter()
    with transaction.atomic():
        sql(POPULATE_SQL, {"now": NOW, "due": due_percent})
        sql(TAG_SQL)
    sql("VACUUM ANALYZE tiers_growthaccount")
    sql("ANALYZE members_membertag")
    t2 = time.perf_counter()
    print(f"reset: deleted {ge:,} growth entries, {tc:,} tier changes, {tags:,} tier tags "
          f"({t1 - t0:.1f} s); populated accounts and tags ({t2 - t1:.1f} s)")
    rows = sql("""
        SELECT t.code, count(*), count(*) FILTER (WHERE a.tier_valid_until <= %s)
        FROM tiers_growthaccount a JOIN tiers_tier t ON t.id = a.tier_id
        GROUP BY t.code, t.rank ORDER BY t.rank""", [NOW])
    total_due = sum(r[2] for r in rows)
    print("accounts by tier (all / due): " + ", ".join(f"{c} {n:,}/{d:,}" for c, n, d in rows)
          + f"; due in total {total_due:,}")


class StatementTimer:
    """execute_wrapper: wall time and count per kind of statement."""

    def __init__(self):
        self.time = defaultdict(float)
        self.count = defaultdict(int)

    def kind(self, statement: str) -> str:
        if statement is services._CANDIDATES_SQL or "LIMIT %(limit)s" in statement:
            return "candidates"
        if statement is services._REEVALUATE_SQL or "WITH due AS" in statement:
            return "chunk statement"
        if "INSERT INTO tiers_growthaccount" in statement:
            return "lock: insert missing accounts"
        if "FOR UPDATE" in statement:
            return "lock: select for update"
        return "other (savepoints, commit)"

    def __call__(self, execute, statement, params, many, context):
        t = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            k = self.kind(statement)
            self.time[k] += time.perf_counter() - t
            self.count[k] += 1


def written() -> tuple[dict[str, int], int]:
    reasons = dict(sql("SELECT reason, count(*) FROM tiers_tierchange WHERE created_at = %s "
                       "GROUP BY reason ORDER BY reason", [NOW]))
    entries = sql("SELECT count(*) FROM tiers_growthentry WHERE created_at = %s", [NOW])[0][0]
    return reasons, entries


def timed_run(label: str, chunk: int) -> None:
    before_reasons, before_entries = written()
    timer = StatementTimer()
    real_commit = connection._commit

    def timed_commit():  # COMMIT runs the deferred FK checks of everything the chunk wrote
        c = time.perf_counter()
        try:
            return real_commit()
        finally:
            timer.time["COMMIT (deferred FK checks)"] += time.perf_counter() - c
            timer.count["COMMIT (deferred FK checks)"] += 1

    connection._commit = timed_commit
    t = time.perf_counter()
    try:
        with connection.execute_wrapper(timer):
            done = tier_reevaluate_due(now=NOW, chunk=chunk)
    finally:
        del connection._commit
    elapsed = time.perf_counter() - t
    reasons, entries = written()
    new_reasons = {k: v - before_reasons.get(k, 0) for k, v in reasons.items()
                   if v - before_reasons.get(k, 0)}
    rate = done / elapsed if elapsed else 0.0
    print(f"  {label}: chunk={chunk:,} processed={done:,} elapsed={elapsed:.2f} s "
          f"rate={rate:,.0f} members/s")
    print(f"    tier changes by reason: {new_reasons or '{}'}; "
          f"growth entries written: {entries - before_entries:,}")
    for k in sorted(timer.time, key=timer.time.get, reverse=True):
        print(f"    {k:32s} {timer.count[k]:6,d} stmts {timer.time[k]:8.2f} s")
    rest = elapsed - sum(timer.time.values())
    print(f"    {'rest (Python, round trips)':32s} {'':12s} {rest:8.2f} s")


def explain(chunk: int) -> None:
    """EXPLAIN ANALYZE of the candidate query and of one chunk's statement, rolled back."""
    members = [r[0] for r in sql(services._CANDIDATES_SQL,
                                 {"now": NOW, "after": 0, "limit": chunk})]
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) candidate query, after=0, limit={chunk:,}:")
    for (line,) in sql("EXPLAIN (ANALYZE, BUFFERS) " + services._CANDIDATES_SQL,
                       {"now": NOW, "after": 0, "limit": chunk}):
        print("  " + line)
    mid = sql("SELECT member_id FROM tiers_growthaccount WHERE tier_valid_until <= %s "
              "ORDER BY member_id OFFSET %s LIMIT 1", [NOW, 300_000])
    if mid:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) candidate query, after={mid[0][0]:,} "
              f"(half-way), limit={chunk:,}:")
        for (line,) in sql("EXPLAIN (ANALYZE, BUFFERS) " + services._CANDIDATES_SQL,
                           {"now": NOW, "after": mid[0][0], "limit": chunk}):
            print("  " + line)
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) chunk statement on the first {len(members):,} due "
          f"members (rolled back):")
    try:
        with transaction.atomic():
            for (line,) in sql("EXPLAIN (ANALYZE, BUFFERS) " + services._REEVALUATE_SQL,
                               {"members": members, "now": NOW}):
                print("  " + line)
            raise _Rollback
    except _Rollback:
        pass
    print()


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", default="5000,20000")
    parser.add_argument("--due-percent", type=int, default=60)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--explain-chunk", type=int, default=5000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is required")
    members = sql("SELECT count(*) FROM members_member")[0][0]
    orders = sql("SELECT count(*) FROM members_order")[0][0]
    print(f"database: {connection.settings_dict['NAME']}; {members:,} members, "
          f"{orders:,} orders; now={NOW.isoformat()}")
    for i, chunk in enumerate(int(c) for c in args.chunks.split(",")):
        print(f"\n=== chunk {chunk:,} ===")
        reset_and_populate(args.due_percent)
        if args.explain and i == 0:
            explain(args.explain_chunk)
        timed_run("first run", chunk)
        timed_run("re-run (must be a no-op)", chunk)


if __name__ == "__main__":
    main()
