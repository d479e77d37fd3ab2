"""The lottery (抽奖): prizes with stock and weights, draws anyone can verify.

Before a lottery opens the programme publishes SHA-256(server seed + odds table) — the
commitment. Each draw's value is HMAC-SHA256(server seed, draw id); the value picks a prize
from the odds table frozen at opening (`Lottery.odds`, with its version), which no edit can
change while the lottery is open (a trigger on the prizes refuses it). After the lottery
closes the seed is published and every draw can be recomputed
(`campaigns.selectors.lottery.lottery_verify`).

A prize out of stock is never given (stock CHECK ≥ 0, taken by a conditional UPDATE): the
draw falls back to the prize's configured fallback, or to nothing ("thanks for playing");
the other prizes' odds are unchanged.
"""

from __future__ import annotations

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import append_only
from members.models import Member


class LotteryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class LotteryCost(models.TextChoices):
    FREE = "free", _("Free")
    POINTS = "points", _("Points per draw")
    ENTRIES = "entries", _("Entries (given by campaigns and tasks)")


class Lottery(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = OneLineField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=8, choices=LotteryStatus.choices,
                              default=LotteryStatus.DRAFT, editable=False)
    cost_kind = models.CharField(_("cost"), max_length=8, choices=LotteryCost.choices,
                                 default=LotteryCost.POINTS)
    cost_points = models.PositiveIntegerField(
        _("points per draw"), default=0, help_text=_("Used when the cost is points."))
    daily_limit = models.PositiveIntegerField(
        _("draws per member per day"), null=True, blank=True,
        help_text=_("On the Beijing calendar; empty for no limit."))
    member_limit = models.PositiveIntegerField(
        _("draws per member in this lottery"), null=True, blank=True,
        help_text=_("Empty for no limit."))
    starts_at = models.DateTimeField(_("draws from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("draws until"), null=True, blank=True)
    # the verifiable part: written by the services, never typed
    seed = models.CharField(_("server seed"), max_length=64, editable=False)
    commitment = models.CharField(_("published commitment"), max_length=64, blank=True,
                                  editable=False,
                                  help_text=_("SHA-256 of the seed and the odds table, "
                                              "published before opening."))
    odds_version = models.PositiveIntegerField(_("odds version"), default=1, editable=False)
    odds = models.JSONField(_("odds table"), null=True, blank=True, editable=False)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)

    class Meta:
        verbose_name = _("lottery")
        verbose_name_plural = _("lotteries")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(condition=~Q(cost_kind="points") | Q(cost_points__gt=0),
                                   name="lottery_points_cost_positive"),
            models.CheckConstraint(condition=Q(daily_limit__isnull=True) | Q(daily_limit__gt=0),
                                   name="lottery_daily_limit_positive"),
            models.CheckConstraint(condition=Q(member_limit__isnull=True)
                                   | Q(member_limit__gt=0),
                                   name="lottery_member_limit_positive"),
            models.CheckConstraint(condition=Q(status="draft")
                                   | (Q(odds__isnull=False) & ~Q(commitment="")),
                                   name="lottery_open_has_commitment"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True)
                | Q(starts_at__lt=models.F("ends_at")),
                name="lottery_window_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class PrizeKind(models.TextChoices):
    POINTS = "points", _("Points")
    COUPON = "coupon", _("Coupon")
    GOODS = "goods", _("Goods")
    NOTHING = "nothing", _("Thanks for playing")


# The odds of an open lottery cannot change: any edit of a prize but its stock (which only
# draws take and operators add) is refused while its lottery is not a draft.
ODDS_FROZEN_SQL = """
    IF TG_OP = 'UPDATE' THEN
        IF ROW(NEW.lottery_id, NEW.kind, NEW.weight, NEW.points, NEW.coupon_template_id,
               NEW.fallback_id, NEW.name)
           IS NOT DISTINCT FROM
           ROW(OLD.lottery_id, OLD.kind, OLD.weight, OLD.points, OLD.coupon_template_id,
               OLD.fallback_id, OLD.name) THEN
            RETURN NEW;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM campaigns_lottery l WHERE l.status <> 'draft' AND l.id IN (
            CASE WHEN TG_OP = 'DELETE' THEN OLD.lottery_id ELSE NEW.lottery_id END,
            CASE WHEN TG_OP = 'INSERT' THEN NEW.lottery_id ELSE OLD.lottery_id END)) THEN
        RAISE EXCEPTION 'the odds of an open or closed lottery cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
"""


class LotteryPrize(models.Model):
    lottery = models.ForeignKey(Lottery, models.CASCADE, related_name="prizes",
                                verbose_name=_("lottery"))
    name = OneLineField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=PrizeKind.choices)
    weight = models.PositiveIntegerField(
        _("weight"), help_text=_("The prize's chance is its weight over the sum of weights."))
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True,
        help_text=_("Units left; empty for unlimited. Never goes below zero."))
    points = models.PositiveIntegerField(_("points"), null=True, blank=True,
                                         help_text=_("Points prizes: the points credited."))
    coupon_template = models.ForeignKey(
        "points.CouponTemplate", models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("coupon template"), help_text=_("Coupon prizes: the coupon issued."))
    fallback = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("when out of stock"),
        help_text=_("The prize given instead when this one is out of stock; empty: "
                    "thanks for playing."))
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("lottery prize")
        verbose_name_plural = _("lottery prizes")
        ordering = ("sort_order", "id")
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="prize_weight_positive"),
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0),
                                   name="prize_stock_not_negative"),
            models.CheckConstraint(
                condition=(Q(kind="points") & Q(points__gt=0) & Q(coupon_template__isnull=True))
                | (Q(kind="coupon") & Q(points__isnull=True) & Q(coupon_template__isnull=False))
                | (Q(kind__in=("goods", "nothing")) & Q(points__isnull=True)
                   & Q(coupon_template__isnull=True)),
                name="prize_kind_has_its_fields"),
            models.CheckConstraint(condition=~Q(fallback=models.F("id")),
                                   name="prize_fallback_not_itself"),
        ]
        triggers = [
            pgtrigger.Trigger(name="odds_frozen", when=pgtrigger.Before,
                              operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                              func=ODDS_FROZEN_SQL),
        ]

    def __str__(self) -> str:
        return self.name


class LotteryDraw(models.Model):
    """One draw, kept for ever (append-only): the value and the odds version it was drawn
    with, the prize the value picked and the prize given (they differ when the first was out
    of stock), what it cost."""

    lottery = models.ForeignKey(Lottery, models.PROTECT, related_name="draws",
                                verbose_name=_("lottery"), db_index=False)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    draw_id = models.CharField(_("draw id"), max_length=100)
    value = models.CharField(_("draw value"), max_length=64,
                             help_text=_("HMAC-SHA256(server seed, draw id), hexadecimal."))
    odds_version = models.PositiveIntegerField(_("odds version"))
    drawn_prize = models.ForeignKey(LotteryPrize, models.PROTECT, related_name="+",
                                    verbose_name=_("prize drawn"))
    prize = models.ForeignKey(LotteryPrize, models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("prize given"))
    cost_points = models.PositiveIntegerField(_("points spent"), default=0)
    cost_entries = models.PositiveIntegerField(_("entries used"), default=0)
    points_entry_id = models.BigIntegerField(_("points entry"), null=True, blank=True)
    coupon_id = models.BigIntegerField(_("coupon"), null=True, blank=True)
    day = models.DateField(_("day (Beijing)"))
    created_at = models.DateTimeField(_("drawn at"))

    class Meta:
        verbose_name = _("lottery draw")
        verbose_name_plural = _("lottery draws")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=("draw_id",), name="lottery_draw_once"),
        ]
        indexes = [models.Index(fields=("lottery", "member", "day"),
                                name="lottery_draw_member_day")]
        triggers = [append_only()]

    def __str__(self) -> str:
        return self.draw_id


class LotteryEntries(models.Model):
    """A member's entries for a lottery that costs entries: given by campaigns and tasks
    (each grant once by its source key), used one per draw."""

    lottery = models.ForeignKey(Lottery, models.PROTECT, related_name="+",
                                verbose_name=_("lottery"), db_index=False)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+",
                               verbose_name=_("member"))
    entries = models.PositiveIntegerField(_("entries left"), default=0)
    granted = models.PositiveIntegerField(_("entries given"), default=0)

    class Meta:
        verbose_name = _("lottery entries")
        verbose_name_plural = _("lottery entries")
        constraints = [
            models.UniqueConstraint(fields=("lottery", "member"), name="lottery_entries_once"),
            models.CheckConstraint(condition=Q(entries__gte=0) & Q(entries__lte=models.F("granted")),
                                   name="lottery_entries_within_granted"),
        ]


class LotteryEntryGrant(models.Model):
    lottery = models.ForeignKey(Lottery, models.PROTECT, related_name="+",
                                verbose_name=_("lottery"), db_index=False)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    quantity = models.PositiveIntegerField(_("entries"))
    source_key = models.CharField(_("source key"), max_length=160, unique=True)
    created_at = models.DateTimeField(_("given at"))

    class Meta:
        verbose_name = _("lottery entry grant")
        verbose_name_plural = _("lottery entry grants")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0),
                                              name="lottery_grant_positive")]
        triggers = [append_only()]
