"""Each action for a chunk of members, idempotent per (campaign, occasion, member); limits
and the budget, which 30 racing workers never overspend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from campaigns.models import CampaignBudget, CampaignGift, CampaignStatus, Message
from campaigns.services.act import campaign_act
from campaigns.services.actions import points_key
from members.models import MemberStats, MemberTag, Tag, TagChange
from points.locks import lock_accounts
from points.models import Coupon, PointsAccount, PointsEntry
from points.services.coupons import Basket, BasketLine, coupon_redeem
from points.services.posting import post
from tests.campaigns.helpers import campaign, coupon_template, members, message_template, states
from tests.points.helpers import assert_ledger_consistent
from tests.races import run_at_once

pytestmark = pytest.mark.django_db
D = Decimal


def _running(c):
    c.status = CampaignStatus.RUNNING
    c.save()
    return c


def test_bonus_points_are_a_ledger_credit_under_the_campaign_key_and_collect_debt(now):
    a, b = members(2, now)
    # b owes 30 points (as a reversal beyond the balance leaves it)
    with transaction.atomic():
        account = lock_accounts([b.pk], now=now)[b.pk]
        post(account, PointsEntry(kind="reverse", debt_delta=30, source_key="test-debt"), now)
    c = _running(campaign(now, actions=[("points", {"points": 100})]))
    assert campaign_act(campaign=c, occasion="2026-03-14", member_ids=[a.pk, b.pk],
                        now=now)["acted"] == 2
    entry = PointsEntry.objects.get(source_key=points_key(c.pk, "2026-03-14", a.pk))
    assert (entry.kind, entry.available_delta) == ("earn", 100)
    assert assert_ledger_consistent(a.pk)["available"] == 100
    assert assert_ledger_consistent(b.pk) == {"available": 70, "pending": 0, "held": 0, "debt": 0}
    # the same occasion again: nothing more
    assert campaign_act(campaign=c, occasion="2026-03-14", member_ids=[a.pk, b.pk],
                        now=now)["acted"] == 0
    assert PointsAccount.objects.get(member=a).available == 100
    # another occasion: again
    campaign_act(campaign=c, occasion="2026-03-21", member_ids=[a.pk], now=now)
    assert assert_ledger_consistent(a.pk)["available"] == 200


def test_coupon_face_value_follows_the_average_order_within_bounds_and_is_redeemed_at_it(now):
    low, mid, high = members(3, now)
    for member, average in ((low, "20"), (mid, "123"), (high, "900")):
        MemberStats.objects.create(member=member, first_purchase_at=now, last_purchase_at=now,
                                   order_count=2, return_count=0, sales_amount=D(average) * 2,
                                   returns_amount=0, net_spend=D(average) * 2,
                                   average_spend=D(average))
    template = coupon_template(now, kind="no_threshold", amount=D("10"),
                               face_value_min=D("10"), face_value_max=D("50"))
    c = _running(campaign(now, actions=[("coupon", {"coupon_template": template,
                                                    "coupon_percent_of_average": 20})]))
    campaign_act(campaign=c, occasion="once", member_ids=[low.pk, mid.pk, high.pk], now=now)
    faces = {cp.member_id: cp.face_value for cp in Coupon.objects.filter(template=template)}
    assert faces == {low.pk: D("10"), mid.pk: D("25"), high.pk: D("50")}  # 4→10, 24.6→25, 180→50
    assert CampaignBudget.objects.get(pk=c.pk).cost == D("85")
    # redemption takes the coupon's own value off
    coupon = Coupon.objects.get(member=mid)
    redeemed = coupon_redeem(code=coupon.code, member_id=mid.pk, order_no="S1", now=now,
                             basket=Basket(lines=(BasketLine(sku="X", quantity=1,
                                                             amount=D("100")),)))
    assert redeemed.discount == D("25")


def test_tags_gift_and_message_quote_what_was_given(now):
    a, b = members(2, now, marketing_consent=True, consent_source="store")
    new = Tag.objects.create(code="promo", name="促销")
    old = Tag.objects.create(code="lapsed", name="流失")
    from members.services.tags import member_tags_add
    member_tags_add(tag_id=old.pk, member_ids=[a.pk, b.pk], cause="manual", now=now)
    template = coupon_template(now, amount=D("15"))
    body = "亲爱的{name}会员，{campaign}：{points}积分、{coupon_value}元券，{gift}请于{collect_by}前领取"
    c = _running(campaign(now, actions=[
        ("points", {"points": 50}), ("coupon", {"coupon_template": template}),
        ("gift", {"gift_name": "帆布袋", "gift_days": 14}),
        ("tag_add", {"tag": new}), ("tag_remove", {"tag": old}),
        ("message", {"message_template": message_template(now, body=body)})]))
    campaign_act(campaign=c, occasion="once", member_ids=[a.pk, b.pk], now=now)
    assert set(MemberTag.objects.filter(tag=new).values_list("member_id", flat=True)) == {a.pk, b.pk}
    assert not MemberTag.objects.filter(tag=old).exists()
    assert TagChange.objects.filter(tag_id=new.pk, cause="campaign").count() == 2
    gift = CampaignGift.objects.get(member=a)
    assert gift.collect_by == (now + timedelta(days=14)).date()
    message = Message.objects.get(member=a)
    assert message.state == "queued" and message.channel == "sms"
    assert message.variables == {"name": a.name, "member_no": a.member_no, "campaign": c.name,
                                 "points": 50, "coupon_value": "15.00",
                                 "coupon_valid_until": str((now + timedelta(days=30)).date()),
                                 "gift": "帆布袋", "collect_by": str(gift.collect_by)}
    campaign_act(campaign=c, occasion="once", member_ids=[a.pk, b.pk], now=now)
    assert Message.objects.count() == 2 and CampaignGift.objects.count() == 2
    assert Coupon.objects.filter(template=template).count() == 2


def test_per_member_limit_across_occasions(now):
    a, = members(1, now)
    c = _running(campaign(now, per_member_limit=2))
    for day in ("d1", "d2", "d3"):
        campaign_act(campaign=c, occasion=day, member_ids=[a.pk], now=now)
    assert states(c, "d3") == {"limited": 1}
    assert PointsAccount.objects.get(member=a).available == 200


def test_the_campaign_stops_acting_when_the_budget_is_spent(now):
    people = members(10, now)
    c = _running(campaign(now, actions=[("points", {"points": 100})], budget_points=450))
    result = campaign_act(campaign=c, occasion="once", member_ids=[m.pk for m in people], now=now)
    assert (result["acted"], result["unfunded"]) == (4, 6)
    budget = CampaignBudget.objects.get(pk=c.pk)
    assert budget.points == 400 and budget.exhausted_at is not None
    # spent: nobody else, even someone the budget would still cover
    c2 = campaign_act(campaign=c, occasion="again", member_ids=[people[0].pk], now=now)
    assert c2["acted"] == 0 and c2["unfunded"] == 1


@pytest.mark.django_db(transaction=True)
def test_thirty_racing_workers_never_overspend(now):
    people = members(60, now)
    template = coupon_template(now, amount=D("10"))
    c = _running(campaign(now, actions=[("points", {"points": 100}),
                                        ("coupon", {"coupon_template": template})],
                          budget_points=2_350, budget_cost=D("400")))
    # cost per member: 100 points at 100 points a yuan (¥1) + a ¥10 coupon = ¥11

    def work(i):
        return campaign_act(campaign=c, occasion=f"race-{i % 3}",
                            member_ids=[m.pk for m in people[i * 2:i * 2 + 2]], now=now)

    results = run_at_once(work, 30)
    assert all(kind == "ok" for kind, _r in results), results
    budget = CampaignBudget.objects.get(pk=c.pk)
    given = PointsEntry.objects.filter(source_key__startswith=f"campaign:{c.pk}:").count()
    coupons = Coupon.objects.filter(template=template).count()
    assert given == coupons == sum(r["acted"] for _k, r in results)
    assert budget.points == 100 * given <= 2_350
    assert budget.cost == D("11") * given <= D("400")
    assert given == 23  # as many as the points budget covers: ¥253 of cost is within ¥400
    for m in people:
        assert_ledger_consistent(m.pk)
