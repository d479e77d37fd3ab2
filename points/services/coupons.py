"""Coupons: issue, value against a basket, redeem, void and expire.

Every change of a coupon's state locks the coupon row, checks the state it expects, and
writes the state and a `CouponEvent` in one transaction, so a coupon is redeemed at most
once however many checkouts try at the same time.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from core.actor import actor_columns, actor_store_id
from core.batch import execute_limited
from core.clock import programme_tz, resolve_now
from core.money import CENT, ZERO
from members.services.access import member_note_write
from members.services.batch import batch_in_chunks, batch_run

from ..errors import PointsError, PointsErrorCode
from ..models import Coupon, CouponEvent, CouponKind, CouponTemplate
from .posting import posting_member

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 12
CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,32}$")
MAX_UPLOAD = 100_000


@dataclass(frozen=True)
class BasketLine:
    sku: str
    quantity: int
    amount: Decimal  # what the line costs, after the shop's own discounts
    category: str = ""


@dataclass(frozen=True)
class Basket:
    lines: tuple[BasketLine, ...]
    shipping_fee: Decimal = ZERO

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True)
class CouponValue:
    """What a coupon is worth for a basket; `why` says why not when it does not apply."""

    coupon: Coupon
    applicable: bool
    value: Decimal
    why: str = ""


def coupon_value(*, template: CouponTemplate, basket: Basket,
                 face_value: Decimal | None = None) -> tuple[Decimal, str]:
    """The discount a template gives a basket, or (0, why not). A coupon with its own face
    value (set at issue) takes that off instead of the template's amount.

    Spend ¥200 save ¥30 on a ¥250 basket: ¥30; on ¥150: nothing, below the threshold.
    10% off capped at ¥20 on ¥300: ¥20. A product voucher pays one unit of its SKU (up to
    its amount). No discount exceeds what it applies to.
    """
    subtotal = basket.subtotal
    amount = face_value if face_value is not None else template.amount
    if subtotal < template.threshold:
        return ZERO, _("the basket is below ¥%(threshold)s") % {"threshold": template.threshold}
    kind = template.kind
    if kind in (CouponKind.SPEND_SAVE, CouponKind.NO_THRESHOLD):
        value = min(amount, subtotal)
    elif kind == CouponKind.PERCENT_OFF:
        value = (subtotal * template.percent_off / 100).quantize(CENT, rounding=ROUND_DOWN)
        if template.max_discount is not None:
            value = min(value, template.max_discount)
    elif kind == CouponKind.FREE_SHIPPING:
        if basket.shipping_fee <= 0:
            return ZERO, _("the basket has no shipping fee")
        value = basket.shipping_fee
    elif kind == CouponKind.PRODUCT_VOUCHER:
        lines = [line for line in basket.lines if line.sku == template.sku and line.quantity > 0]
        if not lines:
            return ZERO, _("product %(sku)s is not in the basket") % {"sku": template.sku}
        unit = max((line.amount / line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
                   for line in lines)
        value = unit if amount is None else min(unit, amount)
    else:  # pragma: no cover - the CHECK constraints allow no other kind
        return ZERO, kind
    if value <= 0:
        return ZERO, _("nothing to discount")
    return value, ""


def _event(coupon: Coupon, kind: str, now: datetime, **fields) -> CouponEvent:
    return CouponEvent.objects.create(coupon=coupon, member_id=coupon.member_id, kind=kind,
                                      created_at=now, store_id=actor_store_id(),
                                      **actor_columns(), **fields)


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def coupon_validity(template: CouponTemplate, now: datetime) -> tuple[datetime, datetime]:
    """When a coupon issued now is valid: its template's days from now, or its dates."""
    if template.valid_days:
        return now, now + timedelta(days=template.valid_days)
    return template.valid_from or now, template.valid_until


# Issued coupons keep the terms they were issued with: once a template has coupons these
# cannot change (it can still be renamed, switched off or given other face-value bounds).
COUPON_TERMS = ("kind", "threshold", "amount", "percent_off", "max_discount", "sku",
                "valid_from", "valid_until", "valid_days", "code_source")


def coupon_template_terms_check(template: CouponTemplate,
                                saved: CouponTemplate | None = None) -> None:
    """Refuse (`coupon_template_terms_fixed`) an edit that re-prices a template coupons were
    issued from: any of COUPON_TERMS differing from the saved row (`saved`, or read)."""
    if template.pk is None or not Coupon.objects.filter(template_id=template.pk).exists():
        return
    saved = saved or CouponTemplate.objects.get(pk=template.pk)
    changed = [name for name in COUPON_TERMS if getattr(saved, name) != getattr(template, name)]
    if changed:
        raise PointsError(PointsErrorCode.COUPON_TEMPLATE_TERMS_FIXED, fields=", ".join(changed))


def coupon_template_save(*, template: CouponTemplate,
                         now: datetime | None = None) -> CouponTemplate:
    """Save an operator's template: a new one is created as given; an edit is checked by
    `coupon_template_terms_check` against the row as locked (two edits at once are checked
    one after the other)."""
    now = resolve_now(now)
    with transaction.atomic():
        if template.pk is None:
            template.created_at = now
            template.save()
            return template
        saved = CouponTemplate.objects.select_for_update().get(pk=template.pk)
        coupon_template_terms_check(template, saved)
        template.save()
        return template


def coupon_face_value_check(template: CouponTemplate, value: Decimal | None) -> None:
    """A coupon's own face value must lie within its template's bounds (and, for spend X
    save Y, not above X)."""
    if value is None:
        return
    if (template.face_value_min is None or not template.face_value_min <= value
            <= template.face_value_max
            or (template.kind == CouponKind.SPEND_SAVE and value > template.threshold)):
        raise PointsError(PointsErrorCode.COUPON_FACE_VALUE, value=value)


def coupon_issue(*, template_id: int, member_id: int, source_key: str | None = None,
                 face_value: Decimal | None = None, now: datetime | None = None) -> Coupon:
    """Give a member a coupon of a template.

    Generated templates make a fresh random code; uploaded ones take the next code from the
    pool (SKIP LOCKED, so concurrent issues never take the same one). Validity is the
    template's fixed window or N days from now. A source key makes a retry return the same
    coupon. `face_value` gives this coupon its own amount off within the template's bounds.
    """
    now = resolve_now(now)
    with transaction.atomic():
        if source_key:
            # two issues under one key queue here; the second finds the first's coupon
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                               [f"coupon-issue:{source_key}"])
        if source_key and (done := Coupon.objects.filter(source_key=source_key).first()):
            if done.template_id != template_id or done.member_id != member_id:
                raise PointsError(PointsErrorCode.SOURCE_KEY_CONFLICT)
            return done
        member = posting_member(member_id)
        if not member.can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        template = CouponTemplate.objects.filter(pk=template_id).first()
        if template is None:
            raise PointsError(PointsErrorCode.COUPON_TEMPLATE_NOT_FOUND)
        if not template.is_active or (template.valid_until and template.valid_until <= now):
            raise PointsError(PointsErrorCode.COUPON_TEMPLATE_INACTIVE)
        coupon_face_value_check(template, face_value)
        valid_from, valid_until = coupon_validity(template, now)
        fields = {"member_id": member_id, "state": Coupon.State.ISSUED, "issued_at": now,
                  "valid_from": valid_from, "valid_until": valid_until, "source_key": source_key,
                  "face_value": face_value}
        if template.code_source == "uploaded":
            coupon = (Coupon.objects.select_for_update(skip_locked=True)
                      .filter(template=template, state=Coupon.State.UNISSUED)
                      .order_by("id").first())
            if coupon is None:
                raise PointsError(PointsErrorCode.COUPON_CODES_EXHAUSTED)
            for name, value in fields.items():
                setattr(coupon, name, value)
            coupon.save(update_fields=[*fields.keys()])
        else:
            coupon = None
            for _attempt in range(5):
                try:
                    with transaction.atomic():
                        coupon = Coupon.objects.create(template=template, code=_new_code(),
                                                       created_at=now, **fields)
                    break
                except IntegrityError:  # the random code exists already: draw another
                    continue
            if coupon is None:  # pragma: no cover - 31^12 codes
                raise PointsError(PointsErrorCode.COUPON_CODE_TAKEN, codes="…")
        _event(coupon, CouponEvent.Kind.ISSUED, now)
        return coupon


def coupons_upload(*, template_id: int, codes: Iterable[str],
                   now: datetime | None = None) -> int:
    """Add an operator's codes to a template's pool (all or none). Returns how many."""
    now = resolve_now(now)
    clean = []
    for raw in codes:
        code = raw.strip()
        if not code:
            continue
        if not CODE_PATTERN.match(code):
            raise PointsError(PointsErrorCode.COUPON_CODE_INVALID, code=code[:40])
        clean.append(code.upper())
    if not clean:
        raise PointsError(PointsErrorCode.COUPON_CODE_INVALID, code="")
    if len(clean) > MAX_UPLOAD:
        raise PointsError(PointsErrorCode.AMOUNT_TOO_LARGE, limit=MAX_UPLOAD)
    doubles = sorted(code for code, n in Counter(clean).items() if n > 1)
    if doubles:
        raise PointsError(PointsErrorCode.COUPON_CODE_TAKEN, codes=", ".join(doubles[:10]))
    with transaction.atomic():
        template = CouponTemplate.objects.filter(pk=template_id).first()
        if template is None:
            raise PointsError(PointsErrorCode.COUPON_TEMPLATE_NOT_FOUND)
        taken = list(Coupon.objects.filter(code__in=clean).values_list("code", flat=True)[:10])
        if taken:
            raise PointsError(PointsErrorCode.COUPON_CODE_TAKEN, codes=", ".join(taken))
        try:
            with transaction.atomic():
                Coupon.objects.bulk_create(
                    [Coupon(template=template, code=code, state=Coupon.State.UNISSUED,
                            created_at=now) for code in clean], batch_size=5000)
        except IntegrityError:  # uploaded at the same moment by someone else
            raise PointsError(PointsErrorCode.COUPON_CODE_TAKEN, codes="…") from None
        return len(clean)


def _lock_coupon(code: str) -> Coupon:
    coupon = (Coupon.objects.select_for_update().select_related("template")
              .filter(code=(code or "").strip().upper()).first())
    if coupon is None:
        raise PointsError(PointsErrorCode.COUPON_NOT_FOUND)
    return coupon


def _local(moment: datetime) -> str:
    """A time as members read it: Beijing time, to the minute."""
    return moment.astimezone(programme_tz()).strftime("%Y-%m-%d %H:%M")


def coupon_check(*, coupon: Coupon, member_id: int, basket: Basket, now: datetime) -> Decimal:
    """What the member's coupon takes off the basket now, or the reason it cannot be used."""
    if coupon.member_id != member_id:
        raise PointsError(PointsErrorCode.COUPON_NOT_OWNED)
    if coupon.state != Coupon.State.ISSUED:
        if coupon.state == Coupon.State.EXPIRED:
            raise PointsError(PointsErrorCode.COUPON_EXPIRED,
                              valid_until=_local(coupon.valid_until))
        raise PointsError(PointsErrorCode.COUPON_NOT_USABLE, state=coupon.get_state_display())
    if coupon.valid_until <= now:
        raise PointsError(PointsErrorCode.COUPON_EXPIRED, valid_until=_local(coupon.valid_until))
    if coupon.valid_from and coupon.valid_from > now:
        raise PointsError(PointsErrorCode.COUPON_NOT_YET_VALID,
                          valid_from=_local(coupon.valid_from))
    value, why = coupon_value(template=coupon.template, basket=basket,
                              face_value=coupon.face_value)
    if why:
        raise PointsError(PointsErrorCode.COUPON_NOT_APPLICABLE, why=why)
    return value


def coupon_redeem(*, code: str, member_id: int, basket: Basket, order_no: str,
                  now: datetime | None = None) -> Coupon:
    """Use a member's coupon on an order, once.

    The coupon row is locked, so of two checkouts at the same moment one redeems and the
    other is told the coupon is redeemed. Sending the same order again answers the first
    redemption.
    """
    now = resolve_now(now)
    order_no = (order_no or "").strip()
    with transaction.atomic():
        coupon = _lock_coupon(code)
        if (coupon.state == Coupon.State.REDEEMED and coupon.member_id == member_id
                and order_no and coupon.order_no == order_no[:64]):
            return coupon  # a retry of the same redemption
        if not posting_member(member_id).can_earn_or_spend:
            raise PointsError(PointsErrorCode.MEMBER_FROZEN)
        value = coupon_check(coupon=coupon, member_id=member_id, basket=basket, now=now)
        coupon.state = Coupon.State.REDEEMED
        coupon.redeemed_at = now
        coupon.order_no = order_no[:64]
        coupon.discount = value
        coupon.save(update_fields=["state", "redeemed_at", "order_no", "discount"])
        _event(coupon, CouponEvent.Kind.REDEEMED, now, order_no=coupon.order_no, discount=value)
        return coupon


def coupon_void(*, code: str, reason: str, now: datetime | None = None) -> Coupon:
    """Withdraw a coupon that is issued or still in the pool; a used one cannot be voided.
    The reason someone typed is kept as a note the `voided` event points at (erasure blanks
    it), never on the event itself."""
    now = resolve_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(PointsErrorCode.REASON_REQUIRED)
    with transaction.atomic():
        coupon = _lock_coupon(code)
        if coupon.state not in (Coupon.State.ISSUED, Coupon.State.UNISSUED):
            raise PointsError(PointsErrorCode.COUPON_NOT_USABLE, state=coupon.get_state_display())
        coupon.state = Coupon.State.VOIDED
        coupon.save(update_fields=["state"])
        _event(coupon, CouponEvent.Kind.VOIDED, now,
               note=member_note_write(member_id=coupon.member_id, text=reason, now=now))
        return coupon


@dataclass(frozen=True)
class CouponsRestored:
    restored: list[Coupon]
    not_restored: list[tuple[Coupon, str]]  # (coupon, reason: "expired")


def coupons_restore_for_order(*, member_id: int, order_no: str, return_no: str,
                              now: datetime | None = None) -> CouponsRestored:
    """An order returned in full gives its coupons back: each coupon the member redeemed on
    it is issued again (a `restored` event) while its validity lasts, and may be used
    again; one whose validity has ended stays redeemed (reason "expired")."""
    now = resolve_now(now)
    order_no = (order_no or "").strip()[:64]
    restored, kept = [], []
    with transaction.atomic():
        coupons = (Coupon.objects.select_for_update().select_related("template")
                   .filter(member_id=member_id, order_no=order_no,
                           state=Coupon.State.REDEEMED).order_by("id"))
        for coupon in coupons:
            if coupon.valid_until <= now:
                kept.append((coupon, "expired"))
                continue
            discount = coupon.discount
            coupon.state = Coupon.State.ISSUED
            coupon.redeemed_at = None
            coupon.order_no = ""
            coupon.discount = None
            coupon.save(update_fields=["state", "redeemed_at", "order_no", "discount"])
            _event(coupon, CouponEvent.Kind.RESTORED, now, order_no=return_no[:64],
                   discount=discount, reason=f"order {order_no} returned"[:200])
            restored.append(coupon)
    return CouponsRestored(restored=restored, not_restored=kept)


_EXPIRE_SQL = """
WITH due AS (
    SELECT id FROM points_coupon
    WHERE state = 'issued' AND valid_until <= %(now)s
    ORDER BY valid_until, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE points_coupon c SET state = 'expired' FROM due WHERE c.id = due.id
    RETURNING c.id, c.member_id
)
INSERT INTO points_couponevent (coupon_id, member_id, kind, order_no, reason, created_at)
SELECT id, member_id, 'expired', '', '', %(now)s FROM expired
"""


def coupons_expire_due(*, now: datetime | None = None, chunk: int = 5000,
                       run_key: str | None = None) -> int:
    """Expire every issued coupon whose validity has ended, a chunk per statement and per
    transaction; coupons being redeemed right now are skipped and caught by the next run.
    An expired coupon is no longer due, so no chunk acts twice; the run's row
    (members.services.batch) keeps its `now` and count. Returns the number expired."""
    progress = batch_run("coupons.expire", run_key=run_key, now=resolve_now(now))
    return batch_in_chunks(progress, lambda: execute_limited(
        _EXPIRE_SQL, {"now": progress.now}, chunk=chunk), chunk=chunk)
