"""RFM scores, segments, quadrant and preference tags (members.services.rfm), and the
nightly rebuild that runs them all (members.services.nightly)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from loyalty.services.intake import record_sale
from members.defaults import ensure_default_rfm_segments
from members.models import MemberStats, MemberTag, RfmRun, RfmSegment, Tag, TagChange
from members.services.nightly import insights_rebuild
from members.services.orders import LineInput, SaleInput
from members.services.rfm import preference_tags_refresh, rfm_score

D = Decimal


@pytest.fixture(autouse=True)
def default_segments(db):
    ensure_default_rfm_segments()  # a transactional test elsewhere may have flushed them


def sell(store, member, at, order_no, lines):
    return record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=at,
        lines=tuple(LineInput(line_no=i + 1, sku=f"{cat}-1", category=cat, quantity=1,
                              gross_amount=D(amount)) for i, (cat, amount) in enumerate(lines))),
        now=at).order


def test_quintiles_score_members_and_name_their_segment(store, make_member, now):
    # member i bought i + 1 times, the last time 10 × (9 − i) days ago, ¥100 × (i + 1) each
    members = [make_member() for _ in range(10)]
    for i, member in enumerate(members):
        for k in range(i + 1):
            sell(store, member, now - timedelta(days=10 * (9 - i) + k), f"S-{i}-{k}",
                 [("茶饮", "100.00")])
    run = rfm_score(now=now)

    assert (run.levels, run.members) == (5, 10)
    assert run.frequency == [2, 4, 6, 8]           # the 20th … 80th percentile order counts
    assert run.recency_days == [10, 30, 50, 70]
    scores = {m.pk: (s.recency_score, s.frequency_score, s.monetary_score)
              for m in members for s in [MemberStats.objects.get(member=m)]}
    assert [scores[m.pk] for m in members] == [(n, n, n) for n in (1, 1, 2, 2, 3, 3, 4, 4, 5, 5)]
    segments = [MemberStats.objects.get(member=m).rfm_segment for m in members]
    assert segments[-2:] == ["champions", "champions"]
    assert segments[:2] == ["hibernating", "hibernating"]
    quadrants = [MemberStats.objects.get(member=m).quadrant for m in members]
    assert quadrants[0] == "light" and quadrants[-1] == "core"
    assert RfmRun.objects.count() == 1


def test_segment_names_and_ranges_are_data(store, make_member, now):
    member = make_member()
    sell(store, member, now, "S-1", [("茶饮", "10.00")])
    RfmSegment.objects.create(code="everyone", name="所有人", priority=1)
    rfm_score(now=now)
    assert MemberStats.objects.get(member=member).rfm_segment == "everyone"


def test_preference_tags_follow_what_members_buy(store, make_member, now):
    tea_lover, mixed, coffee_now = make_member(), make_member(), make_member()
    sell(store, tea_lover, now, "S-1", [("茶饮", "800.00"), ("咖啡", "150.00"), ("甜点", "50.00")])
    sell(store, mixed, now, "S-2", [("茶饮", "500.00"), ("咖啡", "500.00")])
    sell(store, coffee_now, now - timedelta(days=400), "S-3", [("茶饮", "500.00")])
    sell(store, coffee_now, now, "S-4", [("咖啡", "20.00")])
    preference_tags_refresh(now=now)

    def prefs(member):
        return set(MemberTag.objects.filter(member=member, tag__code__startswith="buys-")
                   .values_list("tag__description", flat=True))

    assert prefs(tea_lover) == {"茶饮"}
    assert prefs(mixed) == {"茶饮", "咖啡"}
    assert prefs(coffee_now) == {"咖啡"}  # the old tea purchase is outside the year
    assert Tag.objects.get(code="buys-茶饮").kind == Tag.Kind.SYSTEM

    sell(store, tea_lover, now + timedelta(days=1), "S-5", [("咖啡", "3000.00")])
    preference_tags_refresh(now=now + timedelta(days=1))
    assert prefs(tea_lover) == {"咖啡"}
    tea = Tag.objects.get(code="buys-茶饮")
    assert TagChange.objects.filter(member_id=tea_lover.pk, tag_id=tea.pk).count() == 2


def test_the_nightly_rebuild_runs_every_step_and_can_run_again(store, make_member, now):
    member = make_member()
    sell(store, member, now - timedelta(days=50), "S-1", [("茶饮", "100.00")])
    MemberStats.objects.all().delete()

    timings = insights_rebuild(now=now)

    assert set(timings) == {"statistics", "lifecycle", "rfm", "preferences", "rule_tags"}
    stats = MemberStats.objects.get(member=member)
    assert (stats.order_count, stats.lifecycle, stats.recency_score) == (1, "at_risk", 5)
    changes = TagChange.objects.count()
    insights_rebuild(now=now)
    assert TagChange.objects.count() == changes
