"""Checkout holds: reserve points, then capture or release them, each at most once.

A member with 500 available places a hold of 300 for an open basket: available drops to
200 and held rises to 300 at once, so another till cannot spend them. At payment the
storefront captures 250: those are spent (soonest-expiring first) and the other 50 go back
to the lots they came from. A basket abandoned for longer than the hold's time to live is
released by `points_holds_expire_due`, a Celery beat job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from core.clock import resolve_now
from members.services.batch import batch_by_ids, batch_run, keyset_ids

from ..errors import HoldErrorCode, PointsError, PointsErrorCode
from ..locks import lock_accounts
from ..models import EntryKind, PointsAccount, PointsEntry, PointsLotMovement, PointsSettings
from ..models.holds import PointsHold
from ..models.payments import PointsPayment
from .posting import (
    LotPart,
    balances_sql,
    chained_entries_sql,
    check_amount,
    entry_columns_sql,
    insert_entries_sql,
    post,
    posting_member,
    spending_parts,
)

DEFAULT_TTL = timedelta(minutes=30)
MAX_TTL = timedelta(days=7)


@dataclass(frozen=True)
class HoldOutcome:
    hold: PointsHold
    entries: tuple[PointsEntry, ...]


def _locked_hold(hold_id: int, *, owner_id: int | None,
                 now: datetime) -> tuple[PointsHold, PointsAccount]:
    """The hold and its member's account, both locked: the account first, as in every
    points write, then the hold row. Another owner's hold is reported as not found."""
    hold = PointsHold.objects.filter(pk=hold_id).only("member_id", "owner_id").first()
    if hold is None or (owner_id is not None and hold.owner_id != owner_id):
        raise PointsError(HoldErrorCode.HOLD_NOT_FOUND)
    account = lock_accounts([hold.member_id], now=now)[hold.member_id]
    return PointsHold.objects.select_for_update().get(pk=hold_id), account


def _held_parts(hold: PointsHold) -> list[tuple[int, int, datetime | None]]:
    """(lot, points, the lot's expiry) the hold took, latest-expiring first: the order in
    which they go back, so what a capture keeps is what would have expired soonest."""
    return list(PointsLotMovement.objects.filter(entry__source_key=f"hold:{hold.pk}")
                .order_by(F("lot__expires_at").desc(nulls_first=True), "-lot_id")
                .values_list("lot_id", "held", "lot__expires_at"))


def _give_back(hold: PointsHold, account: PointsAccount, points: int, now: datetime,
               reason: str, parts: list[tuple[int, int, datetime | None]]) -> list[PointsEntry]:
    """Return `points` of the hold to its lots, in the order of `parts`, with one release
    entry. A part whose lot has passed its expiry date meanwhile goes back and expires at
    once (its own entry, keyed by hold and lot): the lot's own expiry may already be
    booked."""
    back, lapsed, left = [], [], points
    for lot_id, held, expires_at in parts:
        if left <= 0:
            break
        n = min(held, left)
        left -= n
        back.append(LotPart(lot_id=lot_id, points=n, held=-n))
        if expires_at is not None and expires_at <= now:
            lapsed.append((lot_id, n))
    entries = [post(account, PointsEntry(
        kind=EntryKind.RELEASE, available_delta=points, held_delta=-points,
        source_key=f"release:hold:{hold.pk}", reason=reason), now, parts=back)]
    for lot_id, n in lapsed:
        entries.append(post(account, PointsEntry(
            kind=EntryKind.EXPIRE, available_delta=-n, lot_id=lot_id,
            source_key=f"expire:hold:{hold.pk}:lot:{lot_id}", reason="expiry"), now,
            parts=[LotPart(lot_id=lot_id, points=-n)]))
    return entries


def points_hold(*, member_id: int, points: int, owner_id: int | None = None,
                reference: str = "", ttl: timedelta = DEFAULT_TTL,
                now: datetime | None = None) -> HoldOutcome:
    """Reserve available points for an open basket until `now + ttl`.

    The points leave their lots in spending order (soonest expiry first) and move from
    available to held; a frozen member cannot hold, and never more than is available.
    """
    now = resolve_now(now)
    check_amount(points)
    if not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise PointsError(HoldErrorCode.HOLD_TTL_INVALID, limit=int(MAX_TTL.total_seconds() // 60))
    with transaction.atomic():
        member = posting_member(member_id)
        account = lock_accounts([member_id], now=now)[member_id]
        if not member.can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        if account.available < points:
            raise PointsError(PointsErrorCode.INSUFFICIENT_POINTS, available=account.available,
                              requested=points)
        hold = PointsHold.objects.create(member_id=member_id, owner_id=owner_id, points=points,
                                         reference=reference[:100], expires_at=now + ttl,
                                         created_at=now)
        parts = [LotPart(lot_id=part.lot_id, points=part.points, held=-part.points)
                 for part in spending_parts(member_id, points)]
        entry = post(account, PointsEntry(kind=EntryKind.HOLD, available_delta=-points,
                                          held_delta=points, source_key=f"hold:{hold.pk}",
                                          reason=reference[:200]), now, parts=parts)
        return HoldOutcome(hold=hold, entries=(entry,))


def _close(hold: PointsHold, state: str, now: datetime) -> None:
    hold.state = state
    hold.closed_at = now
    hold.save(update_fields=["state", "captured", "closed_at"])


def _refuse_closed(hold: PointsHold) -> None:
    if hold.state != PointsHold.State.HELD:
        raise PointsError(HoldErrorCode.HOLD_CLOSED, state=hold.get_state_display())


def points_hold_capture(*, hold_id: int, points: int, owner_id: int | None = None,
                        now: datetime | None = None) -> HoldOutcome:
    """Spend at most the held amount; the rest goes back to the member's lots.

    A hold of 300 captured for 250 writes a capture of 250 and a release of 50. Capturing
    more than the hold, a closed hold or an expired one is refused and changes nothing.
    The capture is a payment (`PointsPayment`, at today's point value) that the sale it
    paid names, so a return can give its points back to the lots they came from.
    """
    now = resolve_now(now)
    check_amount(points)
    with transaction.atomic():
        hold, account = _locked_hold(hold_id, owner_id=owner_id, now=now)
        _refuse_closed(hold)
        if hold.expires_at <= now:
            raise PointsError(HoldErrorCode.HOLD_EXPIRED)
        if points > hold.points:
            raise PointsError(HoldErrorCode.CAPTURE_EXCEEDS_HOLD, requested=points,
                              held=hold.points)
        rest = hold.points - points
        parts = _held_parts(hold)
        kept, left = [], rest  # the first `rest` points of `parts` go back
        for lot_id, held, _expires_at in parts:
            back = min(held, max(left, 0))
            left -= back
            if held - back:
                kept.append(LotPart(lot_id=lot_id, held=-(held - back)))
        capture = post(account, PointsEntry(kind=EntryKind.CAPTURE, held_delta=-points,
                                            source_key=f"capture:hold:{hold.pk}",
                                            reason=hold.reference), now, parts=kept)
        entries = [capture]
        if rest:
            entries += _give_back(hold, account, rest, now, "capture below hold", parts)
        hold.captured = points
        _close(hold, PointsHold.State.CAPTURED, now)
        PointsPayment.objects.create(
            member_id=hold.member_id, kind=PointsPayment.Kind.HOLD, entry=capture, hold=hold,
            owner_id=hold.owner_id, points=points,
            points_per_yuan=PointsSettings.current().points_per_yuan_value, created_at=now)
        return HoldOutcome(hold=hold, entries=tuple(entries))


def points_hold_release(*, hold_id: int, owner_id: int | None = None,
                        now: datetime | None = None) -> HoldOutcome:
    """Give every held point back to the lots it came from (the basket was abandoned).

    A hold past its time to live may still be released before the expiry job reaches it;
    a captured, released or expired hold is refused.
    """
    now = resolve_now(now)
    with transaction.atomic():
        hold, account = _locked_hold(hold_id, owner_id=owner_id, now=now)
        _refuse_closed(hold)
        entries = _give_back(hold, account, hold.points, now, "released", _held_parts(hold))
        _close(hold, PointsHold.State.RELEASED, now)
        return HoldOutcome(hold=hold, entries=tuple(entries))


_EXPIRE_HOLDS_SQL = """
WITH RECURSIVE due AS (
    SELECT h.id, h.member_id, h.points
    FROM points_pointshold h
    WHERE h.member_id = ANY(%(members)s) AND h.state = 'held' AND h.expires_at <= %(now)s
    FOR UPDATE
), closed AS (
    UPDATE points_pointshold h SET state = 'expired', closed_at = %(now)s
    FROM due WHERE h.id = due.id
    RETURNING h.id
), parts AS (
    -- what each hold took from each lot: its hold entry's movements
    SELECT due.id AS hold_id, m.lot_id, m.held AS points, due.member_id,
           COALESCE(l.expires_at <= %(now)s, false) AS lapsed
    FROM due
    JOIN points_pointsentry he ON he.source_key = 'hold:' || due.id
    JOIN points_pointslotmovement m ON m.entry_id = he.id
    JOIN points_pointslot l ON l.id = m.lot_id
), restored AS (
    -- a lapsed part goes back and expires at once (below): its lot's remaining stays,
    -- its movements record both steps
    UPDATE points_pointslot l SET remaining = l.remaining + p.points
    FROM (SELECT lot_id, SUM(points) AS points FROM parts WHERE NOT lapsed GROUP BY lot_id) p
    WHERE l.id = p.lot_id
    RETURNING l.id
), new_entries AS (
    -- one release per hold and an expiry for each part whose lot passed its own expiry
    -- while held (see _give_back): all of a member's chained together, in id order
    SELECT * FROM (
        SELECT """ + entry_columns_sql(
            member_id="due.member_id", kind="'release'", available_delta="due.points",
            pending_delta="0", held_delta="-due.points", debt_delta="0",
            source_key="'release:hold:' || due.id", reason="'hold expired'",
            created_at="%(now)s") + """, due.id AS hold_id, 0 AS step
        FROM due
        UNION ALL
        SELECT """ + entry_columns_sql(
            member_id="member_id", kind="'expire'", available_delta="-points",
            pending_delta="0", held_delta="0", debt_delta="0", lot_id="lot_id",
            source_key="'expire:hold:' || hold_id || ':lot:' || lot_id", reason="'expiry'",
            created_at="%(now)s") + """, hold_id, 1 AS step
        FROM parts WHERE lapsed
    ) x ORDER BY member_id, hold_id, step, lot_id
), """ + chained_entries_sql("new_entries", "chained") + """,
entries AS (""" + insert_entries_sql("chained") + """
), released_lots AS (
    INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
    SELECT r.id, p.lot_id, p.member_id, p.points, -p.points, %(now)s
    FROM entries r JOIN parts p ON r.source_key = 'release:hold:' || p.hold_id
    WHERE r.kind = 'release'
), lapsed_lots AS (
    INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
    SELECT id, lot_id, member_id, available_delta, 0, %(now)s FROM entries
    WHERE kind = 'expire'
), balances AS (""" + balances_sql("entries") + """
    RETURNING a.member_id
)
SELECT count(*) FROM closed
"""


def points_holds_expire_due(*, now: datetime | None = None, chunk: int = 2000,
                            run_key: str | None = None) -> int:
    """Release every hold past its time to live, a chunk of members per transaction: one
    release entry per hold, lots and balances restored in the same statement, the run's
    position recorded with them (members.services.batch). Re-runnable: an expired hold is no longer
    `held`, so a second run (or one racing this) finds nothing.
    Returns the number of holds expired."""
    progress = batch_run("points.holds_expire", run_key=run_key, now=resolve_now(now))
    now = progress.now

    def apply(members: list[int]) -> int:
        lock_accounts(members, now=now)
        with connection.cursor() as cursor:
            cursor.execute(_EXPIRE_HOLDS_SQL, {"members": members, "now": now})
            return cursor.fetchone()[0]

    return batch_by_ids(progress, next_ids=keyset_ids("""
        SELECT DISTINCT member_id FROM points_pointshold
        WHERE state = 'held' AND expires_at <= %(now)s AND member_id > %(after)s
        ORDER BY member_id LIMIT %(limit)s
        """, {"now": now}, chunk=chunk), apply=apply)
