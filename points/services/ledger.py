"""Writes to the points ledger. Every function takes `now`, holds the member's account lock
(points.locks) and posts entries, lot movements and balances together or not at all
(points.services.posting.post)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import F, Sum

from core.clock import local_date, programme_tz, resolve_now
from members.models import Order, OrderLine
from members.services.access import member_note_write
from members.services.batch import batch_by_ids, batch_run, keyset_ids

from ..errors import PointsError, PointsErrorCode
from ..expiry import lot_expires_at
from ..locks import lock_accounts
from ..models import AdjustReason, EntryKind, EntryLine, PointsEntry, PointsLot, PointsSettings
from .posting import (
    LotPart,
    Movement,
    balances_sql,
    chained_entries_sql,
    check_amount,
    entry_columns_sql,
    insert_entries_sql,
    post,
    posting_member,
    replayed,
    spending_parts,
    taken,
)


def points_earn(*, member_id: int, points: int, now: datetime | None = None,
                order_id: int | None = None, source_key: str | None = None,
                reason: str = "", pending_days: int | None = None) -> Movement | None:
    """Credit points in a new lot. A debt from an earlier reversal is collected first.

    A member who owes 30 points and earns 100 gets a lot of 70 and owes nothing. With a
    return window, the lot is pending until it unlocks; it expires on its own date.
    A frozen member earns nothing (None).
    """
    now = resolve_now(now)
    check_amount(points)
    settings = PointsSettings.current()
    days = settings.pending_days if pending_days is None else pending_days
    with transaction.atomic():
        member = posting_member(member_id)
        account = lock_accounts([member_id], now=now)[member_id]
        if (replay := replayed(source_key, member_id=member_id, kind=EntryKind.EARN,
                              order_id=order_id)) is not None:
            # what the first earning was worth, debt it collected included
            if replay.entry.points - replay.entry.debt_delta != points:
                raise PointsError(PointsErrorCode.SOURCE_KEY_CONFLICT)
            return replay
        if not member.can_earn_or_spend:
            return None
        collected = min(account.debt, points)
        credited = points - collected
        lot = None
        if credited:
            pending = days > 0
            lot = PointsLot(
                original=credited, order_id=order_id,
                state=PointsLot.State.PENDING if pending else PointsLot.State.AVAILABLE,
                unlocks_at=now + relativedelta(days=days) if pending else None,
                expires_at=lot_expires_at(settings, now),
            )
        pending_credit = credited if lot is not None and lot.state == PointsLot.State.PENDING else 0
        entry = PointsEntry(
            kind=EntryKind.EARN, available_delta=credited - pending_credit,
            pending_delta=pending_credit, debt_delta=-collected, order_id=order_id,
            source_key=source_key, reason=reason[:200],
            # the store where the points were earned: the sale's
            store_id=Order.objects.filter(pk=order_id).values_list("store_id", flat=True)
            .first() if order_id else None,
        )
        return Movement(entry=post(account, entry, now, new_lot=lot), created=True)


def _reversal_target(sale: Order, earned: PointsEntry, earned_points: int) -> int:
    """How many of the sale's points all its returns so far take back.

    Points recorded per order line are reversed line by line, in proportion to the net
    amount returned of each line; points not tied to a line follow the order's net.
    Cumulative, so partial returns add up exactly: returning ¥30 of a line that paid ¥90
    and earned 90 points takes back 30; returning the rest takes back the other 60.
    """
    returned_by_line = dict(
        OrderLine.objects.filter(order__original_order=sale, order__kind=Order.Kind.RETURN)
        .values("original_line_id").annotate(net=Sum("net_amount"))
        .values_list("original_line_id", "net"))
    line_points = dict(EntryLine.objects.filter(entry=earned)
                       .values_list("order_line_id", "points"))
    target = 0
    if line_points:
        nets = dict(OrderLine.objects.filter(pk__in=line_points).values_list("pk", "net_amount"))
        for line_id, points in line_points.items():
            returned = returned_by_line.get(line_id) or Decimal(0)
            if nets[line_id] > 0:
                share = Decimal(points) * returned / nets[line_id]
                target += min(points, int(share.to_integral_value(rounding=ROUND_HALF_UP)))
    unattributed = earned_points - sum(line_points.values())
    if unattributed > 0 and sale.net_amount > 0:
        returned_net = sum(returned_by_line.values(), Decimal(0))
        share = Decimal(unattributed) * returned_net / sale.net_amount
        target += min(unattributed, int(share.to_integral_value(rounding=ROUND_HALF_UP)))
    return target


def points_reverse_for_return(*, ret: Order, now: datetime | None = None) -> Movement | None:
    """Take back what the returned lines earned.

    Points come from the sale's own lot first (pending or not), then from available points
    in spending order; what is missing becomes a debt collected from the next earnings.
    A balance never goes below zero.
    """
    now = resolve_now(now)
    sale = ret.original_order
    earned = PointsEntry.objects.filter(order_id=sale.pk, kind=EntryKind.EARN).first()
    if earned is None:
        return None
    earned_points = earned.available_delta + earned.pending_delta - earned.debt_delta
    with transaction.atomic():
        account = lock_accounts([ret.member_id], now=now)[ret.member_id]
        if (replay := replayed(f"reverse:order:{ret.pk}")) is not None:
            return replay
        # Returns of one sale are serialised by the sale's row lock (members.services.orders), so
        # every earlier return has been reversed: reverse up to the cumulative share.
        already = -(PointsEntry.objects.filter(kind=EntryKind.REVERSE, order__original_order=sale)
                    .aggregate(s=Sum(F("available_delta") + F("pending_delta") - F("debt_delta")))["s"] or 0)
        points = min(_reversal_target(sale, earned, earned_points), earned_points) - already
        if points <= 0:
            return None
        own = PointsLot.objects.filter(pk=earned.lot_id).first() if earned.lot_id else None
        parts, from_pending, from_available = [], 0, 0
        if own is not None and own.remaining:
            part = min(own.remaining, points)
            parts.append(LotPart(lot_id=own.pk, points=-part))
            if own.state == PointsLot.State.PENDING:
                from_pending = part
            else:
                from_available = part
        others = spending_parts(ret.member_id, points - from_pending - from_available,
                                skip_lot_id=own.pk if own else None)
        from_available += taken(others)
        shortfall = points - from_pending - from_available
        entry = PointsEntry(kind=EntryKind.REVERSE, available_delta=-from_available,
                            pending_delta=-from_pending, debt_delta=shortfall, order_id=ret.pk,
                            store_id=ret.store_id, source_key=f"reverse:order:{ret.pk}",
                            reason="return")
        return Movement(entry=post(account, entry, now, parts=parts + others), created=True)


def points_spend(*, member_id: int, points: int, source_key: str | None = None,
                 reason: str = "", note: str = "", now: datetime | None = None) -> Movement:
    """Spend available points, soonest-expiring lots first.

    `reason` is the system's short label (a reward, an order, a partner); what a person or an
    integrator typed goes in `note`, kept as a member note the entry points at (erasure
    blanks it; the ledger carries no typed text).

    A member with 120 available spends 100: lots are consumed oldest expiry first. Pending
    and held points cannot be spent. A frozen member cannot spend.
    """
    now = resolve_now(now)
    check_amount(points)
    with transaction.atomic():
        member = posting_member(member_id)
        account = lock_accounts([member_id], now=now)[member_id]
        if (replay := replayed(source_key, member_id=member_id, kind=EntryKind.SPEND,
                              available_delta=-points)) is not None:
            return replay
        if not member.can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        if account.available < points:
            raise PointsError(PointsErrorCode.INSUFFICIENT_POINTS, available=account.available,
                              requested=points)
        entry = PointsEntry(kind=EntryKind.SPEND, available_delta=-points,
                            source_key=source_key, reason=reason[:200],
                            note=member_note_write(member_id=member_id, text=note, now=now))
        return Movement(entry=post(account, entry, now, parts=spending_parts(member_id, points)),
                        created=True)


def points_adjust(*, member_id: int, points: int, operator_id: int | None, reason: str,
                  reason_code: str = AdjustReason.OTHER, source_key: str | None = None,
                  now: datetime | None = None) -> Movement:
    """An operator's correction, attributable to the operator: a reason code on the entry and
    what the operator wrote (`reason`) in a note the entry points at, which erasure can
    blank — the ledger itself carries no typed text.

    Positive adds an available lot (expiring like any other); negative takes available
    points in spending order and never more than the member has. Applies to frozen
    members too.
    """
    now = resolve_now(now)
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise PointsError(PointsErrorCode.NON_POSITIVE_AMOUNT)
    check_amount(abs(points))
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(PointsErrorCode.REASON_REQUIRED)
    if not operator_id:
        raise PointsError(PointsErrorCode.OPERATOR_REQUIRED)
    if reason_code not in AdjustReason.values:
        raise PointsError(PointsErrorCode.REASON_REQUIRED)
    with transaction.atomic():
        posting_member(member_id)
        account = lock_accounts([member_id], now=now)[member_id]
        if (replay := replayed(source_key, member_id=member_id, kind=EntryKind.ADJUST,
                              available_delta=points)) is not None:
            return replay
        lot, parts = None, []
        if points > 0:
            lot = PointsLot(original=points, state=PointsLot.State.AVAILABLE,
                            expires_at=lot_expires_at(PointsSettings.current(), now))
        else:
            if account.available < -points:
                raise PointsError(PointsErrorCode.INSUFFICIENT_POINTS,
                                  available=account.available, requested=-points)
            parts = spending_parts(member_id, -points)
        note = member_note_write(member_id=member_id, text=reason, created_by_id=operator_id,
                                 now=now)
        entry = PointsEntry(kind=EntryKind.ADJUST, available_delta=points,
                            operator_id=operator_id, reason=reason_code, note=note,
                            source_key=source_key)
        return Movement(entry=post(account, entry, now, parts=parts, new_lot=lot), created=True)


# --- batch jobs: set-based SQL over chunks of members ------------------------------------------

_EXPIRE_SQL = """
WITH RECURSIVE due AS (
    SELECT l.id, l.member_id, l.remaining
    FROM points_pointslot l
    WHERE l.member_id = ANY(%(members)s) AND l.state = 'available' AND l.remaining > 0
      AND l.expires_at <= %(now)s
    FOR UPDATE
), emptied AS (
    UPDATE points_pointslot l SET remaining = 0 FROM due WHERE l.id = due.id
    RETURNING l.id
), new_entries AS (
    SELECT """ + entry_columns_sql(
        member_id="due.member_id", kind="'expire'", available_delta="-due.remaining",
        pending_delta="0", held_delta="0", debt_delta="0", lot_id="due.id",
        source_key="'expire:lot:' || due.id", reason="'expiry'", created_at="%(now)s") + """
    FROM due
), """ + chained_entries_sql("new_entries", "chained") + """,
entries AS (""" + insert_entries_sql("chained") + """
), movements AS (
    INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held, created_at)
    SELECT id, lot_id, member_id, available_delta, 0, %(now)s FROM entries
)
""" + balances_sql("entries")

_UNLOCK_SQL = """
WITH RECURSIVE due AS (
    SELECT l.id, l.member_id, l.remaining
    FROM points_pointslot l
    WHERE l.member_id = ANY(%(members)s) AND l.state = 'pending' AND l.unlocks_at <= %(now)s
    FOR UPDATE
), unlocked AS (
    UPDATE points_pointslot l SET state = 'available' FROM due WHERE l.id = due.id
    RETURNING l.id
), new_entries AS (
    SELECT """ + entry_columns_sql(
        member_id="due.member_id", kind="'unlock'", available_delta="due.remaining",
        pending_delta="-due.remaining", held_delta="0", debt_delta="0", lot_id="due.id",
        source_key="'unlock:lot:' || due.id", reason="'return window over'",
        created_at="%(now)s") + """
    FROM due WHERE due.remaining > 0
), """ + chained_entries_sql("new_entries", "chained") + """,
entries AS (""" + insert_entries_sql("chained") + """
)
""" + balances_sql("entries")


def _run_chunked(*, job: str, candidates_sql: str, apply_sql: str, now: datetime, chunk: int,
                 run_key: str | None) -> int:
    """Find members with due lots a chunk at a time; per chunk, in one transaction, lock
    their accounts in id order, apply one statement and record the run's position
    (members.services.batch). Each chunk commits on its own, so a crash loses nothing and the run
    delivered again carries on after the last chunk, for the same `now`."""
    progress = batch_run(job, run_key=run_key, now=now)
    now = progress.now

    def apply(members: list[int]) -> int:
        lock_accounts(members, now=now)
        with connection.cursor() as cursor:
            cursor.execute(apply_sql, {"members": members, "now": now})
        return len(members)

    return batch_by_ids(progress, next_ids=keyset_ids(candidates_sql, {"now": now}, chunk=chunk),
                        apply=apply)


def points_expire_due(*, now: datetime | None = None, chunk: int = 2000,
                      run_key: str | None = None) -> int:
    """Expire every lot whose date has come: one entry per lot, balances updated per member.
    Returns the number of members touched."""
    now = resolve_now(now)
    candidates = """
        SELECT DISTINCT member_id FROM points_pointslot
        WHERE state = 'available' AND remaining > 0 AND expires_at <= %(now)s
          AND member_id > %(after)s
        ORDER BY member_id LIMIT %(limit)s
    """
    return _run_chunked(job="points.expire", candidates_sql=candidates, apply_sql=_EXPIRE_SQL,
                        now=now, chunk=chunk, run_key=run_key)


_NOTICE_SQL = """
    INSERT INTO points_expirynotice (member_id, expires_on, points, created_at)
    SELECT member_id, %(day)s, sum(remaining), %(now)s
      FROM points_pointslot
     WHERE state = 'available' AND remaining > 0
       AND expires_at >= %(start)s AND expires_at < %(end)s AND expires_at > %(now)s
     GROUP BY member_id
    ON CONFLICT (member_id, expires_on) DO NOTHING"""


def points_expiry_notices(*, now: datetime | None = None) -> int:
    """The daily notice of points expiring soon: for each Beijing day from today up to
    `expiry_warning_days` ahead, one `ExpiryNotice` per member with available points
    expiring that day, written once (a day already noticed is skipped; a day missed is
    caught up the next time). One statement per day, each in its own transaction; the lots'
    partial expiry index finds the day's lots. Returns the notices written."""
    now = resolve_now(now)
    days = PointsSettings.current().expiry_warning_days
    tz = programme_tz()
    today = local_date(now)
    written = 0
    for offset in range(days + 1 if days else 0):
        day = today + timedelta(days=offset)
        start = datetime.combine(day, time.min, tzinfo=tz)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_NOTICE_SQL, {"day": day, "start": start,
                                         "end": start + timedelta(days=1), "now": now})
            written += cursor.rowcount
    return written


def points_unlock_due(*, now: datetime | None = None, chunk: int = 2000,
                      run_key: str | None = None) -> int:
    """Make pending purchase points spendable once their return window is over."""
    now = resolve_now(now)
    candidates = """
        SELECT DISTINCT member_id FROM points_pointslot
        WHERE state = 'pending' AND unlocks_at <= %(now)s AND member_id > %(after)s
        ORDER BY member_id LIMIT %(limit)s
    """
    return _run_chunked(job="points.unlock", candidates_sql=candidates, apply_sql=_UNLOCK_SQL,
                        now=now, chunk=chunk, run_key=run_key)
