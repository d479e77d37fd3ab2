"""The benefits and paid-membership endpoints: what a member holds, purchases reported by
the storefront (idempotent by purchase id), claiming and using grants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.points.catalog_helpers import make_template
from tests.tiers.helpers import attach, benefit, plan
from tiers.models.benefits import BenefitGrant
from tiers.models.paid import PaidPurchase
from tiers.services.benefits import benefit_grants_issue

from .conftest import API, error_code, new_idem


@pytest.fixture
def annual(db):
    annual = plan()
    double = benefit("double", "points_multiplier")
    attach(double, plan=annual, multiplier=Decimal("2"))
    price = benefit("price", "tier_discount")
    attach(price, plan=annual, discount_rate=Decimal("0.9"))
    ship = benefit("ship", "free_shipping", grant_period="monthly")
    attach(ship, plan=annual, quantity=2)
    template = make_template(timezone.now())
    pack = benefit("pack", "coupon_pack", grant_period="monthly", coupon_template=template)
    attach(pack, plan=annual, quantity=1)
    return annual


def buy(api, member, purchase_id="P-1", amount="199.00"):
    return api.post(f"{API}/members/{member.pk}/paid-memberships",
                    {"plan": "annual", "purchase_id": purchase_id, "amount": amount},
                    format="json")


def test_purchase_then_benefits_apply(api, member, annual):
    before = api.get(f"{API}/members/{member.pk}/benefits").json()
    assert before == {"member": member.pk, "points_multiplier": "1.00",
                      "discount_rate": "1.000", "paid_membership": None, "benefits": []}

    response = buy(api, member)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["purchase"]["kind"] == "new" and body["membership"]["active"] is True
    replay = buy(api, member)
    assert replay.status_code == 200 and replay.json()["purchase"] == body["purchase"]
    conflict = buy(api, member, amount="1.00")
    assert conflict.status_code == 409 and error_code(conflict) == "paid_purchase_id_conflict"
    renewal = buy(api, member, purchase_id="P-2")
    assert renewal.json()["purchase"]["kind"] == "renewal"
    assert renewal.json()["purchase"]["period_start"] == body["purchase"]["period_end"]
    assert PaidPurchase.objects.count() == 2

    after = api.get(f"{API}/members/{member.pk}/benefits").json()
    assert (after["points_multiplier"], after["discount_rate"]) == ("2.00", "0.900")
    assert after["paid_membership"]["plan"] == "annual"
    assert {b["code"] for b in after["benefits"]} == {"double", "price", "ship", "pack"}


def test_claim_and_use_grants(api, member, annual):
    buy(api, member)
    benefit_grants_issue(grant_period="monthly")
    grants = api.get(f"{API}/members/{member.pk}/benefit-grants").json()["results"]
    by_code = {g["benefit"]: g for g in grants}
    assert set(by_code) == {"ship", "pack"} and by_code["ship"]["remaining"] == 2
    ship, pack = by_code["ship"]["id"], by_code["pack"]["id"]
    base = f"{API}/members/{member.pk}/benefit-grants"

    pack_claimed = api.post(f"{base}/{pack}/claim")
    assert pack_claimed.status_code == 200 and pack_claimed.json()["status"] == "claimed"
    coupons = api.get(f"{API}/members/{member.pk}/coupons").json()
    assert [(c["name"], c["state"]) for c in coupons["results"]] == [("满200减30", "issued")]

    not_yet = api.post(f"{base}/{ship}/use", {"units": 1}, format="json",
                       HTTP_IDEMPOTENCY_KEY=new_idem())
    assert not_yet.status_code == 409 and error_code(not_yet) == "benefit_grant_not_claimed"
    claimed = api.post(f"{base}/{ship}/claim")
    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
    twice = api.post(f"{base}/{ship}/claim")
    assert twice.status_code == 409 and error_code(twice) == "benefit_grant_already_claimed"

    key = new_idem()
    used = api.post(f"{base}/{ship}/use", {"units": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert used.status_code == 201 and used.json()["grant"]["remaining"] == 1
    again = api.post(f"{base}/{ship}/use", {"units": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and again.json() == used.json()
    assert BenefitGrant.objects.get(pk=ship).used_quantity == 1
    too_many = api.post(f"{base}/{ship}/use", {"units": 2}, format="json",
                        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert too_many.status_code == 409 and error_code(too_many) == "benefit_grant_used_up"
    no_key = api.post(f"{base}/{ship}/use", {"units": 1}, format="json")
    assert no_key.status_code == 400

    unknown = api.post(f"{base}/999999999/claim")
    assert unknown.status_code == 404 and error_code(unknown) == "benefit_grant_not_found"


def test_scopes(make_key, member, annual):
    from .conftest import client_for

    reader = client_for(make_key(["members:read"])[1])
    assert reader.get(f"{API}/members/{member.pk}/benefits").status_code == 200
    assert buy(reader, member).status_code == 403
