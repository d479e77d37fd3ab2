#!/usr/bin/env python
"""Times a campaign launch and each action at scale, next to a baseline in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_campaigns_bench \\
        .venv/bin/python bench/campaigns.py [--members 1000000] [--actions points,coupon,...]

Use a database of its own: the script migrates it, seeds members with `seed_members` when
it has fewer than --members (COPY-based, no orders), and writes campaigns, points, coupons,
tags and messages. Printed side by side:

- launch (snapshot + control split + variant assignment, set-based per 50k members)
  against the floor: one INSERT … SELECT of every member id into an unlogged table;
- each action on the whole audience (a campaign of that one action, acted on in chunks of
  2,000) against `segment_snapshot_take` — the existing one-statement freeze of the same
  members — as the reference of "one row per member".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--actions", default="points,coupon,tag_add,message")
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
        cursor.execute("SELECT count(*) FROM members_segmentfacts")
        have = cursor.fetchone()[0]
    if have < args.members:
        print(f"seeding {args.members - have:,} members …", flush=True)
        call_command("seed_members", members=args.members - have, orders_per_member=0,
                     verbosity=0)
    from campaigns.models import (
        Campaign,
        CampaignAction,
        CampaignRun,
        CampaignVariant,
        MessageTemplate,
    )
    from campaigns.services.launch import campaign_run_start, campaign_run_work
    from members.models import Segment, Tag
    from members.services.segments import segment_snapshot_take
    from points.models import CouponTemplate

    now = timezone.now()
    stamp = int(time.time())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM members_segmentfacts WHERE status <> 'closed'")
        audience = cursor.fetchone()[0]
    print(f"audience: {audience:,} members")
    segment = Segment.objects.get_or_create(code="bench-all", defaults={
        "name": "bench", "expression": "status:active,frozen"})[0]

    def baseline_floor():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_ids")
            cursor.execute("CREATE UNLOGGED TABLE bench_ids AS SELECT member_id FROM "
                           "members_segmentfacts f WHERE f.status <> 'closed'")

    def campaign(kind: str, **fields) -> Campaign:
        c = Campaign.objects.create(code=f"bench-{kind}-{stamp}", name=f"bench {kind}",
                                    segment=segment, control_percent=10, run_at=now,
                                    status="running", created_at=now, updated_at=now)
        for arm in ("A", "B"):
            variant = CampaignVariant.objects.create(campaign=c, code=arm)
            if kind != "launch":
                CampaignAction.objects.create(variant=variant, kind=kind, **fields)
        return c

    def launch(c: Campaign) -> CampaignRun:
        run = campaign_run_start(campaign=c, key="once", now=now)
        campaign_run_work(run=run, now=now, snapshot_only=True)
        run.refresh_from_db()
        return run

    rows = []
    floor, _r = timed(baseline_floor)
    took, run = timed(lambda: launch(campaign("launch")))
    rows.append(("launch: snapshot, control, variants", took, "INSERT … SELECT of the ids",
                 floor, run.audience))
    reference, _s = timed(lambda: segment_snapshot_take(segment_id=segment.pk, now=now))
    action_fields = {
        "points": {"points": 100},
        "coupon": {"coupon_template": CouponTemplate.objects.get_or_create(
            name="bench coupon", defaults={"kind": "no_threshold", "amount": Decimal(5),
                                           "valid_days": 30, "created_at": now})[0]},
        "tag_add": {"tag": Tag.objects.get_or_create(code="bench-campaign",
                                                     defaults={"name": "bench"})[0]},
        "message": {"message_template": MessageTemplate.objects.get_or_create(
            code="bench", defaults={"name": "bench", "channel": "sms",
                                    "body": "亲爱的{name}会员", "created_at": now})[0]},
    }
    for kind in args.actions.split(","):
        c = campaign(kind, **action_fields[kind])
        run = launch(c)

        def act(run=run):
            return campaign_run_work(run=run, now=now)

        took, _phase = timed(act)
        rows.append((f"action {kind}", took, "segment snapshot (1 row/member)", reference,
                     run.audience - run.control))
    print(f"{'step':38} {'seconds':>9} {'rows':>11}   {'baseline':32} {'seconds':>9}")
    for label, seconds, base_label, base, n in rows:
        print(f"{label:38} {seconds:9.1f} {n:11,}   {base_label:32} {base:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
