"""Messages a campaign writes: templates with `{variables}` and one queued row per member,
occasion and channel. Delivery (channels, contact rules) reads the queue later."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineTextField, OneLineField
from members.models import Member

from .campaign import Campaign

# what a template may say; campaigns.services.messages fills them in SQL at action time
VARIABLES = ("name", "member_no", "campaign", "points", "coupon_value", "coupon_valid_until",
             "gift", "collect_by")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom")
    AI_CALL = "ai_call", _("AI outbound call")
    CLERK_CALL = "clerk_call", _("Call task for a clerk")


class MessageTemplate(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", _("Service")
        MARKETING = "marketing", _("Marketing")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = OneLineField(_("name"), max_length=100)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices,
                            default=Kind.MARKETING)
    body = MultiLineTextField(
        _("text"), max_length=1000,
        help_text=_("Variables in braces: {name}, {member_no}, {campaign}, {points}, "
                    "{coupon_value}, {coupon_valid_until}, {gift}, {collect_by}."))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")

    member = models.ForeignKey(Member, models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    template = models.ForeignKey(MessageTemplate, models.PROTECT, related_name="+",
                                 verbose_name=_("template"))
    variables = models.JSONField(_("variables"), default=dict)
    campaign = models.ForeignKey(Campaign, models.PROTECT, null=True, blank=True,
                                 related_name="+", db_index=False, verbose_name=_("campaign"))
    occasion = models.CharField(_("occasion"), max_length=64, blank=True)
    is_test = models.BooleanField(_("test send"), default=False)
    state = models.CharField(_("state"), max_length=8, choices=State.choices,
                             default=State.QUEUED)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "occasion", "member", "channel"],
                                    condition=models.Q(is_test=False),
                                    name="message_once_per_occasion_and_channel"),
        ]
        indexes = [models.Index(fields=["member", "-id"], name="message_member_idx"),
                   models.Index(fields=["state", "id"], name="message_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.member_id}"
