"""The counter page through Django's test client, against PostgreSQL: who may use it, the
store scope of lookups and orders, and each flow's writes (attributed to the clerk and the
store, recorded once)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from members.models import Member, Order
from points.models import PointsEntry
from points.selectors.ledger import account_for

from .world import build_counter_world, clerk

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_counter_world()


def signed_in(client, user):
    client.force_login(user)
    return client


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


def test_the_counter_asks_anonymous_visitors_to_sign_in(client, world):
    answer = client.get("/counter/")
    assert answer.status_code == 302 and answer["Location"].startswith("/counter/login/")
    assert client.get("/counter/login/").status_code == 200


def test_only_bound_counter_roles_get_in(client, world, store):
    finance = clerk("fin", world.store_a, group="finance")
    unbound = clerk("unbound")
    assert signed_in(client, finance).get("/counter/").status_code == 403
    assert signed_in(client, unbound).get("/counter/").status_code == 403
    operator = clerk("op", world.store_a, world.store_b, group="operators")
    answer = signed_in(client, operator).get("/counter/")
    assert answer.status_code == 302 and answer["Location"].startswith("/counter/store/")
    client.post("/counter/store/", {"store": world.store_b.pk})
    page = client.get("/counter/")
    assert page.status_code == 200 and "北京店" in page.content.decode()
    home = signed_in(client, world.clerk_a).get("/counter/")
    assert home.status_code == 200 and "上海店" in home.content.decode()


def test_last_four_finds_only_members_of_the_clerks_stores(client, world):
    page = signed_in(client, world.clerk_a).get("/counter/find/", {"q": "4321"}).content.decode()
    assert "王小明" in page and "李四" not in page
    assert "139****4321" in page and "13900004321" not in page  # masked in the pick list


def test_an_exact_mobile_finds_a_member_of_another_store(client, world):
    signed_in(client, world.clerk_a)
    assert client.get(f"/counter/m/{world.member_b.pk}/").status_code == 404
    answer = client.get("/counter/find/", {"q": "13700004321"})
    assert answer["Location"] == f"/counter/m/{world.member_b.pk}/"
    assert client.get(f"/counter/m/{world.member_b.pk}/").status_code == 200


def test_the_member_view_shows_balances_masked(client, world):
    page = signed_in(client, world.clerk_a).get(f"/counter/m/{world.member_a.pk}/")
    html = page.content.decode()
    assert "王小明" in html and "139****4321" in html and "13900004321" not in html
    assert 'data-testid="available">5000<' in html.replace(",", "")


def test_a_purchase_with_points_as_cash_is_recorded_once(client, world):
    signed_in(client, world.clerk_a)
    form = client.get(f"/counter/m/{world.member_a.pk}/purchase/").content.decode()
    data = {"key": hidden(form, "key"), "opened": hidden(form, "opened"),
            "sku-0": "TEA-1", "category-0": "tea", "quantity-0": "1", "amount-0": "100.00",
            "points": "1000", "coupon": ""}
    preview = client.post(f"/counter/m/{world.member_a.pk}/purchase/preview/", data)
    assert 'data-testid="usable">' in preview.content.decode()
    first = client.post(f"/counter/m/{world.member_a.pk}/purchase/", data)
    again = client.post(f"/counter/m/{world.member_a.pk}/purchase/", data)  # a double tap
    assert first.status_code == again.status_code == 302
    orders = Order.objects.filter(member=world.member_a, kind=Order.Kind.SALE)
    assert orders.count() == 1
    order = orders.get()
    assert order.store_id == world.store_a.pk and order.actor_user_id == world.clerk_a.pk
    assert order.points_cash > 0
    spent = PointsEntry.objects.filter(member=world.member_a, kind="spend")
    assert [e.available_delta for e in spent] == [-1000]
    assert spent.get().actor_user_id == world.clerk_a.pk
    assert account_for(world.member_a.pk).available == 4000


def test_a_refusal_is_shown_in_the_page(client, world):
    signed_in(client, world.clerk_a)
    form = client.get(f"/counter/m/{world.member_a.pk}/purchase/").content.decode()
    answer = client.post(f"/counter/m/{world.member_a.pk}/purchase/", {
        "key": hidden(form, "key"), "opened": hidden(form, "opened"),
        "amount-0": "10.00", "category-0": "tea", "points": "999999"})
    assert answer.status_code == 200 and 'role="alert"' in answer.content.decode()
    bad = client.post(f"/counter/m/{world.member_a.pk}/purchase/", {
        "key": hidden(form, "key"), "opened": hidden(form, "opened"), "amount-0": "abc"})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    assert not Order.objects.filter(member=world.member_a).exists()


def test_a_clerk_registers_a_member_at_their_store(client, world):
    signed_in(client, world.clerk_a)
    answer = client.post("/counter/register/", {"mobile": "13600001234", "name": "赵六",
                                                "gender": "female", "birthday": "1990-05-01"})
    assert answer.status_code == 302
    member = Member.objects.get(mobile="+8613600001234")
    assert member.home_store_id == world.store_a.pk
    assert member.enrolled_by_id == world.clerk_a.pk and member.source_channel == "store"
    dup = client.post("/counter/register/", {"mobile": "13600001234", "name": "x",
                                             "gender": "unknown"})
    assert dup.status_code == 200 and 'role="alert"' in dup.content.decode()


def _sale(client, world, user, member, amount="80.00"):
    signed_in(client, user)
    client.get("/counter/find/", {"q": member.mobile})
    form = client.get(f"/counter/m/{member.pk}/purchase/").content.decode()
    client.post(f"/counter/m/{member.pk}/purchase/", {
        "key": hidden(form, "key"), "opened": hidden(form, "opened"), "category-0": "tea",
        "amount-0": amount})
    return Order.objects.filter(member=member, kind=Order.Kind.SALE).latest("id")


def _return_form(client, order_no):
    page = client.get("/counter/return/", {"order_no": order_no}).content.decode()
    return {"order_no": order_no, "key": hidden(page, "key"), "opened": hidden(page, "opened")}


def test_returns_only_of_the_clerks_stores(client, world):
    sale_b = _sale(client, world, world.clerk_b, world.member_b)
    sale_a = _sale(client, world, world.clerk_a, world.member_a)
    signed_in(client, world.clerk_a)
    page = client.get("/counter/return/", {"order_no": sale_b.order_no}).content.decode()
    assert 'role="alert"' in page and "Confirm" not in page and "确认退货" not in page
    refused = client.post("/counter/return/", {**_return_form(client, sale_a.order_no),
                                               "order_no": sale_b.order_no, "qty-1": "1"})
    assert refused.status_code == 200
    assert not Order.objects.filter(kind=Order.Kind.RETURN).exists()
    done = client.post("/counter/return/", {**_return_form(client, sale_a.order_no),
                                            "qty-1": "1", "step": "confirm"})
    assert done.status_code == 302
    ret = Order.objects.get(kind=Order.Kind.RETURN)
    assert ret.original_order_id == sale_a.pk and ret.actor_user_id == world.clerk_a.pk


def _points_sale(client, world):
    signed_in(client, world.clerk_a)
    form = client.get(f"/counter/m/{world.member_a.pk}/purchase/").content.decode()
    client.post(f"/counter/m/{world.member_a.pk}/purchase/", {
        "key": hidden(form, "key"), "opened": hidden(form, "opened"), "category-0": "tea",
        "sku-0": "TEA-1", "quantity-0": "2", "amount-0": "200.00", "points": "1000"})
    return Order.objects.get(member=world.member_a, kind=Order.Kind.SALE)


def test_the_return_preview_shows_the_points_and_writes_nothing(client, world):
    sale = _points_sale(client, world)
    before = (PointsEntry.objects.count(), Order.objects.count(),
              account_for(world.member_a.pk).available)
    form = {**_return_form(client, sale.order_no), "qty-1": "1"}
    page = client.post("/counter/return/", {**form, "step": "preview"})
    preview = page.context["preview"]
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="return-preview"' in html
    assert preview.points_given_back == 500 and preview.refund == sale.net_amount / 2
    assert f'data-testid="points-given-back">{preview.points_given_back}<' in html
    assert 'name="qty-1" value="1"' in html  # the picked quantity is kept for the confirm
    assert (PointsEntry.objects.count(), Order.objects.count(),
            account_for(world.member_a.pk).available) == before
    done = client.post("/counter/return/", {**form, "step": "confirm"})
    assert done.status_code == 302
    ret = Order.objects.get(kind=Order.Kind.RETURN)
    refund = PointsEntry.objects.get(order=ret, kind="refund")
    assert refund.available_delta == preview.points_given_back
    reversal = PointsEntry.objects.filter(order=ret, kind="reverse").first()
    assert (-(reversal.available_delta + reversal.pending_delta) + reversal.debt_delta
            if reversal else 0) == preview.points_reversed
    assert abs(ret.net_amount) == preview.refund


def test_a_resubmitted_return_replays(client, world):
    sale = _points_sale(client, world)
    form = {**_return_form(client, sale.order_no), "qty-1": "1", "step": "confirm"}
    first = client.post("/counter/return/", form)
    balance = account_for(world.member_a.pk).available
    again = client.post("/counter/return/", form)  # a double tap or a retry
    assert first.status_code == again.status_code == 302
    assert Order.objects.filter(kind=Order.Kind.RETURN).count() == 1
    assert PointsEntry.objects.filter(kind="refund").count() == 1
    assert account_for(world.member_a.pk).available == balance
    stale = client.post("/counter/return/", {**form, "opened": "tampered"})
    assert stale.status_code == 200 and 'role="alert"' in stale.content.decode()
    assert Order.objects.filter(kind=Order.Kind.RETURN).count() == 1


def test_end_of_day_counts_per_clerk(client, world):
    _sale(client, world, world.clerk_a, world.member_a)
    other = clerk("clerk-a2", world.store_a)
    _sale(client, world, other, world.member_a, amount="20.00")
    _sale(client, world, world.clerk_b, world.member_b)
    signed_in(client, world.clerk_a)
    client.post("/counter/register/", {"mobile": "13600005555", "name": "新", "gender": "unknown"})
    rows = {r.username: r for r in client.get("/counter/day/").context["rows"]}
    # the world's member joined store A today outside the counter: a row of no clerk
    assert set(rows) == {"clerk-a", "clerk-a2", ""}
    assert (rows[""].registrations, rows[""].sales) == (1, 0)
    assert (rows["clerk-a"].sales, rows["clerk-a"].registrations) == (1, 1)
    assert (rows["clerk-a2"].sales, str(rows["clerk-a2"].sales_amount)) == (1, "20.00")


def test_switching_clerk_keeps_the_open_member(client, world):
    second = clerk("clerk-a3", world.store_a)
    signed_in(client, world.clerk_a).get(f"/counter/m/{world.member_a.pk}/")
    answer = client.post("/counter/switch/")
    assert answer["Location"] == "/counter/login/"
    assert client.get("/counter/").status_code == 302  # signed out
    client.post("/counter/login/", {"username": second.username, "password": "counter-pass-1"})
    assert client.get("/counter/")["Location"] == f"/counter/m/{world.member_a.pk}/"
    assert get_user_model().objects.get(pk=second.pk).last_login is not None


def test_the_tender_picker_pays_with_stored_value_and_a_gift_card_cash_the_rest(client, world):
    from decimal import Decimal

    from points.models import GiftCard, OrderTender
    from points.services.gift_cards import gift_card_activate, gift_card_batch_issue
    from points.services.stored_value import stored_value_top_up

    stored_value_top_up(member_id=world.member_a.pk, amount="50", key="top")
    card = gift_card_batch_issue(name="b", face_value="30", quantity=1).cards[0]
    gift_card_activate(code=card.code, key="act")
    signed_in(client, world.clerk_a)
    form = client.get(f"/counter/m/{world.member_a.pk}/purchase/").content.decode()
    assert 'name="stored_value"' in form and "50.00" in form
    data = {"key": hidden(form, "key"), "opened": hidden(form, "opened"),
            "sku-0": "TEA-1", "category-0": "tea", "quantity-0": "1", "amount-0": "100.00",
            "stored_value": "40.00", "gift_card_code": card.code, "gift_card_pin": card.pin,
            "gift_card_amount": "30.00"}
    wrong = client.post(f"/counter/m/{world.member_a.pk}/purchase/",
                        {**data, "gift_card_pin": "x"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.content.decode()
    assert card.pin not in wrong.content.decode()  # the PIN is never written back
    done = client.post(f"/counter/m/{world.member_a.pk}/purchase/", data)
    assert done.status_code == 302
    order = Order.objects.get(member=world.member_a, kind=Order.Kind.SALE)
    tenders = {t.kind: t.amount for t in OrderTender.objects.filter(order=order)}
    assert tenders == {"stored_value": Decimal("40.00"), "gift_card": Decimal("30.00"),
                       "cash": order.net_amount - Decimal("70.00")}
    assert GiftCard.objects.get(code=card.code).balance == 0
