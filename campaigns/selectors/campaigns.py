"""Reads of campaigns: the plain-words summary, the audience a launch would reach, budget
and audience figures for the list, and what campaigns did for one member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.clock import programme_tz

from ..models import (
    ActionKind,
    AudienceFilter,
    Campaign,
    CampaignAction,
    CampaignBudget,
    CampaignGift,
    CampaignMember,
    CampaignRun,
    Message,
    TriggerKind,
)
from ..services.audience import audience_where

WEEKDAYS = {1: pgettext_lazy("weekday in a list", "Mon"),
            2: pgettext_lazy("weekday in a list", "Tue"),
            3: pgettext_lazy("weekday in a list", "Wed"),
            4: pgettext_lazy("weekday in a list", "Thu"),
            5: pgettext_lazy("weekday in a list", "Fri"),
            6: pgettext_lazy("weekday in a list", "Sat"),
            7: pgettext_lazy("weekday in a list", "Sun")}


def _trigger_words(c: Campaign) -> str:
    at = c.run_time.strftime("%H:%M") if c.run_time else ""
    if c.is_event_triggered:
        words = _("on an event: %(kind)s") % {"kind": c.get_trigger_display()}
        days = (c.trigger_params or {}).get("days")
        if days is not None:
            words += _(" (%(days)s days)") % {"days": days}
        return words
    if c.trigger == TriggerKind.ONCE:
        if c.run_at is None:
            return _("once (time not set)")
        return _("once at %(time)s") % {
            "time": c.run_at.astimezone(programme_tz()).strftime("%Y-%m-%d %H:%M")}
    if c.trigger == TriggerKind.DAILY:
        words = _("every day")
    elif c.trigger == TriggerKind.WEEKLY:
        words = _("every week on %(days)s") % {
            "days": str(pgettext_lazy("list separator", ", ")).join(
                str(WEEKDAYS.get(d, d)) for d in sorted(c.weekdays))}
    else:
        words = _("every month on day %(day)s") % {"day": c.month_day}
    return f"{words} {at}".strip() if at and at != "00:00" else words


def _action_words(action: CampaignAction) -> str:
    kind = action.kind
    if kind == ActionKind.POINTS:
        return _("%(points)s bonus points") % {"points": action.points}
    if kind == ActionKind.MULTIPLIER:
        return _("purchase points ×%(m)s") % {"m": action.multiplier.normalize()}
    if kind == ActionKind.COUPON:
        words = _("coupon %(name)s ×%(n)s") % {"name": action.coupon_template,
                                               "n": action.coupon_count}
        if action.coupon_percent_of_average:
            words += _(" (%(pct)s%% of the member's average order)") % {
                "pct": action.coupon_percent_of_average}
        return words
    if kind == ActionKind.GIFT:
        return _("gift %(name)s, collect within %(days)s days") % {"name": action.gift_name,
                                                                   "days": action.gift_days}
    if kind == ActionKind.TAG_ADD:
        return _("add tag %(tag)s") % {"tag": action.tag}
    if kind == ActionKind.TAG_REMOVE:
        return _("remove tag %(tag)s") % {"tag": action.tag}
    return _("message via %(channel)s: %(name)s") % {
        "channel": action.message_template.get_channel_display(),
        "name": action.message_template}


def campaign_summary(campaign: Campaign) -> str:
    """The campaign in plain words: "每周三 · 全体有效会员 · 购物积分 ×2"."""
    audience = str(campaign.segment) if campaign.segment_id else _("all members")
    if campaign.audience_filter:
        audience += " · " + str(AudienceFilter(campaign.audience_filter).label)
    parts = [_trigger_words(campaign), audience]
    if campaign.control_percent:
        parts.append(_("control %(pct)s%%") % {"pct": campaign.control_percent})
    actions = list(CampaignAction.objects.filter(variant__campaign=campaign)
                   .select_related("variant", "coupon_template", "tag", "message_template")
                   .order_by("variant__code", "id"))
    arms = sorted({a.variant.code for a in actions})
    for arm in arms:
        words = str(pgettext_lazy("list separator", ", ")).join(
            _action_words(a) for a in actions if a.variant.code == arm)
        parts.append(f"{arm}: {words}" if len(arms) > 1 else words)
    return " · ".join(parts)


def campaign_audience_count(campaign: Campaign, *, now: datetime) -> int:
    """How many members an occasion starting now would freeze (control group included)."""
    where, params = audience_where(campaign, now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM members_segmentfacts f WHERE {where}", params)
        return cursor.fetchone()[0]


def campaign_reached(campaign: Campaign) -> int:
    return CampaignRun.objects.filter(campaign=campaign).aggregate(
        n=Sum("audience"))["n"] or 0


def campaign_spent(campaign: Campaign) -> Decimal | None:
    return CampaignBudget.objects.filter(pk=campaign.pk).values_list("cost", flat=True).first()


@dataclass(frozen=True)
class Offer:
    """One campaign occasion that reached the member, and what it did for them."""

    campaign: Campaign
    occasion: str
    variant: str | None
    state: str
    acted_at: datetime | None
    points: int
    coupons: list[str]
    gifts: list[CampaignGift]
    messages: int


def offers_for(member_id: int):
    """The occasions that acted on a member ("your offers"): the control group and members
    a limit or the budget left out are not offered anything, so they are not listed."""
    return (CampaignMember.objects.filter(member_id=member_id,
                                          state=CampaignMember.State.ACTED)
            .select_related("campaign", "variant"))


def offer_detail(row: CampaignMember) -> Offer:
    """What one occasion gave the member: points (their ledger entry), coupons, gifts and
    queued messages, each found by its (campaign, occasion, member) key."""
    from points.models import Coupon, PointsEntry

    member_id = row.member_id
    prefix = f"campaign:{row.campaign_id}:{row.occasion}:{member_id}"
    points = (PointsEntry.objects.filter(source_key=prefix)
              .values_list("available_delta", "debt_delta").first())
    return Offer(
        campaign=row.campaign, occasion=row.occasion,
        variant=row.variant.code if row.variant else None, state=row.state,
        acted_at=row.acted_at, points=(points[0] - points[1]) if points else 0,
        coupons=list(Coupon.objects.filter(source_key__startswith=prefix + ":",
                                           member_id=member_id)
                     .order_by("id").values_list("code", flat=True)),
        gifts=list(CampaignGift.objects.filter(campaign_id=row.campaign_id,
                                               occasion=row.occasion, member_id=member_id)),
        messages=Message.objects.filter(campaign_id=row.campaign_id, occasion=row.occasion,
                                        member_id=member_id, is_test=False).count())


def window_words(campaign: Campaign) -> str:
    if not campaign.starts_at and not campaign.ends_at:
        return _("open")
    start = date_format(campaign.starts_at.astimezone(programme_tz()), "Y-m-d") \
        if campaign.starts_at else "…"
    end = date_format(campaign.ends_at.astimezone(programme_tz()), "Y-m-d") \
        if campaign.ends_at else "…"
    return f"{start} – {end}"
