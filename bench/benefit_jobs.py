#!/usr/bin/env python
"""Times the benefit and paid-membership batch jobs on a large database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench \
        .venv/bin/python bench/benefit_jobs.py [--paid-percent 10] [--chunk 20000]

Meant for a database filled by `manage.py seed_members` and migrated. It:

1. gives every member without a growth account one on the Registered tier, set-based;
   stores a benefit catalog of its own (codes starting "bench-"): a monthly free-shipping
   pack of 2 on Registered, a birthday gift, and an annual plan whose pack is 4;
2. gives --paid-percent of the members an annual paid membership that ended 10 days
   before the benchmark's `now` (so their growth decays), with 10 growth each;
3. times the monthly grant job, then the same job again (it must write nothing), the
   birthday-month job, the decay job (and a re-run on the same day), the expiry job at
   the end of the month, and the two figure selectors.

Informational, not part of the test suite. It deletes what an earlier run of itself
wrote (grants, memberships, purchases, decay entries stamped with its `now`); never point
it at a database whose benefits data matters.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import pgtrigger  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from tiers.defaults import ensure_default_ladder  # noqa: E402
from tiers.selectors.benefits import benefit_cost_by_tier, month_bounds  # noqa: E402
from tiers.selectors.paid import paid_membership_figures  # noqa: E402
from tiers.services.benefits import benefit_grants_expire_due, benefit_grants_issue  # noqa: E402
from tiers.services.decay import growth_decay_due  # noqa: E402

NOW = datetime(2026, 3, 14, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


def timed(label: str, work):
    start = time.perf_counter()
    result = work()
    print(f"{label:<48} {time.perf_counter() - start:8.2f} s   {result}")
    return result


def prepare(paid_percent: int) -> None:
    ensure_default_ladder()
    with transaction.atomic(), connection.cursor() as cursor:
        # the benchmark's own rows go; the append-only guards are lifted for this block only
        with pgtrigger.ignore("tiers.GrowthEntry:append_only", "tiers.PaidPurchase:append_only"):
            cursor.execute("DELETE FROM tiers_growthentry WHERE kind = 'decay'")
            cursor.execute("DELETE FROM tiers_benefitgrant WHERE benefit_id IN "
                           "(SELECT id FROM tiers_benefit WHERE code LIKE 'bench-%%')")
            cursor.execute("DELETE FROM tiers_paidpurchase WHERE purchase_id LIKE 'bench-%%'")
            cursor.execute("DELETE FROM tiers_paidmembership WHERE plan_id IN "
                           "(SELECT id FROM tiers_paidplan WHERE code = 'bench-annual')")
        cursor.execute("""
            INSERT INTO tiers_growthaccount (member_id, growth, period_growth, updated_at, tier_id)
            SELECT m.id, 0, 0, %(now)s, (SELECT id FROM tiers_tier WHERE code = 'registered')
            FROM members_member m ON CONFLICT (member_id) DO NOTHING""", {"now": NOW})
        cursor.execute("""
            INSERT INTO tiers_paidplan (code, name, duration_months, price, is_active)
            VALUES ('bench-annual', 'bench annual', 12, 199, true)
            ON CONFLICT (code) DO NOTHING""")
        for code, kind, period in (("bench-ship", "free_shipping", "monthly"),
                                   ("bench-birthday", "birthday_gift", "birthday_month")):
            cursor.execute("""
                INSERT INTO tiers_benefit (code, name, kind, description, grant_period,
                                           valid_days, unit_cost, is_active)
                VALUES (%s, %s, %s, '', %s, 30, 8, true) ON CONFLICT (code) DO NOTHING""",
                           [code, code, kind, period])
        cursor.execute("""
            INSERT INTO tiers_benefitattachment (benefit_id, tier_id, plan_id, quantity)
            SELECT b.id, t.id, NULL, 2 FROM tiers_benefit b, tiers_tier t
            WHERE b.code IN ('bench-ship', 'bench-birthday') AND t.code = 'registered'
              AND NOT EXISTS (SELECT 1 FROM tiers_benefitattachment a
                              WHERE a.benefit_id = b.id AND a.tier_id = t.id)""")
        cursor.execute("""
            INSERT INTO tiers_benefitattachment (benefit_id, tier_id, plan_id, quantity)
            SELECT b.id, NULL, p.id, 4 FROM tiers_benefit b, tiers_paidplan p
            WHERE b.code = 'bench-ship' AND p.code = 'bench-annual'
              AND NOT EXISTS (SELECT 1 FROM tiers_benefitattachment a
                              WHERE a.benefit_id = b.id AND a.plan_id = p.id)""")
        ended = NOW - timedelta(days=10)
        cursor.execute("""
            WITH chosen AS (
                SELECT id FROM members_member WHERE abs(hashtext(id::text)) %% 100 < %(pct)s
            ), plan AS (SELECT id FROM tiers_paidplan WHERE code = 'bench-annual'),
            purchases AS (
                INSERT INTO tiers_paidpurchase (member_id, plan_id, purchase_id, kind, channel,
                                                amount, period_start, period_end, created_at)
                SELECT c.id, plan.id, 'bench-' || c.id, 'new', 'api', 199,
                       %(start)s, %(ended)s, %(start)s FROM chosen c, plan
                RETURNING member_id
            )
            INSERT INTO tiers_paidmembership (member_id, plan_id, status, first_started_at,
                                              period_started_at, ends_at, purchases, updated_at)
            SELECT member_id, (SELECT id FROM plan), 'lapsed', %(start)s, %(start)s, %(ended)s,
                   1, %(start)s FROM purchases""",
                       {"pct": paid_percent, "start": ended - timedelta(days=365),
                        "ended": ended})
        cursor.execute("""
            UPDATE tiers_growthaccount a SET growth = 10
            FROM tiers_paidmembership p WHERE p.member_id = a.member_id""")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tiers_growthaccount; ANALYZE tiers_paidmembership; "
                       "ANALYZE tiers_benefitgrant; ANALYZE tiers_paidpurchase")
        cursor.execute("SELECT count(*) FROM members_member")
        members = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tiers_paidmembership")
        paid = cursor.fetchone()[0]
    print(f"{members:,} members, {paid:,} with a lapsed paid membership")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paid-percent", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=20_000)
    args = parser.parse_args()
    timed("prepare", lambda: prepare(args.paid_percent))
    timed("monthly grants", lambda: benefit_grants_issue(
        grant_period="monthly", now=NOW, chunk=args.chunk))
    timed("monthly grants again (must be 0)", lambda: benefit_grants_issue(
        grant_period="monthly", now=NOW, chunk=args.chunk))
    timed("birthday-month grants", lambda: benefit_grants_issue(
        grant_period="birthday_month", now=NOW, chunk=args.chunk))
    timed("decay", lambda: growth_decay_due(now=NOW))
    timed("decay again the same day (must be 0)", lambda: growth_decay_due(now=NOW))
    timed("expire at the end of the month", lambda: benefit_grants_expire_due(
        now=datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc)))
    start, end = month_bounds(date(2026, 3, 1))
    timed("figures: cost per tier", lambda: len(benefit_cost_by_tier(month=date(2026, 3, 1))))
    timed("figures: paid membership", lambda: paid_membership_figures(
        start=start, end=end, now=NOW).penetration)


if __name__ == "__main__":
    main()
