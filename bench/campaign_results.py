#!/usr/bin/env python
"""Times a campaign's results (campaigns.selectors.results.campaign_results) at scale.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_results_bench \\
        .venv/bin/python bench/campaign_results.py [--members 1000000]

Use a database of its own: the script migrates it, seeds members with `seed_members` when
it has fewer than --members (with orders, about 5 a member spread over the seeded past),
then writes one campaign occasion over every member set-based — 90% acted on in two
variants, 10% control —, a points ledger entry under the campaign key for each treated
member, and times `campaign_results` (per variant, control, by day) next to the floor: one
count(*) of the campaign's member rows joined to their orders.

Informational only; the issue's aim is under 30 s at 1,000,000 members.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is required (a database of its own)", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_member")
        have = cursor.fetchone()[0]
    if have < args.members:
        print(f"seeding {args.members - have:,} members …", flush=True)
        call_command("seed_members", members=args.members - have, verbosity=0)
    from campaigns.models import Campaign, CampaignVariant
    from campaigns.selectors.results import campaign_results

    now = timezone.now()
    stamp = int(time.time())
    c = Campaign.objects.create(code=f"bench-results-{stamp}", name="bench results",
                                control_percent=10, status="ended", created_at=now,
                                updated_at=now)
    a = CampaignVariant.objects.create(campaign=c, code="A")
    b = CampaignVariant.objects.create(campaign=c, code="B")
    with connection.cursor() as cursor:
        # the occasion 30 days ago, so the 14-day window holds seeded orders
        cursor.execute("SELECT max(ordered_at) FROM members_order")
        latest = cursor.fetchone()[0] or now
        at = latest - timezone.timedelta(days=30)
        _none, seconds = timed(lambda: cursor.execute(
            """INSERT INTO campaigns_campaignmember
                   (campaign_id, occasion, member_id, variant_id, bucket, state, assigned_at,
                    acted_at)
               SELECT %s, 'once', m.id,
                      CASE WHEN m.id %% 10 = 0 THEN NULL WHEN m.id %% 2 = 0 THEN %s ELSE %s END,
                      m.id %% 100, CASE WHEN m.id %% 10 = 0 THEN 'control' ELSE 'acted' END,
                      %s, CASE WHEN m.id %% 10 = 0 THEN NULL ELSE %s::timestamptz END
               FROM members_member m""", [c.pk, a.pk, b.pk, at, at]))
        print(f"campaign members written: {cursor.rowcount:,} in {seconds:.1f} s", flush=True)
        cursor.execute(
            """INSERT INTO points_pointsentry (member_id, kind, available_delta, pending_delta,
                                               held_delta, debt_delta, source_key, reason,
                                               created_at)
               SELECT x.member_id, 'earn', 100, 0, 0, 0,
                      'campaign:' || %s || ':once:' || x.member_id, 'bench', %s
               FROM campaigns_campaignmember x
               WHERE x.campaign_id = %s AND x.state = 'acted'""", [c.pk, at, c.pk])
        cursor.execute("ANALYZE campaigns_campaignmember")
        cursor.execute("ANALYZE points_pointsentry")
        _none, floor = timed(lambda: cursor.execute(
            """SELECT count(*) FROM campaigns_campaignmember x
               JOIN members_order o ON o.member_id = x.member_id
                AND o.ordered_at >= x.assigned_at
                AND o.ordered_at < x.assigned_at + interval '14 days'
               WHERE x.campaign_id = %s""", [c.pk]))
    results, seconds = timed(lambda: campaign_results(c))
    t, k = results.treated, results.control
    print(f"floor (member rows × their orders in the window): {floor:.1f} s")
    print(f"campaign_results: {seconds:.1f} s — treated {t.members:,} "
          f"({t.converted:,} converted, ¥{t.revenue:,}), control {k.members:,} "
          f"({k.converted:,}), lift {t.lift} [{t.lift_low}, {t.lift_high}], ROI {t.roi}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
