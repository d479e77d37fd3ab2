"""Partner exchanges and the liability report over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from points.models import PartnerExchange, PartnerProgramme
from points.services.ledger import points_adjust

from .conftest import API, client_for, error_code, new_idem, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(db):
    return PartnerProgramme.objects.create(code="air", name="航空里程", rate_in=Decimal("0.5"),
                                           rate_out=Decimal("2"), member_daily_limit_in=1000)


def post(client, url, body, key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_idem())


def test_exchange_in_and_out(api, member, partner):
    response = post(api, f"{API}/partners/air/exchanges/in",
                    {"member": member.pk, "partner_points": 800, "external_id": "M-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["exchange"]["points"], body["balance"]["available"]) == (400, 400)

    response = post(api, f"{API}/partners/air/exchanges/out",
                    {"member": member.pk, "points": 150, "external_id": "M-2"})
    assert response.status_code == 201, response.content
    assert response.json()["exchange"]["partner_points"] == 300
    assert response.json()["balance"]["available"] == 250


def test_the_same_partner_transaction_under_a_new_key_is_the_same_exchange(api, member, partner):
    body = {"member": member.pk, "partner_points": 800, "external_id": "M-1"}
    first = post(api, f"{API}/partners/air/exchanges/in", body)
    again = post(api, f"{API}/partners/air/exchanges/in", body)
    assert again.status_code == 201
    assert again.json()["exchange"] == first.json()["exchange"]
    assert PartnerExchange.objects.count() == 1


def test_over_the_daily_limit_is_409_and_nothing_changes(api, member, partner):
    post(api, f"{API}/partners/air/exchanges/in",
         {"member": member.pk, "partner_points": 1800, "external_id": "M-1"})
    before = row_counts()
    response = post(api, f"{API}/partners/air/exchanges/in",
                    {"member": member.pk, "partner_points": 400, "external_id": "M-2"})
    assert (response.status_code, error_code(response)) == (409, "member_daily_limit")
    assert row_counts() == before


def test_unknown_partner_is_404(api, member):
    response = post(api, f"{API}/partners/nope/exchanges/in",
                    {"member": member.pk, "partner_points": 10, "external_id": "M-1"})
    assert (response.status_code, error_code(response)) == (404, "partner_not_found")


def test_liability_report(api, member, owner, make_key):
    points_adjust(member_id=member.pk, points=250, operator_id=owner.pk, reason="x")
    response = api.get(f"{API}/reports/points-liability")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["outstanding"], body["cash_value"], body["adjusted"]) == (250, "2.50", 250)
    assert body["breakage_rate"] is None
    assert [m["adjusted"] for m in body["months"]] == [250]
    _key, raw = make_key(scopes=["members:read"])
    assert client_for(raw).get(f"{API}/reports/points-liability").status_code == 403


def test_liability_admin_page(client, member, owner):
    points_adjust(member_id=member.pk, points=250, operator_id=owner.pk, reason="x")
    admin = get_user_model().objects.create_superuser(username="boss", password="x-unused-x")
    client.force_login(admin)
    response = client.get("/admin/points/pointsmonthtotal/")
    assert response.status_code == 200
    assert b"250" in response.content and b"2.50" in response.content


def test_hold_and_partner_admin_lists(client, member, owner, partner, now):
    from points.services.holds import points_hold
    from points.services.partners import partner_exchange_in

    points_adjust(member_id=member.pk, points=100, operator_id=owner.pk, reason="x")
    points_hold(member_id=member.pk, points=40, reference="B-77")
    partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=10,
                        external_id="M-9")
    admin = get_user_model().objects.create_superuser(username="boss", password="x-unused-x")
    client.force_login(admin)
    holds = client.get("/admin/points/pointshold/", {"q": member.member_no})
    assert holds.status_code == 200 and b"B-77" in holds.content
    exchanges = client.get("/admin/points/partnerexchange/", {"q": "M-9"})
    assert exchanges.status_code == 200 and b"M-9" in exchanges.content
    assert client.get("/admin/points/partnerprogramme/add/").status_code == 200
