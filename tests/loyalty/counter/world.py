"""Two stores, a clerk of each, and members of each, for the counter's tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

from loyalty import roles
from members.models import Member, Store, StoreStaff
from members.services.members import MemberInput, member_register
from points.services.ledger import points_adjust

PASSWORD = "counter-pass-1"


@dataclass
class CounterWorld:
    store_a: Store
    store_b: Store
    clerk_a: object
    clerk_b: object
    member_a: Member  # home store A, mobile ending 4321
    member_b: Member  # home store B, mobile ending 4321 too


def clerk(username: str, *stores: Store, group: str = roles.CLERKS):
    groups = roles.roles_sync()
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(groups[group])
    for store in stores:
        StoreStaff.objects.create(user=user, store=store)
    return user


def build_counter_world() -> CounterWorld:
    now = timezone.now()
    store_a = Store.objects.create(code="A001", name="上海店", region="上海")
    store_b = Store.objects.create(code="B001", name="北京店", region="北京")
    member_a = member_register(data=MemberInput(mobile="13900004321", name="王小明",
                                                home_store_code="A001"), now=now)
    member_b = member_register(data=MemberInput(mobile="13700004321", name="李四",
                                                home_store_code="B001"), now=now)
    operator = clerk("operator", group=roles.OPERATORS)
    points_adjust(member_id=member_a.pk, points=5_000, operator_id=operator.pk,
                  reason="starting balance", now=now)
    return CounterWorld(store_a, store_b, clerk("clerk-a", store_a), clerk("clerk-b", store_b),
                        member_a, member_b)
