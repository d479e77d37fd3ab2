"""A programme admin manages staff accounts: roles from the role groups only, stores, never
the superuser flag, single permissions or their own role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from loyalty.roles import CLERKS, OPERATORS, PROGRAMME_ADMINS, roles_sync
from members.models import Store, StoreStaff

pytestmark = pytest.mark.django_db


@pytest.fixture
def progadmin():
    roles_sync()
    user = User.objects.create_user("progadmin", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=PROGRAMME_ADMINS))
    client = Client()
    client.force_login(user)
    return client, user


def page_data(page) -> dict:
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else value
    data.update({"store_links-TOTAL_FORMS": "0", "store_links-INITIAL_FORMS": "0",
                 "_save": "Save"})
    return data


def test_a_programme_admin_gives_roles_and_stores(progadmin):
    client, _me = progadmin
    clerk = User.objects.create_user("newclerk", password="x", is_staff=True)
    store = Store.objects.create(code="SH001", name="上海南京西路店")
    url = reverse("admin:auth_user_change", args=[clerk.pk])
    data = page_data(client.get(url))
    data.update({"groups": [str(Group.objects.get(name=CLERKS).pk)],
                 "store_links-TOTAL_FORMS": "1", "store_links-0-store": str(store.pk)})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(clerk.groups.values_list("name", flat=True)) == [CLERKS]
    assert StoreStaff.objects.filter(user=clerk, store=store).exists()


def test_a_programme_admin_cannot_grant_superuser_or_single_permissions(progadmin):
    client, _me = progadmin
    clerk = User.objects.create_user("newclerk", password="x", is_staff=True)
    url = reverse("admin:auth_user_change", args=[clerk.pk])
    page = client.get(url)
    assert "is_superuser" not in page.context["adminform"].form.fields
    assert "user_permissions" not in page.context["adminform"].form.fields
    data = page_data(page)
    data.update({"is_superuser": "on",
                 "user_permissions": [str(Permission.objects.get(codename="add_user").pk)]})
    client.post(url, data)
    clerk.refresh_from_db()
    assert not clerk.is_superuser and not clerk.user_permissions.exists()


def test_a_programme_admin_cannot_grant_a_group_outside_the_roles(progadmin):
    client, _me = progadmin
    extra = Group.objects.create(name="everything")
    extra.permissions.set(Permission.objects.all())
    clerk = User.objects.create_user("newclerk", password="x", is_staff=True)
    url = reverse("admin:auth_user_change", args=[clerk.pk])
    data = page_data(client.get(url))
    data["groups"] = [str(extra.pk)]
    response = client.post(url, data)
    assert response.status_code == 200 and response.context["adminform"].form.errors["groups"]
    assert not clerk.groups.exists()


def test_a_programme_admin_cannot_change_their_own_role(progadmin):
    client, me = progadmin
    url = reverse("admin:auth_user_change", args=[me.pk])
    page = client.get(url)
    assert page.status_code == 200 and "groups" not in page.context["adminform"].form.fields
    data = page_data(page)
    data["groups"] = [str(Group.objects.get(name=OPERATORS).pk)]
    client.post(url, data)
    assert list(me.groups.values_list("name", flat=True)) == [PROGRAMME_ADMINS]


def test_a_programme_admin_cannot_change_a_superuser(progadmin):
    client, _me = progadmin
    root = User.objects.create_superuser("root", password="x")
    assert client.get(reverse("admin:auth_user_change", args=[root.pk])).status_code == 200
    response = client.post(reverse("admin:auth_user_change", args=[root.pk]),
                           {"username": "root", "is_active": ""})
    assert response.status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert client.post(password, {"password1": "Stolen-Pass-2026",
                                  "password2": "Stolen-Pass-2026"}).status_code == 403
    root.refresh_from_db()
    assert root.is_active and root.check_password("x")


def test_the_role_groups_exist_without_the_demo():
    """After migrate alone (the test database), the five groups carry their permissions."""
    operators = Group.objects.get(name=OPERATORS)
    assert operators.permissions.filter(codename="change_tier").exists()
    assert not operators.permissions.filter(codename="add_apikey").exists()
    assert Group.objects.get(name=PROGRAMME_ADMINS).permissions.filter(
        codename="add_apikey").exists()
