"""Reads of the base layer."""

from __future__ import annotations

import re

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.phones import normalise_mobile

from .models import Member, Order, OrderLine, RfmSegment, StoreStaff

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


def member_recent_orders(member_id: int, limit: int = 20,
                         store_ids: list[int] | None = None) -> list[Order]:
    orders = Order.objects.filter(member_id=member_id)
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    return list(orders.select_related("store").order_by("-ordered_at")[:limit])


# --- staff and their stores -----------------------------------------------------------------

ALL_STORES = "members.act_for_all_stores"


def staff_store_ids(user) -> list[int] | None:
    """The stores a staff account acts for, or None when it acts for every store (it has the
    permission to, as operators, finance and auditors do). A clerk bound to no store acts
    for none. Cached on the user object for the request."""
    if user.has_perm(ALL_STORES):
        return None
    cached = getattr(user, "_loyalty_store_ids", None)
    if cached is None:
        cached = list(StoreStaff.objects.filter(user_id=user.pk).order_by("store_id")
                      .values_list("store_id", flat=True))
        user._loyalty_store_ids = cached
    return cached


def members_for_stores(queryset: QuerySet[Member], store_ids: list[int]) -> QuerySet[Member]:
    """Members whose home store is one of these, or who have an order at one of them. The
    order side is a correlated EXISTS on (member, ordered_at)'s index, so a page of the
    newest members reads a page, not every order of the stores."""
    has_order = Order.objects.filter(member_id=OuterRef("pk"), store_id__in=store_ids)
    return queryset.filter(Q(home_store_id__in=store_ids) | Exists(has_order))


def member_in_stores(member_id: int, store_ids: list[int]) -> bool:
    return members_for_stores(Member.objects.filter(pk=member_id), store_ids).exists()


def is_exact_identifier(term: str) -> bool:
    """A full mobile number or a member number: what a clerk may look up beyond their
    stores (a walk-in from elsewhere), as opposed to a last-four or a name prefix."""
    term = term.strip()
    if not _DIGITS.match(term):
        return False
    digits = re.sub(r"[\s-]", "", term).lstrip("+")
    if len(digits) == 4:
        return False
    try:
        normalise_mobile(digits)
        return True
    except ValueError:
        return Member.objects.filter(member_no=digits).exists()


def rfm_segment_name(code: str) -> str:
    """The name an operator reads for the RFM segment a member's statistics hold by code."""
    if not code:
        return "-"
    segment = RfmSegment.objects.filter(code=code).first()
    return segment.display_name if segment else code


def sale_fully_returned(sale_id: int) -> bool:
    """Every unit of every line of the sale has come back (by one return or several)."""
    return not (OrderLine.objects.filter(order_id=sale_id)
                .annotate(back=Coalesce(Sum("returned_by__quantity"), 0))
                .filter(back__lt=F("quantity")).exists())
