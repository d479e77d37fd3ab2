"""core.admin.ScaleAdmin: ids are shown as typed, while figures carry separators."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from points.services.ledger import points_adjust

pytestmark = pytest.mark.django_db


def test_ids_in_large_lists_are_plain_and_figures_grouped(admin_client, admin_user, member,
                                                          high_ids):
    high_ids("points_pointsentry", 1_234_566)
    entry = points_adjust(member_id=member.pk, points=25_000, operator_id=admin_user.pk,
                          reason="补偿").entry
    assert entry.pk == 1234567
    page = admin_client.get(reverse("admin:points_pointsentry_changelist")).content.decode()
    link = reverse("admin:points_pointsentry_change", args=[entry.pk])
    # the console's table markup carries its own classes; the cells' contents are the point
    assert re.search(rf'<th class="field-row_id[^"]*"[^>]*><a href="{link}[^"]*"[^>]*>1234567</a>',
                     page)
    assert re.search(r'<td class="field-available_delta[^"]*"[^>]*>\s*25,000\s*</td>', page)
    assert "1,234,567" not in page


def test_every_admin_with_autocomplete_fields_reads_any_submitted_value():
    """Django's autocomplete widget raises on a value that is not an id (a 500 on the form):
    every admin and inline offering one uses core.admin.AutocompleteInputMixin."""
    from django.contrib import admin as django_admin

    from core.admin import AutocompleteInputMixin

    missing = []
    for model, model_admin in django_admin.site._registry.items():
        owners = [model_admin, *(inline(model, django_admin.site)
                                 for inline in model_admin.inlines)]
        for owner in owners:
            if owner.autocomplete_fields and not isinstance(owner, AutocompleteInputMixin):
                missing.append(type(owner).__name__)
    assert missing == []
