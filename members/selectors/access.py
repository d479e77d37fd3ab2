"""Reads of store binding: which stores a staff account acts for, and what it may see."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import Member, Order, StoreStaff

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
