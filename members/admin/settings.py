"""The base layer's settings page in the operator console."""

from __future__ import annotations

from django.contrib import admin

from core.admin import (
    SingletonAdmin,
)

from ..models import (
    MemberSettings,
)


@admin.register(MemberSettings)
class MemberSettingsAdmin(SingletonAdmin):
    pass
