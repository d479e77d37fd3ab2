"""Transfers over HTTP: points move with their expiry dates, both balances answer, the
Idempotency-Key makes a retry harmless, refusals carry their stable codes."""

from __future__ import annotations

import pytest

from points.models import PointsLot, PointsTransfer
from points.services.ledger import points_adjust
from tests.points.helpers import set_points_settings

from .conftest import API, error_code, new_idem

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(member, owner):
    points_adjust(member_id=member.pk, points=1000, operator_id=owner.pk, reason="credit")
    return member


def transfer(api, sender, body, key=None):
    return api.post(f"{API}/members/{sender.pk}/points/transfer", body, format="json",
                    HTTP_IDEMPOTENCY_KEY=key or new_idem())


def test_a_transfer_moves_points_with_their_expiry_and_answers_both_balances(
        api, funded, make_member):
    receiver = make_member()
    key = new_idem()
    response = transfer(api, funded, {"to_member": receiver.pk, "points": 300,
                                      "reason": "给家人"}, key)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sender"], body["receiver"], body["points"]) == (funded.pk, receiver.pk, 300)
    assert body["sender_balance"]["available"] == 700
    assert body["receiver_balance"]["available"] == 300
    assert body["sender_entry"]["kind"] == "transfer" and body["sender_entry"]["points"] == -300
    assert body["receiver_entry"]["points"] == 300
    lot = PointsLot.objects.get(member=receiver)
    assert lot.expires_at == lot.carried_from.expires_at and lot.carried_from.member_id == funded.pk
    # the same request again is answered, not repeated
    again = transfer(api, funded, {"to_member": receiver.pk, "points": 300, "reason": "给家人"},
                     key)
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert PointsTransfer.objects.count() == 1
    entries = api.get(f"{API}/members/{receiver.pk}/points/entries").json()["results"]
    assert [(e["kind"], e["points"]) for e in entries] == [("transfer", 300)]


def test_refusals_have_stable_codes(api, funded, make_member):
    receiver = make_member()
    cases = [
        ({"to_member": funded.pk, "points": 1}, 422, "transfer_to_self"),
        ({"to_member": receiver.pk, "points": 1001}, 409, "insufficient_points"),
        ({"to_member": 999_999_999, "points": 1}, 404, "member_not_found"),
        ({"to_member": receiver.pk, "points": 0}, 400, "invalid_input"),
    ]
    for body, status, code in cases:
        response = transfer(api, funded, body)
        assert (response.status_code, error_code(response)) == (status, code), body
    assert PointsTransfer.objects.count() == 0


def test_the_daily_limit_is_a_409(api, funded, make_member):
    set_points_settings(transfer_daily_limit=500)
    receiver = make_member()
    assert transfer(api, funded, {"to_member": receiver.pk, "points": 400}).status_code == 201
    response = transfer(api, funded, {"to_member": receiver.pk, "points": 200})
    assert (response.status_code, error_code(response)) == (409, "transfer_daily_limit")
    assert "100" in response.json()["error"]["message"]


def test_a_key_without_points_write_is_refused(make_key, funded, make_member):
    from .conftest import client_for

    _, raw = make_key(["members:read"])
    response = client_for(raw).post(f"{API}/members/{funded.pk}/points/transfer",
                                    {"to_member": make_member().pk, "points": 1}, format="json",
                                    HTTP_IDEMPOTENCY_KEY=new_idem())
    assert response.status_code == 403


# --- cancelling a spend ---------------------------------------------------------------------

def spend(api, member, points: int) -> tuple[str, int]:
    key = new_idem()
    response = api.post(f"{API}/members/{member.pk}/points/spend", {"points": points},
                        format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return key, response.json()["entry"]["id"]


def cancel(api, member, entry_id, key=None):
    return api.post(f"{API}/members/{member.pk}/points/entries/{entry_id}/cancel",
                    {"reason": "合作方撤单"}, format="json",
                    HTTP_IDEMPOTENCY_KEY=key or new_idem())


def test_a_spend_is_cancelled_back_into_its_lots(api, funded):
    _, entry_id = spend(api, funded, 150)
    response = cancel(api, funded, entry_id)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["entry"]["kind"], body["entry"]["points"]) == ("cancel", 150)
    assert body["balance"]["available"] == 1000
    assert cancel(api, funded, entry_id).json()["entry"]["id"] == body["entry"]["id"]


def test_a_spend_that_paid_an_order_is_409_and_a_cancelled_one_cannot_pay(api, funded, store):
    from points.models import EarningRule

    EarningRule.objects.update(is_active=False)
    sale = {"store": store.code, "member": funded.pk, "ordered_at": "2026-03-14T10:30:00+08:00",
            "lines": [{"line_no": 1, "sku": "TEA", "quantity": 1, "gross_amount": "100.00",
                       "points_cash": "1.50"}]}
    paid_key, paid_entry = spend(api, funded, 150)
    linked = api.post(f"{API}/orders/sales", {**sale, "order_no": "S-1",
                                              "points_payment": {"spend": paid_key}},
                      format="json")
    assert linked.status_code == 201, linked.content
    response = cancel(api, funded, paid_entry)
    assert (response.status_code, error_code(response)) == (409, "spend_paid_order")

    other_key, other_entry = spend(api, funded, 150)
    assert cancel(api, funded, other_entry).status_code == 201
    refused = api.post(f"{API}/orders/sales", {**sale, "order_no": "S-2",
                                               "points_payment": {"spend": other_key}},
                       format="json")
    assert (refused.status_code, error_code(refused)) == (422, "points_payment_mismatch")


def test_another_integrators_spend_is_not_found(api, funded, django_user_model):
    from loyalty.services.api_keys import api_key_create

    from .conftest import ALL_SCOPES, client_for

    _, entry_id = spend(api, funded, 10)
    stranger = django_user_model.objects.create_user("other-integrator")
    _, raw = api_key_create(name="other", scopes=ALL_SCOPES, owner_id=stranger.pk,
                            rate_per_minute=1_000_000)
    other = client_for(raw)
    response = cancel(other, funded, entry_id)
    assert (response.status_code, error_code(response)) == (404, "spend_not_found")
    response = cancel(api, funded, 2**63)
    assert (response.status_code, error_code(response)) == (404, "spend_not_found")
