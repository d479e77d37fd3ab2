"""Stored value: top-up with a bonus rule, spend in the configured order, refund of the
principal only, bonus expiry (inline and the daily job), keys, and the ledger's sums."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from points.errors import PointsError
from points.models import (
    PointsSettings,
    StoredValueBonusLot,
    StoredValueEntry,
    StoredValueKind,
    TopUpBonusRule,
)
from points.services.stored_value import (
    stored_value_expire_due,
    stored_value_refund,
    stored_value_spend,
    stored_value_top_up,
)
from tests.points.stored_value_helpers import assert_stored_value_consistent, sv_balances

D = Decimal


@pytest.fixture
def rules(db):
    return [TopUpBonusRule.objects.create(name="充500送50", min_amount=D("500"), bonus=D("50"),
                                          bonus_valid_days=30),
            TopUpBonusRule.objects.create(name="充1000送150", min_amount=D("1000"),
                                          bonus=D("150"), bonus_valid_days=None)]


def code(exc: PointsError) -> str:
    return exc.code.value


def test_top_up_earns_the_bonus_of_the_best_rule_reached(member, now, rules):
    below = stored_value_top_up(member_id=member.pk, amount="499.99", key="t1", now=now)
    assert below.entry.bonus_delta == 0
    five = stored_value_top_up(member_id=member.pk, amount="600", key="t2", now=now)
    assert (five.entry.principal_delta, five.entry.bonus_delta) == (D("600.00"), D("50.00"))
    lot = StoredValueBonusLot.objects.get(entry=five.entry)
    # 30 days on the Beijing calendar, valid through the end of that day
    assert lot.expires_at.astimezone(now.tzinfo) > now + timedelta(days=30)
    thousand = stored_value_top_up(member_id=member.pk, amount="1000", key="t3", now=now)
    assert thousand.entry.bonus_delta == D("150.00")
    assert StoredValueBonusLot.objects.get(entry=thousand.entry).expires_at is None
    assert sv_balances(member.pk) == (D("2099.99"), D("200.00"))
    assert_stored_value_consistent(member.pk)


def test_the_same_key_answers_the_first_top_up_and_refuses_another(member, now, rules):
    first = stored_value_top_up(member_id=member.pk, amount="500", key="k", now=now)
    again = stored_value_top_up(member_id=member.pk, amount="500", key="k", now=now)
    assert again.created is False and again.entry.pk == first.entry.pk
    with pytest.raises(PointsError) as exc:
        stored_value_top_up(member_id=member.pk, amount="501", key="k", now=now)
    assert code(exc.value) == "stored_value_key_conflict"
    with pytest.raises(PointsError) as exc:
        stored_value_spend(member_id=member.pk, amount="1", key="k", now=now)
    assert code(exc.value) == "stored_value_key_conflict"
    assert sv_balances(member.pk) == (D("500.00"), D("50.00"))


@pytest.mark.parametrize("amount", ["0", "-5", "NaN", "1e30", "abc", "0.001", "1000000.01"])
def test_amounts_that_are_not_money_are_refused(member, now, amount):
    with pytest.raises(PointsError) as exc:
        stored_value_top_up(member_id=member.pk, amount=amount, key="x", now=now)
    assert code(exc.value) == "stored_value_amount_invalid"
    assert not StoredValueEntry.objects.exists()


def test_spend_takes_bonus_first_soonest_expiring_then_principal(member, now, rules):
    stored_value_top_up(member_id=member.pk, amount="1000", key="a", now=now)  # 150, never
    stored_value_top_up(member_id=member.pk, amount="500", key="b", now=now)   # 50, 30 days
    spend = stored_value_spend(member_id=member.pk, amount="120", key="s1", now=now)
    assert (spend.entry.principal_delta, spend.entry.bonus_delta) == (D("0.00"), D("-120.00"))
    lots = {lot.original: lot.remaining for lot in StoredValueBonusLot.objects.all()}
    assert lots == {D("50.00"): D("0.00"), D("150.00"): D("80.00")}
    spend = stored_value_spend(member_id=member.pk, amount="100", key="s2", now=now)
    assert (spend.entry.principal_delta, spend.entry.bonus_delta) == (D("-20.00"), D("-80.00"))
    assert sv_balances(member.pk) == (D("1480.00"), D("0.00"))
    assert_stored_value_consistent(member.pk)


def test_spend_takes_principal_first_when_configured(member, now, rules):
    settings = PointsSettings.load()
    settings.stored_value_spend_order = PointsSettings.StoredValueOrder.PRINCIPAL_FIRST
    settings.save()
    stored_value_top_up(member_id=member.pk, amount="500", key="a", now=now)
    spend = stored_value_spend(member_id=member.pk, amount="520", key="s", now=now)
    assert (spend.entry.principal_delta, spend.entry.bonus_delta) == (D("-500.00"), D("-20.00"))
    assert sv_balances(member.pk) == (D("0.00"), D("30.00"))
    assert_stored_value_consistent(member.pk)


def test_spend_beyond_the_balance_is_refused_and_changes_nothing(member, now, rules):
    stored_value_top_up(member_id=member.pk, amount="500", key="a", now=now)
    with pytest.raises(PointsError) as exc:
        stored_value_spend(member_id=member.pk, amount="550.01", key="s", now=now)
    assert code(exc.value) == "insufficient_stored_value"
    assert exc.value.params == {"available": D("550.00"), "requested": D("550.01")}
    assert StoredValueEntry.objects.count() == 1
    stored_value_spend(member_id=member.pk, amount="550", key="s", now=now)
    assert sv_balances(member.pk) == (D("0.00"), D("0.00"))


def test_refund_pays_back_principal_only_and_forfeits_bonus_in_proportion(member, now, rules):
    stored_value_top_up(member_id=member.pk, amount="500", key="a", now=now)
    half = stored_value_refund(member_id=member.pk, amount="250", key="r1", now=now)
    assert (half.entry.principal_delta, half.entry.bonus_delta) == (D("-250.00"), D("-25.00"))
    with pytest.raises(PointsError) as exc:
        stored_value_refund(member_id=member.pk, amount="260", key="r2", now=now)
    assert code(exc.value) == "refund_exceeds_principal"
    rest = stored_value_refund(member_id=member.pk, amount="250", key="r2", now=now)
    assert rest.entry.bonus_delta == D("-25.00")
    assert sv_balances(member.pk) == (D("0.00"), D("0.00"))
    assert_stored_value_consistent(member.pk)


def test_bonus_expiry_job_expires_due_lots_once(member, make_member, now, rules):
    other = make_member()
    stored_value_top_up(member_id=member.pk, amount="500", key="a", now=now)
    stored_value_top_up(member_id=other.pk, amount="500", key="b", now=now)
    stored_value_top_up(member_id=other.pk, amount="1000", key="c", now=now)  # never expires
    stored_value_spend(member_id=member.pk, amount="20", key="s", now=now)
    assert stored_value_expire_due(now=now + timedelta(days=30)) == 0  # not yet due
    later = now + timedelta(days=32)
    assert stored_value_expire_due(now=later, chunk=1) == 2
    assert stored_value_expire_due(now=later) == 0  # a re-run finds nothing due
    assert sv_balances(member.pk) == (D("500.00"), D("0.00"))
    assert sv_balances(other.pk) == (D("1500.00"), D("150.00"))
    expired = StoredValueEntry.objects.filter(kind=StoredValueKind.EXPIRE)
    assert sorted(e.bonus_delta for e in expired) == [D("-50.00"), D("-30.00")]
    assert all(e.created_at == later for e in expired)
    assert_stored_value_consistent(member.pk)
    assert_stored_value_consistent(other.pk)


def test_a_spend_after_the_bonus_date_cannot_take_the_bonus(member, now, rules):
    stored_value_top_up(member_id=member.pk, amount="500", key="a", now=now)
    later = now + timedelta(days=40)
    with pytest.raises(PointsError) as exc:
        stored_value_spend(member_id=member.pk, amount="501", key="s", now=later)
    assert code(exc.value) == "insufficient_stored_value"
    spend = stored_value_spend(member_id=member.pk, amount="500", key="s2", now=later)
    assert spend.entry.bonus_delta == 0
    assert StoredValueEntry.objects.filter(kind=StoredValueKind.EXPIRE).count() == 1
    assert stored_value_expire_due(now=later) == 0
    assert_stored_value_consistent(member.pk)


def test_the_database_refuses_a_negative_balance_and_edits_of_the_ledger(member, now, rules):
    entry = stored_value_top_up(member_id=member.pk, amount="10", key="a", now=now).entry
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE points_storedvalueaccount SET principal = -1 "
                       "WHERE member_id = %s", [member.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE points_storedvalueentry SET principal_delta = 99 WHERE id = %s",
                       [entry.pk])
