"""The console's site: signing in lands on the dashboard; the sidebar by the work offers each
role the pages it may open and no other."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from loyalty import roles
from loyalty.console import NAVIGATION

pytestmark = pytest.mark.django_db


def _staff(role: str) -> Client:
    user = User.objects.create_user(f"s-{role}", password="pw-console-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_signing_in_lands_on_the_console():
    User.objects.create_user("op", password="pw-console-1", is_staff=True)
    response = Client().post("/admin/login/", {"username": "op", "password": "pw-console-1"})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def _sidebar(client) -> str:
    html = client.get("/admin/").content.decode()
    start = html.find('id="nav-sidebar-apps"')
    assert start >= 0
    return html[start:]


@pytest.mark.parametrize("role,shown,hidden", [
    (roles.OPERATORS, ["points_earningrule_try", "tiers_tier_preview", "tiers_benefit_cost",
                       "members_member_changelist"], ["loyalty_apikey_changelist",
                                                      "auth_user_changelist"]),
    (roles.PROGRAMME_ADMINS, ["loyalty_apikey_changelist", "auth_user_changelist"],
     ["points_earningrule_try", "members_member_changelist"]),
    (roles.FINANCE, ["points_pointsmonthtotal_changelist", "tiers_paid_figures"],
     ["members_member_import_tag", "loyalty_apikey_changelist"]),
])
def test_the_sidebar_offers_what_the_role_may_open(role, shown, hidden):
    sidebar = _sidebar(_staff(role))
    for name in shown:
        assert f'href="{reverse(f"admin:{name}")}"' in sidebar, name
    for name in hidden:
        assert f'href="{reverse(f"admin:{name}")}"' not in sidebar, name


def test_the_sidebar_groups_are_the_work():
    sidebar = _sidebar(_staff(roles.AUDITORS))
    for title in ("首页", "会员", "积分", "等级与权益", "活动", "门店", "报表", "设置"):
        assert f"{title}" in sidebar, title
    assert len(NAVIGATION) == 8


def test_every_admin_list_has_its_place_in_the_sidebar():
    """A list registered later without a sidebar entry could only be reached by its URL."""
    from django.contrib import admin

    from loyalty.console import NOT_IN_SIDEBAR

    entries = {entry.url_name for _title, group in NAVIGATION for entry in group}
    lists = {f"{model._meta.app_label}_{model._meta.model_name}_changelist"
             for model in admin.site._registry}
    assert sorted(lists - entries - NOT_IN_SIDEBAR) == []
    assert NOT_IN_SIDEBAR <= lists
