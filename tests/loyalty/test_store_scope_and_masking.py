"""Clerks act for their stores at the counter and open no admin page; clerks and finance see
mobiles masked, and a reveal is recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from loyalty.roles import CLERKS, FINANCE, OPERATORS, roles_sync
from loyalty.services import intake
from members.models import AccessEvent, Member, Store, StoreStaff
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


def counter_find(client, term: str) -> tuple[set[str], str | None]:
    """The names the counter's find box lists for a term, and where an exact hit leads."""
    page = client.get("/counter/find/", {"q": term})
    if page.status_code == 302:
        return set(), page["Location"]
    assert page.status_code == 200
    found = page.context["found"]
    return {m.name for m in found.members} if found else set(), None


def test_a_clerk_finds_only_the_members_of_their_stores(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    assert counter_find(clerk, "1111") == ({"张三"}, None)
    assert counter_find(clerk, "2222") == ({"李四"}, None)  # home B, an order at A
    assert clerk.get(reverse("admin:members_member_changelist")).status_code == 403
    operator, _user = login(OPERATORS, "op")
    assert listed(operator) == {"张三", "李四", "王五"}


def test_a_clerk_bound_to_no_store_has_no_counter(shop):
    clerk, _user = login(CLERKS, "clerk-none")
    assert clerk.get("/counter/find/", {"q": "1111"}).status_code == 403
    assert clerk.get(reverse("admin:members_member_changelist")).status_code == 403


def test_beyond_their_stores_a_clerk_finds_a_member_by_an_exact_identifier_only(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    elsewhere = shop["elsewhere"]
    assert counter_find(clerk, "3333") == (set(), None)  # last four digits: their stores only
    assert counter_find(clerk, "王") == (set(), None)  # a name prefix too
    target = f"/counter/m/{elsewhere.pk}/"
    assert counter_find(clerk, "13700003333") == (set(), target)  # the full mobile
    assert counter_find(clerk, elsewhere.member_no) == (set(), target)  # the member number


def test_a_clerk_opens_only_their_stores_members_and_no_admin_page(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    assert clerk.get(f"/counter/m/{shop['elsewhere'].pk}/").status_code == 404
    assert clerk.get(f"/counter/m/{shop['at_a'].pk}/").status_code == 200
    for url in (reverse("admin:members_member_change", args=[shop["at_a"].pk]),
                reverse("admin:loyalty_member_adjust_points", args=[shop["at_a"].pk]),
                reverse("admin:index")):
        refused = clerk.get(url)
        assert refused.status_code == 403 and "/counter/" in refused.content.decode()
    response = clerk.post(reverse("admin:members_member_change", args=[shop["at_a"].pk]),
                          {"name": "改名", "gender": "unknown", "source_channel": "store",
                           "_save": "Save"})
    assert response.status_code == 403
    assert Member.objects.get(pk=shop["at_a"].pk).name == "张三"


def test_a_clerk_returns_only_their_stores_orders(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    mine = clerk.get("/counter/return/", {"order_no": "A-1"})
    assert mine.context["sale"].order_no == "A-1"
    other = clerk.get("/counter/return/", {"order_no": "B-1"})
    assert other.context.get("sale") is None and 'role="alert"' in other.content.decode()
    assert clerk.get(reverse("admin:members_order_changelist")).status_code == 403


def test_finance_sees_mobiles_masked(shop):
    client, _user = login(FINANCE, "someone")
    page = client.get(reverse("admin:members_member_change", args=[shop["at_a"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "13800001111" not in html and "138****1111" in html
    listing = client.get(reverse("admin:members_member_changelist")).content.decode()
    assert "13800001111" not in listing


def test_clerks_see_mobiles_masked_at_the_counter(shop):
    clerk, _user = login(CLERKS, "someone", [shop["a"]])
    page = clerk.get(f"/counter/m/{shop['at_a'].pk}/").content.decode()
    assert "13800001111" not in page and "138****1111" in page
    picks = clerk.get("/counter/find/", {"q": "1111"}).content.decode()
    assert "13800001111" not in picks and "138****1111" in picks


def test_operators_see_the_full_mobile(shop):
    operator, _user = login(OPERATORS, "op")
    page = operator.get(reverse("admin:members_member_change", args=[shop["at_a"].pk]))
    assert "+8613800001111" in page.content.decode()


def test_a_reveal_shows_the_number_and_is_recorded(shop):
    client, user = login(FINANCE, "someone")
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


def test_a_clerk_cannot_reveal_a_mobile(shop):
    clerk, _user = login(CLERKS, "clerk-a", [shop["a"]])
    for member in (shop["elsewhere"], shop["at_a"]):
        url = reverse("admin:members_member_reveal_mobile", args=[member.pk])
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
