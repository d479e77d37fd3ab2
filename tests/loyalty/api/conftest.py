"""Fixtures for the HTTP API tests: an owner, API keys with chosen scopes, and clients that
send them as `Authorization: Bearer lk_…`.

Every answer any test gets from an operation of the API is checked against the published
schema (`documented_answers`): its status must be one the operation documents, its body must
match the schema documented for that status (nulls included), an error's code must be one
it lists under that status, and `X-Request-ID` must be there. The whole suite thus keeps the
schema honest.
"""

from __future__ import annotations

import re
import uuid
from functools import cache as memoize

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from loyalty.models import Scope
from loyalty.services.api_keys import api_key_create

ALL_SCOPES = [scope.value for scope in Scope]
API = "/api/v1"

BUSINESS_TABLES = (
    "members_member", "members_order", "members_orderline", "points_pointsentry",
    "points_pointsaccount", "points_pointslot", "members_memberactivity",
    "points_reward", "points_rewardredemption", "points_coupon", "points_couponevent",
    "points_pointshold", "points_pointslotmovement", "points_pointspayment",
    "points_partnerexchange", "points_partnerdailytotal", "points_pointstransfer",
    "points_storedvalueaccount", "points_storedvalueentry", "points_storedvaluebonuslot",
    "points_storedvaluebonusmovement", "points_giftcard", "points_giftcardentry",
    "points_ordertender", "campaigns_checkin", "campaigns_lottery", "campaigns_lotterydraw",
    "campaigns_lotteryentries", "campaigns_lotteryentrygrant", "campaigns_taskcompletion",
)


@memoize
def published_schema() -> dict:
    """The OpenAPI document as /api/schema/ serves it (generated once per test run)."""
    from loyalty.api.schema import EnglishSchemaGenerator

    return EnglishSchemaGenerator().get_schema(request=None, public=True)


def operation_for(method: str, path: str) -> dict | None:
    """The schema's operation that answers this request, if any."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    template = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", match.route)
    return published_schema()["paths"].get(template, {}).get(method.lower())


def json_schema(node):
    """An OpenAPI 3.0 schema as plain JSON Schema: references resolved, `nullable` as a null
    alternative."""
    components = published_schema()["components"]["schemas"]
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        converted = json_schema(components[node["$ref"].rsplit("/", 1)[1]])
    else:
        converted = {key: json_schema(value) if key != "properties" else
                     {name: json_schema(prop) for name, prop in value.items()}
                     for key, value in node.items()
                     if key not in ("nullable", "readOnly", "writeOnly", "example")}
    if node.get("nullable"):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@memoize
def response_validator(operation_id: str, status: str):
    for operations in published_schema()["paths"].values():
        for operation in operations.values():
            if operation["operationId"] == operation_id:
                content = operation["responses"][status].get("content")
                if content is None:
                    return None
                schema = json_schema(content["application/json"]["schema"])
                return jsonschema.Draft7Validator(schema,
                                                  format_checker=jsonschema.FormatChecker())
    raise LookupError(operation_id)


def assert_documented(method: str, path: str, response) -> None:
    if not path.startswith(API + "/"):
        return
    assert response.has_header("X-Request-ID"), (method, path)
    operation = operation_for(method, path)
    if operation is None:  # no such operation: 404 or 405, in the error shape
        assert response.status_code in (404, 405), (method, path, response.status_code)
        return
    if response.status_code == 500:  # a crash is never documented; its test says so
        return
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, (
        f"{operation['operationId']} answered {status}, which it does not document")
    validator = response_validator(operation["operationId"], status)
    if validator is None:
        assert response.content == b"", (operation["operationId"], status)
    else:
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(response.json())]
        assert not errors, f"{operation['operationId']} {status} does not match its schema: " \
                           f"{errors[:5]}"
    if response.status_code >= 400:
        code = error_code(response)
        assert code in documented[status]["x-error-codes"], (
            f"{operation['operationId']} answered {status} {code!r}, not among "
            f"{documented[status]['x-error-codes']}")


@pytest.fixture(autouse=True)
def documented_answers(monkeypatch):
    request = APIClient.request

    def checked(self, **kwargs):
        response = request(self, **kwargs)
        assert_documented(kwargs["REQUEST_METHOD"], kwargs["PATH_INFO"], response)
        return response

    monkeypatch.setattr(APIClient, "request", checked)


@pytest.fixture(autouse=True)
def _clear_cache():
    """The throttle keeps its history in the cache: every test starts from nothing."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user(username="integrator", password="x-unused-x")


@pytest.fixture
def make_key(owner):
    """make_key(scopes=[...], rate_per_minute=...) → (ApiKey, plaintext)."""
    counter = iter(range(1000))

    def make(scopes=None, *, rate_per_minute: int = 1_000_000, name: str | None = None):
        return api_key_create(name=name or f"key {next(counter)}",
                              scopes=ALL_SCOPES if scopes is None else list(scopes),
                              owner_id=owner.pk, rate_per_minute=rate_per_minute)

    return make


def client_for(raw: str | None) -> APIClient:
    client = APIClient()
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api_key(make_key):
    """A key with every scope and a limit high enough never to throttle: (ApiKey, plaintext)."""
    return make_key()


@pytest.fixture
def api(api_key) -> APIClient:
    return client_for(api_key[1])


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def new_idem() -> str:
    return f"test-{uuid.uuid4()}"


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in BUSINESS_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            counts[table] = cursor.fetchone()[0]
    return counts


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]["code"]
