"""Points used as cash over HTTP: a sale names the payment that took its points, and its
return gives them back; a sale that names none gives nothing back."""

from __future__ import annotations

import pytest

from points.models import EarningRule
from points.services.ledger import points_adjust

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


def test_a_hold_paid_sale_gives_back_on_its_return(api, store, funded):
    hold = api.post(f"{API}/checkout/holds", {"member": funded.pk, "points": 300},
                    format="json", HTTP_IDEMPOTENCY_KEY=new_idem()).json()["hold"]["id"]
    captured = api.post(f"{API}/checkout/holds/{hold}/capture", {"points": 250},
                        format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert captured.status_code == 200, captured.content

    sale = api.post(f"{API}/orders/sales",
                    sale_body(store, funded, points_cash="2.50", points_payment={"hold": hold}),
                    format="json")
    assert sale.status_code == 201, sale.content
    assert sale.json()["points_payment"] == {"kind": "hold", "hold": hold, "points": 250,
                                             "points_per_yuan": 100, "cash_value": "2.50"}
    assert sale.json()["warnings"] == []
    ret = api.post(f"{API}/orders/returns", return_body(store), format="json")

    assert ret.json()["points_cash_returned"] == 250
    assert available(api, funded) == 1000


def test_a_spend_is_named_with_the_api_key_that_made_it(api, make_key, store, funded):
    from .conftest import client_for

    key = spend(api, funded, 150)
    _other, raw = make_key()

    response = client_for(raw).post(f"{API}/orders/sales", sale_body(
        store, funded, points_payment={"spend": key}), format="json")

    assert response.status_code == 404, response.content
    assert error_code(response) == "points_payment_not_found"


def test_a_payment_pays_one_sale(api, store, funded):
    key = spend(api, funded, 150)
    first = api.post(f"{API}/orders/sales", sale_body(store, funded, points_payment={"spend": key}),
                     format="json")
    assert first.status_code == 201
    # the same sale again is a replay; another sale naming the payment is refused
    again = api.post(f"{API}/orders/sales", sale_body(store, funded, points_payment={"spend": key}),
                     format="json")
    assert (again.status_code, again.json()["order"]["id"]) == (200, first.json()["order"]["id"])
    other = api.post(f"{API}/orders/sales", sale_body(store, funded, order_no="S-2",
                                                       points_payment={"spend": key}),
                     format="json")
    assert other.status_code == 409, other.content
    assert error_code(other) == "points_payment_taken"


@pytest.mark.parametrize(("named", "code"), [
    ({}, "points_payment_one_of"), ({"hold": 1, "spend": "k"}, "points_payment_one_of"),
    ({"hold": 0}, "invalid_input"), ({"order": 1}, "invalid_input")])
def test_a_payment_names_a_hold_or_a_spend(api, store, funded, named, code):
    response = api.post(f"{API}/orders/sales", sale_body(store, funded, points_payment=named),
                        format="json")
    assert response.status_code == 400, response.content
    assert error_code(response) == code


# --- the checkout commit --------------------------------------------------------------------

def commit_body(store, member, **extra) -> dict:
    return {"member": member.pk, "store": store.code, "order_no": "C-1",
            "ordered_at": "2026-03-14T10:30:00+08:00",
            "lines": [{"sku": "TEA", "quantity": 2, "amount": "200.00"}], **extra}


def test_the_checkout_commit_over_http(api, store, funded):
    from django.utils import timezone

    from points.services.coupons import coupon_issue
    from tests.points.catalog_helpers import make_reward, make_template

    now = timezone.now()
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=funded.pk, now=now)
    gift = make_reward(now, points_cost=100, stock=1)
    key = new_idem()
    body = commit_body(store, funded, coupon=coupon.code, points=300,
                       gifts=[{"reward": gift.pk}])

    response = api.post(f"{API}/checkout/commit", body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 201, response.content
    out = response.json()
    assert out["created"] is True
    assert (out["order"]["coupon_discount"], out["order"]["points_cash"],
            out["order"]["net_amount"]) == ("30.00", "3.00", "167.00")
    assert out["coupon"] == {"code": coupon.code, "discount": "30.00"}
    assert out["points_payment"]["points"] == 300
    assert [r["reward"] for r in out["redemptions"]] == [gift.pk]
    assert out["balance"]["available"] == 600
    # a retry answers the same; a gift out of stock refuses the whole purchase
    again = api.post(f"{API}/checkout/commit", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (again.status_code, again.json()["order"]["id"]) == (201, out["order"]["id"])
    refused = api.post(f"{API}/checkout/commit", commit_body(
        store, funded, order_no="C-2", points=100, gifts=[{"reward": gift.pk}]), format="json",
        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert refused.status_code == 409, refused.content
    assert error_code(refused) == "out_of_stock"
    assert available(api, funded) == 600


def test_the_checkout_commit_needs_an_idempotency_key(api, store, funded):
    response = api.post(f"{API}/checkout/commit", commit_body(store, funded), format="json")
    assert response.status_code == 400
    assert error_code(response) == "idempotency_key_required"
