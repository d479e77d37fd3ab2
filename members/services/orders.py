"""Sales and returns. The order number (per store) is the order's idempotency key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from core.actor import actor_columns
from core.clock import resolve_now
from core.money import CENT, MAX_AMOUNT, ZERO, to_money

from ..errors import MemberError, MemberErrorCode, OrderError, OrderErrorCode
from ..models import Member, Order, OrderLine, Store

MAX_LINES = 500
COMPONENTS = ("gross_amount", "coupon_discount", "tier_discount", "other_discount",
              "points_cash", "net_amount")
DISCOUNTS = ("coupon_discount", "tier_discount", "other_discount", "points_cash")


@dataclass(frozen=True)
class LineInput:
    """One sale line. Net paid is what points and growth are earned on; when omitted it is
    gross less the coupon, tier and other discounts and the points used as cash."""

    line_no: int
    sku: str
    quantity: int
    gross_amount: Decimal
    category: str = ""
    coupon_discount: Decimal = ZERO
    tier_discount: Decimal = ZERO
    other_discount: Decimal = ZERO
    points_cash: Decimal = ZERO
    net_amount: Decimal | None = None


@dataclass(frozen=True)
class SaleInput:
    store_code: str
    order_no: str
    member_id: int
    ordered_at: datetime
    lines: tuple[LineInput, ...] = field(default_factory=tuple)
    # the payment that took the points used as cash, as the caller named it: part of the
    # order's identity, so a replay must name the same one
    payment_ref: str = ""
    # how the sale was paid (cash, stored value, gift cards by code), as the caller named
    # it: part of the order's identity too
    tenders_ref: str = ""


@dataclass(frozen=True)
class ReturnLineInput:
    """Return `quantity` units of the sale's line `line_no`; the refund is that share of
    what the line paid (the last units returned take the remainder, so a full return
    refunds exactly the sale)."""

    line_no: int
    quantity: int


@dataclass(frozen=True)
class ReturnInput:
    store_code: str
    order_no: str
    sale_order_no: str
    ordered_at: datetime
    lines: tuple[ReturnLineInput, ...] = field(default_factory=tuple)
    sale_store_code: str | None = None  # where the sale was made, if not the same store


@dataclass(frozen=True)
class OrderOutcome:
    order: Order
    created: bool


def _fingerprint(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="ordered_at needs a time zone")
    return moment.astimezone(dt_timezone.utc).isoformat()


def _store(code: str) -> Store:
    store = Store.objects.filter(code=code).first()
    if store is None:
        raise MemberError(MemberErrorCode.STORE_NOT_FOUND, store=code)
    return store


def _order_no(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 64:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="order number must be 1–64 characters")
    return value


def _money(value: object, name: str) -> Decimal:
    try:
        amount = to_money(value)
    except ValueError:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason=f"{name} is not an amount") from None
    if amount < 0:
        raise OrderError(OrderErrorCode.NEGATIVE_AMOUNT, field=name)
    return amount


def _sale_lines(lines: tuple[LineInput, ...]) -> list[dict]:
    if not lines:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="an order needs at least one line")
    if len(lines) > MAX_LINES:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason=f"at most {MAX_LINES} lines")
    seen: set[int] = set()
    result = []
    for line in lines:
        if not isinstance(line.line_no, int) or not 1 <= line.line_no <= 32767:
            raise OrderError(OrderErrorCode.INVALID_ORDER, reason="line numbers are 1–32767")
        if line.line_no in seen:
            raise OrderError(OrderErrorCode.INVALID_ORDER, reason=f"line {line.line_no} twice")
        seen.add(line.line_no)
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= 1_000_000:
            raise OrderError(OrderErrorCode.INVALID_ORDER,
                             reason=f"line {line.line_no}: quantity must be 1–1000000")
        sku = (line.sku or "").strip()
        if not sku or len(sku) > 64 or len(line.category or "") > 64:
            raise OrderError(OrderErrorCode.INVALID_ORDER,
                             reason=f"line {line.line_no}: SKU must be 1–64 characters")
        row = {"line_no": line.line_no, "sku": sku, "category": (line.category or "").strip(),
               "quantity": line.quantity}
        for name in COMPONENTS[:-1]:
            row[name] = _money(getattr(line, name), name)
        net = row["gross_amount"] - sum(row[name] for name in DISCOUNTS)
        if line.net_amount is not None and _money(line.net_amount, "net_amount") != net:
            raise OrderError(OrderErrorCode.AMOUNTS_DO_NOT_ADD_UP, line=line.line_no)
        if net < 0:
            raise OrderError(OrderErrorCode.AMOUNTS_DO_NOT_ADD_UP, line=line.line_no)
        row["net_amount"] = net
        result.append(row)
    return sorted(result, key=lambda r: r["line_no"])


def _totals(rows: list[dict]) -> dict[str, Decimal]:
    totals = {name: sum((r[name] for r in rows), ZERO) for name in COMPONENTS}
    if totals["gross_amount"] > MAX_AMOUNT:  # the order's columns hold 12 digits, like a line's
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="the order total is too large")
    return totals


def _existing(store: Store, order_no: str, fingerprint: str) -> OrderOutcome | None:
    order = Order.objects.filter(store=store, order_no=order_no).first()
    if order is None:
        return None
    if order.fingerprint != fingerprint:
        raise OrderError(OrderErrorCode.ORDER_NUMBER_CONFLICT, order_no=order_no)
    return OrderOutcome(order=order, created=False)


def _insert(order: Order, rows: list[dict], originals: dict[int, int] | None = None) -> OrderOutcome:
    """Insert an order and its lines; a concurrent insert of the same number loses cleanly."""
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            OrderLine.objects.bulk_create(
                OrderLine(order=order, original_line_id=(originals or {}).get(r["line_no"]),
                          **{k: v for k, v in r.items()})
                for r in rows
            )
    except IntegrityError as exc:
        if "order_number_per_store" not in str(exc):
            raise
        existing = _existing(order.store, order.order_no, order.fingerprint)
        if existing is None:  # pragma: no cover - the unique index said otherwise
            raise
        return existing
    return OrderOutcome(order=order, created=True)


def order_record_sale(*, sale: SaleInput, now: datetime | None = None) -> OrderOutcome:
    """Store a sale once. The same order sent again answers the first outcome; a different
    order under a used number is refused. A frozen member's sale is stored (the money was
    paid); whether it earns is the earning step's business."""
    now = resolve_now(now)
    order_no = _order_no(sale.order_no)
    rows = _sale_lines(tuple(sale.lines))
    identity = {"kind": "sale", "store": sale.store_code, "order_no": order_no,
                "member": sale.member_id, "at": _utc(sale.ordered_at), "lines": rows}
    if sale.payment_ref:
        identity["payment"] = sale.payment_ref
    if sale.tenders_ref:
        identity["tenders"] = sale.tenders_ref
    fingerprint = _fingerprint(identity)
    with transaction.atomic():
        store = _store(sale.store_code)
        if (existing := _existing(store, order_no, fingerprint)) is not None:
            return existing
        member = Member.objects.filter(pk=sale.member_id).only("pk", "status").first()
        if member is None:
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        if member.status == Member.Status.CLOSED:
            raise MemberError(MemberErrorCode.MEMBER_CLOSED)
        order = Order(store=store, order_no=order_no, kind=Order.Kind.SALE, member=member,
                      ordered_at=sale.ordered_at, fingerprint=fingerprint, created_at=now,
                      **actor_columns(),
                      **_totals(rows))
        return _insert(order, rows)


def _share(amount: Decimal, part: int, whole: int) -> Decimal:
    return (amount * part / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def order_record_return(*, ret: ReturnInput, now: datetime | None = None) -> OrderOutcome:
    """Store a return against its sale, never more than is left of the sale.

    Returning 1 of 3 units of a line that paid ¥90 refunds ¥30; returning the last unit
    refunds whatever is left, so the returns of a line always add up to exactly its sale.
    """
    now = resolve_now(now)
    order_no = _order_no(ret.order_no)
    sale_no = _order_no(ret.sale_order_no)
    if not ret.lines:
        raise OrderError(OrderErrorCode.INVALID_ORDER, reason="a return needs at least one line")
    wanted: dict[int, int] = {}
    for line in ret.lines:
        if not isinstance(line.quantity, int) or line.quantity < 1:
            raise OrderError(OrderErrorCode.INVALID_ORDER,
                             reason=f"line {line.line_no}: quantity must be positive")
        if line.line_no in wanted:
            raise OrderError(OrderErrorCode.INVALID_ORDER, reason=f"line {line.line_no} twice")
        wanted[line.line_no] = line.quantity
    sale_store_code = ret.sale_store_code or ret.store_code
    fingerprint = _fingerprint({
        "kind": "return", "store": ret.store_code, "order_no": order_no,
        "sale_store": sale_store_code, "sale": sale_no, "at": _utc(ret.ordered_at),
        "lines": sorted(wanted.items()),
    })
    with transaction.atomic():
        store = _store(ret.store_code)
        sale_store = store if sale_store_code == ret.store_code else _store(sale_store_code)
        if (existing := _existing(store, order_no, fingerprint)) is not None:
            return existing
        sale = (Order.objects.select_for_update()
                .filter(store=sale_store, order_no=sale_no, kind=Order.Kind.SALE).first())
        if sale is None:
            raise OrderError(OrderErrorCode.SALE_NOT_FOUND, order_no=sale_no, store=sale_store_code)
        # The sale is locked: concurrent returns of it are serialised, so re-check.
        if (existing := _existing(store, order_no, fingerprint)) is not None:
            return existing
        sale_lines = {line.line_no: line for line in sale.lines.all()}
        returned = {
            row["original_line_id"]: row
            for row in OrderLine.objects.filter(original_line__order=sale)
            .values("original_line_id")
            .annotate(quantity=Sum("quantity"), **{f"{c}": Sum(c) for c in COMPONENTS})
        }
        rows, originals = [], {}
        for line_no, quantity in sorted(wanted.items()):
            sold = sale_lines.get(line_no)
            if sold is None:
                raise OrderError(OrderErrorCode.LINE_NOT_FOUND, line=line_no)
            done = returned.get(sold.pk, {})
            qty_left = sold.quantity - (done.get("quantity") or 0)
            left = {c: getattr(sold, c) - (done.get(c) or ZERO) for c in COMPONENTS}
            if quantity > qty_left:
                raise OrderError(OrderErrorCode.RETURN_EXCEEDS_SALE, line=line_no,
                                 quantity_left=qty_left, amount_left=left["net_amount"])
            if quantity == qty_left:
                parts = dict(left)
            else:
                parts = {c: _share(left[c], quantity, qty_left) for c in DISCOUNTS}
                parts["net_amount"] = _share(left["net_amount"], quantity, qty_left)
                parts["gross_amount"] = parts["net_amount"] + sum(parts[c] for c in DISCOUNTS)
            rows.append({"line_no": line_no, "sku": sold.sku, "category": sold.category,
                         "quantity": quantity, **parts})
            originals[line_no] = sold.pk
        order = Order(store=store, order_no=order_no, kind=Order.Kind.RETURN,
                      member_id=sale.member_id, original_order=sale, ordered_at=ret.ordered_at,
                      fingerprint=fingerprint, created_at=now, **actor_columns(),
                      **_totals(rows))
        return _insert(order, rows, originals)
