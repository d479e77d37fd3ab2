"""Every write says who made it: a staff user in the admin, an API key and its owner through
the API — on orders, ledger entries, redemptions and coupon events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from core.actor import Actor, acting_as
from loyalty.roles import CLERKS, OPERATORS, roles_sync
from members.models import Order, StoreStaff
from points.models import CouponEvent, CouponTemplate, PointsEntry, Reward, RewardRedemption
from points.services.coupons import coupon_issue
from points.services.ledger import points_adjust
from points.services.rewards import reward_redeem
from tests.loyalty.api.conftest import API, client_for, new_idem

pytestmark = pytest.mark.django_db


def test_an_api_adjustment_records_the_key_and_its_owner(make_key, owner, member):
    key, raw = make_key()
    response = client_for(raw).post(
        f"{API}/members/{member.pk}/points/adjust",
        {"points": 50, "reason": "客服补偿", "reason_code": "complaint"}, format="json",
        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 201, response.content
    entry = PointsEntry.objects.get()
    assert (entry.actor_api_key_id, entry.actor_user_id, entry.operator_id) == (
        key.pk, owner.pk, owner.pk)
    assert (entry.reason, entry.note.text) == ("complaint", "客服补偿")


def test_an_api_sale_records_the_key_on_the_order_and_the_earning(make_key, owner, member,
                                                                    store):
    key, raw = make_key()
    response = client_for(raw).post(f"{API}/orders/sales", {
        "store": store.code, "order_no": "S-1", "member": member.pk,
        "ordered_at": "2026-03-14T10:30:00+08:00",
        "lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 1, "gross_amount": "100.00"}]},
        format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert (order.actor_api_key_id, order.actor_user_id) == (key.pk, owner.pk)
    earned = PointsEntry.objects.get(kind="earn")
    assert (earned.actor_api_key_id, earned.actor_user_id, earned.store_id) == (
        key.pk, owner.pk, store.pk)


def test_a_key_handed_to_another_owner_keeps_what_it_did_before(make_key, owner, member):
    from loyalty.services.api_keys import api_key_reassign

    key, raw = make_key()
    api = client_for(raw)
    body = {"points": 5, "reason": "x"}
    url = f"{API}/members/{member.pk}/points/adjust"
    api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    successor = User.objects.create_user("successor")
    api_key_reassign(key_id=key.pk, owner_id=successor.pk)
    api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert list(PointsEntry.objects.order_by("id").values_list(
        "actor_api_key_id", "actor_user_id")) == [(key.pk, owner.pk), (key.pk, successor.pk)]


def test_an_admin_adjustment_records_the_operator_and_no_key(member):
    operator = User.objects.create_user("op", password="x", is_staff=True)
    operator.groups.add(roles_sync()[OPERATORS])
    client = Client()
    client.force_login(operator)
    url = reverse("admin:loyalty_member_adjust_points", args=[member.pk])
    response = client.post(url, {"points": "30", "reason_code": "goodwill", "reason": "生日",
                                 "confirm": "1"})
    assert response.status_code == 302
    entry = PointsEntry.objects.get()
    assert (entry.actor_user_id, entry.actor_api_key_id, entry.operator_id) == (
        operator.pk, None, operator.pk)


def test_a_clerk_bound_to_one_store_writes_for_that_store(member, store):
    clerk = User.objects.create_user("clerk", password="x", is_staff=True)
    clerk.groups.add(roles_sync()[CLERKS])
    StoreStaff.objects.create(user=clerk, store=store)
    from loyalty.middleware import StaffActorMiddleware

    seen = {}

    def view(request):
        points_adjust(member_id=member.pk, points=1, operator_id=clerk.pk, reason="到店")
        seen["entry"] = PointsEntry.objects.get()
        return None

    class Request:
        user = clerk

    StaffActorMiddleware(view)(Request())
    entry = seen["entry"]
    assert (entry.actor_user_id, entry.store_id) == (clerk.pk, store.pk)


def test_redemptions_and_coupon_events_record_the_actor(member, store, now):
    user = User.objects.create_user("op")
    template = CouponTemplate.objects.create(name="满100减10", kind="spend_save",
                                             threshold=Decimal("100"), amount=Decimal("10"),
                                             valid_days=30, created_at=now)
    reward = Reward.objects.create(name="雨伞", kind="goods", points_cost=10, created_at=now)
    points_adjust(member_id=member.pk, points=100, operator_id=user.pk, reason="start")
    with acting_as(Actor(user_id=user.pk, store_id=store.pk)):
        coupon_issue(template_id=template.pk, member_id=member.pk, source_key="c1", now=now)
        reward_redeem(member_id=member.pk, reward_id=reward.pk, source_key="r1",
                      fulfilment="pickup", store_code=store.code, now=now)
    event = CouponEvent.objects.get()
    assert (event.actor_user_id, event.store_id) == (user.pk, store.pk)
    redemption = RewardRedemption.objects.get()
    assert redemption.actor_user_id == user.pk
    spend = PointsEntry.objects.get(kind="spend")
    assert (spend.actor_user_id, spend.store_id) == (user.pk, store.pk)


def test_system_jobs_write_as_nobody(member):
    user = User.objects.create_user("op")
    entry = points_adjust(member_id=member.pk, points=1, operator_id=user.pk, reason="x").entry
    assert (entry.actor_user_id, entry.actor_api_key_id) == (None, None)


def test_the_ledger_carries_no_typed_text(member):
    user = User.objects.create_user("op")
    points_adjust(member_id=member.pk, points=1, operator_id=user.pk, reason="会员投诉了店员")
    entry = PointsEntry.objects.get()
    assert entry.reason == "other" and "投诉" not in entry.reason
    entry.note.text = ""  # erasure blanks the note; the ledger row stays whole
    entry.note.save()
    assert PointsEntry.objects.get().available_delta == 1
