"""Clerks act for their stores; clerks and finance see mobiles masked, and a reveal is
recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from loyalty.roles import CLERKS, FINANCE, OPERATORS, roles_sync
from loyalty.services import intake
from members.models import AccessEvent, Member, Order, Store, StoreStaff
from members.services.members import MemberInput
from members.services.orders import LineInput, SaleInput

pytestmark = pytest.mark.django_db


def login(role: str, username: str, stores=()) -> tuple[Client, User]:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(roles_sync()[role])
    for store in stores:
        StoreStaff.objects.create(user=user, store=store)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def shop(now):
    """Two stores; members at home in one or the other, one of store B's having bought at
    store A."""
    a = Store.objects.create(code="SH001", name="上海南京西路店", region="上海")
    b = Store.objects.create(code="BJ001", name="北京三里屯店", region="北京")

    def member(mobile, name, home):
        return intake.register_member(data=MemberInput(mobile=mobile, name=name,
                                                       home_store_code=home.code),
                                      now=now).member

    at_a = member("13800001111", "张三", a)
    visitor = member("13900002222", "李四", b)  # home B, bought at A
    elsewhere = member("13700003333", "王五", b)
    for store, order_no, who in ((a, "A-1", visitor), (b, "B-1", visitor),
                                 (b, "B-2", elsewhere)):
        intake.record_sale(sale=SaleInput(
            store_code=store.code, order_no=order_no, member_id=who.pk, ordered_at=now,
            lines=(LineInput(line_no=1, sku="TEA", category="food", quantity=1,
                             gross_amount=Decimal("68.00")),)), now=now)
    return {"a": a, "b": b, "at_a": at_a, "visitor": visitor, "elsewhere": elsewhere}


def listed(client, term: str = "") -> set[str]:
    page = client.get(reverse("admin:members_member_changelist"), {"q": term} if term else {})
    assert page.status_code == 200
    return {m.name for m in page.context["cl"].result_list}


def test_a_clerk_lists_only_the_members_of_their_stores(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    assert listed(clerk) == {"张三", "李四"}  # home store A, or an order at A
    operator, _user = login(OPERATORS, "op")
    assert listed(operator) == {"张三", "李四", "王五"}


def test_a_clerk_bound_to_no_store_sees_no_member(shop):
    clerk, _user = login(CLERKS, "clerk-none")
    assert listed(clerk) == set()


def test_beyond_their_stores_a_clerk_finds_a_member_by_an_exact_identifier_only(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    elsewhere = shop["elsewhere"]
    assert listed(clerk, "3333") == set()  # last four digits: their stores only
    assert listed(clerk, "王") == set()  # a name prefix too
    assert listed(clerk, "13700003333") == {"王五"}  # the full mobile
    assert listed(clerk, elsewhere.member_no) == {"王五"}  # the member number
    assert listed(clerk, "1111") == {"张三"}


def test_a_clerk_opens_and_edits_only_their_stores_members(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    outside = reverse("admin:members_member_change", args=[shop["elsewhere"].pk])
    assert clerk.get(outside).status_code != 200
    response = clerk.post(outside, {"name": "改名", "gender": "unknown",
                                    "source_channel": "store", "_save": "Save"})
    assert response.status_code != 200
    assert Member.objects.get(pk=shop["elsewhere"].pk).name == "王五"
    adjust = reverse("admin:loyalty_member_adjust_points", args=[shop["elsewhere"].pk])
    assert clerk.get(adjust).status_code == 403  # not theirs to adjust either way

    inside = reverse("admin:members_member_change", args=[shop["at_a"].pk])
    page = clerk.get(inside)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"name": "张三丰", "_save": "Save", "member_tags-TOTAL_FORMS": "0",
                 "member_tags-INITIAL_FORMS": "0"})
    response = clerk.post(inside, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = Member.objects.get(pk=shop["at_a"].pk)
    assert member.name == "张三丰" and member.mobile == "+8613800001111"  # number kept


def test_a_clerk_sees_only_their_stores_orders(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    page = clerk.get(reverse("admin:members_order_changelist"))
    assert {o.order_no for o in page.context["cl"].result_list} == {"A-1"}
    other = Order.objects.get(order_no="B-1")
    assert clerk.get(reverse("admin:members_order_change", args=[other.pk])).status_code != 200
    member_page = clerk.get(reverse("admin:members_member_change", args=[shop["visitor"].pk]))
    html = member_page.content.decode()
    assert "A-1" in html and "B-1" not in html  # the member's orders at their stores only


@pytest.mark.parametrize("role,stores", [(CLERKS, True), (FINANCE, False)])
def test_clerks_and_finance_see_mobiles_masked(shop, role, stores):
    client, _user = login(role, "someone", [shop["a"]] if stores else [])
    page = client.get(reverse("admin:members_member_change", args=[shop["at_a"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "13800001111" not in html and "138****1111" in html
    listing = client.get(reverse("admin:members_member_changelist")).content.decode()
    assert "13800001111" not in listing


def test_operators_see_the_full_mobile(shop):
    operator, _user = login(OPERATORS, "op")
    page = operator.get(reverse("admin:members_member_change", args=[shop["at_a"].pk]))
    assert "+8613800001111" in page.content.decode()


@pytest.mark.parametrize("role,stores", [(CLERKS, True), (FINANCE, False)])
def test_a_reveal_shows_the_number_and_is_recorded(shop, role, stores):
    client, user = login(role, "someone", [shop["a"]] if stores else [])
    url = reverse("admin:members_member_reveal_mobile", args=[shop["at_a"].pk])
    asked = client.get(url)
    assert asked.status_code == 200 and "13800001111" not in asked.content.decode()
    assert not AccessEvent.objects.exists()  # opening the page reveals nothing

    shown = client.post(url)

    assert "+8613800001111" in shown.content.decode()
    event = AccessEvent.objects.get()
    assert (event.kind, event.member_id, event.actor_user_id) == (
        AccessEvent.Kind.MOBILE_REVEAL, shop["at_a"].pk, user.pk)
    with pytest.raises(Exception, match="append-only"):
        AccessEvent.objects.filter(pk=event.pk).update(subject="x")


def test_a_clerk_cannot_reveal_a_member_outside_their_stores(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    url = reverse("admin:members_member_reveal_mobile", args=[shop["elsewhere"].pk])
    assert clerk.post(url).status_code == 403
    assert not AccessEvent.objects.exists()


def test_a_segment_export_is_recorded(shop):
    from members.models import Segment

    operator, user = login(OPERATORS, "op")
    segment = Segment.objects.create(code="all", name="全部", expression="gender:unknown")
    response = operator.get(reverse("admin:members_segment_export", args=[segment.pk]))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AccessEvent.objects.get()
    assert (event.kind, event.actor_user_id) == (AccessEvent.Kind.MEMBER_EXPORT, user.pk)
    assert "all" in event.subject
