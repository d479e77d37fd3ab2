"""Stored value (储值): top-up with a bonus, spend, refund of the principal, give-back on a
return, and the daily expiry of bonuses.

Every movement locks the member's `StoredValueAccount` row first (points.locks), then
answers a replay by its key, then writes the entry, its bonus-lot movements, the lots and
the balances in one transaction. The balances carry CHECKs ≥ 0, so a spend racing another
can never take the account below zero: the second waits on the lock and is refused if the
money is gone. Points are never earned at a top-up: only when goods are paid for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from core.actor import actor_columns, actor_store_id
from core.clock import local_date, resolve_now
from core.errors import ErrorCode
from core.money import CENT, MAX_AMOUNT, ZERO, to_money
from members.services.batch import batch_by_ids, batch_run, keyset_ids

from ..errors import PointsError, StoredValueErrorCode
from ..expiry import end_of_local_day
from ..locks import lock_stored_value
from ..models import PointsSettings
from ..models.stored_value import (
    StoredValueAccount,
    StoredValueBonusLot,
    StoredValueBonusMovement,
    StoredValueEntry,
    StoredValueKind,
    TopUpBonusRule,
)
from .posting import posting_member

MAX_STORED_VALUE = Decimal("1000000.00")  # one movement; guards against typos


@dataclass(frozen=True)
class StoredValueMovement:
    """The entry an operation wrote, or the one it wrote the first time (a replay)."""

    entry: StoredValueEntry
    created: bool


def check_money(value: object) -> Decimal:
    """A positive amount in yuan, two places at most, at most MAX_STORED_VALUE."""
    try:
        amount = to_money(value)
    except ValueError:
        raise PointsError(StoredValueErrorCode.AMOUNT_INVALID, limit=MAX_STORED_VALUE) from None
    if isinstance(value, Decimal) and value != amount:
        raise PointsError(StoredValueErrorCode.AMOUNT_INVALID, limit=MAX_STORED_VALUE)
    if amount <= 0 or amount > MAX_STORED_VALUE:
        raise PointsError(StoredValueErrorCode.AMOUNT_INVALID, limit=MAX_STORED_VALUE)
    return amount


def _hash(**what) -> str:
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(key: str, digest: str) -> StoredValueMovement | None:
    entry = StoredValueEntry.objects.filter(source_key=key).first()
    if entry is None:
        return None
    if entry.request_hash != digest:
        raise PointsError(StoredValueErrorCode.KEY_CONFLICT)
    return StoredValueMovement(entry=entry, created=False)


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise PointsError(StoredValueErrorCode.KEY_CONFLICT)
    return key


def save_keyed_entry(entry, conflict: ErrorCode) -> None:
    """Insert a money-ledger entry (stored value, gift cards) stamped with its actor and
    store, under its unique source key: a key taken meanwhile by another movement is
    `conflict`."""
    if entry.store_id is None:
        entry.store_id = actor_store_id()
    for name, value in actor_columns().items():
        setattr(entry, name, value)
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError as exc:
        if "source_key" in str(exc):
            raise PointsError(conflict) from None
        raise


def _post(account: StoredValueAccount, entry: StoredValueEntry, now: datetime, *,
          moves: list[tuple[int, Decimal]] = (), new_lot: StoredValueBonusLot | None = None
          ) -> StoredValueEntry:
    """Write the entry, its lot movements, the lots and the balances (account locked)."""
    entry.member_id = account.member_id
    entry.created_at = now
    save_keyed_entry(entry, StoredValueErrorCode.KEY_CONFLICT)
    movements = [StoredValueBonusMovement(entry=entry, lot_id=lot_id, amount=amount)
                 for lot_id, amount in moves if amount]
    if new_lot is not None:
        new_lot.entry = entry
        new_lot.member_id = account.member_id
        new_lot.remaining = new_lot.original
        new_lot.created_at = now
        new_lot.save(force_insert=True)
        movements.append(StoredValueBonusMovement(entry=entry, lot=new_lot,
                                                  amount=new_lot.original))
    for lot_id, amount in moves:
        if amount:
            StoredValueBonusLot.objects.filter(pk=lot_id).update(
                remaining=F("remaining") + amount)
    StoredValueBonusMovement.objects.bulk_create(movements)
    StoredValueAccount.objects.filter(pk=account.pk).update(
        principal=F("principal") + entry.principal_delta, bonus=F("bonus") + entry.bonus_delta,
        updated_at=now)
    account.refresh_from_db(fields=["principal", "bonus", "updated_at"])
    return entry


def _expire_member_lots(account: StoredValueAccount, now: datetime) -> None:
    """Bonus whose date has come expires before anything else touches the account, so the
    bonus a spend sees is the bonus it may take (the daily job does the same for everyone)."""
    for lot in (StoredValueBonusLot.objects.filter(member_id=account.member_id,
                                                   remaining__gt=0, expires_at__lte=now)
                .order_by("id")):
        # a lot given bonus back after it expired expires again: the key counts its movements
        n = StoredValueBonusMovement.objects.filter(lot_id=lot.pk).count()
        _post(account, StoredValueEntry(kind=StoredValueKind.EXPIRE, bonus_delta=-lot.remaining,
                                        lot_id=lot.pk, source_key=f"sv:expire:lot:{lot.pk}:{n}"),
              now, moves=[(lot.pk, -lot.remaining)])


def _bonus_parts(member_id: int, amount: Decimal) -> list[tuple[int, Decimal]]:
    """(lot, −amount taken) soonest-expiring first, lots that never expire last."""
    parts, left = [], amount
    for lot_id, remaining in (StoredValueBonusLot.objects
                              .filter(member_id=member_id, remaining__gt=0)
                              .order_by(F("expires_at").asc(nulls_last=True), "id")
                              .values_list("id", "remaining")):
        if left <= 0:
            break
        take = min(remaining, left)
        parts.append((lot_id, -take))
        left -= take
    return parts


def stored_value_bonus_for(amount: Decimal) -> TopUpBonusRule | None:
    """The active rule with the highest minimum a top-up of `amount` reaches: ¥600 under
    "充500送50" and "充1000送150" earns ¥50."""
    return (TopUpBonusRule.objects.filter(active=True, min_amount__lte=amount)
            .order_by("-min_amount").first())


def _bonus_expiry(rule: TopUpBonusRule, now: datetime) -> datetime | None:
    if rule.bonus_valid_days is None:
        return None
    return end_of_local_day(local_date(now) + timedelta(days=rule.bonus_valid_days))


def stored_value_top_up(*, member_id: int, amount: object, key: str, with_bonus: bool = True,
                        order_id: int | None = None, now: datetime | None = None
                        ) -> StoredValueMovement:
    """Add money paid in to the member's principal, and the bonus of the best rule it
    reaches as a lot of its own: ¥500 under "充500送50" is ¥500 principal and ¥50 bonus
    expiring when the rule says. No points are earned here; they are earned when the
    stored value pays for goods. The same key again answers the first top-up."""
    now = resolve_now(now)
    amount = check_money(amount)
    key = _check_key(key)
    digest = _hash(kind="top_up", member=member_id, amount=amount, with_bonus=with_bonus)
    with transaction.atomic():
        posting_member(member_id)
        account = lock_stored_value([member_id], now=now)[member_id]
        if (replay := _replayed(key, digest)) is not None:
            return replay
        _expire_member_lots(account, now)
        rule = stored_value_bonus_for(amount) if with_bonus else None
        lot = (StoredValueBonusLot(original=rule.bonus, expires_at=_bonus_expiry(rule, now))
               if rule else None)
        entry = _post(account, StoredValueEntry(
            kind=StoredValueKind.TOP_UP, principal_delta=amount,
            bonus_delta=rule.bonus if rule else ZERO, rule=rule, order_id=order_id,
            source_key=key, request_hash=digest), now, new_lot=lot)
        return StoredValueMovement(entry=entry, created=True)


def spend_split(*, principal: Decimal, bonus: Decimal, amount: Decimal,
                order: str) -> tuple[Decimal, Decimal]:
    """(principal, bonus) a spend of `amount` takes in the configured order."""
    if order == PointsSettings.StoredValueOrder.PRINCIPAL_FIRST:
        from_principal = min(principal, amount)
        return from_principal, amount - from_principal
    from_bonus = min(bonus, amount)
    return amount - from_bonus, from_bonus


def stored_value_spend(*, member_id: int, amount: object, key: str,
                       order_id: int | None = None, now: datetime | None = None
                       ) -> StoredValueMovement:
    """Pay with stored value: bonus and principal in the order the settings name (bonus
    lots soonest to expire first). Never more than the member has: with ¥30 left, a ¥50
    spend is refused and nothing changes. The same key again answers the first spend."""
    now = resolve_now(now)
    amount = check_money(amount)
    key = _check_key(key)
    digest = _hash(kind="spend", member=member_id, amount=amount, order=order_id)
    with transaction.atomic():
        posting_member(member_id)
        account = lock_stored_value([member_id], now=now)[member_id]
        if (replay := _replayed(key, digest)) is not None:
            return replay
        _expire_member_lots(account, now)
        if account.balance < amount:
            raise PointsError(StoredValueErrorCode.INSUFFICIENT, available=account.balance,
                              requested=amount)
        principal, bonus = spend_split(
            principal=account.principal, bonus=account.bonus, amount=amount,
            order=PointsSettings.current().stored_value_spend_order)
        entry = _post(account, StoredValueEntry(
            kind=StoredValueKind.SPEND, principal_delta=-principal, bonus_delta=-bonus,
            order_id=order_id, source_key=key, request_hash=digest), now,
            moves=_bonus_parts(member_id, bonus))
        return StoredValueMovement(entry=entry, created=True)


def stored_value_refund(*, member_id: int, amount: object, key: str,
                        now: datetime | None = None) -> StoredValueMovement:
    """Pay principal back to the member (the bonus is never paid out in money). The bonus
    goes in the same proportion as the principal refunded — refunding all of ¥500 principal
    forfeits all of a ¥50 bonus, refunding ¥250 forfeits ¥25 — so a top-up cannot be
    refunded while keeping its bonus."""
    now = resolve_now(now)
    amount = check_money(amount)
    key = _check_key(key)
    digest = _hash(kind="refund", member=member_id, amount=amount)
    with transaction.atomic():
        posting_member(member_id)
        account = lock_stored_value([member_id], now=now)[member_id]
        if (replay := _replayed(key, digest)) is not None:
            return replay
        _expire_member_lots(account, now)
        if account.principal < amount:
            raise PointsError(StoredValueErrorCode.REFUND_EXCEEDS_PRINCIPAL,
                              principal=account.principal, requested=amount)
        forfeit = (account.bonus * amount / account.principal).quantize(CENT,
                                                                         rounding=ROUND_DOWN)
        if amount == account.principal:
            forfeit = account.bonus
        entry = _post(account, StoredValueEntry(
            kind=StoredValueKind.REFUND, principal_delta=-amount, bonus_delta=-forfeit,
            source_key=key, request_hash=digest), now, moves=_bonus_parts(member_id, forfeit))
        return StoredValueMovement(entry=entry, created=True)


def stored_value_give_back(*, spend: StoredValueEntry, amount: Decimal, key: str, order_id: int,
                           now: datetime | None = None) -> StoredValueMovement:
    """Give back `amount` of what a spend paid (a return), principal and bonus in the
    proportions the spend took them, counted over the spend's give-backs so far so partial
    returns add up to exactly the spend. Bonus goes back into the lots it came from, latest
    to expire first; bonus whose lot has expired meanwhile expires again at once."""
    now = resolve_now(now)
    spent = -(spend.principal_delta + spend.bonus_delta)
    spent_bonus = -spend.bonus_delta
    digest = _hash(kind="return", spend=spend.pk, amount=amount, order=order_id)
    with transaction.atomic():
        account = lock_stored_value([spend.member_id], now=now)[spend.member_id]
        if (replay := _replayed(key, digest)) is not None:
            return replay
        given = list(StoredValueEntry.objects.filter(
            kind=StoredValueKind.RETURN, tender__paid__stored_value_entry=spend))
        returned_before = sum((e.principal_delta + e.bonus_delta for e in given), ZERO)
        target_bonus = (spent_bonus * (returned_before + amount) / spent).quantize(
            CENT, rounding=ROUND_DOWN) if spent else ZERO
        if returned_before + amount >= spent:
            target_bonus = spent_bonus
        bonus = max(target_bonus - sum((e.bonus_delta for e in given), ZERO), ZERO)
        bonus = min(bonus, amount)
        principal = amount - bonus
        moves: list[tuple[int, Decimal]] = []
        taken = {lot_id: -a for lot_id, a in
                 StoredValueBonusMovement.objects.filter(entry=spend).values_list("lot_id",
                                                                                  "amount")}
        for back in StoredValueBonusMovement.objects.filter(entry__in=given):
            taken[back.lot_id] = taken.get(back.lot_id, ZERO) - back.amount
        lots = {lot.pk: lot for lot in StoredValueBonusLot.objects.filter(pk__in=taken)}
        left = bonus
        for lot_id in sorted(taken, key=lambda i: (lots[i].expires_at is None,
                                                   lots[i].expires_at or now), reverse=True):
            if left <= 0:
                break
            n = min(taken[lot_id], left)
            if n > 0:
                moves.append((lot_id, n))
                left -= n
        entry = _post(account, StoredValueEntry(
            kind=StoredValueKind.RETURN, principal_delta=principal + left,
            bonus_delta=bonus - left, order_id=order_id, source_key=key, request_hash=digest),
            now, moves=moves)
        _expire_member_lots(account, now)
        return StoredValueMovement(entry=entry, created=True)


# --- the daily job: set-based SQL over chunks of members ---------------------------------------

_EXPIRE_SQL = """
WITH due AS (
    SELECT l.id, l.member_id, l.remaining
    FROM points_storedvaluebonuslot l
    WHERE l.member_id = ANY(%(members)s) AND l.remaining > 0 AND l.expires_at <= %(now)s
    FOR UPDATE
), emptied AS (
    UPDATE points_storedvaluebonuslot l SET remaining = 0 FROM due WHERE l.id = due.id
    RETURNING l.id
), entries AS (
    INSERT INTO points_storedvalueentry
        (member_id, kind, principal_delta, bonus_delta, lot_id, source_key, request_hash,
         created_at)
    SELECT due.member_id, 'expire', 0, -due.remaining, due.id,
           'sv:expire:lot:' || due.id || ':' || (SELECT count(*) FROM
               points_storedvaluebonusmovement m WHERE m.lot_id = due.id), '', %(now)s
    FROM due
    RETURNING id, member_id, lot_id, bonus_delta
), movements AS (
    INSERT INTO points_storedvaluebonusmovement (entry_id, lot_id, amount)
    SELECT id, lot_id, bonus_delta FROM entries
)
UPDATE points_storedvalueaccount a
SET bonus = a.bonus + t.delta, updated_at = %(now)s
FROM (SELECT member_id, sum(bonus_delta) AS delta FROM entries GROUP BY member_id) t
WHERE a.member_id = t.member_id
"""


def stored_value_expire_due(*, now: datetime | None = None, chunk: int = 2000,
                            run_key: str | None = None) -> int:
    """Expire every bonus lot whose date has come: one entry per lot, each member's bonus
    lowered by the sum, one statement per chunk of members under their account locks.
    Returns the number of members touched."""
    now = resolve_now(now)
    progress = batch_run("points.stored_value_expire", run_key=run_key, now=now)
    now = progress.now
    candidates = """
        SELECT DISTINCT member_id FROM points_storedvaluebonuslot
        WHERE remaining > 0 AND expires_at <= %(now)s AND member_id > %(after)s
        ORDER BY member_id LIMIT %(limit)s
    """

    def apply(members: list[int]) -> int:
        lock_stored_value(members, now=now)
        with connection.cursor() as cursor:
            cursor.execute(_EXPIRE_SQL, {"members": members, "now": now})
        return len(members)

    return batch_by_ids(progress, next_ids=keyset_ids(candidates, {"now": now}, chunk=chunk),
                        apply=apply)


__all__ = ["MAX_STORED_VALUE", "MAX_AMOUNT", "StoredValueMovement", "check_money",
           "spend_split", "stored_value_bonus_for", "stored_value_expire_due",
           "stored_value_give_back", "stored_value_refund", "stored_value_spend",
           "stored_value_top_up"]
