"""The launch forecast learns only from past campaigns of the same play, else the same
grade; with neither it says unknown."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import CampaignStatus
from campaigns.selectors.forecast import campaign_forecast
from campaigns.services.act import campaign_act
from campaigns.services.copy import campaign_copy
from members.services.orders import LineInput, SaleInput, order_record_sale
from tests.campaigns.helpers import campaign, coupon_template, members

pytestmark = pytest.mark.django_db
D = Decimal
ACTIONS = [("points", {"points": 100}),
           ("gift", {"gift_name": "帆布袋", "gift_days": 7, "gift_unit_cost": D("5")})]


def _past(c, who, now):
    c.status = CampaignStatus.RUNNING
    c.save()
    campaign_act(campaign=c, occasion="once", member_ids=[m.pk for m in who], now=now)
    c.status = CampaignStatus.ENDED
    c.save()


def test_forecast_from_the_same_play_else_the_grade_else_unknown(now, store):
    everyone = members(10, now)
    play = campaign(now, code="play", grade="A", is_template=True, actions=ACTIONS)
    # a past copy of the play: 4 treated, 2 bought ¥50 each → 50% and ¥25 a member
    p1 = campaign_copy(campaign_id=play.pk, code="p1", now=now)
    _past(p1, everyone[:4], now)
    for i in range(2):
        order_record_sale(sale=SaleInput(
            store_code=store.code, order_no=f"S{i}", member_id=everyone[i].pk,
            ordered_at=now + timedelta(days=1),
            lines=(LineInput(line_no=1, sku="X", quantity=1, gross_amount=D("50")),)),
            now=now + timedelta(days=1))
    # another grade-A campaign, not from the play: 4 treated, none bought
    _past(campaign(now, code="p2", grade="A", actions=ACTIONS), everyone[4:8], now)

    draft = campaign_copy(campaign_id=play.pk, code="next", now=now)
    draft.control_percent = 20
    draft.save()
    f = campaign_forecast(draft, now=now)
    # 10 members: 2 held out, 8 treated at 100 points (¥1) + a ¥5 gift each
    assert (f.audience, f.control, f.treated, f.cost) == (10, 2, 8, D("48.00"))
    # only p1 (the same play): 50% of 8, ¥25 × 8
    assert (f.basis, f.past_campaigns, f.conversions, f.revenue) == ("template", 1, 4,
                                                                    D("200.00"))
    # no play: p1 and p2 of grade A — 2 of 8 converted, ¥100 over 8 members
    same_grade = campaign(now, code="graded", grade="A", control_percent=20, actions=ACTIONS)
    f = campaign_forecast(same_grade, now=now)
    assert (f.basis, f.past_campaigns, f.conversions, f.revenue) == ("grade", 2, 2,
                                                                    D("100.00"))
    # grade S has no past: unknown
    f = campaign_forecast(campaign(now, code="big", grade="S", actions=ACTIONS), now=now)
    assert (f.basis, f.conversions, f.revenue) == (None, None, None)
    # a coupon template never used before: its cost is unknown, not guessed
    fresh = coupon_template(now)
    f = campaign_forecast(campaign(now, code="cpn", actions=[
        ("coupon", {"coupon_template": fresh})]), now=now)
    assert f.cost is None
