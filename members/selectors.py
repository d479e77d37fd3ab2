"""Reads of the base layer."""

from __future__ import annotations

import re

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.phones import normalise_mobile

from .models import Member, Order, OrderLine

_DIGITS = re.compile(r"^\+?[\d\s-]+$")


def member_search_q(term: str) -> Q:
    """What a clerk or operator types into one search box, resolved to indexed lookups only.

    "5678" → the last four digits of the mobile; "13812345678" or "+86 138 1234 5678" → the
    exact mobile (or a member number of the same digits); other digits → the member number
    or storefront id; anything else → a name prefix ("王") or a storefront id.
    """
    term = term.strip()
    if not term:
        return Q()
    if _DIGITS.match(term):
        digits = re.sub(r"[\s-]", "", term)
        if len(digits) == 4 and digits.isdigit():
            return Q(mobile_last4=digits)
        query = Q(member_no=digits.lstrip("+")) | Q(external_id=term)
        try:
            query |= Q(mobile=normalise_mobile(digits))
        except ValueError:
            pass
        return query
    return Q(name__startswith=term) | Q(external_id=term)


def member_search(queryset: QuerySet[Member], term: str) -> QuerySet[Member]:
    return queryset.filter(member_search_q(term))


def order_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """An order number, or a member's number or mobile: each an indexed lookup."""
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(Q(order_no=term) | Q(member_id__in=member_ids_matching(term)))


def member_ids_matching(term: str, limit: int = 100) -> list[int]:
    """Ids of the members a search term finds, fetched first: an OR of an indexed column
    with a subquery makes PostgreSQL scan the whole table, with a literal list it does not."""
    return list(Member.objects.filter(member_search_q(term)).values_list("pk", flat=True)[:limit])


def member_recent_orders(member_id: int, limit: int = 20) -> list[Order]:
    return list(Order.objects.filter(member_id=member_id).select_related("store")
                .order_by("-ordered_at")[:limit])


def sale_fully_returned(sale_id: int) -> bool:
    """Every unit of every line of the sale has come back (by one return or several)."""
    return not (OrderLine.objects.filter(order_id=sale_id)
                .annotate(back=Coalesce(Sum("returned_by__quantity"), 0))
                .filter(back__lt=F("quantity")).exists())
