"""The page a locked-out login sees (django-axes calls it): translated, with how long the
lock lasts, answered 429 with Retry-After."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render


def login_locked(request, original_response=None, credentials=None):
    hours = float(settings.AXES_COOLOFF_TIME)
    # rendered here: axes answers from its middleware, after the view's response was made
    response = render(request, "admin/login_locked.html", {
        **admin.site.each_context(request), "cooloff_minutes": round(hours * 60)},
        status=429)
    response["Retry-After"] = str(int(hours * 3600))
    return response
