"""Campaign results on a small fixed data set: every figure against constants worked out
by hand below (never a second call of the same code)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import CampaignGift, CampaignMember, CampaignStatus
from campaigns.selectors.results import campaign_results
from campaigns.services.act import campaign_act
from members.services.orders import (
    LineInput,
    ReturnInput,
    ReturnLineInput,
    SaleInput,
    order_record_return,
    order_record_sale,
)
from points.models import Coupon
from points.services.coupons import Basket, BasketLine, coupon_redeem
from tests.campaigns.helpers import campaign, coupon_template, members

pytestmark = pytest.mark.django_db
D = Decimal


def _sale(store, member, no: str, at, amount: str, quantity: int = 1):
    return order_record_sale(sale=SaleInput(
        store_code=store.code, order_no=no, member_id=member.pk, ordered_at=at,
        lines=(LineInput(line_no=1, sku="X", quantity=quantity, gross_amount=D(amount)),)),
        now=at)


@pytest.fixture
def world(now, store):
    """10 treated members (200 points, a ¥10 coupon and a gift each) and 10 control
    members, with sales in and out of the 14-day window."""
    template = coupon_template(now, amount=D("10"))
    c = campaign(now, actions=[("points", {"points": 200}),
                               ("coupon", {"coupon_template": template}),
                               ("gift", {"gift_name": "帆布袋", "gift_days": 7,
                                         "gift_unit_cost": D("5")})])
    c.status = CampaignStatus.RUNNING
    c.save()
    treated = members(10, now, prefix="1390000")
    control = members(10, now, prefix="1390001")
    assert campaign_act(campaign=c, occasion="once", member_ids=[m.pk for m in treated],
                        now=now)["acted"] == 10
    CampaignMember.objects.bulk_create(
        CampaignMember(campaign=c, occasion="once", member=m, bucket=0, state="control",
                       assigned_at=now) for m in control)
    # treated: five convert at ¥100; one at ¥100 and returns ¥40 of it; one buys on day 20
    # (outside the window); one bought the day before (outside too)
    for i in range(5):
        _sale(store, treated[i], f"T{i}", now + timedelta(days=3), "100")
    _sale(store, treated[5], "T5", now + timedelta(days=2), "100", quantity=5)
    order_record_return(ret=ReturnInput(store_code=store.code, order_no="R5", sale_order_no="T5",
                                        ordered_at=now + timedelta(days=4),
                                        lines=(ReturnLineInput(line_no=1, quantity=2),)),
                        now=now + timedelta(days=4))
    _sale(store, treated[6], "T6", now + timedelta(days=20), "100")
    _sale(store, treated[7], "T7", now - timedelta(days=1), "100")
    # control: three convert at ¥100; one buys on day 15 (outside)
    for i in range(3):
        _sale(store, control[i], f"C{i}", now + timedelta(days=5), "100")
    _sale(store, control[3], "C3", now + timedelta(days=15), "100")
    # one coupon redeemed (¥10 given), one gift collected (¥5); the others never used
    coupon = Coupon.objects.get(member=treated[0], template=template)
    coupon_redeem(code=coupon.code, member_id=treated[0].pk, order_no="T0", now=now,
                  basket=Basket(lines=(BasketLine(sku="X", quantity=1, amount=D("100")),)))
    CampaignGift.objects.filter(campaign=c, member=treated[1]).update(
        collected_at=now + timedelta(days=1))
    return c


def test_lift_interval_incremental_revenue_and_roi_equal_hand_computed_constants(world):
    r = campaign_results(world)
    t, k = r.treated, r.control
    assert (t.members, t.converted, t.revenue) == (10, 6, D("560.00"))  # 5×100 + (100−40)
    assert (k.members, k.converted, k.revenue) == (10, 3, D("300.00"))
    # cost: 2,000 points at 100 a yuan = ¥20, one coupon ¥10, one gift ¥5
    assert (t.points, t.points_cost, t.coupons_used, t.coupon_cost, t.gifts, t.gift_cost) == (
        2000, D("20.00"), 1, D("10.00"), 1, D("5.00"))
    assert t.cost == D("35.00")
    # lift 0.6 − 0.3 = 0.3; se = √(0.6·0.4/10 + 0.3·0.7/10) = √0.045 = 0.2121320;
    # 1.96·se = 0.4157788 → [−0.1158, 0.7158]
    assert (t.lift, t.lift_low, t.lift_high) == (D("0.3000"), D("-0.1158"), D("0.7158"))
    # (56 − 30) × 10 = 260; ROI (260 − 35) ÷ 35 = 6.428571…
    assert t.incremental_revenue == D("260.00")
    assert t.roi == D("6.4286")
    # the one variant carries the same figures; the control group has no lift of its own
    assert r.variants[0].roi == D("6.4286")
    assert k.lift is None
    assert t.conversion_rate == D("0.6000") and k.revenue_per_member == D("30.00")
    # by day (Beijing): day 2 the ¥100 sale, day 3 five sales, day 5 control's three
    days = {d.day: (d.treated_orders, d.control_orders) for d in r.days}
    assert days == {(world.run_at + timedelta(days=2)).date(): (1, 0),
                    (world.run_at + timedelta(days=3)).date(): (5, 0),
                    (world.run_at + timedelta(days=5)).date(): (0, 3)}


def test_without_a_control_group_lift_is_unknown(now, store):
    c = campaign(now, code="nocontrol", actions=[("points", {"points": 100})])
    c.status = CampaignStatus.RUNNING
    c.save()
    treated = members(4, now, prefix="1390002")
    campaign_act(campaign=c, occasion="once", member_ids=[m.pk for m in treated], now=now)
    _sale(store, treated[0], "N1", now + timedelta(days=1), "80")
    r = campaign_results(c)
    assert not r.has_control
    assert (r.treated.members, r.treated.converted, r.treated.revenue) == (4, 1, D("80.00"))
    assert r.treated.cost == D("4.00")
    assert (r.treated.lift, r.treated.lift_low, r.treated.incremental_revenue,
            r.treated.roi) == (None, None, None, None)
