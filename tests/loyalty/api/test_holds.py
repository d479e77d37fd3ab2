"""Checkout holds over HTTP: create, capture, release; ownership, replays and refusals."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from loyalty.services.api_keys import api_key_create
from points.models import EntryKind, PointsEntry, PointsHold
from points.services.ledger import points_adjust

from .conftest import ALL_SCOPES, API, client_for, error_code, new_idem, row_counts

pytestmark = pytest.mark.django_db

HOLDS = f"{API}/checkout/holds"


@pytest.fixture
def funded(member, owner):
    points_adjust(member_id=member.pk, points=500, operator_id=owner.pk, reason="credit")
    return member


def post(client, url, body, key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_idem())


def place(api, member, points=300):
    response = post(api, HOLDS, {"member": member.pk, "points": points, "reference": "B-1"})
    assert response.status_code == 201, response.content
    return response.json()


def test_hold_then_capture(api, funded):
    body = place(api, funded)
    assert body["hold"]["state"] == "held"
    assert body["balance"] == {"member": funded.pk, "available": 200, "pending": 0,
                               "held": 300, "debt": 0}
    assert api.get(f"{API}/members/{funded.pk}/points").json()["held"] == 300

    response = post(api, f"{HOLDS}/{body['hold']['id']}/capture", {"points": 120})

    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["hold"]["state"], out["hold"]["captured"]) == ("captured", 120)
    assert out["balance"] == {"member": funded.pk, "available": 380, "pending": 0,
                              "held": 0, "debt": 0}


def test_a_hold_can_be_read_by_its_integrator_only(api, funded):
    hold_id = place(api, funded, points=120)["hold"]["id"]
    post(api, f"{HOLDS}/{hold_id}/capture", {"points": 100})
    response = api.get(f"{HOLDS}/{hold_id}")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["captured"]) == ("captured", 100)
    stranger = get_user_model().objects.create_user(username="other-shop", password="x-unused-x")
    _key, raw = api_key_create(name="other", scopes=ALL_SCOPES, owner_id=stranger.pk,
                               rate_per_minute=1000)
    response = client_for(raw).get(f"{HOLDS}/{hold_id}")
    assert (response.status_code, error_code(response)) == (404, "hold_not_found")


def test_hold_then_release(api, funded):
    hold_id = place(api, funded)["hold"]["id"]
    response = post(api, f"{HOLDS}/{hold_id}/release", {})
    assert response.status_code == 200, response.content
    assert response.json()["hold"]["state"] == "released"
    assert response.json()["balance"]["available"] == 500


def test_second_capture_or_release_is_409_and_a_replay_is_the_first_answer(api, funded):
    hold_id = place(api, funded)["hold"]["id"]
    key = new_idem()
    first = post(api, f"{HOLDS}/{hold_id}/capture", {"points": 100}, key=key)
    replay = post(api, f"{HOLDS}/{hold_id}/capture", {"points": 100}, key=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"

    again = post(api, f"{HOLDS}/{hold_id}/capture", {"points": 100})
    release = post(api, f"{HOLDS}/{hold_id}/release", {})
    assert (again.status_code, error_code(again)) == (409, "hold_closed")
    assert (release.status_code, error_code(release)) == (409, "hold_closed")
    assert PointsEntry.objects.filter(kind=EntryKind.CAPTURE).count() == 1


def test_capture_above_the_hold_is_422_and_nothing_changes(api, funded):
    hold_id = place(api, funded)["hold"]["id"]
    before = row_counts()
    response = post(api, f"{HOLDS}/{hold_id}/capture", {"points": 301})
    assert (response.status_code, error_code(response)) == (422, "capture_exceeds_hold")
    assert response.json()["error"]["details"] == {"requested": 301, "held": 300}
    assert row_counts() == before
    assert PointsHold.objects.get(pk=hold_id).state == "held"


def test_holding_more_than_available_is_409(api, funded):
    response = post(api, HOLDS, {"member": funded.pk, "points": 501})
    assert (response.status_code, error_code(response)) == (409, "insufficient_points")
    assert not PointsHold.objects.exists()


def test_another_integrators_hold_is_404(api, funded):
    hold_id = place(api, funded)["hold"]["id"]
    stranger = get_user_model().objects.create_user(username="other-shop", password="x-unused-x")
    _key, raw = api_key_create(name="other", scopes=ALL_SCOPES, owner_id=stranger.pk,
                               rate_per_minute=1000)
    other = client_for(raw)
    for action, body in (("capture", {"points": 1}), ("release", {})):
        response = post(other, f"{HOLDS}/{hold_id}/{action}", body)
        assert (response.status_code, error_code(response)) == (404, "hold_not_found")
    assert PointsHold.objects.get(pk=hold_id).state == "held"


def test_hold_writes_need_the_points_write_scope_and_the_header(make_key, funded):
    _key, raw = make_key(scopes=["members:read"])
    response = post(client_for(raw), HOLDS, {"member": funded.pk, "points": 1})
    assert response.status_code == 403
    _key, raw = make_key()
    response = client_for(raw).post(HOLDS, {"member": funded.pk, "points": 1}, format="json")
    assert (response.status_code, error_code(response)) == (400, "idempotency_key_required")
    assert not PointsHold.objects.exists()
