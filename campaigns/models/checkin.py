"""Check-in (签到): once a day on the Beijing calendar, streaks, make-up check-ins.

A check-in row is the member's day: UNIQUE (member, day), so a day counts once whichever
path recorded it (the check-in endpoint or a `checkin` event). `streak` is the run of
consecutive days ending at that day when it was recorded; `cycle_day` its place in the
streak cycle (day 8 of a 7-day cycle is day 1 again; without a cycle the streak goes on),
which the earning rules of kind "check-in streak reached" pay on. The table is in the
commit-ordered feed (a `txid` column, migration 0009), so campaigns trigger on "streak
reached".
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import ProgrammeSettings, append_only
from members.models import Member


class CheckinSettings(ProgrammeSettings):
    streak_cycle_days = models.PositiveSmallIntegerField(
        _("streak cycle (days)"), null=True, blank=True, default=7,
        help_text=_("After this many days the streak rewards start again from day 1; empty: "
                    "the streak goes on (rewards pay on their day only once per streak)."))
    makeup_cost_points = models.PositiveIntegerField(
        _("make-up check-in cost (points)"), default=20,
        help_text=_("Points a make-up check-in (补签) of a missed day costs."))
    makeup_per_month = models.PositiveSmallIntegerField(
        _("make-up check-ins per month"), default=2,
        help_text=_("Per member and Beijing calendar month; 0: none."))

    class Meta:
        verbose_name = _("check-in settings")
        verbose_name_plural = _("check-in settings")
        constraints = [
            models.CheckConstraint(condition=Q(streak_cycle_days__isnull=True)
                                   | Q(streak_cycle_days__gt=0),
                                   name="checkin_cycle_positive"),
        ]


class CheckinKind(models.TextChoices):
    DAILY = "daily", _("Check-in")
    MAKEUP = "makeup", _("Make-up check-in")


class CheckIn(models.Model):
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    day = models.DateField(_("day (Beijing)"))
    kind = models.CharField(_("kind"), max_length=8, choices=CheckinKind.choices)
    streak = models.PositiveIntegerField(_("streak"))
    cycle_day = models.PositiveIntegerField(_("day in the streak cycle"))
    cost_points = models.PositiveIntegerField(_("points spent"), default=0)
    activity_id = models.BigIntegerField(_("event"), null=True, blank=True)
    created_at = models.DateTimeField(_("checked in at"))

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ("-day", "-id")
        constraints = [
            models.UniqueConstraint(fields=("member", "day"), name="checkin_once_a_day"),
            models.CheckConstraint(condition=Q(streak__gt=0) & Q(cycle_day__gt=0)
                                   & Q(cycle_day__lte=models.F("streak")),
                                   name="checkin_streak_positive"),
        ]
        triggers = [append_only()]

    def __str__(self) -> str:
        return f"{self.member_id} {self.day}"
