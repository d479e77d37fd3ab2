"""Contact consent: per channel, with its time, its source and its history.

A member agrees (or not) to marketing on each channel separately; `MemberConsent` is the
current answer per channel, `ConsentChange` every change (append-only). No row for a
channel means no consent. The member row keeps `marketing_consent` as the summary "agrees
on at least one channel", written only by `members.services.consent`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.models import append_only

from .members import Member


class ContactChannel(models.TextChoices):
    """The channels a member is reached by (campaigns' messages use the same list)."""

    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom")
    AI_CALL = "ai_call", _("AI outbound call")
    CLERK_CALL = "clerk_call", _("Call task for a clerk")
    IN_APP = "in_app", _("In-app / mini-program message")


# every channel carries marketing, so the single consent of old is granted on each of them
MARKETING_CHANNELS: tuple[str, ...] = tuple(ContactChannel.values)


class MemberConsent(models.Model):
    member = models.ForeignKey(Member, models.CASCADE, related_name="consents",
                               db_index=False, verbose_name=_("member"))
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    granted = models.BooleanField(_("agrees to marketing"), default=False)
    changed_at = models.DateTimeField(_("changed at"))
    source = OneLineField(_("source"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("marketing consent")
        verbose_name_plural = _("marketing consents")
        constraints = [models.UniqueConstraint(fields=["member", "channel"],
                                               name="consent_once_per_channel")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.channel} {self.granted}"


class ConsentChange(models.Model):
    """One change of a member's consent on one channel; never updated or deleted."""

    member = models.ForeignKey(Member, models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    granted = models.BooleanField(_("agrees to marketing"))
    at = models.DateTimeField(_("changed at"))
    source = OneLineField(_("source"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        indexes = [models.Index(fields=["member", "-id"], name="consent_change_member_idx")]
        triggers = [append_only()]

    def __str__(self) -> str:
        return f"{self.member_id} {self.channel} {self.granted}"
