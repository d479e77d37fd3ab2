#!/usr/bin/env python
"""Queueing a campaign's messages for a million members: seconds, and rows per second.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/loyalty_bench_touch \\
        .venv/bin/python bench/touch_queue.py [--members 1000000] [--chunk 10000]

Migrates the database, makes --members active members numbered 8000…0 onwards if missing
(one INSERT … SELECT), each agreeing to SMS marketing, and a running campaign whose one
action is a marketing SMS; then times the message action as the act phase runs it —
`campaigns.services.actions.apply_actions` for each chunk of members in its own
transaction: the per-member contact locks, the consent, do-not-disturb, cap and quiet-hours
checks and the INSERT … SELECT of the touches. Prints the seconds and rows per second and
fails above 60 s for a million. The contact cap is switched off for the run (the members
would otherwise be capped by the previous run's touches); the touches are deleted
afterwards, so runs repeat. Use a database of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.models import (  # noqa: E402
    ActionKind,
    Campaign,
    CampaignAction,
    CampaignStatus,
    CampaignVariant,
    ContactPolicy,
    Message,
    MessageTemplate,
)
from campaigns.services import delivery  # noqa: E402
from campaigns.services.actions import Plan, apply_actions  # noqa: E402

LIMIT_SECONDS = 60.0


def members(n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO members_member (member_no, mobile, name, gender, region,
                                           source_channel, status, marketing_consent,
                                           marketing_consent_at, marketing_consent_source,
                                           created_at, updated_at)
               SELECT '8' || lpad(n::text, 17, '0'), '+8617' || lpad(n::text, 9, '0'),
                      '会员' || n, 'unknown', '', 'import', 'active', true, now(), 'bench',
                      now(), now()
               FROM generate_series(0, %s - 1) n
               ON CONFLICT (member_no) DO NOTHING""", [n])
        cursor.execute(
            """INSERT INTO members_memberconsent (member_id, channel, granted, changed_at, source)
               SELECT id, 'sms', true, now(), 'bench' FROM members_member
               WHERE member_no LIKE '8%%' AND length(member_no) = 18
               ON CONFLICT (member_id, channel) DO NOTHING""")
        cursor.execute("""SELECT id FROM members_member
                          WHERE member_no LIKE '8%%' AND length(member_no) = 18
                          ORDER BY id LIMIT %s""", [n])
        return [row[0] for row in cursor.fetchall()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    args = parser.parse_args()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    clock = time.perf_counter()
    ids = members(args.members)
    print(f"members ready: {len(ids):,} in {time.perf_counter() - clock:.1f}s")
    now = timezone.now()
    policy = ContactPolicy.load()
    policy.cap_count, policy.channel_caps, policy.quiet_hours = None, {}, {}
    policy.save()
    template, _ = MessageTemplate.objects.get_or_create(
        code="bench-touch", defaults={"name": "bench", "channel": "sms", "kind": "marketing",
                                      "body": "{name}，春季会员日开始了", "created_at": now})
    campaign = Campaign.objects.create(
        code=f"bench-touch-{int(time.time())}", name="bench", status=CampaignStatus.RUNNING,
        trigger="once", run_at=now, created_at=now, updated_at=now)
    variant = CampaignVariant.objects.create(campaign=campaign, code="A")
    CampaignAction.objects.create(variant=variant, kind=ActionKind.MESSAGE,
                                  message_template=template)
    # the delivery run each commit asks for is the broker's business, not what is measured
    delivery._queue = lambda: None
    clock = time.perf_counter()
    for start in range(0, len(ids), args.chunk):
        with transaction.atomic():
            apply_actions(campaign, "once", {variant.pk: ids[start:start + args.chunk]},
                          Plan(), now)
    seconds = time.perf_counter() - clock
    queued = Message.objects.filter(campaign=campaign, state="queued").count()
    print(f"queued {queued:,} touches in {seconds:.1f}s ({queued / seconds:,.0f}/s), "
          f"chunks of {args.chunk:,}")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM campaigns_message WHERE campaign_id = %s", [campaign.pk])
    scaled = seconds * 1_000_000 / max(len(ids), 1)
    print(f"at a million: about {scaled:.1f}s (limit {LIMIT_SECONDS:.0f}s)")
    return 0 if scaled <= LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
