"""Event-triggered campaigns: find who is due and hand them to the campaign's action.

Two entry points, each a one-line Celery task's body:
- `campaign_triggers_poll` (every few seconds): each campaign with a feed trigger reads its
  own cursor `campaign:<id>` on the trigger's history table; a batch of rows, the actions
  it causes and the cursor's advance commit together.
- `campaign_triggers_scan` (daily): each campaign with a time-based trigger scans the
  members in id ranges.

`campaigns_poll_events` and `campaigns_scan_events` run them over the running campaigns
with an event trigger and act through `campaigns.services.act.campaign_act`; paused,
cancelled and ended campaigns are not read (their cursors wait), and a campaign paused
during a poll is not acted on (campaign_act reads its status in its transaction).

Acting is the campaign's business: `act(campaign, occasion, member_ids, now)` is called
once per occasion with the members due under it, and must be idempotent per (campaign,
occasion, member) — a batch may be offered again after a crash, a lapse stays due for its
grace days, and two workers may scan at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from campaigns.models import Campaign, CampaignStatus
from campaigns.models.campaign import CALENDAR_TRIGGERS
from campaigns.selectors.feed import FeedRow
from campaigns.selectors.trigger_scans import DEFAULT_CHUNK, member_id_ranges, trigger_scan
from campaigns.selectors.triggers import TriggerEvent, trigger_events, trigger_spec
from campaigns.services.act import campaign_act
from campaigns.services.feed import feed_consume, feed_cursor_open
from core.clock import resolve_now


class TriggeredCampaign(Protocol):
    """What the trigger services need of a campaign: its id and its trigger as stored."""

    @property
    def pk(self) -> int: ...

    @property
    def trigger_kind(self) -> str: ...

    @property
    def trigger_params(self) -> Mapping[str, Any]: ...


class CampaignAct(Protocol):
    def __call__(self, campaign: Any, occasion: str, member_ids: list[int],
                 now: datetime) -> object: ...


@dataclass
class TriggerRun:
    """What one poll or scan did for one campaign."""

    rows: int = 0
    events: int = 0
    calls: int = 0
    occasions: set[str] = field(default_factory=set)


def trigger_cursor_name(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def _act_by_occasion(campaign: Any, events: Sequence[TriggerEvent], act: CampaignAct,
                     now: datetime, run: TriggerRun) -> None:
    by_occasion: dict[str, list[int]] = {}
    for event in events:
        members = by_occasion.setdefault(event.occasion, [])
        if event.member_id not in members:
            members.append(event.member_id)
    for occasion, member_ids in by_occasion.items():
        act(campaign, occasion, member_ids, now)
        run.calls += 1
        run.occasions.add(occasion)
    run.events += len(events)


def campaign_triggers_poll(*, campaigns: Iterable[TriggeredCampaign], act: CampaignAct,
                           now: datetime | None = None, batch: int = 1000,
                           max_batches: int | None = None) -> dict[int, TriggerRun]:
    """Read each running event-triggered campaign's feed after its cursor and act on the
    events. A campaign seen for the first time starts at the feed's horizon: a welcome
    campaign launched today greets members who register from now on. Campaigns with a
    time-based trigger are left to the daily scan."""
    now = resolve_now(now)
    runs: dict[int, TriggerRun] = {}
    for campaign in campaigns:
        spec = trigger_spec(campaign.trigger_kind, campaign.trigger_params)
        if spec.source is None:
            continue
        run = runs[campaign.pk] = TriggerRun()
        name = trigger_cursor_name(campaign.pk)
        feed_cursor_open(name=name, source=spec.source, now=now)

        def handle(rows: list[FeedRow], campaign=campaign, spec=spec, run=run) -> None:
            _act_by_occasion(campaign, trigger_events(spec, rows), act, now, run)

        run.rows = feed_consume(name=name, handle=handle, batch=batch,
                                max_batches=max_batches, now=now)
    return runs


def campaign_triggers_scan(*, campaigns: Iterable[TriggeredCampaign], act: CampaignAct,
                           now: datetime | None = None,
                           chunk: int = DEFAULT_CHUNK) -> dict[int, TriggerRun]:
    """The daily scan for each running campaign with a time-based trigger (lapse, paid
    end, points expiring): each range of member ids is one statement, then the actions for
    the members due in it. Re-running it the same day acts on nobody twice (the campaign's
    UNIQUE occasion)."""
    now = resolve_now(now)
    runs: dict[int, TriggerRun] = {}
    specs = [(c, trigger_spec(c.trigger_kind, c.trigger_params)) for c in campaigns]
    specs = [(c, s) for c, s in specs if s.source is None]
    if not specs:
        return runs
    for lo, hi in member_id_ranges(chunk=chunk):
        for campaign, spec in specs:
            run = runs.setdefault(campaign.pk, TriggerRun())
            _act_by_occasion(campaign, trigger_scan(spec, now=now, lo=lo, hi=hi), act, now,
                             run)
    return runs


def campaign_act_event(campaign: Any, occasion: str, member_ids: list[int],
                       now: datetime) -> dict[str, int]:
    """The real action for the trigger services: assign and act through the launch's
    path (audience, control group, exclusions, limits, budget)."""
    return campaign_act(campaign=campaign, occasion=occasion, member_ids=member_ids, now=now)


def _running_event_campaigns(now: datetime) -> list[Campaign]:
    """Running campaigns with an event trigger, inside their window."""
    campaigns = (Campaign.objects.filter(status=CampaignStatus.RUNNING)
                 .exclude(trigger__in=CALENDAR_TRIGGERS).select_related("segment")
                 .order_by("pk"))
    return [c for c in campaigns if (c.starts_at is None or c.starts_at <= now)
            and (c.ends_at is None or now < c.ends_at)]


def _summary(runs: dict[int, TriggerRun]) -> dict:
    return {"campaigns": len(runs), "rows": sum(r.rows for r in runs.values()),
            "events": sum(r.events for r in runs.values()),
            "calls": sum(r.calls for r in runs.values())}


def campaigns_poll_events(*, now: datetime | None = None, batch: int = 1000,
                          max_batches: int | None = None) -> dict:
    """Every few seconds (campaigns.tasks.campaigns_poll_triggers): the feed of each
    running campaign with a feed trigger, acted on."""
    now = resolve_now(now)
    return _summary(campaign_triggers_poll(campaigns=_running_event_campaigns(now),
                                           act=campaign_act_event, now=now, batch=batch,
                                           max_batches=max_batches))


def campaigns_scan_events(*, now: datetime | None = None,
                          chunk: int = DEFAULT_CHUNK) -> dict:
    """Daily (campaigns.tasks.campaigns_scan_triggers): the time-based triggers of the
    running campaigns, acted on."""
    now = resolve_now(now)
    return _summary(campaign_triggers_scan(campaigns=_running_event_campaigns(now),
                                           act=campaign_act_event, now=now, chunk=chunk))
