"""The composed member page: balances, the two-step adjustment, API keys shown once."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty.models import ApiKey
from loyalty.roles import roles_sync
from points.models import PointsAccount, PointsEntry
from points.selectors.ledger import points_expiring_soon
from points.services.ledger import points_earn
from tests.points.helpers import set_points_settings


def test_member_page_shows_balances(admin_client, member):
    response = admin_client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert response.status_code == 200
    assert reverse("admin:loyalty_member_adjust_points", args=[member.pk]) in response.content.decode()


def test_member_page_warns_of_points_expiring_soon(admin_client, member):
    page = reverse("admin:members_member_change", args=[member.pk])
    assert "30 天内没有即将过期的积分" in admin_client.get(page).content.decode()
    set_points_settings(expiry_policy="rolling", expiry_months=1)
    lot_earned = timezone.now() - timedelta(days=25)
    points_earn(member_id=member.pk, points=120, now=lot_earned, pending_days=0)
    soon = points_expiring_soon(member_id=member.pk)
    assert soon.points == 120 and soon.date is not None
    assert f"120 积分将于 {soon.date} 前过期" in admin_client.get(page).content.decode()


def test_adjustment_needs_a_reason_then_a_confirmation(admin_client, admin_user, member):
    url = reverse("admin:loyalty_member_adjust_points", args=[member.pk])
    response = admin_client.post(url, {"points": "200", "reason": ""})
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    data = {"points": "200", "reason_code": "goodwill", "reason": "补偿"}
    response = admin_client.post(url, data)
    assert response.context["confirming"] is True
    assert PointsEntry.objects.count() == 0  # nothing until confirmed
    response = admin_client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    entry = PointsEntry.objects.get()
    # the ledger keeps a code; what the operator typed is a note beside it
    assert (entry.kind, entry.available_delta, entry.operator_id, entry.reason) == (
        "adjust", 200, admin_user.pk, "goodwill")
    assert entry.note.text == "补偿" and entry.note.member_id == member.pk
    assert PointsAccount.objects.get(member=member).available == 200


def test_negative_adjustment_beyond_the_balance_is_a_form_error(admin_client, member):
    url = reverse("admin:loyalty_member_adjust_points", args=[member.pk])
    response = admin_client.post(url, {"points": "-5", "reason_code": "correction",
                                       "reason": "x", "confirm": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors["points"]
    assert PointsEntry.objects.count() == 0


def test_clerks_cannot_adjust(client, django_user_model, member):
    from loyalty.roles import CLERKS, roles_sync

    roles_sync()
    clerk = django_user_model.objects.create_user("clerk1", password="x", is_staff=True)
    clerk.groups.add(*[g for name, g in roles_sync().items() if name == CLERKS])
    client.force_login(clerk)
    url = reverse("admin:loyalty_member_adjust_points", args=[member.pk])
    assert client.post(url, {"points": "5", "reason": "x", "confirm": "1"}).status_code == 403
    assert PointsEntry.objects.count() == 0


def test_entries_are_read_only(admin_client, admin_user, member):
    from points.services.ledger import points_adjust

    points_adjust(member_id=member.pk, points=10, operator_id=admin_user.pk, reason="r")
    entry = PointsEntry.objects.get()
    list_page = admin_client.get(reverse("admin:points_pointsentry_changelist") + f"?q={member.member_no}")
    assert list_page.status_code == 200 and entry in list_page.context["cl"].result_list
    assert admin_client.get(reverse("admin:points_pointsentry_add")).status_code == 403
    response = admin_client.post(reverse("admin:points_pointsentry_delete", args=[entry.pk]),
                                 {"post": "yes"})
    assert response.status_code == 403
    assert PointsEntry.objects.count() == 1
    # the entry's page shows the lot it put its points into
    page = admin_client.get(reverse("admin:points_pointsentry_change", args=[entry.pk]))
    assert page.status_code == 200
    movements = page.context["inline_admin_formsets"][-1].formset.queryset
    assert list(movements.values_list("lot_id", "points")) == [(entry.lot_id, 10)]


def test_api_key_is_shown_once_and_stored_hashed(admin_client, admin_user):
    response = admin_client.post(reverse("admin:loyalty_apikey_add"), {
        "name": "小程序", "scopes": ["members:read", "orders:write"], "owner": admin_user.pk,
        "rate_per_minute": "600"}, follow=True)
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    plaintext = re.search(r"lk_[0-9a-f]{8}_[\w-]+", text).group(0)
    key = ApiKey.objects.get()
    assert plaintext.split("_")[1] == key.prefix
    assert plaintext not in key.hashed_key and key.hashed_key != plaintext
    assert sorted(key.scopes) == ["members:read", "orders:write"]
    page = admin_client.get(reverse("admin:loyalty_apikey_change", args=[key.pk]))
    assert plaintext not in page.content.decode()


def role_login(client, django_user_model, role, username):
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(roles_sync()[role])
    client.force_login(user)
    return user


def test_a_programme_admin_creates_a_key_owned_by_themselves_or_whom_they_name(
        client, django_user_model, admin_user):
    from loyalty.roles import PROGRAMME_ADMINS

    progadmin = role_login(client, django_user_model, PROGRAMME_ADMINS, "progadmin1")
    add = reverse("admin:loyalty_apikey_add")
    page = client.get(add)
    assert page.status_code == 200
    assert page.context["adminform"].form["owner"].value() == progadmin.pk

    response = client.post(add, {"name": "收银机", "scopes": ["orders:write"],
                                 "owner": progadmin.pk, "rate_per_minute": "600"})
    assert response.status_code == 302
    response = client.post(add, {"name": "小程序", "scopes": ["members:read"],
                                 "owner": admin_user.pk, "rate_per_minute": "600"})
    assert response.status_code == 302
    owners = dict(ApiKey.objects.values_list("name", "owner_id"))
    assert owners == {"收银机": progadmin.pk, "小程序": admin_user.pk}


def test_a_programme_admin_hands_a_key_to_another_owner(client, django_user_model,
                                                        admin_user):
    from loyalty.roles import PROGRAMME_ADMINS
    from loyalty.services.api_keys import api_key_create

    progadmin = role_login(client, django_user_model, PROGRAMME_ADMINS, "progadmin1")
    key, _plaintext = api_key_create(name="小程序", scopes=["members:read"],
                                     owner_id=progadmin.pk)
    change = reverse("admin:loyalty_apikey_change", args=[key.pk])
    response = client.post(change, {"owner": admin_user.pk, "_save": "Save"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.owner_id == admin_user.pk and key.scopes == ["members:read"]


@pytest.mark.parametrize("role", ["operators", "finance", "clerks"])
def test_nobody_but_a_programme_admin_makes_or_revokes_keys(client, django_user_model,
                                                            admin_user, role):
    from loyalty.services.api_keys import api_key_create

    key, _plaintext = api_key_create(name="小程序", scopes=["members:read"],
                                     owner_id=admin_user.pk)
    role_login(client, django_user_model, role, "someone")
    changelist = reverse("admin:loyalty_apikey_changelist")

    assert client.get(reverse("admin:loyalty_apikey_add")).status_code == 403
    assert client.get(changelist).status_code == 403
    client.post(changelist, {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_new_keys_secret_never_travels_in_a_cookie(admin_client):
    response = admin_client.post(reverse("admin:loyalty_apikey_add"), {
        "name": "小程序", "scopes": ["members:read"], "rate_per_minute": "600"})
    assert response.status_code == 302
    cookies = " ".join(morsel.value for morsel in response.cookies.values())
    assert "lk_" not in cookies and "messages" not in response.cookies
    shown = admin_client.get(response["Location"]).content.decode()
    assert re.search(r"lk_[0-9a-f]+_", shown)  # shown from the session, once
    again = admin_client.get(response["Location"]).content.decode()
    assert not re.search(r"lk_[0-9a-f]+_", again)


@pytest.mark.parametrize("url_name", ["admin:points_pointsentry_changelist",
                                      "admin:points_pointslot_changelist",
                                      "admin:points_pointsaccount_changelist",
                                      "admin:points_pointssettings_changelist",
                                      "admin:loyalty_apikey_changelist"])
def test_points_pages_answer(admin_client, url_name):
    response = admin_client.get(reverse(url_name), follow=True)
    assert response.status_code == 200


def test_member_page_figures_read_with_thousands_separators(admin_client, admin_user, member):
    from points.services.ledger import points_adjust

    points_adjust(member_id=member.pk, points=1_234_567, operator_id=admin_user.pk, reason="r")
    page = admin_client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert "<td>1,234,567</td>" in page.content.decode()


def test_a_large_adjustment_is_confirmed_as_typed(admin_client, admin_user, member):
    url = reverse("admin:loyalty_member_adjust_points", args=[member.pk])
    data = {"points": "1500", "reason_code": "goodwill", "reason": "补偿"}
    preview = admin_client.post(url, data).content.decode()
    assert 'name="points" value="1500"' in preview  # not "1,500", which would not parse
    assert "1,500" in preview  # what the operator reads
    response = admin_client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    assert PointsAccount.objects.get(member=member).available == 1500


def test_member_statistics_name_the_rfm_segment_in_the_operator_language(admin_client, store,
                                                                         member, now):
    from loyalty.services import intake
    from members.models import MemberStats, RfmSegment
    from tests.points.helpers import sale_input

    intake.record_sale(sale=sale_input(store, member.pk, now, "S-1", "12345.60"), now=now)
    MemberStats.objects.filter(member=member).update(rfm_segment="promising")
    page = reverse("admin:members_member_change", args=[member.pk])
    zh = admin_client.get(page).content.decode()
    assert "潜力客户" in zh and "promising" not in zh
    assert "12,345.60" in zh
    assert "Promising" in admin_client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    RfmSegment.objects.filter(code="promising").update(name="高潜新客")  # renamed: data wins
    assert "高潜新客" in admin_client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_points_entry_names_the_rules_and_lines_that_paid(admin_client, store, member, now):
    from loyalty.services import intake
    from members.services.orders import LineInput, SaleInput
    from tests.loyalty.console_html import page_texts

    intake.record_sale(sale=SaleInput(store_code=store.code, order_no="A1", member_id=member.pk,
                                      ordered_at=now, lines=(LineInput(
                                          line_no=1, sku="TEA-01", quantity=2,
                                          gross_amount=Decimal("1200.00")),)), now=now)
    entry = PointsEntry.objects.get(kind="earn")
    html = admin_client.get(reverse("admin:points_pointsentry_change", args=[entry.pk]))
    html = html.content.decode()
    texts = [t.text for t in page_texts(html)]
    assert not [t for t in texts if "object (" in t]
    line = entry.lines.get()
    assert line.points >= 1000 and f"#1 TEA-01 × 2：{line.points:,} 积分" in texts
    award = entry.awards.select_related("rule").get()
    assert f"{award.rule.name} v{award.rule.version}：{award.points:,} 积分" in texts
    titles = {t.text for t in page_texts(html) if t.column_of is not None}
    assert {"订单明细", "积分"} <= titles and not {"Order line", "Points"} & titles


def test_transfer_previews_then_moves_once(admin_client, admin_user, member, make_member):
    from points.models import PointsTransfer

    receiver = make_member()
    points_earn(member_id=member.pk, points=100, pending_days=0)
    url = reverse("admin:loyalty_member_transfer_points", args=[member.pk])
    assert reverse("admin:loyalty_member_transfer_points", args=[member.pk]) in \
        admin_client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()
    response = admin_client.post(url, {"receiver": member.member_no, "points": "10"})
    assert response.context["form"].errors["receiver"]
    response = admin_client.post(url, {"receiver": receiver.member_no, "points": "101"})
    assert response.context["form"].errors["points"]
    response = admin_client.post(url, {"receiver": receiver.member_no, "points": "40",
                                       "reason": "给家人"})
    assert response.context["confirming"] is True and PointsTransfer.objects.count() == 0
    token = str(response.context["token"])
    data = {"receiver": receiver.member_no, "points": "40", "reason": "给家人", "token": token,
            "confirm": "1"}
    assert admin_client.post(url, data).status_code == 302
    assert admin_client.post(url, data).status_code == 302  # submitted twice: moved once
    transfer = PointsTransfer.objects.get()
    assert (transfer.points, transfer.operator_id, transfer.note.text) == (40, admin_user.pk,
                                                                          "给家人")
    assert PointsAccount.objects.get(member=member).available == 60
    assert PointsAccount.objects.get(member=receiver).available == 40
    listing = admin_client.get(reverse("admin:points_pointstransfer_changelist")
                               + f"?q={receiver.member_no}")
    assert listing.status_code == 200 and receiver.member_no in listing.content.decode()


def test_finance_cannot_transfer(client, django_user_model, member, make_member):
    from loyalty.roles import FINANCE

    groups = roles_sync()
    user = django_user_model.objects.create_user("fin1", password="x", is_staff=True)
    user.groups.add(groups[FINANCE])
    client.force_login(user)
    url = reverse("admin:loyalty_member_transfer_points", args=[member.pk])
    assert client.get(url).status_code == 403
