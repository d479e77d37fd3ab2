"""Abstract model helpers shared by the apps (no concrete models live here)."""

from __future__ import annotations

from django.db import models


class ProgrammeSettings(models.Model):
    """A singleton row of programme settings, editable in the admin.

    Each app owns its own settings (members: the repurchase cycle; points: earning rates;
    tiers: growth rates), so no app reads settings from a layer above it.
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        obj, _ = cls.objects.get_or_create(singleton=True)
        return obj

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
