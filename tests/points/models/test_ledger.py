"""What PostgreSQL itself guarantees about the ledger, whatever the code above it does:
entries are append-only (a trigger), balances and lots cannot go negative (CHECKs), one
earning per sale and one reversal per return (partial UNIQUE indexes), adjustments carry
an operator and a reason. TRUNCATE stays possible for test fixtures.

Each refused statement runs in its own savepoint (transaction.atomic()), so the test
database stays usable after it and the test can show that nothing changed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from loyalty.services.intake import record_return, record_sale
from members.models import MemberNote
from points.models import EntryKind, PointsAccount, PointsEntry, PointsLot
from points.services.ledger import points_adjust
from tests.points.helpers import (
    assert_ledger_consistent,
    balances,
    return_input,
    sale_input,
    set_points_settings,
)


@pytest.fixture
def earned(store, member, now):
    """A member with one sale that earned 100 available points."""
    set_points_settings(pending_days=0, expiry_months=24, points_per_yuan=1)
    return record_sale(sale=sale_input(store, member.pk, now, "S-1", "100.00", quantity=2),
                       now=now)


def refused_sql(sql: str, params=(), error=DatabaseError) -> DatabaseError:
    with pytest.raises(error) as info:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    return info.value


def rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 - fixed names
        return cursor.fetchall()


# --- entries are append-only ------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE points_pointsentry SET available_delta = 1000000 WHERE id = %s",
    "UPDATE points_pointsentry SET reason = 'edited' WHERE id = %s",
    "UPDATE points_pointsentry SET available_delta = available_delta WHERE id = %s",
    "DELETE FROM points_pointsentry WHERE id = %s",
])
def test_an_entry_cannot_be_updated_or_deleted_in_sql(earned, sql):
    entry_id = earned.points.entry.pk
    before = rows("points_pointsentry")

    error = refused_sql(sql, [entry_id], IntegrityError)

    assert "append-only" in str(error)
    assert rows("points_pointsentry") == before
    assert PointsEntry.objects.filter(pk=entry_id).exists()  # the connection is still usable


def test_a_bulk_update_or_delete_of_all_entries_fails(earned):
    before = rows("points_pointsentry")

    refused_sql("UPDATE points_pointsentry SET reason = ''", error=IntegrityError)
    refused_sql("DELETE FROM points_pointsentry", error=IntegrityError)

    assert len(before) == 1
    assert rows("points_pointsentry") == before


def test_the_orm_cannot_change_or_delete_an_entry_either(earned):
    entry = earned.points.entry

    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.filter(pk=entry.pk).update(available_delta=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry.reason = "edited"
        entry.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.filter(pk=entry.pk).delete()

    stored = PointsEntry.objects.get(pk=entry.pk)
    assert (stored.available_delta, stored.reason) == (100, "sale")


def test_inserting_entries_still_works(earned, member, now):
    user = User.objects.create(username="ops")
    points_adjust(member_id=member.pk, points=5, operator_id=user.pk, reason="ok", now=now)

    assert PointsEntry.objects.filter(member_id=member.pk).count() == 2
    assert assert_ledger_consistent(member.pk)["available"] == 105


@pytest.mark.django_db(transaction=True)
def test_truncate_still_works(store, member, now):
    set_points_settings(pending_days=0)
    record_sale(sale=sale_input(store, member.pk, now, "S-1", "10.00"), now=now)
    assert PointsEntry.objects.count() == 1

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE points_pointsentry, points_pointslot, points_pointsaccount CASCADE")

    assert PointsEntry.objects.count() == 0
    assert PointsLot.objects.count() == 0
    assert PointsAccount.objects.count() == 0
    with pytest.raises(IntegrityError), transaction.atomic():  # the trigger is still there
        record_sale(sale=sale_input(store, member.pk, now, "S-2", "10.00"), now=now)
        PointsEntry.objects.all().delete()
    assert PointsEntry.objects.count() == 0


# --- balances and lots cannot go negative ----------------------------------------------------


@pytest.mark.parametrize("column", ["available", "pending", "held", "debt"])
def test_a_check_stops_a_negative_balance(earned, member, column):
    before = balances(member.pk)

    error = refused_sql(
        f"UPDATE points_pointsaccount SET {column} = -1 WHERE member_id = %s",
        [member.pk], IntegrityError)

    assert "points_account_balances_not_negative" in str(error)
    assert balances(member.pk) == before


def test_a_balance_can_still_be_set_to_zero_or_more(earned, member):
    # The same statement with a non-negative value goes through (then is rolled back).
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE points_pointsaccount SET available = 0 WHERE member_id = %s",
                           [member.pk])
            assert cursor.rowcount == 1
        transaction.set_rollback(True)
    assert balances(member.pk)["available"] == 100


@pytest.mark.parametrize("value", ["-1", "original + 1"])
def test_a_check_keeps_a_lots_remaining_within_what_it_was_given(earned, value):
    lot_id = earned.points.entry.lot_id

    error = refused_sql(f"UPDATE points_pointslot SET remaining = {value} WHERE id = %s",
                        [lot_id], IntegrityError)

    assert "points_lot_remaining_within_original" in str(error)
    assert PointsLot.objects.get(pk=lot_id).remaining == 100


# --- one earning per sale, one reversal per return -------------------------------------------

_INSERT_ENTRY = """
    INSERT INTO points_pointsentry
        (member_id, kind, available_delta, pending_delta, held_delta, debt_delta, order_id,
         source_key, reason, created_at)
    VALUES (%s, %s, %s, 0, 0, 0, %s, %s, '', now())
"""


def test_a_second_earning_for_the_same_sale_is_refused_by_the_database(earned, member):
    order_id = earned.order.pk

    error = refused_sql(_INSERT_ENTRY, [member.pk, "earn", 100, order_id, "another-key"],
                        IntegrityError)

    assert "points_one_earning_per_sale" in str(error)
    assert PointsEntry.objects.filter(order_id=order_id, kind=EntryKind.EARN).count() == 1
    # another kind of entry for that order is not an earning: it goes through
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_ENTRY, [member.pk, "spend", 0, order_id, "k2"])
        transaction.set_rollback(True)


def test_a_second_reversal_for_the_same_return_is_refused_by_the_database(store, earned,
                                                                          member, now):
    ret = record_return(ret=return_input(store, now, "R-1", "S-1"), now=now)
    assert ret.points.entry.available_delta == -50

    error = refused_sql(_INSERT_ENTRY, [member.pk, "reverse", -50, ret.order.pk, "k"],
                        IntegrityError)

    assert "points_one_reversal_per_return" in str(error)
    assert balances(member.pk)["available"] == 50


def test_a_source_key_is_used_once(earned, member):
    key = earned.points.entry.source_key
    assert key

    error = refused_sql(_INSERT_ENTRY, [member.pk, "spend", -1, None, key], IntegrityError)

    assert "source_key" in str(error)


def test_an_adjustment_without_operator_reason_or_note_is_refused_by_the_database(earned,
                                                                                  member):
    user = User.objects.create(username="ops")
    note = MemberNote.objects.create(member=member, text="why", created_at=timezone.now())
    sql = """INSERT INTO points_pointsentry
                 (member_id, kind, available_delta, pending_delta, held_delta, debt_delta,
                  reason, operator_id, note_id, created_at)
             VALUES (%s, 'adjust', 5, 0, 0, 0, %s, %s, %s, now())"""

    for reason, operator, note_id in (("", user.pk, note.pk), ("other", None, note.pk),
                                      ("other", user.pk, None)):
        error = refused_sql(sql, [member.pk, reason, operator, note_id], IntegrityError)
        assert "points_adjustment_has_operator_reason_and_note" in str(error)
    assert PointsEntry.objects.filter(kind=EntryKind.ADJUST).count() == 0
