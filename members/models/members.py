"""Members: the person, their contact details, status and home store."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Right
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import OneLineField
from core.models import append_only

from ..fields import RegionField
from .stores import Store


class Member(models.Model):
    class Gender(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    class Channel(models.TextChoices):
        STORE = "store", _("Store counter")
        MINI_PROGRAM = "mini_program", _("Mini-program")
        WEB = "web", _("Web shop")
        APP = "app", _("App")
        REFERRAL = "referral", _("Referral")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    member_no = models.CharField(_("member number"), max_length=20, unique=True)
    mobile = models.CharField(_("mobile"), max_length=16, null=True, blank=True)
    mobile_last4 = models.GeneratedField(
        expression=Right("mobile", 4), output_field=models.CharField(max_length=4),
        db_persist=True, verbose_name=_("mobile last four digits"),
    )
    name = OneLineField(pgettext_lazy("person", "name"), max_length=64, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices,
                              default=Gender.UNKNOWN)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    region = RegionField(_("region"), max_length=64, blank=True)
    home_store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True,
                                   related_name="home_members", verbose_name=_("home store"))
    source_channel = models.CharField(_("source channel"), max_length=16,
                                      choices=Channel.choices, default=Channel.STORE)
    referrer = models.ForeignKey("self", models.SET_NULL, null=True, blank=True,
                                 related_name="referred_members", verbose_name=_("referrer"))
    external_id = OneLineField(_("storefront external id"), max_length=64, null=True,
                                   blank=True, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.ACTIVE)
    marketing_consent = models.BooleanField(
        _("marketing consent"), default=False,
        help_text=_("Agrees on at least one channel (see the consent per channel)."))
    marketing_consent_at = models.DateTimeField(_("consent changed at"), null=True, blank=True)
    marketing_consent_source = OneLineField(_("consent source"), max_length=32, blank=True)
    # contact policy (campaigns' messages): do-not-disturb gets service messages only; the
    # whitelist is exempt from the contact cap but still needs consent
    do_not_disturb = models.BooleanField(_("do not disturb"), default=False, db_default=False,
                                         help_text=_("Service messages only."))
    contact_whitelist = models.BooleanField(
        _("contact whitelist"), default=False, db_default=False,
        help_text=_("Exempt from the marketing contact cap; consent is still needed."))
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True,
                                    blank=True, related_name="+", verbose_name=_("enrolled by"))
    created_at = models.DateTimeField(_("joined at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"], condition=Q(mobile__isnull=False) & ~Q(status="closed"),
                name="member_mobile_unique_unless_closed",
            ),
            models.CheckConstraint(
                condition=Q(marketing_consent=False) | Q(marketing_consent_at__isnull=False),
                name="member_consent_has_time",
            ),
            models.CheckConstraint(condition=~Q(referrer=F("id")), name="member_not_own_referrer"),
        ]
        indexes = [
            models.Index(fields=["mobile"], name="member_mobile_idx"),
            models.Index(fields=["mobile_last4"], name="member_mobile_last4_idx"),
            models.Index(fields=["name"], name="member_name_prefix_idx",
                         opclasses=["varchar_pattern_ops"]),
        ]
        permissions = [
            ("view_full_mobile", _("See members' full mobile numbers")),
            ("act_for_all_stores", _("Act for every store, not only one's own")),
        ]

    def __str__(self) -> str:
        return f"{self.member_no} {self.name}".strip()

    # "May this member earn or spend": in Python, as a query filter, and as the SQL of
    # set-based jobs; tests/members/models/test_members.py checks that the three agree.
    @property
    def can_earn_or_spend(self) -> bool:
        """Frozen and closed members cannot earn or spend (points, growth, coupons, paid
        plans, benefits); returns, expiry and adjustments still apply."""
        return self.status == self.Status.ACTIVE

    @classmethod
    def can_earn_or_spend_q(cls) -> Q:
        """`can_earn_or_spend` as a filter on members."""
        return Q(status=cls.Status.ACTIVE)

    @staticmethod
    def can_earn_or_spend_sql(alias: str) -> str:
        """`can_earn_or_spend` as an SQL condition on the `members_member` row `alias`."""
        return f"{alias}.status = 'active'"


class MemberChange(models.Model):
    """Append-only: that a member's profile or status changed — the names of the fields a
    profile update changed, or the new status — never the values (webhooks carry no text
    typed about a member). The commit-ordered feed reads it (webhooks: member updated,
    member closed)."""

    class Kind(models.TextChoices):
        UPDATED = "updated", _("Profile updated")
        FROZEN = "frozen", _("Frozen")
        ACTIVE = "active", _("Unfrozen")
        CLOSED = "closed", _("Closed")

    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    fields = ArrayField(models.CharField(max_length=40), verbose_name=_("fields changed"),
                        default=list, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("member change")
        verbose_name_plural = _("member changes")
        triggers = [append_only()]  # UPDATE and DELETE refused
        indexes = [models.Index(fields=["member", "-id"], name="member_change_member_idx")]

    def __str__(self) -> str:
        return f"{self.member_id}:{self.kind}"
