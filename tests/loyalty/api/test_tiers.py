"""GET /members/{id}/tier: where a member stands on the reference ladder and what is next."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from loyalty.services.intake import record_sale, register_member
from members.services.members import MemberInput
from members.services.orders import LineInput, SaleInput
from tiers.defaults import ensure_default_ladder
from tiers.models import Tier, TierSettings
from tiers.services.growth import growth_add

from .conftest import API, client_for, error_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ladder(db):
    ensure_default_ladder()  # a transactional test elsewhere may have flushed the migration's


def register(now, mobile="13900139001"):
    return register_member(data=MemberInput(mobile=mobile), now=now).member


def sell(store, member, now, order_no, amount):
    record_sale(sale=SaleInput(
        store_code=store.code, order_no=order_no, member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-A", quantity=1, gross_amount=Decimal(amount)),),
    ), now=now)


def test_a_member_walked_up_to_silver(api, store):
    start = timezone.now() - timedelta(days=3)
    member = register(start)
    sell(store, member, start + timedelta(days=1), "S-1", "100.00")  # Bronze
    silver_at = start + timedelta(days=2)
    growth_add(member_id=member.pk, points=2_400, source_key="t-1", reason="test", now=silver_at)

    response = api.get(f"{API}/members/{member.pk}/tier")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["member"] == member.pk
    assert (body["tier"], body["growth"], body["period_growth"]) == ("silver", 2_500, 0)
    assert body["tier_name"] == "白银 Silver"
    assert datetime.fromisoformat(body["tier_valid_until"]) == silver_at + relativedelta(months=12)
    assert body["keep_growth_needed"] is None
    assert body["next_tier"] == {
        "code": "gold", "name": "黄金 Gold", "min_growth": 10_000, "growth_needed": 7_500,
        "needs_first_purchase": False, "spend_needed": "7500.00"}


def test_a_new_member_needs_a_first_purchase_for_bronze(api):
    member = register(timezone.now())
    body = api.get(f"{API}/members/{member.pk}/tier").json()
    assert (body["tier"], body["growth"], body["tier_valid_until"]) == ("registered", 0, None)
    assert body["next_tier"]["code"] == "bronze"
    assert body["next_tier"]["needs_first_purchase"] is True
    assert body["next_tier"]["growth_needed"] == 0


def test_spend_follows_the_growth_rate_and_rounds_up(api, member):
    settings = TierSettings.load()
    settings.growth_per_yuan = Decimal("3")
    settings.save()
    growth_add(member_id=member.pk, points=2_000, source_key="t-r", reason="test")
    body = api.get(f"{API}/members/{member.pk}/tier").json()
    assert body["next_tier"]["growth_needed"] == 8_000
    assert body["next_tier"]["spend_needed"] == "2666.67"  # 8000 / 3, rounded up

    settings.growth_per_yuan = Decimal("0")
    settings.save()
    assert api.get(f"{API}/members/{member.pk}/tier").json()["next_tier"]["spend_needed"] is None


def test_keep_threshold_and_the_top_of_the_ladder(api, member):
    Tier.objects.filter(code="diamond").update(end_policy="keep_if_period_growth",
                                              keep_threshold=5_000)
    growth_add(member_id=member.pk, points=30_000, source_key="t-d", reason="test")
    growth_add(member_id=member.pk, points=1_200, source_key="t-e", reason="test")
    body = api.get(f"{API}/members/{member.pk}/tier").json()
    assert (body["tier"], body["period_growth"]) == ("diamond", 1_200)
    assert body["keep_growth_needed"] == 3_800
    assert body["next_tier"] is None


def test_unknown_member_is_404(api):
    response = api.get(f"{API}/members/999999999/tier")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_missing_scope_is_403(make_key, member):
    _key, raw = make_key(scopes=["points:write"])
    response = client_for(raw).get(f"{API}/members/{member.pk}/tier")
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
