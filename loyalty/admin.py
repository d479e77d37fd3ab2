"""The top layer composes the operator console: pages that span elements live here."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from members.admin import MemberAdmin as BaseMemberAdmin
from members.models import Member
from members.services import MemberInput

from .intake import register_member

admin.site.site_header = _("Loyalty back office")
admin.site.site_title = _("Loyalty back office")
admin.site.index_title = _("Member programme")


class MemberAdmin(BaseMemberAdmin):
    def register(self, request, data: MemberInput) -> Member:
        # An enrolment from the console is a registration like any other: it goes through
        # the intake so every element hears of it.
        return register_member(data=replace(data, enrolled_by_id=request.user.pk)).member


admin.site.unregister(Member)
admin.site.register(Member, MemberAdmin)
