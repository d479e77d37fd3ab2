"""KPI targets by grade: the normal day leaves out other campaigns' days, the window's
sales and discount against it, and the frequency warning."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.models import CampaignStatus, GradeTarget
from campaigns.selectors.targets import campaign_targets, grade_target
from core.clock import programme_tz
from members.services.orders import LineInput, SaleInput, order_record_sale
from tests.campaigns.helpers import campaign, members

pytestmark = pytest.mark.django_db
D = Decimal


def _at(day: int, month: int = 3, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=programme_tz())


def _sale(store, member, no, at, gross, coupon="0"):
    order_record_sale(sale=SaleInput(
        store_code=store.code, order_no=no, member_id=member.pk, ordered_at=at,
        lines=(LineInput(line_no=1, sku="X", quantity=1, gross_amount=D(gross),
                         coupon_discount=D(coupon)),)), now=at)


def test_defaults_per_grade_are_editable_rows():
    s, a, b = (grade_target(g) for g in "SAB")
    assert (s.sales_multiple, s.discount_share, s.max_campaigns, s.period) == (
        D("5"), D("0.20"), 1, "month")
    assert (a.sales_multiple, a.discount_share, a.max_campaigns, a.period) == (
        D("2"), D("0.18"), 2, "month")
    assert (b.sales_multiple, b.discount_share, b.max_campaigns, b.period) == (
        D("1.5"), D("0.05"), 2, "week")
    GradeTarget.objects.filter(grade="S").update(max_campaigns=3)
    assert grade_target("S").max_campaigns == 3


def test_normal_day_leaves_out_other_campaigns_days_and_actuals_compare_with_it(now, store):
    (m,) = members(1, now)
    x = campaign(now, code="x", grade="S", status=CampaignStatus.SCHEDULED,
                 starts_at=_at(14, hour=0), ends_at=_at(16, hour=0))
    # another (ended) S campaign over 10–12 March: those three days leave the baseline
    campaign(now, code="y", grade="S", status=CampaignStatus.ENDED,
             starts_at=_at(10, hour=0), ends_at=_at(13, hour=0))
    # a draft over 1 March leaves nothing out; an S campaign in April is another month
    campaign(now, code="z", grade="S", starts_at=_at(1, hour=0), ends_at=_at(2, hour=0))
    campaign(now, code="april", grade="S", status=CampaignStatus.SCHEDULED,
             starts_at=_at(1, month=4, hour=0), ends_at=_at(2, month=4, hour=0))
    _sale(store, m, "B1", _at(1), "250")        # in the baseline
    _sale(store, m, "B2", _at(11), "1000")      # inside y's window: left out
    _sale(store, m, "B3", _at(13, hour=1) - timedelta(days=40), "999")  # before the 28 days
    # in the window: ¥100 gross with ¥10 off, and ¥50
    _sale(store, m, "W1", _at(14), "100", coupon="10")
    _sale(store, m, "W2", _at(15), "50")
    t = campaign_targets(x, now=_at(20))
    # 28 days (14 Feb – 13 Mar) less 10, 11, 12 March = 25 days; ¥250 ÷ 25
    assert (t.baseline_days, t.normal_day) == (25, D("10.00"))
    # two days (14, 15 March): ¥140 ÷ 2 = ¥70 a day = 7 normal days
    assert (t.daily_sales, t.sales_multiple) == (D("70.00"), D("7.00"))
    assert t.discount_share == D("0.0667")  # 10 ÷ 150
    # x and y are S campaigns in March: two, above one a month
    assert (t.same_period, t.over_frequency) == (2, True)
