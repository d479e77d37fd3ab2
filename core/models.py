"""Abstract model helpers shared by the apps (no concrete models live here)."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgrammeSettings(models.Model):
    """A singleton row of programme settings, editable in the admin.

    Each app owns its own settings (members: the repurchase cycle; points: earning rates;
    tiers: growth rates), so no app reads settings from a layer above it.
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        """The settings as services read them: the saved row, or its defaults when none was
        saved yet. Never inserts: an insert inside a sale's transaction would make every
        concurrent sale wait on the singleton's unique index until that transaction ends."""
        return cls.objects.filter(singleton=True).first() or cls(singleton=True)

    @classmethod
    def load(cls):
        """The saved row, created on first use: for the settings page (which edits it) and
        for setting up; services read `current()`."""
        obj, _ = cls.objects.get_or_create(singleton=True)
        return obj

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class AttributedRow(models.Model):
    """Who made a row: a staff user, or an API key and the user who owns it (both set), or
    nobody for the system's own jobs. The key is kept by id: API keys belong to the top
    layer, which adds the foreign key in the database (loyalty migration
    0003_actor_api_key_foreign_keys)."""

    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True,
                                   blank=True, related_name="+", db_index=False,
                                   verbose_name=_("made by"))
    actor_api_key_id = models.BigIntegerField(_("API key"), null=True, blank=True)

    class Meta:
        abstract = True


class AppendOnly(pgtrigger.Protect):
    """Refuses UPDATE and DELETE of a row, in PostgreSQL itself (TRUNCATE stays possible:
    test fixtures reset tables with it). The error names the table and carries SQLSTATE
    23001 (restrict_violation), which Django raises as an IntegrityError."""

    def get_func(self, model):
        return ("RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP "
                "USING ERRCODE = 'restrict_violation';")


def append_only() -> AppendOnly:
    """The trigger of an append-only table, for its model's `Meta.triggers`. Every such
    trigger is named `append_only`, so `pgtrigger.ignore("app.Model:append_only")` names it
    (the one way to lift it, for one block of one connection)."""
    return AppendOnly(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
