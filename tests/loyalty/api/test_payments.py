"""Points used as cash over HTTP: a sale names the payment that took its points, and its
return gives them back; a sale that names none gives nothing back."""

from __future__ import annotations

import pytest

from points.models import EarningRule
from points.services import points_adjust

from .conftest import API, error_code, new_idem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_earning(default_earning_rules):
    """Only points as cash move: no rule pays for the sales."""
    EarningRule.objects.update(is_active=False)


@pytest.fixture
def funded(member, owner):
    points_adjust(member_id=member.pk, points=1000, operator_id=owner.pk, reason="credit")
    return member


def available(api, member) -> int:
    return api.get(f"{API}/members/{member.pk}/points").json()["available"]


def sale_body(store, member, order_no="S-1", points_cash="1.50", **extra) -> dict:
    return {"store": store.code, "order_no": order_no, "member": member.pk,
            "ordered_at": "2026-03-14T10:30:00+08:00",
            "lines": [{"line_no": 1, "sku": "TEA", "quantity": 1, "gross_amount": "100.00",
                       "points_cash": points_cash}], **extra}


def return_body(store, order_no="R-1", sale_order_no="S-1") -> dict:
    return {"store": store.code, "order_no": order_no, "sale_order_no": sale_order_no,
            "ordered_at": "2026-03-15T10:30:00+08:00",
            "lines": [{"line_no": 1, "quantity": 1}]}


def spend(api, member, points: int) -> str:
    key = new_idem()
    response = api.post(f"{API}/members/{member.pk}/points/spend", {"points": points},
                        format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return key


def test_a_return_gives_back_the_points_a_spend_paid(api, store, funded):
    """An order paid partly with 150 points and fully returned gives the 150 back."""
    key = spend(api, funded, 150)
    sale = api.post(f"{API}/orders/sales",
                    sale_body(store, funded, points_payment={"spend": key}), format="json")
    assert sale.status_code == 201, sale.content
    assert available(api, funded) == 850

    ret = api.post(f"{API}/orders/returns", return_body(store), format="json")

    assert ret.status_code == 201, ret.content
    assert available(api, funded) == 1000
    assert ret.json()["points_cash_returned"] == 150


def test_a_points_cash_without_a_payment_gives_nothing_back(api, store, funded):
    """Reporting points as cash and returning the order never creates points."""
    sale = api.post(f"{API}/orders/sales", sale_body(store, funded, points_cash="9.99"),
                    format="json")
    assert sale.status_code == 201, sale.content
    assert [w["code"] for w in sale.json()["warnings"]] == ["points_cash_not_linked"]

    ret = api.post(f"{API}/orders/returns", return_body(store), format="json")

    assert ret.status_code == 201, ret.content
    assert ret.json()["points_cash_returned"] == 0
    assert [w["code"] for w in ret.json()["warnings"]] == ["points_cash_not_linked"]
    assert available(api, funded) == 1000


def test_points_cash_must_match_the_payment(api, store, funded):
    key = spend(api, funded, 150)

    response = api.post(f"{API}/orders/sales",
                        sale_body(store, funded, points_cash="1.60",
                                  points_payment={"spend": key}), format="json")

    assert response.status_code == 422, response.content
    assert error_code(response) == "points_payment_mismatch"
