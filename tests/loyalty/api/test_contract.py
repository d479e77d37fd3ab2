"""The published schema tells the truth: one test per defect the schema had.

Runtime behaviour (request ids, the error shape from every layer, strict input, paging) is
in test_http_contract.py; every answer of the whole API suite is checked against this schema
by conftest.documented_answers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.http import JsonResponse
from django.utils import translation

from loyalty.api.base import ApiView
from loyalty.models import Scope

from .conftest import API, assert_documented, json_schema, published_schema
from .test_auth import SCOPED_OPERATIONS

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def served(client, language: str | None = None) -> bytes:
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.get("/api/schema/?format=json", **extra)
    assert response.status_code == 200
    return response.content


def api_views() -> list[type[ApiView]]:
    from loyalty.api.urls import urlpatterns

    return [p.callback.view_class for p in urlpatterns if hasattr(p.callback, "view_class")]


def operations(schema: dict) -> dict[str, tuple[str, str, dict]]:
    return {op["operationId"]: (method, path, op)
            for path, ops in schema["paths"].items() for method, op in ops.items()}


def component(name: str) -> dict:
    return published_schema()["components"]["schemas"][name]


def prop(name: str, field: str) -> dict:
    return component(name)["properties"][field]


# --- nulls the schema did not announce, and a month that was called a date ---------------------

@pytest.mark.parametrize("name,field", [
    ("OrderOutput", "sale_order_no"), ("MemberOutput", "home_store"),
    ("Redemption", "store"), ("Redemption", "coupon"), ("Reward", "coupon_name"),
    ("CouponValue", "valid_until"),
])
def test_fields_answered_as_null_are_nullable(name, field):
    assert prop(name, field).get("nullable") is True
    assert field in component(name)["required"]  # always present, sometimes null


def test_null_fields_validate_in_real_answers(api, store, member, now):
    """A sale (no sale_order_no), a member without a home store, a goods redemption (no store,
    no coupon) and a goods reward (no coupon): each answer matches its schema — conftest
    validates every answer, and these carry the nulls."""
    from tests.points.catalog_helpers import give_points, make_reward

    sale = api.post(f"{API}/orders/sales", {
        "store": store.code, "order_no": "S-NULL", "member": member.pk,
        "ordered_at": "2026-03-14T10:30:00+08:00",
        "lines": [{"line_no": 1, "sku": "SKU", "quantity": 1, "gross_amount": "10.00"}]},
        format="json")
    assert sale.status_code == 201 and sale.json()["order"]["sale_order_no"] is None
    assert api.get(f"{API}/members/{member.pk}").json()["home_store"] is None
    reward = make_reward(now, points_cost=1)
    assert api.get(f"{API}/members/{member.pk}/rewards").json()["results"][0]["coupon_name"] \
        is None
    give_points(member.pk, 10, now)
    redeemed = api.post(f"{API}/members/{member.pk}/rewards/redeem", {"reward": reward.pk},
                        format="json", HTTP_IDEMPOTENCY_KEY="null-check")
    assert redeemed.status_code == 201
    assert (redeemed.json()["redemption"]["store"], redeemed.json()["redemption"]["coupon"]) \
        == (None, None)


def test_month_is_a_yyyy_mm_string_not_a_date(api, member, owner):
    from points.services.ledger import points_adjust

    month = prop("MonthFigures", "month")
    assert month["type"] == "string" and "format" not in month
    assert re.fullmatch(month["pattern"].strip("^$"), "2026-03")
    points_adjust(member_id=member.pk, points=5, operator_id=owner.pk, reason="x")
    months = api.get(f"{API}/reports/points-liability").json()["months"]
    assert months and all(re.fullmatch(r"\d{4}-\d{2}", m["month"]) for m in months)


# --- statuses answered but not documented --------------------------------------------------------

def test_lookup_documents_its_404():
    _m, _p, op = operations(published_schema())["memberLookup"]
    assert "member_not_found" in op["responses"]["404"]["x-error-codes"]


def test_tag_delete_documents_204_and_409_and_no_200():
    _m, _p, op = operations(published_schema())["memberTagRemove"]
    assert "200" not in op["responses"] and "content" not in op["responses"]["204"]
    assert "tag_not_manual" in op["responses"]["409"]["x-error-codes"]


def test_http_statuses_are_documented_on_every_operation():
    for operation_id, (method, _path, op) in operations(published_schema()).items():
        statuses = set(op["responses"])
        assert {"401", "403", "405", "406", "429", "503"} <= statuses, operation_id
        if "requestBody" in op:
            assert {"400", "413", "415"} <= statuses, operation_id
        assert op["responses"]["405"]["headers"]["Allow"]["required"] is True
        for status in ("429", "503"):
            assert op["responses"][status]["headers"]["Retry-After"]["required"] is True


def test_the_answer_checker_refuses_undocumented_codes_and_statuses():
    """conftest checks every answer of the suite; it must be able to fail."""
    class Fake(JsonResponse):
        def json(self):
            import json

            return json.loads(self.content)

    wrong_code = Fake({"error": {"code": "out_of_stock", "message": "x", "details": {}}},
                      status=409)
    wrong_code["X-Request-ID"] = "b0e5f0a6-7a3c-4b6e-9d5e-4c1f0e2a9b11"
    with pytest.raises(AssertionError, match="out_of_stock"):
        assert_documented("POST", f"{API}/members/1/points/spend", wrong_code)
    wrong_status = Fake({"id": 1}, status=202)
    wrong_status["X-Request-ID"] = "b0e5f0a6-7a3c-4b6e-9d5e-4c1f0e2a9b11"
    with pytest.raises(AssertionError, match="202"):
        assert_documented("GET", f"{API}/members/1", wrong_status)
    wrong_body = Fake({"id": "one"}, status=200)
    wrong_body["X-Request-ID"] = "b0e5f0a6-7a3c-4b6e-9d5e-4c1f0e2a9b11"
    with pytest.raises(AssertionError, match="does not match"):
        assert_documented("GET", f"{API}/members/1", wrong_body)


# --- one English schema -------------------------------------------------------------------------

def test_the_schema_is_the_same_in_every_language(anon):
    default = served(anon)
    assert served(anon, "zh-hans") == served(anon, "en") == default
    assert not re.search(r"[\u4e00-\u9fff]", default.decode()), "the schema is not in English"
    assert anon.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="zh-hans")["Content-Language"] == "en"
    from loyalty.api.schema import EnglishSchemaGenerator

    with translation.override("zh-hans"):  # as `manage.py spectacular` runs
        generated = EnglishSchemaGenerator().get_schema(request=None, public=True)
    assert generated == json.loads(default)


# --- operations: their own words, names, scopes, errors and headers --------------------------------

def test_every_operation_has_its_own_summary_and_description():
    base = (ApiView.__doc__ or "").strip()
    descriptions = []
    for operation_id, (_m, _p, op) in operations(published_schema()).items():
        assert op.get("summary"), operation_id
        own = op["description"].split("\n\n**Scopes:**")[0].strip()
        assert len(own) > 40, operation_id
        assert not base or base not in own, operation_id
        descriptions.append(own)
    assert len(set(descriptions)) == len(descriptions) == 69


def test_operation_ids_are_chosen_camel_case_names():
    ids = list(operations(published_schema()))
    assert len(ids) == len(set(ids)) == 69
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", operation_id), operation_id
    assert "pointsSpend" in ids


def test_required_scopes_are_in_the_schema_as_enforced():
    ops = operations(published_schema())
    for operation_id, _method, _path, scope in SCOPED_OPERATIONS:
        _m, _p, op = ops[operation_id]
        assert op["x-required-scopes"] == scope.split("+"), operation_id
        for one in scope.split("+"):
            assert f"`{one}`" in op["description"], operation_id
    assert ({one for *_rest, s in SCOPED_OPERATIONS for one in s.split("+")}
            == set(Scope.values))


def test_error_codes_are_listed_per_status():
    for operation_id, (_m, _p, op) in operations(published_schema()).items():
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            codes = response["x-error-codes"]
            assert codes, (operation_id, status)
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
            assert all(f"`{code}`" in response["description"] for code in codes)
    _m, _p, spend = operations(published_schema())["pointsSpend"]
    assert spend["responses"]["409"]["x-error-codes"] == [
        "idempotency_in_progress", "idempotency_response_expired", "insufficient_points",
        "member_frozen"]


def test_idempotency_headers_are_documented_where_the_key_is_taken():
    takes_key = 0
    for operation_id, (method, _p, op) in operations(published_schema()).items():
        headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
        for response in op["responses"].values():
            assert response["headers"]["X-Request-ID"]["schema"]["format"] == "uuid"
        if not headers:
            assert "idempotency_in_progress" not in str(op["responses"]), operation_id
            continue
        takes_key += 1
        assert [h["name"] for h in headers] == ["Idempotency-Key"], operation_id
        conflict = op["responses"]["409"]
        assert "idempotency_in_progress" in conflict["x-error-codes"], operation_id
        assert "idempotency_response_expired" in conflict["x-error-codes"], operation_id
        assert "Retry-After" in conflict["headers"], operation_id
        success = [r for s, r in op["responses"].items() if s.startswith("2")]
        assert all("Idempotent-Replayed" in r["headers"] for r in success), operation_id
    assert takes_key == sum(1 for view in api_views() if view.idempotency)


# --- the constraints the server enforces ----------------------------------------------------------

def test_validation_the_server_enforces_is_in_the_schema():
    sale, line = component("SaleInputRequest"), component("LineRequest")
    assert sale["additionalProperties"] is False and line["additionalProperties"] is False
    assert (sale["properties"]["lines"]["minItems"], sale["properties"]["lines"]["maxItems"]) \
        == (1, 500)
    assert sale["properties"]["order_no"]["maxLength"] == 64
    assert sale["properties"]["order_no"]["minLength"] == 1
    assert "pattern" in sale["properties"]["order_no"]  # no NUL, not only blanks
    assert sale["properties"]["ordered_at"]["pattern"].startswith("^2[0-9]{3}")
    money = line["properties"]["gross_amount"]
    assert money["pattern"] == r"^[0-9]{1,10}(?:\.[0-9]{1,2})?$"  # never negative
    assert (line["properties"]["quantity"]["minimum"], line["properties"]["quantity"]["maximum"]) \
        == (1, 1_000_000)
    assert prop("AdjustInputRequest", "points")["not"] == {"enum": [0]}
    assert prop("TagInputRequest", "tag")["pattern"] == "^[-_0-9A-Za-z]+$"
    _m, _p, spend = operations(published_schema())["pointsSpend"]
    member_id = next(p for p in spend["parameters"] if p["name"] == "member_id")
    assert (member_id["schema"]["minimum"], member_id["schema"]["maximum"]) == (1, 2**63 - 1)
    _m, _p, entries = operations(published_schema())["pointsEntries"]
    page_size = next(p for p in entries["parameters"] if p["name"] == "page_size")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 200)


def test_every_request_body_refuses_unknown_fields_in_the_schema():
    schemas = published_schema()["components"]["schemas"]
    requests = [name for name in schemas if name.endswith("Request")]
    assert len(requests) >= 20
    for name in requests:
        assert schemas[name]["additionalProperties"] is False, name


def test_json_schema_conversion_keeps_nulls_apart():
    converted = json_schema({"$ref": "#/components/schemas/OrderOutput"})
    assert {"type": "null"} in converted["properties"]["sale_order_no"]["anyOf"]
    assert "anyOf" not in converted["properties"]["order_no"]


# --- the docs ---------------------------------------------------------------------------------------

def changes_section(text: str) -> str:
    start = text.index("## API changes")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None].strip()


def test_the_api_changes_are_in_readme_and_docs_alike():
    docs = published_schema()["info"]["description"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = changes_section(docs)
    assert section == changes_section(readme)
    assert "### 0.2.0 — 2026-12-02" in section and "0.1.0" in section
    for change in ("204", "paginated", "Unknown body fields are refused", "New statuses",
                   "idempotency_in_progress"):
        assert change in section, change
    assert "Dispatch\n  on `error.code`" in docs or "Dispatch on `error.code`" in docs
    assert published_schema()["info"]["version"] == "0.2.0"
