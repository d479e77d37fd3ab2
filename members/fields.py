"""Model fields of the base layer."""

from __future__ import annotations

from django.db import models

from core.text import one_line_text

from .regions import region_normalise


class RegionField(models.CharField):
    """A member's or a store's region, always in its stored form (members.regions): every
    ORM write — save, create, bulk_create, update — and every lookup normalises it, so
    上海市 is saved, and found, as 上海. Writers that bypass the ORM (COPY in seed_members)
    call region_normalise themselves; migration 0007 normalised the rows from before. Typed
    by people, so no control characters (core.text)."""

    default_validators = [one_line_text]

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return region_normalise(value) if isinstance(value, str) else value

    def pre_save(self, model_instance, add):
        value = region_normalise(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value
