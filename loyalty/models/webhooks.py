"""Webhooks: the brand's other systems told what happened, signed, in order, never lost.

A `WebhookSubscription` names a receiver (URL, secret, the event types it wants). Events
come from the commit-ordered feed (campaigns.selectors.feed), never from inside the
transaction that wrote them; each event becomes one `WebhookDelivery` row per subscription
— the outbox — sent, retried and logged by loyalty.services.webhooks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from core.text import one_line_text


class EventType(models.TextChoices):
    MEMBER_REGISTERED = "member.registered", _("Member registered")
    MEMBER_UPDATED = "member.updated", _("Member updated")
    MEMBER_CLOSED = "member.closed", _("Member closed")
    POINTS_EARNED = "points.earned", _("Points earned")
    POINTS_SPENT = "points.spent", _("Points spent")
    POINTS_EXPIRED = "points.expired", _("Points expired")
    POINTS_REVERSED = "points.reversed", _("Points reversed")
    POINTS_EXPIRING = "points.expiring", _("Points expiring soon")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    PAID_MEMBERSHIP_PURCHASED = "paid_membership.purchased", _("Paid membership purchased")
    PAID_MEMBERSHIP_LAPSED = "paid_membership.lapsed", _("Paid membership lapsed")
    BENEFIT_GRANTED = "benefit.granted", _("Benefit granted")
    REWARD_REDEEMED = "reward.redeemed", _("Reward redeemed")
    REWARD_FULFILLED = "reward.fulfilled", _("Reward fulfilled")
    REWARD_CANCELLED = "reward.cancelled", _("Reward redemption cancelled")
    CAMPAIGN_ACTION_APPLIED = "campaign.action_applied", _("Campaign action applied")
    COUPON_ISSUED = "coupon.issued", _("Coupon issued")
    COUPON_REDEEMED = "coupon.redeemed", _("Coupon redeemed")
    COUPON_EXPIRED = "coupon.expired", _("Coupon expired")
    COUPON_RESTORED = "coupon.restored", _("Coupon restored")


PING = "ping"


class WebhookSubscription(models.Model):
    """A receiver of events. During a secret's rotation both the new and the previous
    secret sign every delivery, until `previous_secret_until`."""

    name = OneLineField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, validators=[one_line_text])
    secret = models.CharField(_("secret"), max_length=64, editable=False)
    previous_secret = models.CharField(_("previous secret"), max_length=64, blank=True,
                                       editable=False)
    previous_secret_until = models.DateTimeField(_("previous secret valid until"), null=True,
                                                 blank=True, editable=False)
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices),
                             verbose_name=_("event types"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                              verbose_name=_("owner"),
                              help_text=_("The person told when the receiver keeps failing."))
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True,
                                         editable=False)
    switched_off_at = models.DateTimeField(_("switched off at"), null=True, blank=True,
                                           editable=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one subscription (the outbox). `event_key` names the history row the
    event comes from, so reading the feed again never makes a second row; `member_id` is
    the ordering key: a subscription's pending deliveries of one member go out one at a
    time, in id order."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    subscription = models.ForeignKey(WebhookSubscription, models.PROTECT,
                                     related_name="deliveries", verbose_name=_("subscription"),
                                     db_index=False)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    event_key = models.CharField(_("source row"), max_length=64)
    event_type = models.CharField(_("event type"), max_length=40)
    member_id = models.BigIntegerField(_("member id"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices,
                             default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(_("last latency (ms)"), null=True, blank=True)
    last_response = models.CharField(_("response excerpt"), max_length=500, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        permissions = [("resend_webhookdelivery", _("Can re-send webhook deliveries"))]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_key"],
                                    name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            # the head of each member's queue, and what is due
            models.Index(fields=["subscription", "member_id", "id"],
                         condition=Q(state="pending"), name="webhook_delivery_queue_idx"),
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"),
                         name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
