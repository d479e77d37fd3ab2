"""Gifts a campaign gives: collected at a store by a date (the counter hands them over)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from members.models import Member, Store

from .campaign import Campaign, CampaignAction


class CampaignGift(models.Model):
    campaign = models.ForeignKey(Campaign, models.PROTECT, related_name="gifts",
                                 verbose_name=_("campaign"), db_index=False)
    occasion = models.CharField(_("occasion"), max_length=64)
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    action = models.ForeignKey(CampaignAction, models.PROTECT, related_name="+",
                               db_index=False, verbose_name=_("action"))
    name = OneLineField(_("gift"), max_length=100)
    store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("collect at"))
    collect_by = models.DateField(_("collect by"))
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    handed_over_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                       blank=True, related_name="+", db_index=False,
                                       verbose_name=_("handed over by"))
    handed_over_store = models.ForeignKey(Store, models.PROTECT, null=True, blank=True,
                                          related_name="+", db_index=False,
                                          verbose_name=_("handed over at store"))
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    created_at = models.DateTimeField(_("given at"))

    class Meta:
        verbose_name = _("campaign gift")
        verbose_name_plural = _("campaign gifts")
        constraints = [models.UniqueConstraint(fields=["campaign", "occasion", "member", "action"],
                                               name="campaign_gift_once")]
        indexes = [models.Index(fields=["member", "collect_by"],
                                condition=Q(collected_at__isnull=True),
                                name="campaign_gift_waiting_idx")]

    def __str__(self) -> str:
        return self.name
