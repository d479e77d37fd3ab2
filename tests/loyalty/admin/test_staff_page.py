"""The staff page: each account's roles, stores, last login and the API keys it owns; an
account that owns active keys is not deactivated until they are reassigned or revoked."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loyalty import roles
from loyalty.services.api_keys import api_key_create, api_key_revoke
from members.models import StoreStaff

pytestmark = pytest.mark.django_db

LIST = "/admin/auth/user/"


@pytest.fixture
def programme_admin():
    user = User.objects.create_user("pa", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.PROGRAMME_ADMINS))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _clerk(name, store):
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CLERKS))
    StoreStaff.objects.create(user=user, store=store)
    return user


def _change_data(user, **changes):
    data = {"username": user.username, "first_name": "", "last_name": "", "email": "",
            "is_active": "on", "is_staff": "on",
            "groups": [g.pk for g in user.groups.all()],
            "store_links-TOTAL_FORMS": "0", "store_links-INITIAL_FORMS": "0",
            "store_links-MIN_NUM_FORMS": "0", "store_links-MAX_NUM_FORMS": "1000"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_list_shows_roles_stores_and_keys_without_a_query_per_row(programme_admin, store):
    clerk = _clerk("clerk-a", store)
    key, _secret = api_key_create(name="pos", scopes=["members:read"], owner_id=clerk.pk)
    page = programme_admin.get(LIST).content.decode()
    assert str(roles.ROLE_NAMES[roles.CLERKS]) in page
    assert store.name in page and key.prefix in page
    with CaptureQueriesContext(connection) as few:
        programme_admin.get(LIST)
    for n in range(5):
        _clerk(f"clerk-{n}", store)
    with CaptureQueriesContext(connection) as many:
        programme_admin.get(LIST)
    assert len(many) == len(few)


def test_deactivation_waits_for_the_keys_to_be_revoked(programme_admin, store):
    clerk = _clerk("clerk-b", store)
    key, _secret = api_key_create(name="pos", scopes=["members:read"], owner_id=clerk.pk)
    url = f"/admin/auth/user/{clerk.pk}/change/"
    session = Client()
    session.force_login(clerk)
    assert session.get("/counter/").status_code == 200
    response = programme_admin.post(url, _change_data(clerk, is_active=None))
    assert response.status_code == 200
    assert key.prefix in str(response.context["adminform"].form.errors["is_active"])
    clerk.refresh_from_db()
    assert clerk.is_active
    api_key_revoke(key_id=key.pk)
    response = programme_admin.post(url, _change_data(clerk, is_active=None))
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert not clerk.is_active
    # at once: the session the account had open no longer signs it in
    assert session.get("/counter/").status_code == 302
