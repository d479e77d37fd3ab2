"""Ledger reasons read as words (points.reasons, GrowthEntry.reason_text): the codes the
services store are translated; an operator's own words are shown as written."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from points.reasons import reason_text
from tiers.models import GrowthEntry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reason, zh, en", [
    ("checkin", "签到", "Check-in"),
    ("sale", "销售", "Sale"),
    ("registration", "注册", "Registration"),
    ("return", "退货", "Return"),
    ("expiry", "积分过期", "Points expired"),
    ("partner AIRLINE", "合作方兑换（AIRLINE）", "Partner exchange (AIRLINE)"),
    ("reward 12: 保温杯", "兑换礼品：保温杯", "Reward redeemed: 保温杯"),
    ("reward cancelled", "兑换取消", "Redemption cancelled"),
    ("complaint", "投诉处理", "Complaint"),
    ("补偿 2026-03 投诉", "补偿 2026-03 投诉", "补偿 2026-03 投诉"),
    ("", "", ""),
])
def test_ledger_codes_are_translated_and_free_text_is_kept(reason, zh, en):
    with translation.override("zh-hans"):
        assert reason_text(reason) == zh
    with translation.override("en"):
        assert reason_text(reason) == en


@pytest.mark.parametrize("reason, zh", [
    ("tier period ended: keep_percent", "等级有效期结束：保留一定比例的成长值"),
    ("paid membership lapsed", "付费会员过期后的衰减"),
    ("checkin", "签到"),
    ("sale", "销售"),
])
def test_growth_reasons_read_as_words(reason, zh):
    with translation.override("zh-hans"):
        assert GrowthEntry(reason=reason).reason_text == zh


def test_the_ledger_lists_show_reasons_in_words(admin_client, store, member, now):
    from loyalty.services import intake
    from members.services.activity import ActivityInput
    from tests.points.helpers import sale_input

    intake.record_activity(data=ActivityInput(member_id=member.pk, kind="checkin",
                                              source_key="c-1", occurred_at=now), now=now)
    intake.record_sale(sale=sale_input(store, member.pk, now, "S-1", "300.00"), now=now)
    cell = r'<td class="field-reason_text[^"]*"[^>]*>\s*([^<]*?)\s*</td>'
    page = admin_client.get(reverse("admin:points_pointsentry_changelist")).content.decode()
    assert set(re.findall(cell, page)) == {"签到", "销售"}
    growth = admin_client.get(reverse("admin:tiers_growthentry_changelist")).content.decode()
    assert "销售" in re.findall(cell, growth) and "sale" not in re.findall(cell, growth)


def test_the_lists_show_what_a_person_typed_beside_the_reason(admin_client, member, now):
    """The typed text is no longer on the append-only rows; the lists still show it, from
    the note, after the reason in words."""
    from points.services.coupons import coupon_issue, coupon_void
    from points.services.ledger import points_adjust, points_spend
    from tests.points.catalog_helpers import make_template

    user = admin_client.session.get("_auth_user_id")
    points_adjust(member_id=member.pk, points=50, operator_id=int(user), reason="客诉补偿",
                  reason_code="complaint", now=now)
    points_spend(member_id=member.pk, points=5, note="兑换咖啡", now=now)
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    coupon_void(code=coupon.code, reason="发错了", now=now)
    cell = r'<td class="field-reason_text[^"]*"[^>]*>\s*([^<]*?)\s*</td>'
    page = admin_client.get(reverse("admin:points_pointsentry_changelist")).content.decode()
    assert re.findall(cell, page) == ["兑换咖啡", "投诉处理 · 客诉补偿"]
    page = admin_client.get(reverse("admin:points_couponevent_changelist")).content.decode()
    typed, issued = re.findall(cell, page)
    assert typed == "发错了" and issued in ("", "-")  # the console marks an empty cell itself
