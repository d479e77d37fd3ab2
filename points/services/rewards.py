"""Redeeming rewards for points, fulfilling goods, cancelling.

Lock order, the same everywhere: the member's points account (points.locks), then the
reward row. The account lock serialises one member's redemptions, so the per-member limit
is counted without a race; the reward row lock (taken by the stock UPDATE) serialises
stock, so it never goes below zero and the last units go to exactly as many members as
there are units.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.actor import actor_columns
from core.clock import resolve_now
from members.errors import MemberError, MemberErrorCode
from members.models import Member, MemberTag, Store
from members.services.access import member_note_write

from ..errors import PointsError, PointsErrorCode
from ..expiry import lot_expires_at
from ..locks import lock_accounts
from ..models import EntryKind, PointsEntry, PointsLot, PointsSettings, Reward, RewardRedemption
from ..models.rewards import Fulfilment, RedemptionChange, RewardKind
from ..selectors.rewards import redeemed_units
from .coupons import coupon_issue
from .ledger import points_spend
from .posting import MAX_POINTS, post

MAX_QUANTITY = 1000
State = RewardRedemption.State
Step = RedemptionChange.Step


def reward_save(*, reward: Reward, add_stock: int | None = None,
                now: datetime | None = None) -> Reward:
    """Save an operator's edit of a reward. Stock may only grow once set: the edit never
    writes `stock` (redemptions happening meanwhile are never overwritten); `add_stock`
    units are added to what is left, and an unlimited reward may be given a first stock.
    A new reward is created as given."""
    now = resolve_now(now)
    if add_stock is not None and add_stock < 1:
        raise PointsError(PointsErrorCode.REWARD_STOCK_ONLY_GROWS)
    with transaction.atomic():
        if reward.pk is None:
            reward.created_at = now
            reward.save()
            return reward
        reward.save(update_fields=[f.name for f in Reward._meta.concrete_fields
                                   if f.name not in ("id", "stock", "created_at")])
        if add_stock:
            Reward.objects.filter(pk=reward.pk, stock__isnull=False).update(
                stock=F("stock") + add_stock)
        elif reward.stock is not None:
            # an unlimited reward gets a stock: nothing to race with yet
            Reward.objects.filter(pk=reward.pk, stock__isnull=True).update(stock=reward.stock)
        reward.refresh_from_db(fields=["stock"])
        return reward


def reward_availability(reward: Reward, now: datetime) -> str:
    """Why the reward cannot be redeemed now ("" when it can)."""
    if not reward.is_active:
        return _("it is not active")
    if reward.starts_at and now < reward.starts_at:
        return _("it is not available yet")
    if reward.ends_at and now >= reward.ends_at:
        return _("it is no longer available")
    return ""


def reward_is_eligible(reward: Reward, member_id: int) -> bool:
    """No tags: everyone. Otherwise the member holds at least one of them."""
    tag_ids = [tag.pk for tag in reward.eligible_tags.all()]
    if not tag_ids:
        return True
    return MemberTag.objects.filter(member_id=member_id, tag_id__in=tag_ids).exists()


def reward_redeem(*, member_id: int, reward_id: int, source_key: str, quantity: int = 1,
                  fulfilment: str | None = None, store_code: str | None = None,
                  now: datetime | None = None) -> RewardRedemption:
    """Buy a reward with points: stock, limit, points and the redemption row together.

    Gift A costs 500 points and has 10 left: a member with 1,200 points redeems 2 and keeps
    200, the stock drops to 8. Out of window, not eligible, out of stock, over the limit or
    short of points: nothing changes. A coupon reward issues its coupon at once; goods wait
    for pickup at a store or for shipping. The same source key returns the first redemption.
    """
    now = resolve_now(now)
    if len(source_key) > 100:  # room for the prefixes of the spend and coupon keys
        source_key = "sha256:" + hashlib.sha256(source_key.encode()).hexdigest()
    if (not isinstance(quantity, int) or isinstance(quantity, bool)
            or not 0 < quantity <= MAX_QUANTITY):
        raise PointsError(PointsErrorCode.AMOUNT_TOO_LARGE, limit=MAX_QUANTITY)
    with transaction.atomic():
        reward = (Reward.objects.filter(pk=reward_id).select_related("coupon_template")
                  .prefetch_related("eligible_tags").first())
        if reward is None:
            raise PointsError(PointsErrorCode.REWARD_NOT_FOUND)
        if not Member.objects.filter(pk=member_id).exists():
            raise MemberError(MemberErrorCode.MEMBER_NOT_FOUND)
        lock_accounts([member_id], now=now)
        if (done := RewardRedemption.objects.filter(source_key=source_key).first()) is not None:
            if (done.member_id, done.reward_id, done.quantity) != (member_id, reward_id, quantity):
                raise PointsError(PointsErrorCode.SOURCE_KEY_CONFLICT)
            return done
        if why := reward_availability(reward, now):
            raise PointsError(PointsErrorCode.REWARD_NOT_AVAILABLE, why=why)
        if not reward_is_eligible(reward, member_id):
            raise PointsError(PointsErrorCode.REWARD_NOT_ELIGIBLE)
        store = None
        if reward.kind == RewardKind.COUPON:
            fulfilment = Fulfilment.COUPON
        else:
            fulfilment = fulfilment or (Fulfilment.PICKUP if store_code else Fulfilment.SHIPPING)
            if fulfilment not in (Fulfilment.PICKUP, Fulfilment.SHIPPING):
                raise PointsError(PointsErrorCode.PICKUP_STORE_REQUIRED)
            if fulfilment == Fulfilment.PICKUP:
                store = Store.objects.filter(code=store_code or "").first()
                if store is None:
                    raise PointsError(PointsErrorCode.PICKUP_STORE_REQUIRED)
        if reward.per_member_limit is not None:
            redeemed = redeemed_units(reward_id=reward.pk, member_id=member_id)
            if redeemed + quantity > reward.per_member_limit:
                raise PointsError(PointsErrorCode.REWARD_LIMIT_REACHED,
                                  limit=reward.per_member_limit, redeemed=redeemed)
        points = reward.points_cost * quantity
        if points > MAX_POINTS:
            raise PointsError(PointsErrorCode.AMOUNT_TOO_LARGE, limit=MAX_POINTS)
        if reward.stock is not None:
            # one statement: the row lock it takes queues the next redeemer behind this one
            taken = (Reward.objects.filter(pk=reward.pk, stock__gte=quantity)
                     .update(stock=F("stock") - quantity))
            if not taken:
                left = Reward.objects.filter(pk=reward.pk).values_list("stock", flat=True).first()
                raise PointsError(PointsErrorCode.OUT_OF_STOCK, stock=left, requested=quantity)
        spend = points_spend(member_id=member_id, points=points,
                             source_key=f"reward:{source_key}",
                             reason=f"reward {reward.pk}: {reward.name}"[:200], now=now)
        coupons = None
        if reward.kind == RewardKind.COUPON:
            coupons = coupon_issue(template_id=reward.coupon_template_id, member_id=member_id,
                                   source_key=f"reward:{source_key}", now=now)
        redemption = RewardRedemption.objects.create(
            reward=reward, member_id=member_id, quantity=quantity, points=points,
            state=State.DELIVERED if coupons else State.ORDERED, fulfilment=fulfilment,
            store=store, spend_entry=spend.entry, coupon=coupons, source_key=source_key,
            created_at=now, updated_at=now, **actor_columns())
        _changed(redemption, Step.REDEEMED, now)
        if coupons:  # a coupon reward is fulfilled as it is redeemed
            _changed(redemption, Step.FULFILLED, now)
        return redemption


def _changed(redemption: RewardRedemption, step: str, now: datetime) -> None:
    RedemptionChange.objects.create(redemption=redemption, member_id=redemption.member_id,
                                    step=step, state=redemption.state, created_at=now)


# fulfilment: which state may follow which
_NEXT = {
    State.READY: ({State.ORDERED}, {Fulfilment.PICKUP}),
    State.SHIPPED: ({State.ORDERED}, {Fulfilment.SHIPPING}),
    State.DELIVERED: ({State.READY, State.SHIPPED}, {Fulfilment.PICKUP, Fulfilment.SHIPPING}),
}


def _lock_redemption(redemption_id: int, now: datetime) -> RewardRedemption:
    member_id = (RewardRedemption.objects.filter(pk=redemption_id)
                 .values_list("member_id", flat=True).first())
    if member_id is None:
        raise PointsError(PointsErrorCode.REDEMPTION_NOT_FOUND)
    lock_accounts([member_id], now=now)
    return (RewardRedemption.objects.select_for_update().select_related("reward")
            .get(pk=redemption_id))


def redemption_advance(*, redemption_id: int, state: str, tracking_no: str = "",
                       now: datetime | None = None) -> RewardRedemption:
    """Move a goods redemption on: ordered → ready for pickup (at its store) or shipped →
    delivered. Anything else is refused."""
    now = resolve_now(now)
    with transaction.atomic():
        redemption = _lock_redemption(redemption_id, now)
        allowed_from, fulfilments = _NEXT.get(state, (set(), set()))
        if redemption.state not in allowed_from or redemption.fulfilment not in fulfilments:
            raise PointsError(PointsErrorCode.REDEMPTION_STATE,
                              state=redemption.get_state_display(),
                              action=State(state).label if state in State.values else state)
        redemption.state = state
        if tracking_no:
            redemption.tracking_no = tracking_no.strip()[:64]
        redemption.updated_at = now
        redemption.save(update_fields=["state", "tracking_no", "updated_at"])
        _changed(redemption, Step.FULFILLED if state == State.DELIVERED else Step.PROGRESSED,
                 now)
        return redemption


def redemption_cancel(*, redemption_id: int, reason: str,
                      now: datetime | None = None) -> RewardRedemption:
    """Cancel a goods redemption not yet delivered: the points come back as a new ledger
    entry (a fresh lot, expiring like any other), the units go back into stock. The reason
    typed is kept as a note the refund entry points at, not on the entry."""
    now = resolve_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(PointsErrorCode.REASON_REQUIRED)
    with transaction.atomic():
        redemption = _lock_redemption(redemption_id, now)
        if (redemption.fulfilment == Fulfilment.COUPON
                or redemption.state not in (State.ORDERED, State.READY, State.SHIPPED)):
            raise PointsError(PointsErrorCode.REDEMPTION_STATE,
                              state=redemption.get_state_display(), action=_("cancelled"))
        account = lock_accounts([redemption.member_id], now=now)[redemption.member_id]
        lot = PointsLot(original=redemption.points, state=PointsLot.State.AVAILABLE,
                        expires_at=lot_expires_at(PointsSettings.current(), now))
        entry = post(account, PointsEntry(
            kind=EntryKind.REFUND, available_delta=redemption.points,
            source_key=f"reward-cancel:{redemption.pk}", reason="reward cancelled",
            note=member_note_write(member_id=redemption.member_id, text=reason, now=now)),
            now, new_lot=lot)
        if redemption.reward.stock is not None:
            Reward.objects.filter(pk=redemption.reward_id).update(
                stock=F("stock") + redemption.quantity)
        redemption.state = State.CANCELLED
        redemption.refund_entry = entry
        redemption.updated_at = now
        redemption.save(update_fields=["state", "refund_entry", "updated_at"])
        _changed(redemption, Step.CANCELLED, now)
        return redemption
