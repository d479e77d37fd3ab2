"""The ledger's cancel-a-spend page: a preview naming the lots, then the cancellation, once;
only for staff who may write entries."""

from __future__ import annotations

from django.urls import reverse

from loyalty.roles import FINANCE, roles_sync
from points.models import EntryKind, PointsAccount, PointsEntry
from points.services.ledger import points_earn, points_spend


def test_a_spend_is_cancelled_in_two_steps(admin_client, admin_user, member):
    points_earn(member_id=member.pk, points=100, pending_days=0)
    spend = points_spend(member_id=member.pk, points=40).entry
    page = reverse("admin:points_pointsentry_change", args=[spend.pk])
    url = reverse("admin:points_pointsentry_cancel_spend", args=[spend.pk])
    assert url in admin_client.get(page).content.decode()

    response = admin_client.post(url, {"reason": ""})
    assert response.context["form"].errors["reason"]
    response = admin_client.post(url, {"reason": "误扣"})
    assert response.context["confirming"] is True
    assert [back for _lot, back in response.context["lots"]] == [40]
    assert not PointsEntry.objects.filter(kind=EntryKind.CANCEL).exists()
    assert admin_client.post(url, {"reason": "误扣", "confirm": "1"}).status_code == 302
    assert admin_client.post(url, {"reason": "误扣", "confirm": "1"}).status_code == 302

    cancel = PointsEntry.objects.get(kind=EntryKind.CANCEL)
    assert (cancel.available_delta, cancel.operator_id, cancel.note.text) == (40, admin_user.pk,
                                                                              "误扣")
    assert PointsAccount.objects.get(member=member).available == 100
    assert url not in admin_client.get(page).content.decode()  # nothing left to cancel


def test_other_entries_cannot_be_cancelled(admin_client, member):
    earned = points_earn(member_id=member.pk, points=100, pending_days=0).entry
    url = reverse("admin:points_pointsentry_cancel_spend", args=[earned.pk])
    response = admin_client.get(url)
    assert response.status_code == 200 and response.context["form"] is None
    assert admin_client.post(url, {"reason": "x", "confirm": "1"}).status_code == 200
    assert not PointsEntry.objects.filter(kind=EntryKind.CANCEL).exists()
    url = reverse("admin:points_pointsentry_cancel_spend", args=[earned.pk + 1000])
    assert admin_client.get(url).status_code == 404


def test_finance_cannot_cancel(client, django_user_model, member):
    points_earn(member_id=member.pk, points=100, pending_days=0)
    spend = points_spend(member_id=member.pk, points=40).entry
    user = django_user_model.objects.create_user("fin1", password="x", is_staff=True)
    user.groups.add(roles_sync()[FINANCE])
    client.force_login(user)
    url = reverse("admin:points_pointsentry_cancel_spend", args=[spend.pk])
    assert client.post(url, {"reason": "x", "confirm": "1"}).status_code == 403
    assert not PointsEntry.objects.filter(kind=EntryKind.CANCEL).exists()
