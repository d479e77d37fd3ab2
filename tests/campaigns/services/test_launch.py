"""Launching an occasion: the frozen audience, control split, variant assignment,
exclusions, and a run that is killed and re-run or worked by two workers at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from campaigns.models import CampaignMember, CampaignRun, CampaignStatus
from campaigns.services.act import campaign_act
from campaigns.services.audience import arms_of, bucket_of, variant_of
from campaigns.services.launch import campaign_run_start, campaign_run_work
from campaigns.services.schedule import campaigns_tick
from campaigns.services.status import campaign_schedule
from members.models import Member, Segment, Tag
from members.services.members import member_set_status
from members.services.tags import member_tags_add
from points.models import PointsAccount, PointsEntry
from tests.campaigns.helpers import campaign, members, states
from tests.races import run_at_once

pytestmark = pytest.mark.django_db


def _running(c, now):
    campaign_schedule(campaign_id=c.pk, now=now)
    campaigns_tick(now=now, max_chunks=0)  # starts it, starts the occasion, does nothing yet
    c.refresh_from_db()
    assert c.status == CampaignStatus.RUNNING
    return CampaignRun.objects.get(campaign=c)


def test_audience_is_frozen_split_and_assigned_as_the_hash_says(now):
    people = members(120, now)
    c = campaign(now, control_percent=20, variants={"A": 1, "B": 3})
    run = _running(c, now)
    # a member registered after the occasion started is not in it
    members(1, now, prefix="1391111")
    assert campaign_run_work(run=run, now=now, span=37, chunk=25) == CampaignRun.Phase.DONE
    rows = {r.member_id: r for r in CampaignMember.objects.filter(campaign=c)}
    assert set(rows) == {m.pk for m in people}
    arms = arms_of(c)
    for m in people:
        row = rows[m.pk]
        assert row.bucket == bucket_of(c.seed, m.pk)
        if row.bucket < 20:
            assert (row.state, row.variant_id) == ("control", None)
        else:
            assert row.state == "acted"
            assert row.variant_id == variant_of(c.seed, m.pk, arms)
    control = [m for m, r in rows.items() if r.state == "control"]
    assert 10 <= len(control) <= 40  # 20% of 120, give or take the hash
    b = CampaignMember.objects.filter(campaign=c, variant__code="B").count()
    assert b > CampaignMember.objects.filter(campaign=c, variant__code="A").count()
    run.refresh_from_db()
    assert (run.audience, run.control) == (120, len(control))
    # control members were never acted on: no points under the campaign's keys
    credited = set(PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:")
                   .values_list("member_id", flat=True))
    assert credited == {m for m, r in rows.items() if r.state == "acted"}
    assert not credited & set(control)


def test_segment_exclusions_and_recent_contact(now):
    people = members(12, now)
    vip = Tag.objects.create(code="vip", name="VIP")
    staff = Tag.objects.create(code="staff", name="员工")
    member_tags_add(tag_id=vip.pk, member_ids=[m.pk for m in people[:8]], cause="manual", now=now)
    member_tags_add(tag_id=staff.pk, member_ids=[people[0].pk], cause="manual", now=now)
    member_set_status(member_id=people[1].pk, status=Member.Status.CLOSED, now=now)
    earlier = campaign(now - timedelta(days=3), code="earlier")
    earlier.status = CampaignStatus.RUNNING
    earlier.save()
    campaign_act(campaign=earlier, occasion="once", member_ids=[people[2].pk],
                 now=now - timedelta(days=3))
    c = campaign(now, segment=Segment.objects.create(code="vip", name="VIP", expression="tag:vip"),
                 exclude_recent_days=7)
    c.exclude_segments.add(Segment.objects.create(code="staff", name="员工", expression="tag:staff"))
    run = _running(c, now)
    campaign_run_work(run=run, now=now)
    reached = set(CampaignMember.objects.filter(campaign=c).values_list("member_id", flat=True))
    assert reached == {m.pk for m in people[3:8]}


def test_a_killed_run_rerun_finishes_exactly_once(now):
    people = members(60, now)
    c = campaign(now)
    run = _running(c, now)
    # killed after two snapshot ranges, then after one act chunk
    assert campaign_run_work(run=run, now=now, span=10, chunk=7, max_chunks=2) == "snapshot"
    assert CampaignMember.objects.filter(campaign=c).count() < 60
    assert campaign_run_work(run=run, now=now, span=10, chunk=7, max_chunks=7) == "act"
    assert 0 < states(c).get("acted", 0) < 60
    # the beat's next tick carries it on
    campaigns_tick(now=now + timedelta(minutes=1))
    run.refresh_from_db()
    assert run.phase == "done" and run.audience == 60
    assert states(c) == {"acted": 60}
    assert PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:").count() == 60
    c.refresh_from_db()
    assert c.status == CampaignStatus.ENDED  # a one-off without a window ends when done
    # running it yet again changes nothing
    campaign_run_work(run=run, now=now + timedelta(minutes=2))
    assert PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:").count() == 60
    assert set(PointsAccount.objects.filter(member__in=people)
               .values_list("available", flat=True)) == {100}


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_occasion_act_once_per_member(now):
    people = members(80, now)
    c = campaign(now, control_percent=10)
    campaign_schedule(campaign_id=c.pk, now=now)
    campaigns_tick(now=now, max_chunks=0)

    def work(i):
        run = campaign_run_start(campaign=c, key="once", now=now)
        return campaign_run_work(run=run, now=now, span=9, chunk=5)

    results = run_at_once(work, 2)
    assert [r[0] for r in results] == ["ok", "ok"], results
    counts = states(c)
    assert counts.get("acted", 0) + counts.get("control", 0) == 80
    with connection.cursor() as cursor:
        cursor.execute("SELECT member_id, count(*) FROM points_pointsentry WHERE source_key "
                       "LIKE %s GROUP BY member_id HAVING count(*) > 1", [f"campaign:{c.pk}:%"])
        assert cursor.fetchall() == []
    assert PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:").count() \
        == counts["acted"]
    assert CampaignRun.objects.get(campaign=c).phase == "done"
    assert len(people) == 80
