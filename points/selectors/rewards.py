"""Reads of the rewards catalog: what a member sees and has redeemed."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet, Sum

from members.models import MemberTag

from ..models import Reward, RewardRedemption


def rewards_for_member(*, member_id: int, now: datetime) -> QuerySet[Reward]:
    """The catalog a member can redeem from now: active, in its window, and either open to
    all or carrying a tag the member holds (a tier is the tag `tier-<code>`)."""
    tag_ids = MemberTag.objects.filter(member_id=member_id).values("tag_id")
    eligible = Q(eligible_tags__isnull=True) | Q(pk__in=Reward.eligible_tags.through.objects
                                                 .filter(tag_id__in=tag_ids).values("reward_id"))
    return (Reward.objects.filter(is_active=True)
            .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
            .filter(eligible).select_related("coupon_template").distinct()
            .order_by("sort_order", "id"))


def redeemed_units(*, reward_id: int, member_id: int) -> int:
    """Units of a reward a member holds (cancelled redemptions do not count)."""
    return (RewardRedemption.objects.filter(reward_id=reward_id, member_id=member_id)
            .exclude(state=RewardRedemption.State.CANCELLED)
            .aggregate(n=Sum("quantity"))["n"] or 0)


def redemptions_for(member_id: int) -> QuerySet[RewardRedemption]:
    """A member's redemptions, newest first."""
    return (RewardRedemption.objects.filter(member_id=member_id)
            .select_related("store", "coupon").order_by("-id"))
