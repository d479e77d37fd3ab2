"""Stores in the operator console."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from ..models import (
    Store,
)


@admin.register(Store)
class StoreAdmin(ModelAdmin):
    list_display = ("code", "name", "kind", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    show_facets = admin.ShowFacets.NEVER
