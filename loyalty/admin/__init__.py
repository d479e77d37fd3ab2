"""The top layer composes the operator console: pages that span elements live here, one module
per feature; importing this package registers them all."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import access, api_keys, beat, member_benefits, members, webhooks  # noqa: F401  (registers their admins)

admin.site.site_header = _("Loyalty back office")
admin.site.site_title = _("Loyalty back office")
admin.site.index_title = _("Member programme")
