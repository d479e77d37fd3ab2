"""Stores: where members register and orders are booked."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField

from ..fields import RegionField


class Store(models.Model):
    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("Physical store")
        ONLINE = "online", _("Online channel")

    code = OneLineField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PHYSICAL)
    region = RegionField(_("region"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
