"""The one path that posts to the points ledger.

`post` writes an entry, the lots it moved (one `PointsLotMovement` per lot), the lots'
new remaining and the member's balances, in the caller's transaction and under the
member's account lock (points.locks). Services decide *which* lots an entry moves —
`spending_parts` answers the spending order — and `post` applies exactly that, so each
lot always equals the sum of its movements. Set-based jobs (expiry, hold expiry) write
their movements in the same SQL statement as their entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F

from core.actor import actor_columns, actor_store_id
from members.errors import MemberError, MemberErrorCode
from members.models import Member

from ..chain import ENTRY_CHAIN, ENTRY_COLUMNS
from ..errors import PointsError, PointsErrorCode
from ..models import PointsAccount, PointsEntry, PointsLot, PointsLotMovement

MAX_POINTS = 100_000_000  # one operation; guards against typos and overflow


@dataclass(frozen=True)
class Movement:
    """The entry an operation wrote, or the one it wrote the first time (a replay)."""

    entry: PointsEntry
    created: bool


def check_amount(points: int) -> None:
    """Every posting moves a whole, positive number of points, at most MAX_POINTS."""
    if not isinstance(points, int) or isinstance(points, bool):
        raise PointsError(PointsErrorCode.NON_POSITIVE_AMOUNT)
    if points <= 0:
        raise PointsError(PointsErrorCode.NON_POSITIVE_AMOUNT)
    if points > MAX_POINTS:
        raise PointsError(PointsErrorCode.AMOUNT_TOO_LARGE, limit=MAX_POINTS)


def posting_member(member_id: int) -> Member:
    """The member a posting is for (pk and status only), or MEMBER_NOT_FOUND."""
    member = Member.objects.filter(pk=member_id).only("pk", "status").first()
    if member is None:
        raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
    return member


def replayed(source_key: str | None, **expected) -> Movement | None:
    """The entry already written under this source key, if its contents match; another
    entry under the key is SOURCE_KEY_CONFLICT."""
    if not source_key:
        return None
    entry = PointsEntry.objects.filter(source_key=source_key).first()
    if entry is None:
        return None
    for name, value in expected.items():
        if getattr(entry, name) != value:
            raise PointsError(PointsErrorCode.SOURCE_KEY_CONFLICT)
    return Movement(entry=entry, created=False)


@dataclass(frozen=True)
class LotPart:
    """What an entry does to one lot: `points` changes its remaining, `held` the points of
    it that sit in open holds."""

    lot_id: int
    points: int = 0
    held: int = 0


def spending_parts(member_id: int, points: int, *,
                   skip_lot_id: int | None = None) -> list[LotPart]:
    """Up to `points` from a member's available lots in spending order — the soonest
    expiring first, lots that never expire last, older before newer — as negative parts.
    Reads only: `post` applies them."""
    lots = (PointsLot.objects.filter(member_id=member_id, state=PointsLot.State.AVAILABLE,
                                     remaining__gt=0)
            .exclude(pk=skip_lot_id)
            .order_by(F("expires_at").asc(nulls_last=True), "id")
            .values_list("pk", "remaining"))
    parts, taken = [], 0
    for lot_id, remaining in lots.iterator(chunk_size=100):
        if taken >= points:
            break
        part = min(remaining, points - taken)
        parts.append(LotPart(lot_id=lot_id, points=-part))
        taken += part
    return parts


def taken(parts: Iterable[LotPart]) -> int:
    """The points the parts take out of lots."""
    return -sum(part.points for part in parts)


def _merged(parts: Iterable[LotPart]) -> list[LotPart]:
    points: dict[int, int] = defaultdict(int)
    held: dict[int, int] = defaultdict(int)
    for part in parts:
        points[part.lot_id] += part.points
        held[part.lot_id] += part.held
    return [LotPart(lot_id=lot_id, points=points[lot_id], held=held[lot_id])
            for lot_id in sorted(points) if points[lot_id] or held[lot_id]]


def post(account: PointsAccount, entry: PointsEntry, now: datetime, *,
         parts: Iterable[LotPart] = (), new_lot: PointsLot | None = None,
         new_lots: Sequence[PointsLot] = ()) -> PointsEntry:
    """Store an entry with its lot movements and apply both to the locked account. The
    entry records the actor of the request (core.actor) and its store.

    `new_lot` is a lot the entry creates (an earning, a credit): it is stored holding its
    `original`, recorded as the entry's movement into it, and named by the entry.
    `new_lots` are several such lots (a transfer received: one per lot of the sender's),
    each recorded as a movement into it; the entry names none of them.
    """
    entry.member_id = account.member_id
    entry.created_at = now
    for column, value in actor_columns().items():  # who wrote it, from where
        setattr(entry, column, value)
    entry.store_id = actor_store_id(entry.store_id)
    parts = _merged(parts)
    movements = list(parts)
    if new_lot is not None:
        new_lot.member_id = account.member_id
        new_lot.remaining = new_lot.original
        new_lot.created_at = now
        new_lot.save(force_insert=True)
        entry.lot = new_lot
        movements.append(LotPart(lot_id=new_lot.pk, points=new_lot.original))
    if new_lots:
        for lot in new_lots:
            lot.member_id = account.member_id
            lot.remaining = lot.original
            lot.created_at = now
        PointsLot.objects.bulk_create(new_lots)
        movements += [LotPart(lot_id=lot.pk, points=lot.original) for lot in new_lots]
    # chained after the member's last entry; the head is saved with the balances below
    entry.hash = ENTRY_CHAIN.link(account.chain_head,
                                  {column: getattr(entry, column) for column in ENTRY_COLUMNS})
    account.chain_head = entry.hash
    entry.save(force_insert=True)
    if movements:
        PointsLotMovement.objects.bulk_create(
            PointsLotMovement(entry=entry, lot_id=part.lot_id, member_id=account.member_id,
                              points=part.points, held=part.held, created_at=now)
            for part in movements)
    changed = [part for part in parts if part.points]
    if changed:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE points_pointslot l SET remaining = l.remaining + v.points "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, points) WHERE l.id = v.id",
                [[p.lot_id for p in changed], [p.points for p in changed]])
    account.available += entry.available_delta
    account.pending += entry.pending_delta
    account.held += entry.held_delta
    account.debt += entry.debt_delta
    account.updated_at = now
    account.save(update_fields=["available", "pending", "held", "debt", "updated_at",
                                "chain_head"])
    return entry


def chained_entries_sql(source: str, name: str) -> str:
    """The CTEs that give a set-based job's new entries their ids and hashes, chained in SQL
    exactly as `post` chains one in Python (core.chain). `source` is a CTE naming every
    column of `ENTRY_COLUMNS` (NULL for those the job does not set); `<name>` then holds
    them with `id` and `hash`, ready for `insert_entries_sql`."""
    return ENTRY_CHAIN.chained_rows_sql(source, name)


_SQL_TYPES = {"int": "bigint", "text": "text", "time": "timestamptz"}


def entry_columns_sql(**given: str) -> str:
    """The select list of a source CTE for `chained_entries_sql`: each entry column from
    the expression given for it, NULL (typed) for the others."""
    unknown = set(given) - set(ENTRY_COLUMNS)
    if unknown:
        raise ValueError(f"not entry columns: {sorted(unknown)}")
    return ", ".join(f"({given.get(column, 'NULL')})::{_SQL_TYPES[kind]} AS {column}"
                     for column, kind in ENTRY_CHAIN.fields)


def insert_entries_sql(chained: str) -> str:
    """INSERT of the rows `chained_entries_sql` prepared, returning what the job's movements
    and `balances_sql` read."""
    columns = ", ".join(("id", "hash", *ENTRY_COLUMNS))
    return f"""
    INSERT INTO points_pointsentry ({columns})
    SELECT {columns} FROM {chained}
    RETURNING id, hash, member_id, kind, lot_id, source_key, available_delta, pending_delta,
              held_delta, debt_delta"""


def balances_sql(*entries: str) -> str:
    """The one UPDATE of balances for set-based jobs, the SQL twin of `post`'s arithmetic:
    each account moves by the sums of the deltas of the entries the statement wrote, and
    its chain head becomes the hash of its last one. Every CTE named in `entries` returns
    id, hash, member_id and the four deltas; `%(now)s` is the time."""
    rows = " UNION ALL ".join(
        f"SELECT id, hash, member_id, available_delta, pending_delta, held_delta, debt_delta "
        f"FROM {name}"
        for name in entries)
    return f"""
    UPDATE points_pointsaccount a
    SET available = a.available + s.available, pending = a.pending + s.pending,
        held = a.held + s.held, debt = a.debt + s.debt, updated_at = %(now)s,
        chain_head = h.hash
    FROM (SELECT member_id, SUM(available_delta) AS available, SUM(pending_delta) AS pending,
                 SUM(held_delta) AS held, SUM(debt_delta) AS debt
          FROM ({rows}) x GROUP BY member_id) s
    JOIN {ENTRY_CHAIN.heads_sql(rows)} h ON h.member_id = s.member_id
    WHERE a.member_id = s.member_id
    """
