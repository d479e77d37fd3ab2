"""Writes of the counter page that no lower layer offers: handing over a campaign gift."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from campaigns.models import CampaignGift
from core.clock import local_date, resolve_now
from loyalty.errors import CounterError, CounterErrorCode


def campaign_gift_hand_over(*, gift_id: int, member_id: int, store_id: int, clerk_id: int,
                            now: datetime | None = None) -> CampaignGift:
    """Hand a campaign gift to its member at a store: once, on or before its collect-by day
    (Beijing calendar), at the store it names or anywhere when it names none. The clerk, the
    store and the time are recorded on the gift. One conditional UPDATE, so two taps or two
    tablets hand it over once."""
    now = resolve_now(now)
    updated = (CampaignGift.objects
               .filter(pk=gift_id, member_id=member_id, collected_at__isnull=True,
                       collect_by__gte=local_date(now))
               .filter(Q(store__isnull=True) | Q(store_id=store_id))
               .update(collected_at=now, handed_over_at=now, handed_over_by_id=clerk_id,
                       handed_over_store_id=store_id))
    if updated != 1:
        raise CounterError(CounterErrorCode.GIFT_NOT_AVAILABLE)
    return CampaignGift.objects.get(pk=gift_id)
