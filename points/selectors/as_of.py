"""A member's points as they stood at the end of a day (the Beijing calendar), from the
ledger alone — for disputes: "what did I have on 1 March?".

Balances are the sums of the entries written before the day ended: always exact. Lots are
exact from the day the per-lot movement table began (its carry-over rows, written when it
was created, say what each lot held then; every entry since records what it moved, lot by
lot): a lot then held the sum of its movements before the day ended. For a day before that,
the lots are replayed from the entries in id order — an entry naming its lot (an earning,
an unlock, an expiry, a reversal) moves that lot, any other takes from the available lots
in the spending order (points.services.posting.spending_parts: soonest expiry first) and
gives back to the lots it took from last — and the answer says `reconstructed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection

from core.clock import programme_tz

from ..models import PointsEntry


@dataclass(frozen=True)
class LotAsOf:
    lot_id: int
    state: str  # "pending" | "available"
    original: int
    remaining: int
    earned_at: datetime
    unlocks_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class PointsAsOf:
    member_id: int
    day: date
    cutoff: datetime  # the first instant after the day, UTC
    available: int
    pending: int
    held: int
    debt: int
    lots: tuple[LotAsOf, ...] = field(default=())
    reconstructed: bool = False  # lots replayed by the spending order, not read


def day_end(day: date) -> datetime:
    """The first instant after `day` on the Beijing calendar."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=programme_tz())


def movements_began() -> datetime | None:
    """When the per-lot movement table began to be kept: the time of its carry-over rows
    (None when the ledger had no lot then: every movement is recorded)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(created_at) FROM points_pointslotmovement "
                       "WHERE entry_id IS NULL")
        return cursor.fetchone()[0]


_BALANCES_SQL = """
SELECT COALESCE(sum(available_delta), 0), COALESCE(sum(pending_delta), 0),
       COALESCE(sum(held_delta), 0), COALESCE(sum(debt_delta), 0)
FROM points_pointsentry WHERE member_id = %(member)s AND created_at < %(cutoff)s
"""

# Each lot the member had before the cutoff, with what its movements before it add up to
# and whether it had been unlocked by then.
_LOTS_SQL = """
SELECT l.id, l.original, l.created_at, l.unlocks_at, l.expires_at,
       COALESCE(m.points, 0),
       l.unlocks_at IS NULL OR u.created_at < %(cutoff)s
FROM points_pointslot l
LEFT JOIN (SELECT lot_id, sum(points) AS points FROM points_pointslotmovement
           WHERE member_id = %(member)s AND created_at < %(cutoff)s GROUP BY lot_id) m
  ON m.lot_id = l.id
LEFT JOIN points_pointsentry u ON u.source_key = 'unlock:lot:' || l.id
WHERE l.member_id = %(member)s AND l.created_at < %(cutoff)s
ORDER BY l.expires_at NULLS LAST, l.id
"""


def points_as_of(*, member_id: int, day: date) -> PointsAsOf:
    cutoff = day_end(day)
    params = {"member": member_id, "cutoff": cutoff}
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES_SQL, params)
        available, pending, held, debt = cursor.fetchone()
        cursor.execute(_LOTS_SQL, params)
        rows = cursor.fetchall()
    began = movements_began()
    reconstructed = began is not None and cutoff <= began
    if reconstructed:
        remaining = _replayed(member_id, cutoff, {row[0]: row for row in rows})
    else:
        remaining = {row[0]: row[5] for row in rows}
    lots = tuple(
        LotAsOf(lot_id=lot_id, state="available" if unlocked else "pending",
                original=original, remaining=remaining.get(lot_id, 0), earned_at=earned_at,
                unlocks_at=unlocks_at, expires_at=expires_at)
        for lot_id, original, earned_at, unlocks_at, expires_at, _moved, unlocked in rows
        if remaining.get(lot_id, 0) > 0)
    return PointsAsOf(member_id=member_id, day=day, cutoff=cutoff, available=available,
                      pending=pending, held=held, debt=debt, lots=lots,
                      reconstructed=reconstructed)


def _replayed(member_id: int, cutoff: datetime, lots: dict[int, tuple]) -> dict[int, int]:
    """Each lot's remaining at the cutoff, replaying the member's entries before it."""
    remaining: dict[int, int] = {}
    unlocked: set[int] = {lot_id for lot_id, row in lots.items() if row[3] is None}
    taken: list[tuple[int, int]] = []  # (lot, points) in the order points left lots

    def spending_order() -> list[int]:
        return sorted((lot_id for lot_id in remaining
                       if lot_id in unlocked and remaining[lot_id] > 0),
                      key=lambda lot_id: (lots[lot_id][4] is None, lots[lot_id][4] or cutoff,
                                          lot_id))

    entries = (PointsEntry.objects.filter(member_id=member_id, created_at__lt=cutoff)
               .order_by("id").values_list("kind", "lot_id", "available_delta",
                                           "pending_delta", "source_key"))
    for kind, lot_id, available_delta, pending_delta, _key in entries.iterator(chunk_size=500):
        points = available_delta + pending_delta
        if lot_id is not None and lot_id in lots:
            if kind == "unlock":
                unlocked.add(lot_id)
                continue
            remaining[lot_id] = max(remaining.get(lot_id, 0) + points, 0)
            continue
        if available_delta < 0:  # a spend, a hold, a negative adjustment
            need = -available_delta
            for lot in spending_order():
                part = min(need, remaining[lot])
                remaining[lot] -= part
                taken.append((lot, part))
                need -= part
                if not need:
                    break
        elif available_delta > 0:  # points given back (a refund, a release)
            give = available_delta
            while give and taken:
                lot, part = taken.pop()
                back = min(give, part)
                remaining[lot] += back
                if back < part:
                    taken.append((lot, part - back))
                give -= back
    return remaining


