"""Search by member in the tiers' admin lists: a member's number, mobile or last four
digits, resolved to indexed lookups (members.selectors) instead of a join with LIKE."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from members.selectors import member_ids_matching


class MemberSearchMixin:
    search_fields = ("member__member_no",)
    search_help_text = _("A member's number, mobile or its last four digits.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(member_id__in=member_ids_matching(term)), False
