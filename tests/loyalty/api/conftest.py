"""Fixtures for the HTTP API tests: an owner, API keys with chosen scopes, and clients that
send them as `Authorization: Bearer lk_…`."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from loyalty.models import Scope
from loyalty.services import api_key_create

ALL_SCOPES = [scope.value for scope in Scope]
API = "/api/v1"

BUSINESS_TABLES = (
    "members_member", "members_order", "members_orderline", "points_pointsentry",
    "points_pointsaccount", "points_pointslot", "members_memberactivity",
    "points_reward", "points_rewardredemption", "points_coupon", "points_couponevent",
    "points_pointshold", "points_pointslotmovement", "points_pointspayment",
    "points_partnerexchange", "points_partnerdailytotal",
)


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
