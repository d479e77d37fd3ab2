"""Shared fixtures. The database is PostgreSQL: the server DATABASE_URL names, or the
embedded one that config.settings starts when it is unset."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from members.models import Member, Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip a test whose outside dependency is missing — but fail in CI, where it must be."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def default_earning_rules(request):
    """The default earning rules come from a data migration; a transactional test's flush
    removes them, so put them back for every test that uses the database."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not {"db", "transactional_db"} & names:
        return
    transactional = "transactional_db" in names or (marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    from points.defaults import ensure_default_rules

    ensure_default_rules()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 14, 10, 30, tzinfo=SHANGHAI)


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(code="SH001", name="上海南京西路店", region="上海")


@pytest.fixture
def other_store(db) -> Store:
    return Store.objects.create(code="BJ001", name="北京三里屯店", region="北京")


@pytest.fixture
def make_member(db, now):
    from members.services.members import MemberInput, member_register

    counter = iter(range(10_000))

    def make(**fields) -> Member:
        n = next(counter)
        fields.setdefault("mobile", f"1380013{n:04d}")
        fields.setdefault("name", f"会员{n}")
        return member_register(data=MemberInput(**fields), now=now)

    return make


@pytest.fixture
def member(make_member) -> Member:
    return make_member()


def money(value: str) -> Decimal:
    return Decimal(value)


@pytest.fixture
def high_ids(db):
    """`high_ids("points_pointsentry", 1_234_566)`: the table's next ids run in the millions,
    where a grouped id ("1,234,567") would break a URL or a form. The sequence is put back
    afterwards — sequences ignore the test's rollback, and the jobs that walk id ranges would
    otherwise walk a million empty ids in every later test."""
    from django.db import connection

    moved = []

    def jump(table: str, to: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
            moved.append((sequence, *cursor.fetchone()))
            cursor.execute("SELECT setval(%s, %s)", [sequence, to])

    yield jump
    with connection.cursor() as cursor:
        for sequence, value, called in reversed(moved):
            cursor.execute("SELECT setval(%s, %s, %s)", [sequence, value, called])
