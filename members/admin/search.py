"""For admin lists in any layer whose rows belong to a member (ledger entries, growth,
coupons, grants …): search by a member's number, mobile or last four digits, resolved to
indexed lookups (members.selectors) instead of a join with LIKE, and a link to the member."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..selectors.members import member_ids_matching


def member_link(member_id: int, label: str) -> str:
    url = reverse("admin:members_member_change", args=[member_id])
    return format_html("<a href='{}'>{}</a>", url, label)


class MemberSearchMixin:
    search_fields = ("member__member_no",)
    search_help_text = _("A member's number, mobile or its last four digits.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(member_id__in=member_ids_matching(term)), False
