"""API keys: who may call the REST API, with which scopes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField


class Scope(models.TextChoices):
    MEMBERS_READ = "members:read", _("Read members, balances and history")
    MEMBERS_WRITE = "members:write", _("Register and update members")
    ORDERS_WRITE = "orders:write", _("Send sales and returns")
    POINTS_WRITE = "points:write", _("Spend points")
    POINTS_ADMIN = "points:admin", _("Adjust points")
    EVENTS_WRITE = "events:write", _("Send behaviour events")
    CAMPAIGNS_READ = "campaigns:read", _("Read the campaign offers a member received")
    WEBHOOKS_ADMIN = "webhooks:admin", _("Manage webhook subscriptions")
    STORED_VALUE_WRITE = "stored_value:write", _("Top up and spend stored value")
    STORED_VALUE_ADMIN = "stored_value:admin", _("Refund stored value; read the prepaid liability")
    GIFT_CARDS_READ = "gift_cards:read", _("Enquire gift card balances")
    GIFT_CARDS_WRITE = "gift_cards:write", _("Activate and spend gift cards")


class ApiKey(models.Model):
    """An integrator's key: random, stored as a SHA-256 hash, shown once at creation and
    recognised by its prefix. Keys are scoped and revocable; adjustments made with a key
    are attributed to its owner."""

    name = OneLineField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True, editable=False)
    hashed_key = models.CharField(_("hashed key"), max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices),
                        verbose_name=_("scopes"), default=list)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="api_keys",
                              verbose_name=_("owner"),
                              help_text=_("The person accountable for what this key does."))
    rate_per_minute = models.PositiveIntegerField(_("requests per minute"), default=600)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # DRF treats the authenticated "user" generically; a key is one.
    is_authenticated = True
