"""The contact policy: how often a member may be touched for marketing, and when.

One row, edited on its admin page; `campaigns.services.contact` applies it when a touch is
written. Times are Beijing times."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ProgrammeSettings
from members.models import ContactChannel

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def default_quiet_hours() -> dict:
    """No SMS, calls or WeCom from 21:00 to 09:00 Beijing time."""
    return {channel: ["21:00", "09:00"]
            for channel in ("sms", "wecom", "ai_call", "clerk_call")}


class ContactPolicy(ProgrammeSettings):
    cap_count = models.PositiveSmallIntegerField(
        _("marketing touches per member"), null=True, blank=True, default=2,
        help_text=_("At most this many marketing touches per member in the period, across "
                    "channels (queued, sent and delivered count). Empty: no cap."))
    cap_days = models.PositiveSmallIntegerField(_("period (days, rolling)"), default=7)
    channel_caps = models.JSONField(
        _("caps per channel"), default=dict, blank=True,
        help_text=_('Optional, within the same period, e.g. {"sms": 1, "ai_call": 1}.'))
    quiet_hours = models.JSONField(
        _("quiet hours (Beijing time)"), default=default_quiet_hours, blank=True,
        help_text=_('Per channel, from and until, e.g. {"sms": ["21:00", "09:00"]}. '
                    'Marketing due then waits for the end, or is refused when the '
                    'campaign ends first.'))

    class Meta:
        verbose_name = _("contact policy")
        verbose_name_plural = _("contact policy")

    def clean(self):
        super().clean()
        caps = self.channel_caps
        if not isinstance(caps, dict) or any(
                k not in ContactChannel.values or not isinstance(v, int)
                or isinstance(v, bool) or not 0 <= v <= 1000 for k, v in caps.items()):
            raise ValidationError({"channel_caps": _(
                "Give a whole number from 0 to 1000 for each channel named.")})
        quiet = self.quiet_hours
        if not isinstance(quiet, dict) or any(
                k not in ContactChannel.values or not isinstance(v, list) or len(v) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in v) or v[0] == v[1]
                for k, v in quiet.items()):
            raise ValidationError({"quiet_hours": _(
                'Give two different times "HH:MM" (from, until) for each channel named.')})
