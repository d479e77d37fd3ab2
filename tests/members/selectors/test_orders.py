""""Has made a first purchase" lives in Python and in SQL: the two must agree."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from members.models import Order
from members.selectors.orders import member_has_purchased, member_has_purchased_sql

POOL = 5
ZERO = Decimal("0.00")


def test_has_purchased_agrees_in_python_and_sql(make_member, store, now):
    """The ladder (upgrades, the set-based jobs, the preview) and a member's progress ask the
    same question: on any mix of sales and returns, Python and SQL pick the same members —
    those with a sale of their own; a return alone (of someone else's sale) does not count."""
    ids = [make_member().pk for _ in range(POOL)]
    other = make_member()
    numbers = iter(range(1_000_000))

    def order(member_id: int, kind: str, original: Order | None = None) -> Order:
        return Order.objects.create(
            store=store, order_no=f"H-{next(numbers)}", kind=kind, member_id=member_id,
            original_order=original, ordered_at=now, gross_amount=ZERO, coupon_discount=ZERO,
            tier_discount=ZERO, other_discount=ZERO, points_cash=ZERO, net_amount=ZERO,
            created_at=now)

    anchor = order(other.pk, Order.Kind.SALE)

    @settings(max_examples=40, deadline=None, database=None)
    @given(st.lists(st.sampled_from(["none", "sale", "sale+return", "return"]),
                    min_size=POOL, max_size=POOL))
    def agree(histories):
        Order.objects.filter(member_id__in=ids, kind=Order.Kind.RETURN).delete()
        Order.objects.filter(member_id__in=ids).delete()
        for pk, history in zip(ids, histories, strict=True):
            sale = order(pk, Order.Kind.SALE) if "sale" in history else None
            if "return" in history:
                order(pk, Order.Kind.RETURN, sale or anchor)
        python = {pk for pk in ids if member_has_purchased(pk)}
        with connection.cursor() as cursor:
            cursor.execute("SELECT m.id FROM members_member m WHERE m.id = ANY(%s) AND "
                           + member_has_purchased_sql("m.id"), [ids])
            sql = {row[0] for row in cursor.fetchall()}
        assert python == sql
        assert python == {pk for pk, history in zip(ids, histories, strict=True)
                          if "sale" in history}

    agree()
