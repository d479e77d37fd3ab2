"""core.chain: an entry's link computed in Python (the posting path) and in SQL (set-based
jobs, the verifier, the migration's running aggregate) is the same hash, for any content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points.chain import ENTRY_CHAIN, ENTRY_COLUMNS
from points.models import PointsEntry

SQL_TYPES = {"int": "bigint", "text": "text", "time": "timestamptz"}

ints = st.one_of(st.none(), st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1))
texts = st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",),
                                                   exclude_characters="\x00"), max_size=40))
times = st.one_of(st.none(), st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC)))
KINDS = {"int": ints, "text": texts, "time": times}
rows = st.fixed_dictionaries({column: KINDS[kind] for column, kind in ENTRY_CHAIN.fields})
heads = st.one_of(st.none(), st.binary(min_size=32, max_size=32))


def sql_link(head: bytes | None, row: dict) -> bytes:
    select = ", ".join(f"%s::{SQL_TYPES[kind]} AS {column}" for column, kind in ENTRY_CHAIN.fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ENTRY_CHAIN.link_sql('%s::bytea', 'v')} FROM (SELECT {select}) v",
                       [head, *(row[column] for column in ENTRY_COLUMNS)])
        return bytes(cursor.fetchone()[0])


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=heads, row=rows)
def test_python_and_sql_compute_the_same_link(head, row):
    assert ENTRY_CHAIN.link(head, row) == sql_link(head, row)


@pytest.mark.django_db
@pytest.mark.parametrize("row", [
    # text that looks like the separators, unicode, a leap day, microseconds, negatives
    {"kind": "a|b", "reason": "3:x|~", "source_key": "", "available_delta": -40},
    {"kind": "兑换", "reason": "积分过期 🎉", "source_key": "~", "held_delta": 0},
    {"kind": "earn", "created_at": datetime(2028, 2, 29, 15, 59, 59, 999999, tzinfo=UTC)},
    {"kind": "earn", "created_at": datetime(2026, 3, 1, tzinfo=UTC) - timedelta(microseconds=1)},
])
def test_awkward_contents_agree(row):
    full = {column: row.get(column) for column in ENTRY_COLUMNS}
    assert ENTRY_CHAIN.link(None, full) == sql_link(None, full)
    assert ENTRY_CHAIN.link(b"\x01" * 32, full) == sql_link(b"\x01" * 32, full)


def test_text_with_separators_cannot_pass_for_other_columns():
    base = dict.fromkeys(ENTRY_COLUMNS)
    one = {**base, "kind": "a|1:b", "reason": None}
    other = {**base, "kind": "a", "reason": "b"}
    assert ENTRY_CHAIN.content(one) != ENTRY_CHAIN.content(other)
    assert ENTRY_CHAIN.link(None, {**base, "source_key": None}) != ENTRY_CHAIN.link(
        None, {**base, "source_key": ""})


def test_every_column_of_an_entry_is_chained():
    """A column added to the ledger later must be chained too (or named here as not)."""
    columns = {field.attname for field in PointsEntry._meta.concrete_fields}
    assert columns - set(ENTRY_COLUMNS) == {"id", "hash"}


@pytest.mark.django_db
def test_the_running_aggregate_of_the_migration_agrees_with_python(member, now):
    """rechain (the migration's and the benchmark's) gives the hashes the posting path
    would have given, entry after entry."""
    import pgtrigger

    from points.services.ledger import points_earn, points_spend
    from tests.points.helpers import assert_chained, set_points_settings

    set_points_settings(pending_days=0, expiry_months=12, points_per_yuan=1)
    for day in range(5):
        points_earn(member_id=member.pk, points=10 + day, now=now + timedelta(days=day))
    points_spend(member_id=member.pk, points=7, now=now + timedelta(days=6))
    assert_chained(member.pk)
    before = list(PointsEntry.objects.filter(member=member).order_by("id")
                  .values_list("hash", flat=True))
    with pgtrigger.ignore("points.PointsEntry:append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE points_pointsentry SET hash = NULL WHERE member_id = %s",
                       [member.pk])
        assert ENTRY_CHAIN.rechain(cursor, after=member.pk - 1, upto=member.pk) == 6
    after = list(PointsEntry.objects.filter(member=member).order_by("id")
                 .values_list("hash", flat=True))
    assert [bytes(h) for h in after] == [bytes(h) for h in before]
    assert_chained(member.pk)
