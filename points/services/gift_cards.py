"""Gift cards: batch issue, activation, balance enquiry, spend, give-back on a return, expiry.

A card has a 16-digit code and a 6-digit PIN. The PIN is kept only as a keyed hash
(HMAC-SHA256 under the project's secret, salted with the code): a copy of the database alone
cannot be searched for PINs, and the issue is the one moment the PINs are seen (the batch's
CSV). Guessing is slowed twice over: a card takes `GIFT_CARD_PIN_FAILURES` wrong PINs per
window, then refuses even the right one until the window ends; and each caller (an API key,
a clerk) may make `GIFT_CARD_ENQUIRIES_PER_MINUTE` enquiries a minute. A wrong code and a
wrong PIN answer alike, so an enquiry never tells whether a code exists.

Every balance change is a `GiftCardEntry` under a unique key, written under the card's row
lock; the balance carries a CHECK ≥ 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.crypto import salted_hmac

from core.actor import actor_columns
from core.clock import local_date, resolve_now
from core.money import ZERO
from members.services.batch import batch_in_chunks, batch_run

from ..errors import GiftCardErrorCode, PointsError
from ..expiry import end_of_local_day
from ..models.gift_cards import GiftCard, GiftCardBatch, GiftCardEntry
from .stored_value import check_money, save_keyed_entry

MAX_BATCH = 10_000
CODE_DIGITS, PIN_DIGITS = 16, 6


@dataclass(frozen=True)
class IssuedCard:
    code: str
    pin: str


@dataclass(frozen=True)
class IssuedBatch:
    batch: GiftCardBatch
    cards: tuple[IssuedCard, ...]  # the PINs, this once


@dataclass(frozen=True)
class GiftCardMovement:
    entry: GiftCardEntry
    created: bool


def normalise_code(code: str) -> str:
    """A code as typed or read from the issue's CSV ("1234 5678 9012 3456", with dashes or
    spaces) is its 16 digits."""
    return "".join((code or "").split()).replace("-", "")


def printed_code(code: str) -> str:
    """A code in groups of four, as the issue's CSV prints it: a spreadsheet keeps it as
    text (16 digits read as a number lose the last one)."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def pin_hash(code: str, pin: str) -> str:
    return salted_hmac("points.gift-card-pin", f"{code}:{pin}", algorithm="sha256").hexdigest()


def _digits(n: int) -> str:
    """n random digits, the first not 0 (a spreadsheet opening the CSV keeps them whole)."""
    return secrets.choice("123456789") + "".join(secrets.choice("0123456789")
                                                 for _ in range(n - 1))


def gift_card_batch_check(*, face_value: object, quantity: object,
                          valid_days: object) -> Decimal:
    """A batch has 1 to MAX_BATCH cards of a positive face value, valid 1 to 36,500 days
    (or for ever); answers the face value as money."""
    try:
        face = check_money(face_value)
    except PointsError:
        raise PointsError(GiftCardErrorCode.BATCH_INVALID, limit=MAX_BATCH) from None
    if (not isinstance(quantity, int) or isinstance(quantity, bool)
            or not 0 < quantity <= MAX_BATCH
            or (valid_days is not None and (not isinstance(valid_days, int)
                                            or not 0 < valid_days <= 36500))):
        raise PointsError(GiftCardErrorCode.BATCH_INVALID, limit=MAX_BATCH)
    return face


def gift_card_batch_issue(*, name: str, face_value: object, quantity: int,
                          valid_days: int | None = 365, now: datetime | None = None
                          ) -> IssuedBatch:
    """Issue `quantity` cards of `face_value`, not yet sold (no balance until activated).
    The codes and PINs are answered once; only the PINs' hashes are kept."""
    now = resolve_now(now)
    face = gift_card_batch_check(face_value=face_value, quantity=quantity,
                                 valid_days=valid_days)
    name = (name or "").strip()[:100] or f"¥{face} × {quantity}"
    with transaction.atomic():
        batch = GiftCardBatch.objects.create(name=name, face_value=face, quantity=quantity,
                                             valid_days=valid_days, created_at=now,
                                             **actor_columns())
        issued: list[IssuedCard] = []
        for start in range(0, quantity, 1000):
            while True:  # a code already taken (1 in 10^16 per card) draws the chunk again
                chunk = [IssuedCard(code=_digits(CODE_DIGITS), pin=_digits(PIN_DIGITS))
                         for _ in range(min(1000, quantity - start))]
                try:
                    with transaction.atomic():
                        GiftCard.objects.bulk_create(
                            GiftCard(batch=batch, code=c.code, pin_hash=pin_hash(c.code, c.pin),
                                     face_value=face) for c in chunk)
                except IntegrityError:
                    continue
                issued.extend(chunk)
                break
    return IssuedBatch(batch=batch, cards=tuple(issued))


def _hash(**what) -> str:
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(key: str, digest: str) -> GiftCardMovement | None:
    entry = GiftCardEntry.objects.filter(source_key=key).first()
    if entry is None:
        return None
    if entry.request_hash != digest:
        raise PointsError(GiftCardErrorCode.KEY_CONFLICT)
    return GiftCardMovement(entry=entry, created=False)


def _post(card: GiftCard, entry: GiftCardEntry, now: datetime) -> GiftCardEntry:
    entry.card = card
    entry.created_at = now
    save_keyed_entry(entry, GiftCardErrorCode.KEY_CONFLICT)
    GiftCard.objects.filter(pk=card.pk).update(balance=F("balance") + entry.amount)
    card.refresh_from_db(fields=["balance"])
    return entry


# --- guessing: wrong PINs per card, enquiries per caller -----------------------------------------

class _Window:
    """A count per key in fixed windows of the shared cache (like the API's wrong-key count)."""

    def __init__(self, prefix: str, seconds: int):
        self.prefix, self.seconds = prefix, seconds

    def _key(self, ident: str, now: float) -> str:
        return f"{self.prefix}:{ident}:{int(now // self.seconds)}"

    def count(self, ident: str, now: float) -> int:
        return cache.get(self._key(ident, now)) or 0

    def add(self, ident: str, now: float) -> int:
        key = self._key(ident, now)
        if cache.add(key, 1, timeout=self.seconds * 2):
            return 1
        try:
            return cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=self.seconds * 2)
            return 1

    def retry_after(self, now: float) -> int:
        return int(self.seconds - now % self.seconds) + 1


PIN_FAILURES = _Window("gift-card-pin-failures", 15 * 60)
ENQUIRIES = _Window("gift-card-enquiries", 60)


def _pin_failures_allowed() -> int:
    return getattr(settings, "GIFT_CARD_PIN_FAILURES", 5)


def _enquiries_allowed() -> int:
    return getattr(settings, "GIFT_CARD_ENQUIRIES_PER_MINUTE", 30)


def _throttled(window: _Window, clock: float) -> PointsError:
    return PointsError(GiftCardErrorCode.TOO_MANY_ENQUIRIES,
                       retry_after=window.retry_after(clock))


def _card_with_pin(code: str, pin: str, *, lock: bool) -> GiftCard:
    """The card the code and PIN name; a card past its wrong-PIN allowance refuses even the
    right PIN until its window ends."""
    clock = time.time()
    code = normalise_code(code)
    cards = GiftCard.objects.select_for_update() if lock else GiftCard.objects
    card = cards.filter(code=code).first() if len(code) <= 20 else None
    if card is None:
        pin_hash(code[:20], pin or "")  # the same work for an unknown code
        raise PointsError(GiftCardErrorCode.CARD_NOT_FOUND)
    if PIN_FAILURES.count(str(card.pk), clock) >= _pin_failures_allowed():
        raise _throttled(PIN_FAILURES, clock)
    if not hmac.compare_digest(card.pin_hash, pin_hash(code, pin or "")):
        PIN_FAILURES.add(str(card.pk), clock)
        raise PointsError(GiftCardErrorCode.CARD_NOT_FOUND)
    return card


def gift_card_enquire(*, code: str, pin: str, caller: str) -> GiftCard:
    """A card's balance, state and expiry by code and PIN, for `caller` (an API key's prefix,
    a clerk's account): at most the allowed enquiries a minute per caller, and a card past
    its wrong-PIN allowance answers nothing until its window ends."""
    clock = time.time()
    if ENQUIRIES.add(caller, clock) > _enquiries_allowed():
        raise _throttled(ENQUIRIES, clock)
    return _card_with_pin(code, pin, lock=False)


def _usable(card: GiftCard, now: datetime) -> None:
    if card.state == GiftCard.State.ISSUED:
        raise PointsError(GiftCardErrorCode.CARD_NOT_ACTIVE, state=card.get_state_display())
    if card.state == GiftCard.State.EXPIRED or (card.expires_at and card.expires_at <= now):
        raise PointsError(GiftCardErrorCode.CARD_EXPIRED, expires_at=card.expires_at)


def gift_card_activate(*, code: str, key: str, now: datetime | None = None
                       ) -> GiftCardMovement:
    """Activate a card when it is sold: its balance becomes its face value, and its time
    starts (valid through the end of the batch's days on the Beijing calendar). The same
    key again answers the first activation."""
    now = resolve_now(now)
    digest = _hash(kind="activate", code=normalise_code(code))
    with transaction.atomic():
        card = GiftCard.objects.select_for_update().filter(code=normalise_code(code)).first()
        if card is None:
            raise PointsError(GiftCardErrorCode.CARD_NOT_FOUND)
        if (replay := _replayed(key, digest)) is not None:
            return replay
        if card.state != GiftCard.State.ISSUED:
            raise PointsError(GiftCardErrorCode.CARD_NOT_ACTIVE, state=card.get_state_display())
        days = card.batch.valid_days
        card.state = GiftCard.State.ACTIVE
        card.activated_at = now
        card.expires_at = (end_of_local_day(local_date(now) + timedelta(days=days))
                           if days else None)
        card.save(update_fields=["state", "activated_at", "expires_at"])
        entry = _post(card, GiftCardEntry(kind=GiftCardEntry.Kind.ACTIVATE,
                                          amount=card.face_value, source_key=key,
                                          request_hash=digest), now)
        return GiftCardMovement(entry=entry, created=True)


def gift_card_spend(*, code: str, pin: str, amount: object, key: str,
                    order_id: int | None = None, now: datetime | None = None
                    ) -> GiftCardMovement:
    """Pay with a card: code and PIN, never more than its balance, never after its expiry.
    The same key again answers the first spend."""
    now = resolve_now(now)
    amount = check_money(amount)
    digest = _hash(kind="spend", code=normalise_code(code), amount=amount, order=order_id)
    with transaction.atomic():
        card = _card_with_pin(code, pin, lock=True)
        if (replay := _replayed(key, digest)) is not None:
            return replay
        _usable(card, now)
        if card.balance < amount:
            raise PointsError(GiftCardErrorCode.INSUFFICIENT, available=card.balance,
                              requested=amount)
        entry = _post(card, GiftCardEntry(kind=GiftCardEntry.Kind.SPEND, amount=-amount,
                                          order_id=order_id, source_key=key,
                                          request_hash=digest), now)
        return GiftCardMovement(entry=entry, created=True)


def gift_card_give_back(*, spend: GiftCardEntry, amount: Decimal, key: str, order_id: int,
                        now: datetime | None = None) -> GiftCardMovement:
    """Give back what a card paid on a returned sale. A card that has expired meanwhile
    takes the money back and expires it at once (the buyer's money stays with the card's
    life)."""
    now = resolve_now(now)
    digest = _hash(kind="return", spend=spend.pk, amount=amount, order=order_id)
    with transaction.atomic():
        card = GiftCard.objects.select_for_update().get(pk=spend.card_id)
        if (replay := _replayed(key, digest)) is not None:
            return replay
        entry = _post(card, GiftCardEntry(kind=GiftCardEntry.Kind.RETURN, amount=amount,
                                          order_id=order_id, source_key=key,
                                          request_hash=digest), now)
        if card.state == GiftCard.State.EXPIRED or (card.expires_at and card.expires_at <= now):
            _post(card, GiftCardEntry(kind=GiftCardEntry.Kind.EXPIRE, amount=-amount,
                                      source_key=f"{key}:expired", request_hash=""), now)
            card.state = GiftCard.State.EXPIRED
            card.save(update_fields=["state"])
        return GiftCardMovement(entry=entry, created=True)


_EXPIRE_SQL = """
WITH due AS (
    SELECT id, balance FROM points_giftcard
    WHERE state = 'active' AND expires_at <= %(now)s
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE points_giftcard c SET state = 'expired', balance = 0 FROM due WHERE c.id = due.id
    RETURNING c.id
), entries AS (
    INSERT INTO points_giftcardentry (card_id, kind, amount, source_key, request_hash,
                                      created_at)
    SELECT id, 'expire', -balance, 'gift-card:expire:' || id, '', %(now)s
    FROM due WHERE balance > 0
)
SELECT count(*) FROM due
"""


def gift_cards_expire_due(*, now: datetime | None = None, chunk: int = 2000,
                          run_key: str | None = None) -> int:
    """Expire every active card whose time is up: its balance leaves in one entry, the card
    is marked expired; one statement per chunk. Returns the cards expired."""
    now = resolve_now(now)
    progress = batch_run("points.gift_cards_expire", run_key=run_key, now=now)
    now = progress.now

    def work() -> int:
        with connection.cursor() as cursor:
            cursor.execute(_EXPIRE_SQL, {"now": now, "limit": chunk})
            return cursor.fetchone()[0]

    return batch_in_chunks(progress, work, chunk=chunk)


__all__ = ["MAX_BATCH", "ZERO", "GiftCardMovement", "IssuedBatch", "IssuedCard",
           "gift_card_activate", "gift_card_batch_check", "gift_card_batch_issue",
           "gift_card_enquire", "gift_card_give_back", "gift_card_spend",
           "gift_cards_expire_due", "normalise_code", "pin_hash", "printed_code"]
