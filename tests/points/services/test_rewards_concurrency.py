"""Rewards and coupons under concurrent requests: real threads, each with its own
connection, released together by a barrier."""

from __future__ import annotations

from collections import Counter

import pytest

from points.models import Coupon, CouponEvent, EntryKind, PointsEntry, RewardRedemption
from points.services.coupons import coupon_issue, coupon_redeem
from points.services.rewards import reward_redeem
from tests.points.catalog_helpers import basket, give_points, make_reward, make_template
from tests.points.helpers import assert_ledger_consistent, balances
from tests.points.services.test_ledger_concurrency import code_of
from tests.races import run_at_once


@pytest.mark.django_db(transaction=True)
def test_thirty_members_race_for_the_last_ten_units(make_member, now):
    members = [make_member() for _ in range(30)]
    for m in members:
        give_points(m.pk, 500, now)
    reward = make_reward(now, points_cost=300, stock=10)

    results = run_at_once(
        lambda i: reward_redeem(member_id=members[i].pk, reward_id=reward.pk,
                                source_key=f"race:{i}", now=now),
        n=30)

    won = [i for i, (kind, _r) in enumerate(results) if kind == "ok"]
    lost = [i for i, (kind, _r) in enumerate(results) if kind == "error"]
    assert len(won) == 10
    assert Counter(code_of(results[i][1]) for i in lost) == {"out_of_stock": 20}
    assert "Out of stock" in str(results[lost[0]][1]) or results[lost[0]][1].message
    reward.refresh_from_db()
    assert reward.stock == 0
    assert RewardRedemption.objects.filter(reward=reward).count() == 10
    for i in won:
        assert balances(members[i].pk)["available"] == 200
    for i in lost:
        assert balances(members[i].pk)["available"] == 500  # kept their points
    for m in members:
        assert_ledger_consistent(m.pk)
    assert PointsEntry.objects.filter(kind=EntryKind.SPEND).count() == 10


@pytest.mark.django_db(transaction=True)
def test_one_member_racing_past_the_limit_gets_exactly_the_limit(member, now):
    give_points(member.pk, 10_000, now)
    reward = make_reward(now, points_cost=100, stock=100, per_member_limit=3)

    results = run_at_once(
        lambda i: reward_redeem(member_id=member.pk, reward_id=reward.pk,
                                source_key=f"limit:{i}", now=now),
        n=12)

    assert Counter(kind for kind, _r in results) == {"ok": 3, "error": 9}
    assert Counter(code_of(r) for kind, r in results if kind == "error") == {
        "reward_limit_reached": 9}
    reward.refresh_from_db()
    assert reward.stock == 97
    assert balances(member.pk)["available"] == 9_700
    assert_ledger_consistent(member.pk)


@pytest.mark.django_db(transaction=True)
def test_a_coupon_redeemed_by_two_checkouts_at_once_is_redeemed_once(member, now):
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)

    results = run_at_once(
        lambda i: coupon_redeem(code=coupon.code, member_id=member.pk,
                                basket=basket("300.00"), order_no=f"ORDER-{i}", now=now),
        n=8)

    assert Counter(kind for kind, _r in results) == {"ok": 1, "error": 7}
    assert Counter(code_of(r) for kind, r in results if kind == "error") == {
        "coupon_not_usable": 7}
    winner = next(r for kind, r in results if kind == "ok")
    coupon.refresh_from_db()
    assert coupon.state == "redeemed" and coupon.order_no == winner.order_no
    assert CouponEvent.objects.filter(coupon=coupon, kind="redeemed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_uploaded_codes_issued_at_once_never_go_to_two_members(make_member, now):
    from points.services.coupons import coupons_upload

    template = make_template(now, code_source="uploaded")
    coupons_upload(template_id=template.pk, codes=[f"POOL-{n:03d}" for n in range(5)], now=now)
    members = [make_member() for _ in range(10)]

    results = run_at_once(
        lambda i: coupon_issue(template_id=template.pk, member_id=members[i].pk, now=now),
        n=10)

    assert Counter(kind for kind, _r in results) == {"ok": 5, "error": 5}
    assert Counter(code_of(r) for kind, r in results if kind == "error") == {
        "coupon_codes_exhausted": 5}
    issued = Coupon.objects.filter(template=template, state="issued")
    assert issued.count() == 5
    assert len(set(issued.values_list("member_id", flat=True))) == 5


@pytest.mark.django_db(transaction=True)
def test_issues_under_one_source_key_at_once_give_one_coupon(member, now):
    template = make_template(now)

    results = run_at_once(
        lambda i: coupon_issue(template_id=template.pk, member_id=member.pk,
                               source_key="campaign-7:member", now=now),
        n=6)

    assert [kind for kind, _r in results] == ["ok"] * 6
    assert len({r.pk for _kind, r in results}) == 1
    assert Coupon.objects.filter(member=member).count() == 1
    assert CouponEvent.objects.filter(kind="issued").count() == 1
