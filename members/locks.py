"""Row locks for the base layer, always taken in primary-key order inside atomic()."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Member, Order


def lock_members(member_ids: Iterable[int]) -> dict[int, Member]:
    ids = sorted(set(member_ids))
    return {m.pk: m for m in Member.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_order(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)
