"""Sales and returns (members.services.orders), sent the way every order arrives: through
the intake. Replays and concurrent delivery are in tests/loyalty/test_intake.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from core.errors import LoyaltyError
from loyalty.services.intake import record_return, record_sale
from members.errors import MemberError, OrderError
from members.models import Member, Order, OrderLine
from members.services.members import member_set_status
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput

D = Decimal
AMOUNTS = ("gross_amount", "coupon_discount", "tier_discount", "other_discount",
           "points_cash", "net_amount")

# Awkward on purpose: 3 units for ¥100.00 with four kinds of discount, and 7 units of a line
# that paid ¥54.97 — neither divides into whole cents.
LINE_A = LineInput(line_no=1, sku="SKU-A", category="skincare", quantity=3,
                   gross_amount=D("100.00"), coupon_discount=D("7.00"),
                   tier_discount=D("3.01"), other_discount=D("0.50"), points_cash=D("2.00"))
LINE_B = LineInput(line_no=2, sku="SKU-B", quantity=7, gross_amount=D("59.97"),
                   coupon_discount=D("5.00"))


def make_sale(store, member, now, order_no="S-1", lines=(LINE_A, LINE_B)) -> SaleInput:
    return SaleInput(store_code=store.code, order_no=order_no, member_id=member.pk,
                     ordered_at=now, lines=tuple(lines))


def make_return(store, now, order_no="R-1", sale_order_no="S-1", sale_store_code=None,
                **quantities: int) -> ReturnInput:
    """make_return(store, now, line1=1, line2=3): return 1 unit of line 1 and 3 of line 2."""
    lines = tuple(ReturnLineInput(line_no=int(key.removeprefix("line")), quantity=qty)
                  for key, qty in quantities.items())
    return ReturnInput(store_code=store.code, order_no=order_no, sale_order_no=sale_order_no,
                       ordered_at=now + timedelta(days=1), lines=lines,
                       sale_store_code=sale_store_code)


def snapshot() -> tuple[list[dict], list[dict]]:
    """Every order and order line as stored, to show that a refusal changed nothing."""
    return (list(Order.objects.order_by("pk").values()),
            list(OrderLine.objects.order_by("pk").values()))


def assert_refused(code: str, call, error_class=LoyaltyError) -> LoyaltyError:
    before = snapshot()
    with pytest.raises(error_class) as info:
        call()
    assert info.value.code.value == code
    assert snapshot() == before
    return info.value


@pytest.fixture
def sale(store, member, now) -> Order:
    return record_sale(sale=make_sale(store, member, now), now=now).order


def amounts(line_or_order) -> dict[str, Decimal]:
    return {name: getattr(line_or_order, name) for name in AMOUNTS}


# --- a sale as stored ----------------------------------------------------------------------


def test_sale_stores_lines_and_totals_with_net_as_gross_less_discounts(store, member, now):
    outcome = record_sale(sale=make_sale(store, member, now), now=now)

    order = Order.objects.get(pk=outcome.order.pk)
    assert outcome.created is True
    assert (order.kind, order.store, order.member, order.order_no) == (
        Order.Kind.SALE, store, member, "S-1")
    a, b = order.lines.all()
    assert (a.line_no, a.sku, a.category, a.quantity) == (1, "SKU-A", "skincare", 3)
    assert a.net_amount == D("87.49")
    assert b.net_amount == D("54.97")
    assert amounts(order) == {
        "gross_amount": D("159.97"), "coupon_discount": D("12.00"), "tier_discount": D("3.01"),
        "other_discount": D("0.50"), "points_cash": D("2.00"), "net_amount": D("142.46"),
    }


def test_a_frozen_members_sale_is_recorded(store, member, now):
    member_set_status(member_id=member.pk, status=Member.Status.FROZEN, now=now)

    outcome = record_sale(sale=make_sale(store, member, now), now=now)

    assert outcome.created is True
    assert Order.objects.get().member_id == member.pk


# --- bad sales change nothing --------------------------------------------------------------


@pytest.fixture
def existing_sale(sale):
    """Some stored data, so that "nothing changed" is about more than an empty table."""
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    return sale


def test_a_different_order_under_a_used_number_is_refused(existing_sale, store, member, now):
    other_contents = make_sale(store, member, now, lines=(replace(LINE_A, quantity=2),))

    assert_refused("order_number_conflict", lambda: record_sale(sale=other_contents), OrderError)


def test_an_order_number_used_by_a_return_is_not_available_to_a_sale(existing_sale, store,
                                                                    member, now):
    record_return(ret=make_return(store, now, order_no="R-1", line1=1))

    assert_refused("order_number_conflict",
                   lambda: record_sale(sale=make_sale(store, member, now, order_no="R-1")))


def test_a_sale_at_an_unknown_store_is_refused(existing_sale, member, now, store):
    bad = replace(make_sale(store, member, now, order_no="S-2"), store_code="NOPE")

    assert_refused("store_not_found", lambda: record_sale(sale=bad), MemberError)


def test_a_sale_for_an_unknown_member_is_refused(existing_sale, store, member, now):
    bad = replace(make_sale(store, member, now, order_no="S-2"), member_id=member.pk + 10_000)

    assert_refused("member_not_found", lambda: record_sale(sale=bad), MemberError)


def test_a_closed_members_sale_is_refused(existing_sale, store, make_member, now):
    closed = make_member()
    member_set_status(member_id=closed.pk, status=Member.Status.CLOSED, now=now)

    assert_refused("member_closed",
                   lambda: record_sale(sale=make_sale(store, closed, now, order_no="S-2")),
                   MemberError)


@pytest.mark.parametrize("field", ["gross_amount", "coupon_discount", "tier_discount",
                                   "other_discount", "points_cash", "net_amount"])
def test_negative_amounts_are_refused(existing_sale, store, member, now, field):
    line = replace(LINE_A, **{field: D("-0.01")})

    error = assert_refused(
        "negative_amount",
        lambda: record_sale(sale=make_sale(store, member, now, order_no="S-2", lines=(line,))),
        OrderError)
    assert error.params["field"] == field


@pytest.mark.parametrize("line", [
    pytest.param(replace(LINE_A, net_amount=D("87.50")), id="net-one-cent-off"),
    pytest.param(replace(LINE_A, gross_amount=D("10.00")), id="discounts-exceed-gross"),
])
def test_net_that_does_not_add_up_is_refused(existing_sale, store, member, now, line):
    assert_refused(
        "amounts_do_not_add_up",
        lambda: record_sale(sale=make_sale(store, member, now, order_no="S-2",
                                           lines=(LINE_B, line))),
        OrderError)


def test_a_net_that_adds_up_is_accepted(store, member, now):
    line = replace(LINE_A, net_amount=D("87.49"))

    assert record_sale(sale=make_sale(store, member, now, lines=(line,))).created is True


@pytest.mark.parametrize("lines", [
    pytest.param((), id="no-lines"),
    pytest.param((LINE_A, replace(LINE_B, line_no=1)), id="duplicate-line-numbers"),
    pytest.param((replace(LINE_A, quantity=0),), id="zero-quantity"),
    pytest.param((replace(LINE_A, sku="  "),), id="blank-sku"),
])
def test_malformed_sales_are_refused(existing_sale, store, member, now, lines):
    assert_refused(
        "invalid_order",
        lambda: record_sale(sale=make_sale(store, member, now, order_no="S-2", lines=lines)),
        OrderError)


def test_a_sale_whose_total_does_not_fit_is_refused(existing_sale, store, member, now):
    """Each line may be up to ¥9,999,999,999.99; the order's total must fit the same column."""
    big = LineInput(line_no=1, sku="GOLD", quantity=1, gross_amount=D("9999999999.99"))
    lines = (big, replace(big, line_no=2))

    assert_refused(
        "invalid_order",
        lambda: record_sale(sale=make_sale(store, member, now, order_no="S-2", lines=lines)),
        OrderError)


def test_a_sale_with_a_naive_datetime_is_refused(existing_sale, store, member, now):
    bad = replace(make_sale(store, member, now, order_no="S-2"),
                  ordered_at=now.replace(tzinfo=None))

    assert_refused("invalid_order", lambda: record_sale(sale=bad), OrderError)


# --- bad returns change nothing ------------------------------------------------------------


def test_returning_more_units_than_were_sold_is_refused(sale, store, now):
    error = assert_refused("return_exceeds_sale",
                           lambda: record_return(ret=make_return(store, now, line1=4)),
                           OrderError)
    assert error.params["quantity_left"] == 3


def test_returning_more_than_is_left_after_a_partial_return_is_refused(sale, store, now):
    record_return(ret=make_return(store, now, order_no="R-1", line1=2))

    error = assert_refused(
        "return_exceeds_sale",
        lambda: record_return(ret=make_return(store, now, order_no="R-2", line1=2)))
    assert error.params["quantity_left"] == 1
    assert error.params["amount_left"] == D("87.49") - D("58.33")


def test_a_return_with_one_good_and_one_excessive_line_stores_neither(sale, store, now):
    assert_refused("return_exceeds_sale",
                   lambda: record_return(ret=make_return(store, now, line1=1, line2=8)))


def test_a_return_of_an_unknown_sale_is_refused(sale, store, now):
    assert_refused(
        "sale_not_found",
        lambda: record_return(ret=make_return(store, now, sale_order_no="S-404", line1=1)),
        OrderError)


def test_a_return_at_another_store_must_say_where_the_sale_was_made(sale, other_store, now):
    assert_refused("sale_not_found",
                   lambda: record_return(ret=make_return(other_store, now, line1=1)))


def test_a_return_of_a_return_is_refused(sale, store, now):
    record_return(ret=make_return(store, now, order_no="R-1", line1=1))

    assert_refused(
        "sale_not_found",
        lambda: record_return(ret=make_return(store, now, order_no="R-2", sale_order_no="R-1",
                                              line1=1)))


def test_a_return_of_an_unknown_sale_line_is_refused(sale, store, now):
    assert_refused("line_not_found",
                   lambda: record_return(ret=make_return(store, now, line1=1, line9=1)),
                   OrderError)


@pytest.mark.parametrize("store_field", ["store_code", "sale_store_code"])
def test_a_return_naming_an_unknown_store_is_refused(sale, store, now, store_field):
    bad = replace(make_return(store, now, line1=1), **{store_field: "NOPE"})

    assert_refused("store_not_found", lambda: record_return(ret=bad), MemberError)


def test_a_return_under_the_sales_own_number_is_refused(sale, store, now):
    assert_refused(
        "order_number_conflict",
        lambda: record_return(ret=make_return(store, now, order_no="S-1", line1=1)))


@pytest.mark.parametrize("lines", [
    pytest.param((), id="no-lines"),
    pytest.param((ReturnLineInput(1, 1), ReturnLineInput(1, 1)), id="duplicate-line-numbers"),
    pytest.param((ReturnLineInput(1, 0),), id="zero-quantity"),
    pytest.param((ReturnLineInput(1, -1),), id="negative-quantity"),
])
def test_malformed_returns_are_refused(sale, store, now, lines):
    bad = replace(make_return(store, now), lines=lines)

    assert_refused("invalid_order", lambda: record_return(ret=bad), OrderError)


def test_a_return_with_a_naive_datetime_is_refused(sale, store, now):
    bad = replace(make_return(store, now, line1=1), ordered_at=now.replace(tzinfo=None))

    assert_refused("invalid_order", lambda: record_return(ret=bad), OrderError)


# --- return amounts ------------------------------------------------------------------------


def test_a_partial_return_refunds_the_proportional_share(sale, store, now):
    outcome = record_return(ret=make_return(store, now, line1=1, line2=3))

    ret = Order.objects.get(pk=outcome.order.pk)
    assert (ret.kind, ret.original_order_id, ret.member_id) == (
        Order.Kind.RETURN, sale.pk, sale.member_id)
    one_of_a, three_of_b = ret.lines.all()
    # 1/3 of each amount of line 1, to the cent; gross is net plus the discounts.
    assert amounts(one_of_a) == {
        "gross_amount": D("33.33"), "coupon_discount": D("2.33"), "tier_discount": D("1.00"),
        "other_discount": D("0.17"), "points_cash": D("0.67"), "net_amount": D("29.16"),
    }
    # 3/7 of ¥54.97 = 23.558… → 23.56; 3/7 of the ¥5.00 coupon = 2.142… → 2.14.
    assert amounts(three_of_b) == {
        "gross_amount": D("25.70"), "coupon_discount": D("2.14"), "tier_discount": D("0.00"),
        "other_discount": D("0.00"), "points_cash": D("0.00"), "net_amount": D("23.56"),
    }
    assert (one_of_a.quantity, one_of_a.sku, one_of_a.original_line.line_no) == (1, "SKU-A", 1)
    assert (three_of_b.quantity, three_of_b.original_line.line_no) == (3, 2)
    assert ret.net_amount == D("29.16") + D("23.56")
    assert ret.gross_amount == D("33.33") + D("25.70")


def test_returning_everything_in_steps_adds_up_exactly_to_the_sale(sale, store, now):
    steps = [{"line1": 1, "line2": 3}, {"line1": 1, "line2": 2}, {"line2": 1},
             {"line1": 1, "line2": 1}]
    for n, quantities in enumerate(steps, start=1):
        record_return(ret=make_return(store, now, order_no=f"R-{n}", **quantities))

    returns = Order.objects.filter(original_order=sale)
    assert returns.count() == len(steps)
    for sold in sale.lines.all():
        returned = OrderLine.objects.filter(original_line=sold)
        assert sum(r.quantity for r in returned) == sold.quantity
        for name in AMOUNTS:
            assert sum(getattr(r, name) for r in returned) == getattr(sold, name), name
    for name in AMOUNTS:
        assert sum(getattr(r, name) for r in returns) == getattr(sale, name), name

    assert_refused("return_exceeds_sale",
                   lambda: record_return(ret=make_return(store, now, order_no="R-9", line2=1)))


def test_a_return_at_another_store_than_the_sale(sale, store, other_store, now):
    outcome = record_return(ret=make_return(other_store, now, sale_store_code=store.code,
                                            line1=3))

    ret = Order.objects.get(pk=outcome.order.pk)
    assert outcome.created is True
    assert (ret.store, ret.original_order, ret.member_id) == (other_store, sale, sale.member_id)
    assert amounts(ret.lines.get()) == amounts(sale.lines.get(line_no=1))
