"""The scheduler's tick (every minute, campaigns.tasks): start campaigns whose time has
come, end those whose window closed, start the occasions due on the Beijing calendar and
carry unfinished ones forward.

Occasions: a one-off campaign has one, `once`, at its time; a recurring one has one per
Beijing day it falls on — every day, the listed weekdays, or the day of the month (the
last day for a day the month lacks) — keyed by that date, from its time of day. A tick
starts only today's occasion; one missed while the scheduler was down is not caught up
the next day. The birthday month runs daily under the member occasion `birthday:<year>`,
so each member is reached once a year.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, time

from django.db.models import Q

from core.clock import local_date, programme_tz, resolve_now

from ..models import AudienceFilter, Campaign, CampaignRun, CampaignStatus, TriggerKind
from .launch import campaign_run_start, campaign_run_work
from .status import campaign_end, campaign_start


@dataclass(frozen=True)
class Occasion:
    key: str       # the run's key
    occasion: str  # the key members are acted on under


def occasion_due(campaign: Campaign, now: datetime) -> Occasion | None:
    """The occasion a tick at `now` should start (or find already started), if any. An
    event-triggered campaign has none: its occasions come from the trigger services."""
    if campaign.is_event_triggered:
        return None
    if campaign.starts_at and now < campaign.starts_at:
        return None
    if campaign.ends_at and now >= campaign.ends_at:
        return None
    if campaign.trigger == TriggerKind.ONCE:
        return Occasion("once", "once") if campaign.run_at and now >= campaign.run_at else None
    local = now.astimezone(programme_tz())
    today = local.date()
    if local.time() < (campaign.run_time or time(0, 0)):
        return None
    if campaign.trigger == TriggerKind.WEEKLY and today.isoweekday() not in campaign.weekdays:
        return None
    if campaign.trigger == TriggerKind.MONTHLY:
        last = calendar.monthrange(today.year, today.month)[1]
        if today.day != min(campaign.month_day or 1, last):
            return None
    key = today.isoformat()
    if campaign.audience_filter == AudienceFilter.BIRTHDAY_MONTH:
        return Occasion(key, f"birthday:{today.year}")
    return Occasion(key, key)


def campaigns_tick(*, now: datetime | None = None, max_chunks: int | None = None) -> dict:
    """One pass of the scheduler. Returns what it did, for the task's log."""
    now = resolve_now(now)
    started = ended = runs = 0
    for campaign_id in (Campaign.objects.filter(status=CampaignStatus.SCHEDULED)
                        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
                        .values_list("pk", flat=True)):
        campaign_start(campaign_id=campaign_id, now=now)
        started += 1
    for campaign_id in (Campaign.objects.filter(status__in=[CampaignStatus.RUNNING,
                                                            CampaignStatus.PAUSED],
                                                ends_at__lte=now)
                        .values_list("pk", flat=True)):
        campaign_end(campaign_id=campaign_id, now=now)
        ended += 1
    for campaign in Campaign.objects.filter(status=CampaignStatus.RUNNING):
        due = occasion_due(campaign, now)
        if due is not None:
            campaign_run_start(campaign=campaign, key=due.key, occasion=due.occasion, now=now)
        for run in CampaignRun.objects.filter(campaign=campaign).filter(
                phase__in=[CampaignRun.Phase.SNAPSHOT, CampaignRun.Phase.ACT]):
            campaign_run_work(run=run, now=now, max_chunks=max_chunks)
            runs += 1
        if (campaign.trigger == TriggerKind.ONCE and campaign.ends_at is None
                and CampaignRun.objects.filter(campaign=campaign, key="once",
                                               phase=CampaignRun.Phase.DONE).exists()):
            # a one-off campaign without a window is over once its occasion is done
            campaign_end(campaign_id=campaign.pk, now=now)
            ended += 1
    return {"started": started, "ended": ended, "runs": runs, "day": str(local_date(now))}
