"""RFM segments and runs in the operator console."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.admin import ReadOnlyAdminMixin

from ..models import (
    RfmRun,
    RfmSegment,
)


@admin.register(RfmSegment)
class RfmSegmentAdmin(ModelAdmin):
    list_display = ("segment_name", "code", "priority", "r_min", "r_max", "f_min", "f_max",
                    "m_min", "m_max")
    list_editable = ("priority",)

    @admin.display(description=_("name"), ordering="name")
    def segment_name(self, obj: RfmSegment) -> str:
        return obj.display_name


@admin.register(RfmRun)
class RfmRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """What each score means today: the boundaries of every nightly run."""

    list_display = ("computed_at", "levels", "members", "recency_days", "frequency", "monetary")
