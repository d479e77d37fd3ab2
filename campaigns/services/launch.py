"""Running an occasion: freeze the audience, then act on it — resumable at every chunk.

`campaign_run_start` records the occasion once (UNIQUE campaign + key). `campaign_run_work`
carries a run forward from wherever it stands:

1. snapshot — the audience is frozen in member-id ranges, one INSERT … SELECT per range
   (control split and variant assignment in the same statement, ON CONFLICT DO NOTHING),
   the range's progress committed with it under the run's row lock;
2. act — chunks of waiting members (campaigns.services.act);
3. done.

A worker killed at any point loses at most the chunk in flight; running the same occasion
again — or two workers at once — finishes it exactly once.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from core.clock import resolve_now

from ..models import Campaign, CampaignRun, CampaignStatus
from .act import ACT_CHUNK, act_waiting
from .audience import INSERT_MEMBERS, assign_select, audience_where

SNAPSHOT_SPAN = 50_000  # members per snapshot statement

Phase = CampaignRun.Phase


def campaign_run_start(*, campaign: Campaign, key: str, occasion: str | None = None,
                       now: datetime | None = None) -> CampaignRun:
    """The run of this occasion, created the first time (the members to freeze are those
    with an id up to the largest at that moment)."""
    now = resolve_now(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(member_id), 0) FROM members_segmentfacts")
        until = cursor.fetchone()[0]
    run, _created = CampaignRun.objects.get_or_create(
        campaign=campaign, key=key,
        defaults={"occasion": occasion or key, "snapshot_until": until, "started_at": now})
    return run


def _snapshot_step(run_id: int, now: datetime, span: int) -> bool:
    """Freeze the next range of member ids; False when the snapshot is complete."""
    with transaction.atomic():
        run = CampaignRun.objects.select_for_update().select_related("campaign").get(pk=run_id)
        if run.phase != Phase.SNAPSHOT:
            return False
        if run.snapshot_after >= run.snapshot_until:
            run.phase = Phase.ACT
            run.save(update_fields=["phase"])
            return False
        with connection.cursor() as cursor:  # the next `span` members, by id
            cursor.execute("SELECT member_id FROM members_segmentfacts WHERE member_id > %s "
                           "ORDER BY member_id OFFSET %s LIMIT 1", [run.snapshot_after, span - 1])
            row = cursor.fetchone()
        upto = min(row[0], run.snapshot_until) if row else run.snapshot_until
        # the audience as it was when the occasion started
        where, params = audience_where(run.campaign, run.started_at)
        select, select_params = assign_select(
            run.campaign, occasion=run.occasion, run_id=run.pk,
            where=f"f.member_id > %s AND f.member_id <= %s AND {where}",
            where_params=[run.snapshot_after, upto, *params], now=now)
        with connection.cursor() as cursor:
            cursor.execute(INSERT_MEMBERS.format(select=select), select_params)
            added, control = cursor.fetchone()
        run.audience += added
        run.control += control
        run.snapshot_after = upto
        run.save(update_fields=["audience", "control", "snapshot_after"])
        return True


def _finish(run_id: int, now: datetime) -> bool:
    """Mark the run done if no member of its occasion is waiting any more."""
    with transaction.atomic():
        run = CampaignRun.objects.select_for_update().get(pk=run_id)
        if run.phase != Phase.ACT:
            return run.phase == Phase.DONE
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM campaigns_campaignmember WHERE "
                           "campaign_id = %s AND occasion = %s AND state = 'assigned')",
                           [run.campaign_id, run.occasion])
            if cursor.fetchone()[0]:
                return False
        run.phase, run.finished_at = Phase.DONE, now
        run.save(update_fields=["phase", "finished_at"])
        return True


def campaign_run_work(*, run: CampaignRun, now: datetime | None = None,
                      span: int = SNAPSHOT_SPAN, chunk: int = ACT_CHUNK,
                      max_chunks: int | None = None, snapshot_only: bool = False) -> str:
    """Carry a run forward until it is done, the campaign stops running (paused,
    cancelled, ended — checked before every chunk), or `max_chunks` chunks were done (a
    test stands in for a killed worker with it); `snapshot_only` stops after freezing the
    audience. Returns the run's phase."""
    now = resolve_now(now)
    done_chunks = 0

    def more() -> bool:
        return max_chunks is None or done_chunks < max_chunks

    def running() -> bool:
        return (Campaign.objects.filter(pk=run.campaign_id)
                .values_list("status", flat=True).first()) == CampaignStatus.RUNNING

    while more():
        if not running():
            return CampaignRun.objects.get(pk=run.pk).phase
        if not _snapshot_step(run.pk, now, span):
            break
        done_chunks += 1
    while more() and not snapshot_only:
        acted = act_waiting(campaign=run.campaign, occasion=run.occasion, now=now, chunk=chunk)
        if acted is None:  # the campaign stopped running
            break
        if acted == 0:
            _finish(run.pk, now)
            break
        done_chunks += 1
    return CampaignRun.objects.get(pk=run.pk).phase
