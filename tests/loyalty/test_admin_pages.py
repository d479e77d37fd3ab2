"""Every page of the operator console answers: each registered model's list, its add form
where adding is allowed, and its list searched — a smoke test over the whole admin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize("model,model_admin", MODELS, ids=[m._meta.label for m, _ in MODELS])
def test_list_add_and_search_pages_answer(admin_client, rf, admin_user, model, model_admin):
    opts = model._meta
    try:
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        pytest.skip(f"{opts.label} has no list page")
    response = admin_client.get(changelist, follow=True)
    assert response.status_code == 200, opts.label
    if model_admin.get_search_fields(rf.get(changelist)):
        assert admin_client.get(changelist, {"q": "1380013"}, follow=True).status_code == 200
    request = rf.get(changelist)
    request.user = admin_user
    if model_admin.has_add_permission(request):
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert admin_client.get(add, follow=True).status_code == 200, opts.label
