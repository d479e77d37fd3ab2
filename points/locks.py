"""Row locks for the points ledger: one helper, always in member-id order, inside atomic().

Every write to a member's balances, lots or entries holds the lock on their
`PointsAccount` row, so two writers for one member queue instead of racing; writers for
several members take the locks in ascending id order, so they never deadlock. The other
rows a purchase touches are locked after the account, never before it: a hold, a points
payment, the coupon redeemed, a reward's stock, a rule's budget shards — so a checkout
commit, which takes several of them, queues behind one member's other writes instead of
deadlocking with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from .models import PointsAccount, StoredValueAccount


def lock_accounts(member_ids: Iterable[int], *, now: datetime) -> dict[int, PointsAccount]:
    ids = sorted(set(member_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO points_pointsaccount (member_id, available, pending, held, debt, updated_at)
            SELECT id, 0, 0, 0, 0, %s FROM unnest(%s::bigint[]) AS t(id)
            ON CONFLICT (member_id) DO NOTHING
            """,
            [now, ids],
        )
    accounts = PointsAccount.objects.select_for_update().filter(member_id__in=ids).order_by("member_id")
    return {a.member_id: a for a in accounts}


def lock_stored_value(member_ids: Iterable[int], *, now: datetime) -> dict[int, StoredValueAccount]:
    """The members' stored-value accounts, created empty on first use, locked in member-id
    order. A purchase paying with points and stored value locks the points account first."""
    ids = sorted(set(member_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO points_storedvalueaccount (member_id, principal, bonus, updated_at)
            SELECT id, 0, 0, %s FROM unnest(%s::bigint[]) AS t(id)
            ON CONFLICT (member_id) DO NOTHING
            """,
            [now, ids],
        )
    accounts = (StoredValueAccount.objects.select_for_update().filter(member_id__in=ids)
                .order_by("member_id"))
    return {a.member_id: a for a in accounts}
