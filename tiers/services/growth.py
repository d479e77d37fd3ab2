"""Writes to the growth ledger: growth from sales, returns and events, each posting
followed at once by the upgrade it earns (services.ladder), under the member's growth-account
lock (tiers.locks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum

from core.clock import resolve_now
from members.models import Member, MemberActivity, Order

from ..errors import TierError, TierErrorCode
from ..locks import lock_growth_accounts
from ..models import (
    GrowthAccount,
    GrowthEntry,
    GrowthKind,
    TierChange,
    TierSettings,
)
from .ladder import tier_downgrade_now, tier_evaluate_upgrade

MAX_GROWTH = 100_000_000  # one operation; guards against typos and overflow


@dataclass(frozen=True)
class GrowthPosting:
    """The entry an operation wrote (or the one it wrote the first time: a replay) and the
    tier change it caused, if any."""

    entry: GrowthEntry | None
    created: bool
    change: TierChange | None = None


# --- postings ---------------------------------------------------------------------------------


def _check_amount(points: int) -> None:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise TierError(TierErrorCode.NON_POSITIVE_GROWTH)
    if points > MAX_GROWTH:
        raise TierError(TierErrorCode.GROWTH_TOO_LARGE, limit=MAX_GROWTH)


def _replay(source_key: str | None, **expected) -> GrowthPosting | None:
    if not source_key:
        return None
    entry = GrowthEntry.objects.filter(source_key=source_key).first()
    if entry is None:
        return None
    for name, value in expected.items():
        if getattr(entry, name) != value:
            raise TierError(TierErrorCode.SOURCE_KEY_CONFLICT)
    return GrowthPosting(entry=entry, created=False)


def _post(account: GrowthAccount, *, kind: str, delta: int, now: datetime,
          order_id: int | None = None, source_key: str | None = None,
          reason: str = "") -> GrowthEntry:
    entry = GrowthEntry.objects.create(member_id=account.member_id, kind=kind, delta=delta,
                                       order_id=order_id, source_key=source_key,
                                       reason=reason[:200], created_at=now)
    account.growth += delta
    account.period_growth = max(0, account.period_growth + delta)
    account.updated_at = now
    account.save(update_fields=["growth", "period_growth", "updated_at"])
    return entry


def _is_active(member_id: int) -> bool:
    return Member.objects.filter(Member.can_earn_or_spend_q(), pk=member_id).exists()


def growth_add(*, member_id: int, points: int, source_key: str | None, reason: str = "",
               order_id: int | None = None, now: datetime | None = None) -> GrowthPosting:
    """Credit growth and upgrade at once if it crosses a threshold. A replay (same source
    key) answers the first posting; a member who is not active earns nothing."""
    now = resolve_now(now)
    _check_amount(points)
    with transaction.atomic():
        account = lock_growth_accounts([member_id], now=now)[member_id]
        if (replay := _replay(source_key, member_id=member_id, kind=GrowthKind.EARN,
                              delta=points, order_id=order_id)) is not None:
            return replay
        if not _is_active(member_id):
            return GrowthPosting(entry=None, created=False)
        entry = _post(account, kind=GrowthKind.EARN, delta=points, now=now, order_id=order_id,
                      source_key=source_key, reason=reason)
        return GrowthPosting(entry=entry, created=True,
                             change=tier_evaluate_upgrade(account=account, now=now))


def _evaluate_only(member_id: int, now: datetime) -> GrowthPosting:
    with transaction.atomic():
        account = lock_growth_accounts([member_id], now=now)[member_id]
        return GrowthPosting(entry=None, created=False,
                             change=tier_evaluate_upgrade(account=account, now=now))


def growth_for_sale(*, order: Order, now: datetime | None = None) -> GrowthPosting:
    """Growth per yuan of the sale's net paid, rounded down; the first purchase alone may
    lift a member a tier (Bronze) even when it earns no growth."""
    now = resolve_now(now)
    rate = TierSettings.current().growth_per_yuan
    points = int((order.net_amount * rate).to_integral_value(rounding=ROUND_DOWN))
    if points <= 0:
        return _evaluate_only(order.member_id, now)
    return growth_add(member_id=order.member_id, points=min(points, MAX_GROWTH),
                      source_key=f"sale:{order.pk}", reason="sale", order_id=order.pk, now=now)


def growth_reverse_for_return(*, ret: Order, now: datetime | None = None) -> GrowthPosting | None:
    """Take back the sale's growth in proportion to the net returned, cumulatively over all
    its returns (so partial returns add up exactly). Never below zero; a downgrade only with
    the ladder's `immediate_downgrade` option (off by default)."""
    now = resolve_now(now)
    sale = ret.original_order
    earned = GrowthEntry.objects.filter(order_id=sale.pk, kind=GrowthKind.EARN).first()
    if earned is None or sale.net_amount <= 0:
        return None
    with transaction.atomic():
        account = lock_growth_accounts([ret.member_id], now=now)[ret.member_id]
        if (replay := _replay(f"reverse:order:{ret.pk}")) is not None:
            return replay
        returned = (Order.objects.filter(original_order=sale, kind=Order.Kind.RETURN)
                    .aggregate(s=Sum("net_amount"))["s"] or Decimal(0))
        share = Decimal(earned.delta) * returned / sale.net_amount
        target = min(earned.delta, int(share.to_integral_value(rounding=ROUND_HALF_UP)))
        already = -(GrowthEntry.objects.filter(kind=GrowthKind.REVERSE,
                                               order__original_order=sale)
                    .aggregate(s=Sum("delta"))["s"] or 0)
        take = min(target - already, account.growth)
        if take <= 0:
            return None
        entry = _post(account, kind=GrowthKind.REVERSE, delta=-take, now=now, order_id=ret.pk,
                      source_key=f"reverse:order:{ret.pk}", reason="return")
        return GrowthPosting(entry=entry, created=True,
                             change=tier_downgrade_now(account=account, now=now))


def growth_for_event(*, activity: MemberActivity, now: datetime | None = None) -> GrowthPosting | None:
    """Growth for a registration or an interaction (per kind, from TierSettings). A
    registration also gives a member with no tier the entry tier."""
    now = resolve_now(now)
    points = TierSettings.current().growth_for_event(activity.kind)
    if points > 0:
        return growth_add(member_id=activity.member_id, points=points,
                          source_key=f"activity:{activity.pk}", reason=activity.kind, now=now)
    if activity.kind == "registration":
        return _evaluate_only(activity.member_id, now)
    return None
