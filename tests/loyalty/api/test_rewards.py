"""Rewards, coupons and the checkout preview over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from points.models import Coupon, CouponEvent, PointsSettings, Reward, RewardRedemption
from points.services.coupons import coupon_issue
from tests.points.catalog_helpers import give_points, make_reward, make_template, tag_member
from tests.points.helpers import balances
from tests.tiers.helpers import attach, benefit, plan
from tiers.services.paid import paid_purchase

from .conftest import API, error_code, new_idem, row_counts

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_what_the_member_may_redeem_now(api, member, now):
    open_reward = make_reward(now, name="帆布袋", stock=3)
    gold = make_reward(now, name="黄金专享", tags=[tag_member(member.pk, "vip", now).pk])
    make_reward(now, name="下架", is_active=False)
    make_reward(now, name="未开始", starts_at=timezone.now() + timedelta(days=1))
    response = api.get(f"{API}/members/{member.pk}/rewards")
    assert response.status_code == 200
    assert [(r["id"], r["stock"]) for r in response.json()["results"]] == [
        (open_reward.pk, 3), (gold.pk, None)]


def test_redeem_over_http_spends_once_per_idempotency_key(api, member, store, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, points_cost=300, stock=2)
    key = new_idem()
    body = {"reward": reward.pk, "store": store.code}
    first = api.post(f"{API}/members/{member.pk}/rewards/redeem", body, format="json",
                     HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["redemption"]["state"] == "ordered" and data["redemption"]["store"] == store.code
    assert data["balance"]["available"] == 700
    again = api.post(f"{API}/members/{member.pk}/rewards/redeem", body, format="json",
                     HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == data
    assert RewardRedemption.objects.count() == 1
    assert Reward.objects.get(pk=reward.pk).stock == 1
    missing = api.post(f"{API}/members/{member.pk}/rewards/redeem", body, format="json")
    assert missing.status_code == 400 and error_code(missing) == "idempotency_key_required"


def test_out_of_stock_over_http_is_409_and_keeps_the_points(api, member, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, points_cost=300, stock=0)
    before = row_counts()
    response = api.post(f"{API}/members/{member.pk}/rewards/redeem", {"reward": reward.pk},
                        format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 409 and error_code(response) == "out_of_stock"
    assert response.json()["error"]["details"] == {"stock": 0, "requested": 1}
    assert row_counts() == before and balances(member.pk)["available"] == 1000


def test_coupon_life_over_http(api, member, now):
    template = make_template(now, valid_days=7)
    issued = api.post(f"{API}/members/{member.pk}/coupons/issue", {"template": template.pk},
                      format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert issued.status_code == 201, issued.content
    code = issued.json()["code"]
    listed = api.get(f"{API}/members/{member.pk}/coupons")
    assert [c["code"] for c in listed.json()["results"]] == [code]
    basket = {"lines": [{"sku": "SKU-1", "quantity": 1, "amount": "260.00"}]}
    redeem = {"member": member.pk, "code": code, "order_no": "W-1", **basket}
    used = api.post(f"{API}/coupons/redeem", redeem, format="json")
    assert used.status_code == 200, used.content
    assert (used.json()["state"], used.json()["discount"]) == ("redeemed", "30.00")
    assert api.post(f"{API}/coupons/redeem", redeem, format="json").status_code == 200
    twice = api.post(f"{API}/coupons/redeem", {**redeem, "order_no": "W-2"}, format="json")
    assert twice.status_code == 409 and error_code(twice) == "coupon_not_usable"
    void = api.post(f"{API}/coupons/void", {"code": code, "reason": "x"}, format="json")
    assert void.status_code == 409
    assert list(CouponEvent.objects.filter(member_id=member.pk).values_list("kind", flat=True)
                .order_by("id")) == ["issued", "redeemed"]
    history = api.get(f"{API}/members/{member.pk}/coupons/history").json()["results"]
    assert [(e["code"], e["kind"], e["order_no"], e["discount"]) for e in history] == [
        (code, "redeemed", "W-1", "30.00"), (code, "issued", "", None)]


def test_void_over_http(api, member, now):
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk)
    response = api.post(f"{API}/coupons/void", {"code": coupon.code, "reason": "发错了"},
                        format="json")
    assert response.status_code == 200 and response.json()["state"] == "voided"
    assert Coupon.objects.get(pk=coupon.pk).state == "voided"


def test_preview_points_as_cash_and_coupons(api, member, make_member, now):
    settings = PointsSettings.load()
    settings.points_per_yuan_value, settings.points_max_order_share = 100, 50
    settings.save()
    give_points(member.pk, 50_000, now)
    big = coupon_issue(template_id=make_template(now).pk, member_id=member.pk)
    far = coupon_issue(template_id=make_template(now, threshold=Decimal("500"),
                                                 amount=Decimal("80")).pk, member_id=member.pk)
    ship = coupon_issue(template_id=make_template(now, kind="free_shipping", amount=None,
                                                  threshold=Decimal("0")).pk, member_id=member.pk)
    coupon_issue(template_id=make_template(now).pk, member_id=make_member().pk)  # not theirs
    body = {"member": member.pk, "shipping_fee": "12.00",
            "lines": [{"sku": "A", "quantity": 1, "amount": "180.00"},
                      {"sku": "B", "quantity": 2, "amount": "120.00"}]}
    response = api.post(f"{API}/checkout/preview", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["subtotal"] == "300.00" and data["coupon"] is None
    assert data["points"] == {"available": 50_000, "usable": 15_000, "cash_value": "150.00",
                              "max_cash": "150.00", "points_per_yuan": 100,
                              "max_order_share": 50}
    assert [(c["code"], c["applicable"], c["value"]) for c in data["coupons"]] == [
        (big.code, True, "30.00"), (ship.code, True, "12.00"), (far.code, False, "0.00")]
    chosen = api.post(f"{API}/checkout/preview", {**body, "coupon": big.code}, format="json")
    data = chosen.json()
    assert data["coupon"]["value"] == "30.00" and data["payable_before_points"] == "270.00"
    assert data["points"]["usable"] == 13_500 and data["points"]["cash_value"] == "135.00"
    assert Coupon.objects.get(pk=big.pk).state == "issued"  # a preview writes nothing


def test_preview_with_few_points_uses_them_all_and_an_odd_rate_pays_whole_cents(api, member, now):
    settings = PointsSettings.load()
    settings.points_per_yuan_value = 150
    settings.save()
    give_points(member.pk, 1000, now)
    body = {"member": member.pk, "lines": [{"sku": "A", "quantity": 1, "amount": "99.00"}]}
    points = api.post(f"{API}/checkout/preview", body, format="json").json()["points"]
    assert (points["usable"], points["cash_value"]) == (999, "6.66")
    settings.points_max_order_share = 0
    settings.save()
    points = api.post(f"{API}/checkout/preview", body, format="json").json()["points"]
    assert (points["usable"], points["cash_value"]) == (0, "0.00")


def test_redemptions_list_and_cancel_over_http(api, member, make_member, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, points_cost=400, stock=3)
    redeemed = api.post(f"{API}/members/{member.pk}/rewards/redeem", {"reward": reward.pk},
                        format="json", HTTP_IDEMPOTENCY_KEY=new_idem()).json()["redemption"]
    listed = api.get(f"{API}/members/{member.pk}/rewards/redemptions").json()["results"]
    assert [(r["id"], r["state"], r["fulfilment"]) for r in listed] == [
        (redeemed["id"], "ordered", "shipping")]
    url = f"{API}/members/{member.pk}/rewards/redemptions/{redeemed['id']}/cancel"
    other = make_member()
    elsewhere = api.post(f"{API}/members/{other.pk}/rewards/redemptions/{redeemed['id']}/cancel",
                         {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert elsewhere.status_code == 404  # not that member's redemption
    key = new_idem()
    cancelled = api.post(url, {"reason": "不要了"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["redemption"]["state"] == "cancelled"
    assert cancelled.json()["balance"]["available"] == 1000
    replay = api.post(url, {"reason": "不要了"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.json() == cancelled.json() and replay["Idempotent-Replayed"] == "true"
    before = row_counts()
    again = api.post(url, {"reason": "不要了"}, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert again.status_code == 409 and error_code(again) == "redemption_state"
    assert row_counts() == before
    assert Reward.objects.get(pk=reward.pk).stock == 3


def test_the_longest_idempotency_key_redeems_and_replays(api, member, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, points_cost=100)
    key = "k" * 255
    url = f"{API}/members/{member.pk}/rewards/redeem"
    first = api.post(url, {"reward": reward.pk}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.content
    again = api.post(url, {"reward": reward.pk}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.json() == first.json()
    assert RewardRedemption.objects.count() == 1 and balances(member.pk)["available"] == 900


def test_preview_applies_the_member_discount_before_coupons_and_points(api, member, now):
    annual = plan()
    attach(benefit("price", "tier_discount"), plan=annual, discount_rate=Decimal("0.9"))
    body = {"member": member.pk, "lines": [{"sku": "A", "quantity": 1, "amount": "220.00"}]}
    settings = PointsSettings.load()
    settings.points_per_yuan_value, settings.points_max_order_share = 100, 50
    settings.save()
    give_points(member.pk, 50_000, now)
    spend_200_save_30 = coupon_issue(template_id=make_template(now).pk, member_id=member.pk)

    before = api.post(f"{API}/checkout/preview", body, format="json").json()
    assert before["member_discount"] == {"rate": "1.000", "source": "", "amount": "0.00"}
    assert [(c["code"], c["applicable"]) for c in before["coupons"]] == [
        (spend_200_save_30.code, True)]

    paid_purchase(member_id=member.pk, plan_code="annual", purchase_id="P-1",
                  amount=Decimal("199.00"), channel="api", now=timezone.now())
    data = api.post(f"{API}/checkout/preview", body, format="json").json()
    assert data["subtotal"] == "220.00" and data["discounted_subtotal"] == "198.00"
    assert data["member_discount"] == {"rate": "0.900", "source": "plan", "amount": "22.00"}
    # at member prices the basket no longer reaches the coupon's ¥200 threshold
    assert [(c["code"], c["applicable"]) for c in data["coupons"]] == [
        (spend_200_save_30.code, False)]
    assert data["points"]["max_cash"] == "99.00" and data["points"]["usable"] == 9_900
