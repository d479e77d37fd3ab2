"""Occasions and who each one reached.

A `CampaignRun` is one occasion the scheduler started (`key`: `once`, the Beijing date of a
member day, …); its members are frozen into `CampaignMember` rows under the run's
`occasion` — the key a member is acted on under, which for most triggers is the run's key
and for the birthday month `birthday:<year>`, so daily runs reach each member once a year.
UNIQUE (campaign, occasion, member): a member is assigned and acted on at most once per
occasion, whatever re-runs, crashes or concurrent workers do. Event triggers add members
under their own occasion keys (`lapse:<order id>`, a tier change id) without a run.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member

from .campaign import Campaign, CampaignVariant


class CampaignRun(models.Model):
    class Phase(models.TextChoices):
        SNAPSHOT = "snapshot", _("Freezing the audience")
        ACT = "act", _("Acting")
        DONE = "done", _("Done")
        STOPPED = "stopped", _("Stopped")

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="runs",
                                 verbose_name=_("campaign"))
    key = models.CharField(_("occasion"), max_length=64)
    occasion = models.CharField(_("member occasion"), max_length=64)
    phase = models.CharField(_("phase"), max_length=8, choices=Phase.choices,
                             default=Phase.SNAPSHOT)
    snapshot_after = models.BigIntegerField(_("audience frozen up to member id"), default=0)
    snapshot_until = models.BigIntegerField(_("last member id to freeze"), default=0)
    audience = models.PositiveIntegerField(_("audience"), default=0)
    control = models.PositiveIntegerField(_("control group"), default=0)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign occasion")
        verbose_name_plural = _("campaign occasions")
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "key"],
                                               name="campaign_run_once_per_key")]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.key}"


class CampaignMember(models.Model):
    class State(models.TextChoices):
        ASSIGNED = "assigned", _("Waiting")
        ACTED = "acted", _("Acted on")
        CONTROL = "control", _("Control group")
        LIMITED = "limited", _("Over the per-member limit")
        UNFUNDED = "unfunded", _("Budget spent")
        STOPPED = "stopped", _("Campaign stopped")

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="+",
                                 verbose_name=_("campaign"), db_index=False)
    occasion = models.CharField(_("occasion"), max_length=64)
    member = models.ForeignKey(Member, models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))
    run = models.ForeignKey(CampaignRun, models.CASCADE, null=True, blank=True,
                            related_name="+", db_index=False, verbose_name=_("run"))
    variant = models.ForeignKey(CampaignVariant, models.PROTECT, null=True, blank=True,
                                related_name="+", db_index=False, verbose_name=_("variant"))
    bucket = models.PositiveSmallIntegerField(_("bucket (0–99)"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices)
    assigned_at = models.DateTimeField(_("assigned at"))
    acted_at = models.DateTimeField(_("acted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "occasion", "member"],
                                    name="campaign_member_once_per_occasion"),
            models.CheckConstraint(condition=~Q(state="control") | Q(variant__isnull=True),
                                   name="campaign_member_control_has_no_variant"),
            models.CheckConstraint(condition=Q(state="control") | Q(variant__isnull=False),
                                   name="campaign_member_others_have_variant"),
            models.CheckConstraint(condition=~Q(state="acted") | Q(acted_at__isnull=False),
                                   name="campaign_member_acted_has_time"),
        ]
        indexes = [
            # the act phase: who of an occasion is still waiting, in member order
            models.Index(fields=["campaign", "occasion", "member"],
                         condition=Q(state="assigned"), name="campaign_member_waiting_idx"),
            # exclusions ("acted on by any campaign in the last N days") and "your offers"
            models.Index(fields=["member", "acted_at"], name="campaign_member_member_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.occasion}:{self.member_id}"
