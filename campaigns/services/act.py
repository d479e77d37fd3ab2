"""Acting on members of an occasion: limits, budget, actions, all or nothing per chunk.

A chunk's campaign-member rows are locked (`FOR UPDATE SKIP LOCKED`, so two workers on one
occasion take different chunks) and only rows still `assigned` are taken; the chunk's
actions and the rows' new state commit together. So a member is acted on once per
occasion whatever re-runs, crashes or concurrent workers do — and the source keys and
UNIQUE constraints behind every action would refuse a second time anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from core.clock import resolve_now
from points.models import PointsSettings

from ..models import Campaign, CampaignBudget, CampaignMember, CampaignStatus
from .actions import apply_actions, plan_chunk
from .audience import INSERT_MEMBERS, assign_select, audience_where

ACT_CHUNK = 2000
State = CampaignMember.State


def budget_reserve(campaign: Campaign, wanted: list[tuple[int, tuple[int, int, Decimal]]],
                   now: datetime) -> tuple[list[int], bool]:
    """Commit the budget for the longest run of members (in order) that it still covers,
    with one conditional UPDATE that keeps each total within its budget; if another worker
    spent meanwhile, look again. Returns the members paid for, and whether the budget ran
    out (the campaign then stops acting)."""
    for _attempt in range(50):
        budget, _created = CampaignBudget.objects.get_or_create(
            campaign_id=campaign.pk, defaults={"points_limit": campaign.budget_points,
                                               "coupons_limit": campaign.budget_coupons,
                                               "cost_limit": campaign.budget_cost})
        if budget.exhausted_at is not None:
            return [], True
        room = (None if budget.points_limit is None else budget.points_limit - budget.points,
                None if budget.coupons_limit is None else budget.coupons_limit - budget.coupons,
                None if budget.cost_limit is None else budget.cost_limit - budget.cost)
        paid, totals, short = [], [0, 0, Decimal(0)], False
        for member_id, cost in wanted:
            after = [totals[i] + cost[i] for i in range(3)]
            if any(room[i] is not None and after[i] > room[i] for i in range(3)):
                short = True
                break
            paid.append(member_id)
            totals = after
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE campaigns_campaignbudget
                   SET points = points + %s, coupons = coupons + %s, cost = cost + %s,
                       exhausted_at = CASE WHEN %s THEN %s END
                   WHERE campaign_id = %s AND exhausted_at IS NULL
                     AND (points_limit IS NULL OR points + %s <= points_limit)
                     AND (coupons_limit IS NULL OR coupons + %s <= coupons_limit)
                     AND (cost_limit IS NULL OR cost + %s <= cost_limit)""",
                [totals[0], totals[1], totals[2], short, now, campaign.pk,
                 totals[0], totals[1], totals[2]])
            if cursor.rowcount == 1:
                return paid, short
    raise RuntimeError("budget: too much contention")  # pragma: no cover


def _act_locked(campaign: Campaign, occasion: str, rows: list[tuple[int, int]],
                now: datetime) -> dict[str, int]:
    """Act on locked `assigned` rows (member id, variant id) of one occasion."""
    members = [m for m, _v in rows]
    limited: set[int] = set()
    with connection.cursor() as cursor:
        if campaign.per_member_limit is not None:
            cursor.execute(
                """SELECT c.id FROM unnest(%s::bigint[]) AS c(id)
                   WHERE (SELECT count(*) FROM campaigns_campaignmember x
                          WHERE x.member_id = c.id AND x.campaign_id = %s
                            AND x.state = 'acted') >= %s""",
                [members, campaign.pk, campaign.per_member_limit])
            limited = {row[0] for row in cursor.fetchall()}
    rows = [(m, v) for m, v in rows if m not in limited]
    plan = plan_chunk([m for m, _v in rows], [v for _m, v in rows],
                      PointsSettings.current().points_per_yuan_value)
    paid, _short = budget_reserve(campaign, [(m, plan.cost[m]) for m, _v in rows], now)
    paid_set = set(paid)
    unfunded = [m for m, _v in rows if m not in paid_set]
    by_variant: dict[int, list[int]] = defaultdict(list)
    for member_id, variant_id in rows:
        if member_id in paid_set:
            by_variant[variant_id].append(member_id)
    if paid:
        plan.points = {m: p for m, p in plan.points.items() if m in paid_set}
        apply_actions(campaign, occasion, by_variant, plan, now)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE campaigns_campaignmember x
               SET state = s.state, acted_at = CASE WHEN s.state = 'acted' THEN %s END,
                   -- "acted" once for good: the row enters the commit-ordered feed now
                   -- (webhooks: campaign action applied)
                   txid = CASE WHEN s.state = 'acted' THEN pg_current_xact_id() END
               FROM unnest(%s::bigint[], %s::text[]) AS s(member_id, state)
               WHERE x.campaign_id = %s AND x.occasion = %s AND x.member_id = s.member_id
                 AND x.state = 'assigned'""",
            [now, paid + sorted(limited) + unfunded,
             [State.ACTED] * len(paid) + [State.LIMITED] * len(limited)
             + [State.UNFUNDED] * len(unfunded), campaign.pk, occasion])
    return {"acted": len(paid), "limited": len(limited), "unfunded": len(unfunded)}


def act_waiting(*, campaign: Campaign, occasion: str, now: datetime,
                chunk: int = ACT_CHUNK) -> int | None:
    """Act on the next chunk of waiting members of an occasion, in its own transaction.
    Returns how many rows it settled, 0 when none is free, None when the campaign no longer
    runs (paused, cancelled, ended) — then nothing was done."""
    with transaction.atomic():
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        if status != CampaignStatus.RUNNING:
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT member_id, variant_id FROM campaigns_campaignmember
                   WHERE campaign_id = %s AND occasion = %s AND state = 'assigned'
                   ORDER BY member_id LIMIT %s FOR UPDATE SKIP LOCKED""",
                [campaign.pk, occasion, chunk])
            rows = cursor.fetchall()
        if not rows:
            return 0
        done = _act_locked(campaign, occasion, rows, now)
        return sum(done.values())


def campaign_act(*, campaign: Campaign, occasion: str, member_ids: Iterable[int],
                 now: datetime | None = None) -> dict[str, int]:
    """Assign and act on the given members under an occasion key — the entry for event
    triggers (`lapse:<order id>`, a tier change id, `once` for a registration): the members
    are assigned with the launch's own statement (`assign_select` / `INSERT_MEMBERS`:
    audience, exclusions, control group and variant), so members outside the audience are
    ignored, the control group is recorded and left alone, a member already assigned under
    this occasion is not acted on again; then per-member limits and budget as in a launch.

    Returns counts: assigned now, control, acted, limited, unfunded."""
    now = resolve_now(now)
    ids = sorted({int(i) for i in member_ids})
    result = {"assigned": 0, "control": 0, "acted": 0, "limited": 0, "unfunded": 0}
    if not ids or campaign.status != CampaignStatus.RUNNING:
        return result
    where, params = audience_where(campaign, now)
    select, select_params = assign_select(
        campaign, occasion=occasion, run_id=None,
        where=f"f.member_id = ANY(%s) AND {where}", where_params=[ids, *params], now=now)
    with transaction.atomic():
        # paused or cancelled since the caller loaded it: nothing is assigned or done
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        if status != CampaignStatus.RUNNING:
            return result
        with connection.cursor() as cursor:
            cursor.execute(INSERT_MEMBERS.format(select=select), select_params)
            result["assigned"], result["control"] = cursor.fetchone()
            cursor.execute(
                """SELECT member_id, variant_id FROM campaigns_campaignmember
                   WHERE campaign_id = %s AND occasion = %s AND member_id = ANY(%s)
                     AND state = 'assigned' ORDER BY member_id FOR UPDATE""",
                [campaign.pk, occasion, ids])
            rows = cursor.fetchall()
        if rows:
            result.update(_act_locked(campaign, occasion, rows, now))
    return result
