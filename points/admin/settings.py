"""The points settings page in the operator console."""

from __future__ import annotations

from django.contrib import admin

from core.admin import SingletonAdmin

from ..models import (
    PointsSettings,
)


@admin.register(PointsSettings)
class PointsSettingsAdmin(SingletonAdmin):
    pass
