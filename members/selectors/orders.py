"""Reads of orders."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from ..models import Order, OrderLine
from .members import member_ids_matching


def member_has_purchased(member_id: int) -> bool:
    """"Has made a first purchase": a sale of theirs is booked (a later return does not undo
    it). Tier entries that require a first purchase ask this, or the SQL beside it."""
    return Order.objects.filter(member_id=member_id, kind=Order.Kind.SALE).exists()


def member_has_purchased_sql(member_id: str) -> str:
    """`member_has_purchased` as an SQL condition on the member id expression `member_id`
    (for the set-based ladder jobs and the ladder preview)."""
    return (f"EXISTS (SELECT 1 FROM members_order po WHERE po.member_id = {member_id} "
            "AND po.kind = 'sale')")


def order_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """An order number, or a member's number or mobile: each an indexed lookup."""
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(Q(order_no=term) | Q(member_id__in=member_ids_matching(term)))


def member_recent_orders(member_id: int, limit: int = 20,
                         store_ids: list[int] | None = None) -> list[Order]:
    orders = Order.objects.filter(member_id=member_id)
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    return list(orders.select_related("store").order_by("-ordered_at")[:limit])


def sale_fully_returned(sale_id: int) -> bool:
    """Every unit of every line of the sale has come back (by one return or several)."""
    return not (OrderLine.objects.filter(order_id=sale_id)
                .annotate(back=Coalesce(Sum("returned_by__quantity"), 0))
                .filter(back__lt=F("quantity")).exists())
