"""Touches: templates with `{variables}` and one row per member, occasion and channel — the
touch record, from queued (or refused with its reason) to sent, delivered, failed or
dead-lettered. The contact rules are applied when a row is written
(campaigns.services.contact), delivery reads the queue (campaigns.services.delivery)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineTextField, OneLineField
from members.models import ContactChannel, Member, Store

from .campaign import MONEY, Campaign

# what a template may say; campaigns.services.messages fills them in SQL at action time
VARIABLES = ("name", "member_no", "campaign", "points", "coupon_value", "coupon_valid_until",
             "gift", "collect_by")


# the channels are the members layer's, so consent and touches name them alike
Channel = ContactChannel


class CallOutcome(models.TextChoices):
    """What a clerk's call task ended with (the counter's outcome form)."""

    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    DECLINED = "declined", _("Declined, no more calls")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class Refusal(models.TextChoices):
    CAPPED = "capped", _("Contact cap reached")
    DND = "dnd", _("Do not disturb")
    NO_CONSENT = "no_consent", _("No consent")
    QUIET_HOURS = "quiet_hours", _("Quiet hours")


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
    signature = OneLineField(
        _("SMS signature"), max_length=20, blank=True, default="", db_default="",
        help_text=_("The brand in 【】 that starts each SMS; empty: the programme's."))
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
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")
        DEAD = "dead", _("Dead-lettered")

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
    state = models.CharField(_("state"), max_length=9, choices=State.choices,
                             default=State.QUEUED)
    kind = models.CharField(_("kind"), max_length=10, choices=MessageTemplate.Kind.choices,
                            default=MessageTemplate.Kind.MARKETING, db_default="marketing")
    refusal = models.CharField(_("refused because"), max_length=12, choices=Refusal.choices,
                               blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"))
    # delivery: not before due_at (quiet hours), attempts leased until next_attempt_at
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, db_default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = OneLineField(_("last error"), max_length=300, blank=True, default="",
                              db_default="")
    body = MultiLineTextField(_("text sent"), blank=True, default="", db_default="")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    cost = models.DecimalField(_("cost (¥)"), **MONEY, default=0, db_default=0)
    # a clerk's call task: its outcome, who called, from which store
    call_outcome = models.CharField(_("call outcome"), max_length=12, blank=True, default="",
                                    db_default="", choices=CallOutcome.choices)
    called_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                  blank=True, related_name="+", db_index=False,
                                  verbose_name=_("called by"))
    called_store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True,
                                     related_name="+", db_index=False,
                                     verbose_name=_("called from store"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "occasion", "member", "channel"],
                                    condition=models.Q(is_test=False),
                                    name="message_once_per_occasion_and_channel"),
            models.CheckConstraint(
                condition=models.Q(state="refused", refusal__gt="")
                | (~models.Q(state="refused") & models.Q(refusal="")),
                name="message_refused_has_reason"),
        ]
        indexes = [models.Index(fields=["member", "-id"], name="message_member_idx"),
                   models.Index(fields=["state", "id"], name="message_state_idx"),
                   # the contact cap counts these per member (campaigns.services.contact)
                   models.Index(fields=["member", "created_at"], name="message_cap_idx",
                                condition=models.Q(kind="marketing", is_test=False,
                                                   state__in=["queued", "sent", "delivered"])),
                   # the sender's queue (campaigns.services.delivery)
                   models.Index(fields=["channel", "next_attempt_at", "id"],
                                name="message_due_idx", condition=models.Q(state="queued")),
                   # open call tasks of the counter (campaigns.selectors.call_tasks)
                   models.Index(fields=["member"], name="message_open_call_idx",
                                condition=models.Q(channel="clerk_call", state="sent"))]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.member_id}"


class OutboxMessage(models.Model):
    """What the default backend of each channel "sends": the rendered message, recorded once
    per message — so the programme runs end to end without a provider."""

    message = models.OneToOneField(Message, models.CASCADE, primary_key=True,
                                   related_name="+", verbose_name=_("message"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=64, blank=True)
    body = models.TextField(_("text"))
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}"


class ChannelThrottle(models.Model):
    """How many messages a channel's sender has taken in the current minute (the rate
    limit of campaigns.services.delivery)."""

    channel = models.CharField(max_length=10, choices=Channel.choices, primary_key=True)
    window_start = models.DateTimeField()
    used = models.PositiveIntegerField(default=0)
