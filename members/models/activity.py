"""The activity log: what a member did, once per event id."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField

from .members import Member


class ActivityKind(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    FOLLOWED_ACCOUNT = "followed_account", _("Followed the official account")
    CHECKIN = "checkin", _("Check-in")
    PROFILE_COMPLETED = "profile_completed", _("Profile completed")
    PHONE_BOUND = "phone_bound", _("Phone bound")
    STORE_FAVOURITED = "store_favourited", _("Store favourited")
    REVIEW = "review", _("Review")
    SHARE = "share", _("Share")
    REFERRAL_CONVERTED = "referral_converted", _("Referral converted")
    CUSTOM = "custom", _("Custom event")


class MemberActivity(models.Model):
    """The behaviour log every element reads: one row per event, recorded once."""

    member = models.ForeignKey(Member, models.CASCADE, related_name="activities",
                               verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=24, choices=ActivityKind.choices)
    name = OneLineField(_("custom event name"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    source_key = models.CharField(_("source key"), max_length=128, unique=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("member activity")
        verbose_name_plural = _("member activity")
        constraints = [
            models.CheckConstraint(condition=~Q(kind="custom") | ~Q(name=""),
                                   name="activity_custom_has_name"),
        ]
        indexes = [
            models.Index(fields=["member", "kind", "occurred_at"], name="activity_member_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"
