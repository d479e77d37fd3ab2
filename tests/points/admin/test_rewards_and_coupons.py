"""The rewards and coupon admin: stock only moves by addition, redeeming for a member and
issuing / uploading coupons go through the services (refusals become form errors),
fulfilment and cancellation actions, and the lists load without a query per row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from points.models import Coupon, CouponEvent, CouponTemplate, Reward, RewardRedemption
from points.services.coupons import coupon_issue
from points.services.rewards import reward_redeem
from tests.points.catalog_helpers import give_points, make_reward, make_template
from tests.points.helpers import balances

pytestmark = pytest.mark.django_db


def reward_form(**overrides) -> dict:
    data = {"name": "帆布袋", "description": "", "kind": "goods", "points_cost": "500",
            "stock": "10", "per_member_limit": "", "starts_at_0": "", "starts_at_1": "",
            "ends_at_0": "", "ends_at_1": "", "coupon_template": "", "is_active": "on",
            "sort_order": "0"}
    data.update(overrides)
    return data


def test_adding_a_reward_and_adding_stock_never_overwrites_it(admin_client, member, now):
    response = admin_client.post(reverse("admin:points_reward_add"), reward_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    reward = Reward.objects.get()
    assert reward.stock == 10
    give_points(member.pk, 1000, now)
    reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="s", now=now)  # 9 left
    change = reverse("admin:points_reward_change", args=[reward.pk])
    response = admin_client.post(change, reward_form(name="新帆布袋", stock="10", add_stock="5"))
    assert response.status_code == 302, response.content.decode()[:3000]
    reward.refresh_from_db()
    assert (reward.name, reward.stock) == ("新帆布袋", 14)


def test_an_unlimited_reward_can_be_given_a_stock(admin_client, now):
    reward = make_reward(now, stock=None)
    change = reverse("admin:points_reward_change", args=[reward.pk])
    response = admin_client.post(change, reward_form(stock="7", points_cost="100"))
    assert response.status_code == 302
    reward.refresh_from_db()
    assert (reward.stock, reward.points_cost) == (7, 100)


def test_a_coupon_reward_without_a_template_is_a_form_error(admin_client):
    response = admin_client.post(reverse("admin:points_reward_add"), reward_form(kind="coupon"))
    assert response.status_code == 200
    assert not Reward.objects.exists()


def test_redeem_for_a_member_from_the_admin(admin_client, member, store, now):
    give_points(member.pk, 600, now)
    reward = make_reward(now, points_cost=500, stock=1)
    url = reverse("admin:points_reward_redeem", args=[reward.pk])
    assert admin_client.get(url).status_code == 200
    form = {"member": member.member_no, "quantity": "1", "fulfilment": "pickup",
            "store": store.pk, "token": "t-1"}
    response = admin_client.post(url, form)
    assert response.status_code == 302
    assert admin_client.post(url, form).status_code == 302  # a double submit: one redemption
    assert RewardRedemption.objects.count() == 1
    assert balances(member.pk)["available"] == 100
    refused = admin_client.post(url, {**form, "token": "t-2"})
    assert refused.status_code == 200
    assert "库存不足" in refused.content.decode() or "Out of stock" in refused.content.decode()
    assert RewardRedemption.objects.count() == 1


def test_fulfilment_and_cancel_actions(admin_client, member, store, now):
    give_points(member.pk, 1000, now)
    reward = make_reward(now, points_cost=200, stock=5)
    pickup = reward_redeem(member_id=member.pk, reward_id=reward.pk, store_code=store.code,
                           source_key="a", now=now)
    shipped = reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="b", now=now)
    changelist = reverse("admin:points_rewardredemption_changelist")
    admin_client.post(changelist, {"action": "mark_ready",
                                   "_selected_action": [pickup.pk, shipped.pk]})
    pickup.refresh_from_db()
    shipped.refresh_from_db()
    assert (pickup.state, shipped.state) == ("ready", "ordered")  # shipping is not picked up
    admin_client.post(changelist, {"action": "cancel", "_selected_action": [shipped.pk]})
    shipped.refresh_from_db()
    assert shipped.state == "cancelled" and shipped.refund_entry.available_delta == 200
    assert balances(member.pk)["available"] == 800
    assert Reward.objects.get(pk=reward.pk).stock == 4


def test_issue_upload_and_void_coupons_from_the_admin(admin_client, member, now):
    template = make_template(now, code_source="uploaded")
    upload = reverse("admin:points_coupontemplate_upload", args=[template.pk])
    assert admin_client.post(upload, {"codes": "GIFT-0001\nGIFT-0002\n"}).status_code == 302
    bad = admin_client.post(upload, {"codes": "GIFT-0002"})
    assert bad.status_code == 200 and Coupon.objects.count() == 2
    issue = reverse("admin:points_coupontemplate_issue", args=[template.pk])
    assert admin_client.post(issue, {"member": member.member_no, "token": "i-1"}).status_code == 302
    coupon = Coupon.objects.get(member=member)
    assert coupon.code == "GIFT-0001" and coupon.state == "issued"
    nobody = admin_client.post(issue, {"member": "00000000000", "token": "i-2"})
    assert nobody.status_code == 200 and Coupon.objects.filter(member__isnull=False).count() == 1
    admin_client.post(reverse("admin:points_coupon_changelist"),
                      {"action": "void", "_selected_action": [coupon.pk]})
    assert Coupon.objects.get(pk=coupon.pk).state == "voided"
    assert CouponEvent.objects.filter(coupon=coupon, kind="voided").exists()


def test_adding_a_template_validates_its_terms(admin_client):
    data = {"name": "满100减150", "kind": "spend_save", "threshold": "100", "amount": "150",
            "percent_off": "", "max_discount": "", "sku": "", "valid_from_0": "",
            "valid_from_1": "", "valid_until_0": "", "valid_until_1": "", "valid_days": "30",
            "code_source": "generated", "is_active": "on"}
    response = admin_client.post(reverse("admin:points_coupontemplate_add"), data)
    assert response.status_code == 200 and not CouponTemplate.objects.exists()
    response = admin_client.post(reverse("admin:points_coupontemplate_add"),
                                 {**data, "amount": "30"})
    assert response.status_code == 302 and CouponTemplate.objects.get().amount == Decimal("30")


@pytest.mark.parametrize("name", ["reward", "rewardredemption", "coupontemplate", "coupon",
                                  "couponevent"])
def test_lists_load_in_a_fixed_number_of_queries(admin_client, make_member, store, now, name):
    template = make_template(now)
    reward = make_reward(now, points_cost=10)

    def grow(n):
        for _ in range(n):
            m = make_member()
            give_points(m.pk, 100, now)
            reward_redeem(member_id=m.pk, reward_id=reward.pk, source_key=f"g{m.pk}",
                          store_code=store.code, now=now)
            coupon_issue(template_id=template.pk, member_id=m.pk, now=now)

    url = reverse(f"admin:points_{name}_changelist")
    grow(2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    grow(5)
    with CaptureQueriesContext(connection) as more:
        assert admin_client.get(url).status_code == 200
    assert len(more) == len(few)
    found = admin_client.get(url, {"q": "0000"})
    assert found.status_code == 200


def test_a_template_with_coupons_cannot_be_repriced(admin_client, member, now):
    template = make_template(now)
    change = reverse("admin:points_coupontemplate_change", args=[template.pk])
    form = {"name": "满200减30", "kind": "spend_save", "threshold": "200", "amount": "50",
            "percent_off": "", "max_discount": "", "sku": "", "valid_from_0": "",
            "valid_from_1": "", "valid_until_0": "", "valid_until_1": "", "valid_days": "30",
            "code_source": "generated", "is_active": "on"}
    coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    response = admin_client.post(change, {**form, "name": "改名", "is_active": ""})
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.is_active, template.amount) == ("改名", False, Decimal("30"))
