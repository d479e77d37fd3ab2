"""Reads of members: search by mobile, member number or name."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from core.phones import normalise_mobile

from ..models import Member

_DIGITS = re.compile(r"^\+?[\d\s-]+$")


def member_search_q(term: str) -> Q:
    """What a clerk or operator types into one search box, resolved to indexed lookups only.

    "5678" → the last four digits of the mobile; "13812345678" or "+86 138 1234 5678" → the
    exact mobile (or a member number of the same digits); other digits → the member number
    or storefront id; anything else → a name prefix ("王") or a storefront id.
    """
    term = term.strip()
    if not term:
        return Q()
    if _DIGITS.match(term):
        digits = re.sub(r"[\s-]", "", term)
        if len(digits) == 4 and digits.isdigit():
            return Q(mobile_last4=digits)
        query = Q(member_no=digits.lstrip("+")) | Q(external_id=term)
        try:
            query |= Q(mobile=normalise_mobile(digits))
        except ValueError:
            pass
        return query
    return Q(name__startswith=term) | Q(external_id=term)


def member_search(queryset: QuerySet[Member], term: str) -> QuerySet[Member]:
    return queryset.filter(member_search_q(term))


def member_ids_matching(term: str, limit: int = 100) -> list[int]:
    """Ids of the members a search term finds, fetched first: an OR of an indexed column
    with a subquery makes PostgreSQL scan the whole table, with a literal list it does not."""
    return list(Member.objects.filter(member_search_q(term)).values_list("pk", flat=True)[:limit])


def is_exact_identifier(term: str) -> bool:
    """A full mobile number or a member number: what a clerk may look up beyond their
    stores (a walk-in from elsewhere), as opposed to a last-four or a name prefix."""
    term = term.strip()
    if not _DIGITS.match(term):
        return False
    digits = re.sub(r"[\s-]", "", term).lstrip("+")
    if len(digits) == 4:
        return False
    try:
        normalise_mobile(digits)
        return True
    except ValueError:
        return Member.objects.filter(member_no=digits).exists()
