"""Batch runs resume from their progress rows: a run delivered again (same run key) carries
on after its last committed chunk, for the `now` of its first delivery; a finished run
does nothing; every batch job keeps such a row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count

from members.models import BatchRun, Member
from members.services.batch import batch_by_ranges, batch_run, batch_runs_prune
from tiers.models import GrowthAccount, Tier, TierChange
from tiers.services import ladder as tier_services
from tiers.services.ladder import tier_reevaluate_due


def _overdue(make_member, now, n: int) -> list[int]:
    """Members two years past the end of a one-month tier that keeps on renewal: each
    renewal leaves them due again, so a run started over would renew some twice."""
    silver = Tier.objects.get(code="silver")
    silver.validity_months, silver.end_policy = 1, "keep"
    silver.save()
    ids = [make_member().pk for _ in range(n)]
    for member_id in ids:
        GrowthAccount.objects.update_or_create(member_id=member_id, defaults={
            "growth": 5000, "period_growth": 0, "tier": silver,
            "tier_since": now - timedelta(days=760),
            "tier_valid_until": now - timedelta(days=730), "updated_at": now})
    return ids


def _renewals() -> dict[int, int]:
    return dict(TierChange.objects.filter(reason="renewal").values("member_id")
                .annotate(n=Count("id")).values_list("member_id", "n"))


@pytest.mark.django_db(transaction=True)
def test_a_run_delivered_again_carries_on_after_its_last_chunk(make_member, now, monkeypatch):
    members = _overdue(make_member, now, 7)
    original = tier_services._reevaluate_chunk
    calls = []

    def killed_in_third_chunk(chunk_members, at):
        calls.append(chunk_members)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return original(chunk_members, at)

    monkeypatch.setattr(tier_services, "_reevaluate_chunk", killed_in_third_chunk)
    with pytest.raises(RuntimeError):
        tier_reevaluate_due(now=now, chunk=2, run_key="task-1")
    run = BatchRun.objects.get(job="tiers.reevaluate", run_key="task-1")
    assert (run.after_id, run.done, run.finished_at) == (members[3], 4, None)
    monkeypatch.setattr(tier_services, "_reevaluate_chunk", original)

    # delivered again an hour later: the same run, for the same now, after member 4
    assert tier_reevaluate_due(now=now + timedelta(hours=1), chunk=2, run_key="task-1") == 7
    run.refresh_from_db()
    assert run.finished_at is not None and run.now == now and run.done == 7
    assert _renewals() == dict.fromkeys(members, 1)
    assert set(TierChange.objects.filter(reason="renewal")
               .values_list("created_at", flat=True)) == {now}

    # a finished run delivered again does nothing
    assert tier_reevaluate_due(now=now + timedelta(hours=2), chunk=2, run_key="task-1") == 7
    assert _renewals() == dict.fromkeys(members, 1)


@pytest.mark.django_db(transaction=True)
def test_without_a_run_key_a_run_started_over_renews_some_twice(make_member, now, monkeypatch):
    """Why the progress rows exist: the same interruption, started over, doubles."""
    members = _overdue(make_member, now, 4)
    original = tier_services._reevaluate_chunk
    calls = []

    def killed_in_second_chunk(chunk_members, at):
        calls.append(chunk_members)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return original(chunk_members, at)

    monkeypatch.setattr(tier_services, "_reevaluate_chunk", killed_in_second_chunk)
    with pytest.raises(RuntimeError):
        tier_reevaluate_due(now=now, chunk=2)
    monkeypatch.setattr(tier_services, "_reevaluate_chunk", original)
    tier_reevaluate_due(now=now, chunk=2)
    assert _renewals() == {members[0]: 2, members[1]: 2, members[2]: 1, members[3]: 1}


@pytest.mark.django_db(transaction=True)
def test_ranges_resume_aligned_and_each_once(now):
    applied = []

    def apply(lo, hi):
        applied.append((lo, hi))
        if len(applied) == 3:
            raise RuntimeError("killed")
        return hi - lo

    progress = batch_run("test.ranges", run_key="r", now=now)
    with pytest.raises(RuntimeError):
        batch_by_ranges(progress, low=7, high=45, size=10, apply=apply)
    applied.clear()
    progress = batch_run("test.ranges", run_key="r", now=now)
    assert batch_by_ranges(progress, low=7, high=45, size=10,
                           apply=lambda lo, hi: applied.append((lo, hi)) or hi - lo) == 50
    assert applied == [(20, 30), (30, 40), (40, 50)]


@pytest.mark.django_db(transaction=True)
def test_every_batch_job_keeps_its_run(make_member, now):
    from members.services.nightly import insights_rebuild
    from points.services.coupons import coupons_expire_due
    from points.services.holds import points_holds_expire_due
    from points.services.ledger import points_expire_due, points_unlock_due
    from tiers.models import TierSettings
    from tiers.services.benefits import benefit_grants_expire_due, benefit_grants_issue_due
    from tiers.services.decay import growth_decay_due
    from tiers.services.ladder import tier_place_unplaced, tier_recalculate
    from tiers.services.paid import paid_lapse_due

    make_member()
    TierSettings.objects.update_or_create(singleton=True, defaults={"decay_per_day": 10})
    for job in (tier_reevaluate_due, tier_recalculate, tier_place_unplaced, points_expire_due,
                points_unlock_due, points_holds_expire_due, coupons_expire_due,
                benefit_grants_expire_due, benefit_grants_issue_due, paid_lapse_due,
                growth_decay_due, insights_rebuild):
        job(now=now, run_key="k")
    unfinished = list(BatchRun.objects.filter(finished_at__isnull=True, run_key="k")
                      .exclude(job="members.insights").values_list("job", flat=True))
    assert unfinished == []
    assert set(BatchRun.objects.values_list("job", flat=True)) >= {
        "tiers.reevaluate", "tiers.recalculate", "tiers.place", "points.expire",
        "points.unlock", "points.holds_expire", "coupons.expire", "benefits.expire",
        "benefits.grant.monthly", "benefits.grant.birthday_month", "benefits.grant.on_joining",
        "paid.lapse", "tiers.decay", "members.insights", "members.statistics",
        "members.lifecycle", "members.rfm", "members.preferences"}


@pytest.mark.django_db
def test_old_runs_are_forgotten(now):
    batch_run("test.old", run_key="a", now=now)
    BatchRun.objects.update(started_at=now - timedelta(days=31))
    batch_run("test.new", run_key="b", now=now)
    assert batch_runs_prune(now=now) == 1
    assert list(BatchRun.objects.values_list("job", flat=True)) == ["test.new"]
    assert Member.objects.count() == 0 and connection.vendor == "postgresql"
