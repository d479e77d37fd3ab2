"""The shipped plays, each copied from its template and run on generated members by the
scheduler with a clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.models import CampaignGift, CampaignMember, CampaignStatus, Message
from campaigns.services.copy import campaign_copy
from campaigns.services.plays import campaign_plays_install
from campaigns.services.schedule import campaigns_tick
from campaigns.services.status import campaign_cancel, campaign_schedule
from loyalty.services.intake import record_sale
from members.models import Member, MemberStats, MemberTag
from members.services.members import member_set_status
from points.models import Coupon, EarningRule
from tests.campaigns.helpers import members
from tests.conftest import SHANGHAI
from tests.points.helpers import sale_input
from tiers.models.paid import PaidMembership, PaidPlan

pytestmark = pytest.mark.django_db
D = Decimal


def _copy(code, now, **fields):
    plays = {c.code: c for c in campaign_plays_install(now=now)}
    copy = campaign_copy(campaign_id=plays[code].pk, now=now)
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.save()
    campaign_schedule(campaign_id=copy.pk, now=now)
    return copy


def _stats(member, now, *, orders=2, average="100", lifecycle="active"):
    MemberStats.objects.update_or_create(member=member, defaults=dict(
        first_purchase_at=now, last_purchase_at=now, order_count=orders, return_count=0,
        sales_amount=D(average) * orders, returns_amount=0, net_spend=D(average) * orders,
        average_spend=D(average), lifecycle=lifecycle))


def _earned(store, member, at, order_no):
    outcome = record_sale(sale=sale_input(store, member.pk, at, order_no, amount="100.00"),
                          now=at)
    return outcome.points.entry.points


def test_member_day_doubles_points_on_wednesdays_for_active_members(now, store):
    active, frozen = members(2, now)
    member_set_status(member_id=frozen.pk, status=Member.Status.FROZEN, now=now)
    c = _copy("play-member-day", now, starts_at=now)
    tuesday = datetime(2026, 3, 17, 10, 0, tzinfo=SHANGHAI)
    campaigns_tick(now=tuesday)
    c.refresh_from_db()
    assert c.status == CampaignStatus.RUNNING and not c.runs.exists()
    wednesday = datetime(2026, 3, 18, 0, 1, tzinfo=SHANGHAI)
    campaigns_tick(now=wednesday)
    assert list(c.runs.values_list("key", "phase")) == [("2026-03-18", "done")]
    tagged = set(MemberTag.objects.filter(tag__code=c.tag_code).values_list("member_id", flat=True))
    assert tagged == {active.pk}
    doubled = _earned(store, active, wednesday + timedelta(hours=12), "W1")
    normal = _earned(store, active, wednesday + timedelta(days=1, hours=12), "T1")
    assert normal > 0 and doubled == 2 * normal
    # cancelled: the rule is retired and the tag goes; next Wednesday earns as usual
    campaign_cancel(campaign_id=c.pk, now=wednesday + timedelta(days=2))
    assert not EarningRule.objects.get(rule_key=c.tag_code, is_current=True).is_active
    assert not MemberTag.objects.filter(tag__code=c.tag_code).exists()
    assert _earned(store, active, wednesday + timedelta(days=7, hours=12), "W2") == normal
    campaigns_tick(now=wednesday + timedelta(days=7))
    assert c.runs.count() == 1  # no occasion after cancel


def test_birthday_month_once_per_member_per_year(now):
    april, march, unknown = members(3, now)
    Member.objects.filter(pk=april.pk).update(birthday=date(1990, 4, 10))
    Member.objects.filter(pk=march.pk).update(birthday=date(1992, 3, 5))
    c = _copy("play-birthday-month", now)
    first = datetime(2026, 4, 1, 8, 59, tzinfo=SHANGHAI)
    campaigns_tick(now=first)
    assert not c.runs.exists()  # before 09:00 Beijing
    for day in (first + timedelta(minutes=2), first + timedelta(minutes=3),
                first + timedelta(days=1, minutes=2)):
        campaigns_tick(now=day)
    assert list(Coupon.objects.filter(source_key__startswith=f"campaign:{c.pk}:")
                .values_list("member_id", flat=True)) == [april.pk]
    message = Message.objects.get(campaign=c)
    assert (message.member_id, message.occasion) == (april.pk, "birthday:2026")
    assert message.variables["coupon_value"] == "20.00"
    # a year later: again, under the next year's occasion
    campaigns_tick(now=datetime(2027, 4, 1, 9, 5, tzinfo=SHANGHAI))
    assert Coupon.objects.filter(member=april, source_key__startswith=f"campaign:{c.pk}:") \
        .count() == 2
    assert set(Message.objects.filter(campaign=c).values_list("occasion", flat=True)) == {
        "birthday:2026", "birthday:2027"}


def test_paid_renewal_ended_members_variants_and_control(now):
    plan = PaidPlan.objects.create(code="plus", name="PLUS", duration_months=12,
                                   price=D("99"))
    people = members(40, now)
    groups = {"ended": people[:30], "current": people[30:35], "long_ago": people[35:]}
    for name, ends in (("ended", now - timedelta(days=10)), ("current", now + timedelta(days=5)),
                       ("long_ago", now - timedelta(days=40))):
        for m in groups[name]:
            PaidMembership.objects.create(member=m, plan=plan, status="lapsed",
                                          first_started_at=ends - timedelta(days=365),
                                          period_started_at=ends - timedelta(days=365),
                                          ends_at=ends, updated_at=now)
    for i, m in enumerate(people):
        _stats(m, now, average=str(60 + i * 10))
    c = _copy("play-paid-renewal", now, run_at=now)
    campaigns_tick(now=now)
    rows = {r.member_id: r for r in CampaignMember.objects.filter(campaign=c)
            .select_related("variant")}
    assert set(rows) == {m.pk for m in groups["ended"]}
    control = {m for m, r in rows.items() if r.state == "control"}
    acted = {m for m, r in rows.items() if r.state == "acted"}
    assert control and acted and control | acted == set(rows)
    coupons = {cp.member_id: cp.face_value for cp in
               Coupon.objects.filter(source_key__startswith=f"campaign:{c.pk}:")}
    assert set(coupons) == acted
    for i, m in enumerate(people[:30]):
        if m.pk in acted:  # 20% of the member's own average order, whole yuan
            assert coupons[m.pk] == min(D(100), (D(60 + i * 10) * D("0.2")).quantize(D(1)))
    texts = {r.variant.code: set() for r in rows.values() if r.variant}
    for message in Message.objects.filter(campaign=c).select_related("template"):
        texts[rows[message.member_id].variant.code].add(message.template.code)
    assert texts == {"A": {"renewal-reminder"}, "B": {"renewal-tasting"}}
    assert not Message.objects.filter(campaign=c, member_id__in=control).exists()


def test_big_promotion_reaches_members_at_risk_and_one_time_buyers(now):
    risk, once, loyal, none = members(4, now)
    _stats(risk, now, lifecycle="at_risk", orders=4)
    _stats(once, now, orders=1)
    _stats(loyal, now, orders=9)
    c = _copy("play-big-promotion", now, run_at=now)
    assert c.grade == "S"
    campaigns_tick(now=now)
    issued = Coupon.objects.filter(source_key__startswith=f"campaign:{c.pk}:")
    assert sorted(issued.values_list("member_id", flat=True)) == sorted([risk.pk] * 3 + [once.pk] * 3)
    assert set(CampaignGift.objects.filter(campaign=c).values_list("member_id", flat=True)) == {
        risk.pk, once.pk}
