"""Stored value and gift cards over HTTP: top-up, spend, refund with their scopes and keys;
gift-card enquiry limits (per card, per API key) with Retry-After; a sale paid with tenders
and its return giving back to them. Every answer is checked against the published schema
(conftest)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from points.models import GiftCard, StoredValueEntry, TopUpBonusRule
from points.services.gift_cards import gift_card_activate, gift_card_batch_issue

from .conftest import API, client_for, error_code, new_idem

pytestmark = pytest.mark.django_db
D = Decimal


def post(api, path, body, key=None):
    return api.post(f"{API}{path}", body, format="json",
                    HTTP_IDEMPOTENCY_KEY=key or new_idem())


@pytest.fixture
def bonus_rule(db):
    return TopUpBonusRule.objects.create(name="充500送50", min_amount=D("500"), bonus=D("50"))


def test_top_up_spend_and_refund(api, member, bonus_rule):
    key = new_idem()
    top = post(api, f"/members/{member.pk}/stored-value/top-ups", {"amount": "500.00"}, key)
    assert top.status_code == 201, top.content
    assert top.json()["balance"]["principal"] == "500.00"
    assert top.json()["balance"]["bonus"] == "50.00"
    again = post(api, f"/members/{member.pk}/stored-value/top-ups", {"amount": "500.00"}, key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert StoredValueEntry.objects.count() == 1

    spent = post(api, f"/members/{member.pk}/stored-value/spend", {"amount": "80.00"})
    assert spent.status_code == 201, spent.content
    assert spent.json()["entry"]["bonus_delta"] == "-50.00"
    assert spent.json()["balance"]["balance"] == "470.00"
    too_much = post(api, f"/members/{member.pk}/stored-value/spend", {"amount": "470.01"})
    assert too_much.status_code == 409
    assert error_code(too_much) == "insufficient_stored_value"

    refund = post(api, f"/members/{member.pk}/stored-value/refunds", {"amount": "470.00"})
    assert refund.status_code == 201, refund.content
    balance = api.get(f"{API}/members/{member.pk}/stored-value").json()
    assert (balance["principal"], balance["bonus"], balance["balance"]) == (
        "0.00", "0.00", "0.00")


def test_scopes_and_bad_amounts(make_key, member):
    writer = client_for(make_key(["stored_value:write", "members:read"])[1])
    refused = post(writer, f"/members/{member.pk}/stored-value/refunds", {"amount": "1.00"})
    assert refused.status_code == 403 and error_code(refused) == "permission_denied"
    for amount in ("0", "-1.00", "1.001", 5, "1e3"):
        bad = post(writer, f"/members/{member.pk}/stored-value/top-ups", {"amount": amount})
        assert bad.status_code == 400, (amount, bad.content)
    reader = client_for(make_key(["members:read"])[1])
    assert post(reader, f"/members/{member.pk}/stored-value/top-ups",
                {"amount": "1.00"}).status_code == 403
    no_key = post(writer, f"/members/{member.pk}/stored-value/spend", {"amount": "1.00"})
    assert no_key.status_code == 409  # nothing to spend
    missing = writer.post(f"{API}/members/{member.pk}/stored-value/spend",
                          {"amount": "1.00"}, format="json")
    assert error_code(missing) == "idempotency_key_required"


@pytest.fixture
def card(db, now):
    issued = gift_card_batch_issue(name="b", face_value="100", quantity=1, now=now).cards[0]
    gift_card_activate(code=issued.code, key="act", now=now)
    return issued


def wrong(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


def test_gift_card_enquiry_is_limited_per_card(api, make_key, card, settings):
    settings.GIFT_CARD_PIN_FAILURES = 3
    ok = api.post(f"{API}/gift-cards/enquiry", {"code": card.code, "pin": card.pin},
                  format="json")
    assert ok.status_code == 200 and ok.json()["balance"] == "100.00"
    assert ok.json()["code"] == f"…{card.code[-4:]}"
    other_key = client_for(make_key(["gift_cards:read"])[1])
    for client in (api, other_key, api):  # the card counts wrong PINs whoever sends them
        miss = client.post(f"{API}/gift-cards/enquiry", {"code": card.code,
                                                          "pin": wrong(card.pin)},
                           format="json")
        assert miss.status_code == 404 and error_code(miss) == "gift_card_not_found"
    locked = other_key.post(f"{API}/gift-cards/enquiry", {"code": card.code, "pin": card.pin},
                            format="json")
    assert locked.status_code == 429
    assert error_code(locked) == "gift_card_enquiries_throttled"
    assert 0 < int(locked["Retry-After"]) <= 15 * 60 + 1
    # spending with the right PIN is refused too, and the refusal is not kept for the key
    key = new_idem()
    spend = post(api, "/gift-cards/spend", {"code": card.code, "pin": card.pin,
                                            "amount": "1.00"}, key)
    assert spend.status_code == 429 and "Retry-After" in spend
    assert GiftCard.objects.get(code=card.code).balance == D("100.00")


def test_gift_card_enquiry_is_limited_per_api_key(make_key, card, settings):
    settings.GIFT_CARD_ENQUIRIES_PER_MINUTE = 2
    first = client_for(make_key(["gift_cards:read"])[1])
    second = client_for(make_key(["gift_cards:read"])[1])
    body = {"code": card.code, "pin": card.pin}
    for _ in range(2):
        assert first.post(f"{API}/gift-cards/enquiry", body, format="json").status_code == 200
    throttled = first.post(f"{API}/gift-cards/enquiry", body, format="json")
    assert throttled.status_code == 429
    assert error_code(throttled) == "gift_card_enquiries_throttled"
    assert int(throttled["Retry-After"]) <= 61
    assert second.post(f"{API}/gift-cards/enquiry", body, format="json").status_code == 200


def test_gift_card_activate_and_spend(api, now):
    issued = gift_card_batch_issue(name="b", face_value="50", quantity=1, now=now).cards[0]
    activated = post(api, "/gift-cards/activate", {"code": issued.code})
    assert activated.status_code == 201, activated.content
    assert activated.json()["card"]["state"] == "active"
    twice = post(api, "/gift-cards/activate", {"code": issued.code})
    assert twice.status_code == 409 and error_code(twice) == "gift_card_not_active"
    spent = post(api, "/gift-cards/spend", {"code": issued.code, "pin": issued.pin,
                                            "amount": "20.00"})
    assert spent.status_code == 201 and spent.json()["card"]["balance"] == "30.00"
    malformed = post(api, "/gift-cards/spend", {"code": "12", "pin": "x", "amount": "1.00"})
    assert malformed.status_code == 400


def sale_body(store, member, tenders, order_no="S-1") -> dict:
    return {"store": store.code, "order_no": order_no, "member": member.pk,
            "ordered_at": "2026-03-14T10:30:00+08:00", "tenders": tenders,
            "lines": [{"line_no": 1, "sku": "TEA", "quantity": 2, "gross_amount": "200.00"}]}


def test_a_sale_paid_with_tenders_and_its_return(api, make_key, store, member, card):
    post(api, f"/members/{member.pk}/stored-value/top-ups", {"amount": "300.00"})
    tenders = [{"type": "cash", "amount": "50.00"},
               {"type": "stored_value", "amount": "120.00"},
               {"type": "gift_card", "amount": "30.00", "code": card.code, "pin": card.pin}]
    only_orders = client_for(make_key(["orders:write"])[1])
    refused = only_orders.post(f"{API}/orders/sales", sale_body(store, member, tenders),
                               format="json")
    assert refused.status_code == 403
    sale = api.post(f"{API}/orders/sales", sale_body(store, member, tenders), format="json")
    assert sale.status_code == 201, sale.content
    assert [(t["type"], t["amount"]) for t in sale.json()["tenders"]] == [
        ("cash", "50.00"), ("stored_value", "120.00"), ("gift_card", "30.00")]
    short = api.post(f"{API}/orders/sales",
                     sale_body(store, member, tenders[:2], order_no="S-2"), format="json")
    assert short.status_code == 422 and error_code(short) == "tenders_do_not_add_up"
    ret = api.post(f"{API}/orders/returns", {
        "store": store.code, "order_no": "R-1", "sale_order_no": "S-1",
        "ordered_at": "2026-03-15T10:30:00+08:00", "lines": [{"line_no": 1, "quantity": 1}]},
        format="json")
    assert ret.status_code == 201, ret.content
    assert [(t["type"], t["amount"]) for t in ret.json()["tenders"]] == [
        ("cash", "25.00"), ("stored_value", "60.00"), ("gift_card", "15.00")]
    balance = api.get(f"{API}/members/{member.pk}/stored-value").json()
    assert balance["balance"] == "240.00"
    assert GiftCard.objects.get(code=card.code).balance == D("85.00")


def test_a_points_tender_without_its_payment_is_refused(api, store, member):
    body = sale_body(store, member, [{"type": "cash", "amount": "200.00"},
                                     {"type": "points", "amount": "1.00"}])
    body["lines"][0]["points_cash"] = "1.00"
    body["lines"][0]["gross_amount"] = "201.00"
    answer = api.post(f"{API}/orders/sales", body, format="json")
    assert answer.status_code == 422 and error_code(answer) == "points_tender_mismatch"


def test_the_prepaid_liability_report(api, make_key, member, bonus_rule, card):
    post(api, f"/members/{member.pk}/stored-value/top-ups", {"amount": "500.00"})
    post(api, f"/members/{member.pk}/stored-value/spend", {"amount": "80.00"})
    report = api.get(f"{API}/reports/prepaid-liability")
    assert report.status_code == 200, report.content
    body = report.json()
    assert (body["principal"], body["bonus"], body["gift_cards"], body["total"]) == (
        "470.00", "0.00", "100.00", "570.00")
    month = body["months"][-1]
    assert (month["top_up_principal"], month["top_up_bonus"], month["spend_bonus"],
            month["spend_principal"]) == ("500.00", "50.00", "50.00", "30.00")
    # the card was activated at the fixture's time, in its own month
    assert [m["gift_cards_activated"] for m in body["months"]].count("100.00") == 1
    writer = client_for(make_key(["stored_value:write"])[1])
    assert writer.get(f"{API}/reports/prepaid-liability").status_code == 403
