"""What the API answers, whoever answers: one test per defect of the running contract.

Request ids, the JSON error shape from Django's own layers (body size, Host header, crashes,
an unavailable database), the statuses 405/406/413/415/503, strict input that matches the
schema, unknown fields, page sizes, paging of every list, the tag removal's 204.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import OperationalError
from django.test import override_settings

from members.models import MemberTag, Tag
from points.models import PointsEntry
from points.services.ledger import points_adjust

from .conftest import API, client_for, error_code, new_idem, row_counts

pytestmark = pytest.mark.django_db


# --- X-Request-ID ------------------------------------------------------------------------------

def test_every_answer_carries_a_request_id_and_a_client_uuid_is_kept(api, anon, member):
    mine = str(uuid.uuid4())
    kept = api.get(f"{API}/members/{member.pk}", HTTP_X_REQUEST_ID=mine.upper())
    assert kept["X-Request-ID"] == mine  # canonical spelling
    for bad in ("not-a-uuid", "", "x" * 500, f"{mine}\x00"):
        fresh = api.get(f"{API}/members/{member.pk}", HTTP_X_REQUEST_ID=bad)
        assert uuid.UUID(fresh["X-Request-ID"]) and fresh["X-Request-ID"] != mine
    for response in (anon.get(f"{API}/members/{member.pk}"),  # 401
                     api.get(f"{API}/no/such/path"),  # 404 outside any view
                     anon.get("/api/schema/"), anon.get("/healthz")):
        assert uuid.UUID(response["X-Request-ID"])


def test_the_request_id_is_on_the_log_lines(api, member, caplog):
    mine = str(uuid.uuid4())
    with caplog.at_level(logging.INFO):
        api.get(f"{API}/members/{member.pk}", HTTP_X_REQUEST_ID=mine)
        api.get(f"{API}/members/999999999", HTTP_X_REQUEST_ID=mine)  # Django logs the 404
    ours = [r for r in caplog.records if getattr(r, "request_id", None) == mine]
    assert {r.name for r in ours} >= {"loyalty.api.access", "django.request"}
    from loyalty.api.middleware import RequestIdLogFilter

    formatted = logging.Formatter("[%(request_id)s] %(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "after the request", None, None)
    RequestIdLogFilter().filter(record)
    assert formatted.format(record) == "[-] after the request"  # cleared when it ended


# --- the error shape from every layer, and the statuses that were nowhere ----------------------

def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert error_code(response) == code


def test_a_body_over_the_limit_is_413_in_json(api, member):
    before = row_counts()
    body = b'{"points": 1, "reason": "' + b"x" * (2_621_440 + 10) + b'"}'
    response = api.post(f"{API}/members/{member.pk}/points/spend", data=body,
                        content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert_error(response, 413, "request_too_large")
    assert row_counts() == before


@override_settings(ALLOWED_HOSTS=["api.example.com"])
def test_a_refused_host_is_a_json_400(api, member):
    assert_error(api.get(f"{API}/members/{member.pk}"), 400, "bad_request")


def test_a_crash_is_a_json_500_with_the_request_id(api, member, monkeypatch):
    from loyalty.api import members

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(members, "member_or_404", boom)
    api.raise_request_exception = False
    response = api.get(f"{API}/members/{member.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert_error(response, 500, "internal_error")
    assert "request id" in response.json()["error"]["message"]


def test_an_unavailable_database_is_503_with_retry_after(api, member, monkeypatch):
    from loyalty.api import points

    def gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(points, "points_pay", gone)
    response = api.post(f"{API}/members/{member.pk}/points/spend", {"points": 1},
                        format="json", HTTP_IDEMPOTENCY_KEY=new_idem())
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "2"


def test_405_406_and_415_are_json_and_say_what_is_allowed(api, member):
    refused = api.put(f"{API}/members/{member.pk}", {}, format="json")
    assert_error(refused, 405, "method_not_allowed")
    assert "PATCH" in refused["Allow"] and "GET" in refused["Allow"]
    assert_error(api.get(f"{API}/members/{member.pk}", HTTP_ACCEPT="text/html"), 406,
                 "not_acceptable")
    assert_error(api.post(f"{API}/members/{member.pk}/points/spend", data="points=1",
                          content_type="text/plain", HTTP_IDEMPOTENCY_KEY=new_idem()),
                 415, "unsupported_media_type")


def test_created_after_with_any_offset_filters_instead_of_crashing(api, member, owner):
    points_adjust(member_id=member.pk, points=5, operator_id=owner.pk, reason="x")
    created = PointsEntry.objects.get(member_id=member.pk).created_at
    url = f"{API}/members/{member.pk}/points/entries"
    before = (created - timedelta(minutes=1)).astimezone(dt_timezone.utc).replace(tzinfo=None)
    for offset, shift in (("+23:59", timedelta(hours=23, minutes=59)),
                          ("-18:00", -timedelta(hours=18))):
        moment = (before + shift).isoformat(timespec="seconds") + offset
        response = api.get(url, {"created_after": moment})
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == 1, moment
        assert api.get(url, {"created_before": moment}).json()["results"] == []
    for bad in ("2026-03-14T10:00:00+24:00", "2026-03-14T10:00:00", "1999-12-31T23:00:00Z",
                "", "2026-02-30T00:00:00Z"):
        assert_error(api.get(url, {"created_after": bad}), 400, "invalid_input")


# --- input: exactly what the schema says -------------------------------------------------------

def test_unknown_body_fields_are_refused_and_named(api, member, store):
    before = row_counts()
    response = api.post(f"{API}/members/{member.pk}/points/spend",
                        {"points": 1, "pionts": 2, "note": "x"}, format="json",
                        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert_error(response, 400, "invalid_input")
    assert set(response.json()["error"]["details"]) == {"pionts", "note"}
    nested = api.post(f"{API}/orders/sales", {
        "store": store.code, "order_no": "S-X", "member": member.pk,
        "ordered_at": "2026-03-14T10:30:00+08:00",
        "lines": [{"line_no": 1, "sku": "A", "quantity": 1, "gross_amount": "1.00",
                   "discount": "0.50"}]}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert_error(nested, 400, "invalid_input")
    assert nested.json()["error"]["details"] == {"lines": {"0": {"discount": ["Unknown field."]}}}
    assert row_counts() == before


@pytest.mark.parametrize("field,value", [
    ("points", "10"), ("points", 10.0), ("points", True), ("reason", 5),
])
def test_types_are_strict(api, member, owner, field, value):
    points_adjust(member_id=member.pk, points=100, operator_id=owner.pk, reason="x")
    body = {"points": 10, "reason": "兑换", field: value}
    response = api.post(f"{API}/members/{member.pk}/points/spend", body, format="json",
                        HTTP_IDEMPOTENCY_KEY=new_idem())
    assert_error(response, 400, "invalid_input")
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize("amount", [136, 136.5, "136.505", "-1.00", " 136.00", "1e3"])
def test_amounts_are_strings_of_digits_with_two_decimals_at_most(api, member, store, amount):
    response = api.post(f"{API}/orders/sales", {
        "store": store.code, "order_no": "S-AMOUNT", "member": member.pk,
        "ordered_at": "2026-03-14T10:30:00+08:00",
        "lines": [{"line_no": 1, "sku": "A", "quantity": 1, "gross_amount": amount}]},
        format="json")
    assert_error(response, 400, "invalid_input")


def test_values_at_the_edges_of_the_schema_are_accepted(api, member, store):
    """What the schema allows, the server takes: the longest strings, the largest amounts and
    quantities, any offset, characters from beyond ASCII."""
    response = api.post(f"{API}/orders/sales", {
        "store": store.code, "order_no": "单" * 64, "member": member.pk,
        "ordered_at": "2999-12-31T23:59:59.999999-23:59",
        "lines": [{"line_no": 32767, "sku": "\u3000S" + "k" * 62, "category": "",
                   "quantity": 1_000_000, "gross_amount": "99999999.99",
                   "coupon_discount": "0", "net_amount": "99999999.99"}]}, format="json")
    assert response.status_code == 201, response.content
    line = response.json()["order"]["lines"][0]
    assert line["sku"] == "S" + "k" * 62  # the blanks around are dropped after the checks
    preview = api.post(f"{API}/checkout/preview", {
        "member": member.pk, "shipping_fee": "9999999999.99",
        "lines": [{"sku": "x" * 64, "quantity": 1_000_000, "amount": "9999999999.99"}]},
        format="json")
    assert preview.status_code == 200, preview.content


def test_an_invalid_page_size_is_refused(api, member, owner):
    for n in range(3):
        points_adjust(member_id=member.pk, points=1 + n, operator_id=owner.pk, reason="x")
    url = f"{API}/members/{member.pk}/points/entries"
    for bad in ("0", "201", "abc", "1.5", "-3", ""):
        assert_error(api.get(url, {"page_size": bad}), 400, "invalid_input")
    page = api.get(url, {"page_size": "2"}).json()
    assert len(page["results"]) == 2 and page["next"]
    for cursor in ("cD1hYmM=", "garbage!", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk="):  # p=abc, p=10**22
        assert_error(api.get(url, {"cursor": cursor}), 400, "invalid_cursor")


# --- every list is paged the same way ---------------------------------------------------------

def test_the_rewards_catalog_is_paged_past_200(api, member, now):
    from tests.points.catalog_helpers import make_reward

    made = {make_reward(now, name=f"礼{n}", points_cost=1 + n).pk for n in range(205)}
    url, seen, pages = f"{API}/members/{member.pk}/rewards?page_size=200", [], 0
    while url:
        page = api.get(url).json()
        assert set(page) == {"next", "previous", "results"}
        seen += [reward["id"] for reward in page["results"]]
        url, pages = page["next"], pages + 1
    assert pages == 2 and len(seen) == len(set(seen)) == 205 and set(seen) == made


def test_benefit_grants_are_paged(api, member):
    body = api.get(f"{API}/members/{member.pk}/benefit-grants").json()
    assert body == {"next": None, "previous": None, "results": []}


# --- statuses that now match the schema -----------------------------------------------------------

def test_tag_removal_answers_204_without_a_body(api, member):
    tag = Tag.objects.create(code="vip", name="VIP")
    Tag.objects.create(code="big", name="big", kind=Tag.Kind.RULE)
    api.post(f"{API}/members/{member.pk}/tags", {"tag": "vip"}, format="json")
    removed = api.delete(f"{API}/members/{member.pk}/tags/vip")
    assert removed.status_code == 204 and removed.content == b""
    assert not removed.has_header("Content-Type")
    assert not MemberTag.objects.filter(member=member, tag=tag).exists()
    assert_error(api.delete(f"{API}/members/{member.pk}/tags/big"), 409, "tag_not_manual")


def test_lookup_of_nobody_is_the_documented_404(api, member):
    assert_error(api.get(f"{API}/members/lookup", {"member_no": "0000000000"}), 404,
                 "member_not_found")
    assert_error(api.get(f"{API}/members/lookup"), 400, "lookup_key_required")


def test_a_key_that_lacks_nothing_still_needs_the_schema_scopes(make_key, member):
    _key, raw = make_key(["members:read"])
    client = client_for(raw)
    assert client.get(f"{API}/members/{member.pk}").status_code == 200
    assert_error(client.post(f"{API}/members/{member.pk}/points/spend", {"points": 1},
                             format="json", HTTP_IDEMPOTENCY_KEY=new_idem()),
                 403, "permission_denied")
