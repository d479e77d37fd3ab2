"""A campaign's life: draft → scheduled → running ⇄ paused → ended / cancelled.

Scheduling checks the campaign is complete and fixes its budget; starting creates the
multiplier rule it owns (if it has a multiplier window); ending or cancelling retires that
rule and takes the campaign's system tag off members. Cancel stops every occasion still
running — members not yet acted on are marked `stopped` — and keeps whatever was given.
Pausing is a status the workers read before every chunk, so it takes effect within a
chunk; resuming lets the next scheduler tick carry the unfinished occasions on.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _

from core.clock import resolve_now
from members.models import Member, Tag, TagChange
from members.services.tags import member_tags_remove
from points.models import EarningRule
from points.models.rules import Formula, RuleEvent
from points.services.rule_versions import earning_rule_save

from ..errors import CampaignError, CampaignErrorCode, TriggerError
from ..models import (
    ActionKind,
    AudienceFilter,
    Campaign,
    CampaignAction,
    CampaignBudget,
    CampaignRun,
    CampaignStatus,
    CampaignVariant,
    TriggerKind,
)
from .actions import campaign_tag_get

S = CampaignStatus

TRANSITIONS = {
    "schedule": ({S.DRAFT}, S.SCHEDULED),
    "unschedule": ({S.SCHEDULED}, S.DRAFT),
    "start": ({S.SCHEDULED}, S.RUNNING),
    "pause": ({S.RUNNING}, S.PAUSED),
    "resume": ({S.PAUSED}, S.RUNNING),
    "end": ({S.RUNNING, S.PAUSED}, S.ENDED),
    "cancel": ({S.DRAFT, S.SCHEDULED, S.RUNNING, S.PAUSED}, S.CANCELLED),
}


def campaign_problems(campaign: Campaign) -> list[str]:
    """What keeps a campaign from being scheduled, in the operator's words."""
    problems = []
    if campaign.is_template:
        problems.append(_("A template cannot be launched; copy it first."))
    try:
        campaign.trigger_check()
    except TriggerError as exc:
        problems.append(exc.message)
    if campaign.trigger == TriggerKind.ONCE and campaign.run_at is None:
        problems.append(_("A one-off campaign needs the time to act."))
    if campaign.trigger == TriggerKind.WEEKLY and not campaign.weekdays:
        problems.append(_("A weekly campaign needs its days of the week."))
    if campaign.trigger == TriggerKind.WEEKLY and any(not 1 <= d <= 7 for d in campaign.weekdays):
        problems.append(_("Days of the week are 1 (Monday) to 7 (Sunday)."))
    if campaign.trigger == TriggerKind.MONTHLY and not campaign.month_day:
        problems.append(_("A monthly campaign needs its day of the month."))
    if campaign.audience_filter == AudienceFilter.PAID_ENDED and not campaign.audience_days:
        problems.append(_("Say how many days back a paid membership may have ended."))
    if campaign.starts_at and campaign.ends_at and campaign.starts_at >= campaign.ends_at:
        problems.append(_("The end must come after the start."))
    if campaign.pk is None:
        return problems
    variants = list(CampaignVariant.objects.filter(campaign=campaign))
    if not variants:
        problems.append(_("A campaign needs at least one variant."))
    actions = list(CampaignAction.objects.filter(variant__campaign=campaign)
                   .select_related("coupon_template"))
    if variants and not actions:
        problems.append(_("A campaign needs at least one action."))
    for action in actions:
        template = action.coupon_template
        if template is not None and template.code_source != "generated":
            problems.append(_("Coupon template %(name)s uses uploaded codes; campaigns issue "
                              "generated codes.") % {"name": template.name})
        if (action.coupon_percent_of_average is not None and template is not None
                and template.face_value_min is None):
            problems.append(_("Coupon template %(name)s has no face value bounds, so its "
                              "value cannot follow the member's average order.")
                            % {"name": template.name})
    multipliers = {a.multiplier for a in actions if a.kind == ActionKind.MULTIPLIER}
    if len(multipliers) > 1:
        problems.append(_("All variants of a campaign share one multiplier window."))
    return problems


def _move(campaign_id: int, action: str, now: datetime) -> Campaign:
    sources, target = TRANSITIONS[action]
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignError(CampaignErrorCode.CAMPAIGN_NOT_FOUND)
    if campaign.status not in sources:
        raise CampaignError(CampaignErrorCode.BAD_TRANSITION,
                            status=campaign.get_status_display(), action=action)
    campaign.status = target
    campaign.updated_at = now
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def campaign_schedule(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    """Launch: the campaign starts at its start time (at once without one) and acts at its
    occasions. Its budget is fixed now."""
    now = resolve_now(now)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise CampaignError(CampaignErrorCode.CAMPAIGN_NOT_FOUND)
        problems = campaign_problems(campaign)
        if problems:
            raise CampaignError(CampaignErrorCode.INVALID_CAMPAIGN, reason=" ".join(problems))
        campaign = _move(campaign_id, "schedule", now)
        CampaignBudget.objects.update_or_create(
            campaign=campaign, defaults={"points_limit": campaign.budget_points,
                                         "coupons_limit": campaign.budget_coupons,
                                         "cost_limit": campaign.budget_cost})
        return campaign


def campaign_unschedule(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    with transaction.atomic():
        return _move(campaign_id, "unschedule", resolve_now(now))


def campaign_start(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    """Scheduled → running (the scheduler calls it at the start time); a multiplier window
    becomes the campaign's own earning rule."""
    now = resolve_now(now)
    with transaction.atomic():
        campaign = _move(campaign_id, "start", now)
        action = (CampaignAction.objects.filter(variant__campaign=campaign,
                                                kind=ActionKind.MULTIPLIER).first())
        if action is not None:
            _multiplier_rule_create(campaign, action, now)
        return campaign


def _multiplier_rule_create(campaign: Campaign, action: CampaignAction, now: datetime) -> None:
    """Kind multiplier, on sales, for members with the campaign's system tag (set on the
    frozen audience at each occasion), within the window — on the trigger's weekdays or
    day of the month for a recurring campaign —, with the campaign's points budget."""
    tag = campaign_tag_get(campaign)
    rule = EarningRule(
        rule_key=campaign.tag_code[:64], name=campaign.name[:100], event=RuleEvent.SALE,
        formula=Formula.MULTIPLIER, multiplier=action.multiplier, tag_ids=[tag.pk],
        priority=150, valid_from=campaign.starts_at, valid_until=campaign.ends_at,
        weekdays=list(campaign.weekdays) if campaign.trigger == TriggerKind.WEEKLY else [],
        month_days=[campaign.month_day] if campaign.trigger == TriggerKind.MONTHLY else [],
        budget_points=campaign.budget_points)
    current = EarningRule.objects.filter(rule_key=rule.rule_key, is_current=True).first()
    if current is not None:  # started again after a copy kept the code: a new version
        rule.pk = current.pk
    rule = earning_rule_save(rule=rule, user_id=campaign.owner_id, now=now)
    campaign.earning_rule_key = rule.rule_key
    campaign.save(update_fields=["earning_rule_key"])


def _retire(campaign: Campaign, now: datetime) -> None:
    """What ends with the campaign: its multiplier rule, its tag, occasions in flight."""
    if campaign.earning_rule_key:
        rule = EarningRule.objects.filter(rule_key=campaign.earning_rule_key,
                                          is_current=True).first()
        if rule is not None and rule.is_active:
            rule.is_active = False
            earning_rule_save(rule=rule, user_id=campaign.owner_id, now=now)
    tag = Tag.objects.filter(code=campaign.tag_code).first()
    if tag is not None:
        member_tags_remove(tag_id=tag.pk, members=Member.objects.filter(member_tags__tag=tag),
                           cause=TagChange.Cause.CAMPAIGN, now=now)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE campaigns_campaignmember SET state = 'stopped' "
                       "WHERE campaign_id = %s AND state = 'assigned'", [campaign.pk])
    CampaignRun.objects.filter(campaign=campaign).exclude(
        phase=CampaignRun.Phase.DONE).update(phase=CampaignRun.Phase.STOPPED, finished_at=now)


def campaign_pause(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    with transaction.atomic():
        return _move(campaign_id, "pause", resolve_now(now))


def campaign_resume(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    with transaction.atomic():
        return _move(campaign_id, "resume", resolve_now(now))


def campaign_end(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    now = resolve_now(now)
    with transaction.atomic():
        campaign = _move(campaign_id, "end", now)
        _retire(campaign, now)
        return campaign


def campaign_cancel(*, campaign_id: int, now: datetime | None = None) -> Campaign:
    now = resolve_now(now)
    with transaction.atomic():
        campaign = _move(campaign_id, "cancel", now)
        _retire(campaign, now)
        return campaign
