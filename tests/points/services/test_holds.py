"""Checkout holds: hold → capture, hold → release, hold → expiry; each closes once, and held
points cannot be spent elsewhere meanwhile (also with threads racing on one balance)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from points.errors import PointsError
from points.models import EntryKind, PointsEntry, PointsHold, PointsLot
from points.services.holds import (
    points_hold,
    points_hold_capture,
    points_hold_release,
    points_holds_expire_due,
)
from points.services.ledger import points_adjust, points_expire_due, points_spend
from tests.points.helpers import assert_ledger_consistent, balances, set_points_settings
from tests.points.services.test_ledger_concurrency import code_of
from tests.races import run_at_once


@pytest.fixture
def operator(db):
    return User.objects.create(username="ops")


def credit(member, operator, points, now):
    return points_adjust(member_id=member.pk, points=points, operator_id=operator.pk,
                         reason="credit", now=now).entry


def code(excinfo) -> str:
    return excinfo.value.code.value


def test_hold_then_capture_spends_the_capture_and_returns_the_rest(member, operator, now):
    credit(member, operator, 500, now)
    outcome = points_hold(member_id=member.pk, points=300, reference="B-1", now=now)
    assert balances(member.pk) == {"available": 200, "pending": 0, "held": 300, "debt": 0}
    assert_ledger_consistent(member.pk)

    captured = points_hold_capture(hold_id=outcome.hold.pk, points=250,
                                   now=now + timedelta(minutes=5))

    assert [(e.kind, e.available_delta, e.held_delta) for e in captured.entries] == [
        (EntryKind.CAPTURE, 0, -250), (EntryKind.RELEASE, 50, -50)]
    hold = PointsHold.objects.get(pk=outcome.hold.pk)
    assert (hold.state, hold.captured, hold.closed_at) == (
        "captured", 250, now + timedelta(minutes=5))
    assert balances(member.pk) == {"available": 250, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_capture_of_the_whole_hold_writes_no_release(member, operator, now):
    credit(member, operator, 100, now)
    hold = points_hold(member_id=member.pk, points=100, now=now).hold
    outcome = points_hold_capture(hold_id=hold.pk, points=100, now=now)
    assert [e.kind for e in outcome.entries] == [EntryKind.CAPTURE]
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_hold_then_release_returns_every_point_to_its_lot(member, operator, now):
    set_points_settings(expiry_months=1)
    early = credit(member, operator, 60, now)
    set_points_settings(expiry_months=12)
    late = credit(member, operator, 100, now)
    hold = points_hold(member_id=member.pk, points=120, now=now).hold
    # soonest-expiring first: all of the 1-month lot, 60 of the 12-month lot
    assert dict(PointsLot.objects.filter(member_id=member.pk).values_list("id", "remaining")) == {
        early.lot_id: 0, late.lot_id: 40}

    points_hold_release(hold_id=hold.pk, now=now + timedelta(minutes=1))

    assert dict(PointsLot.objects.filter(member_id=member.pk).values_list("id", "remaining")) == {
        early.lot_id: 60, late.lot_id: 100}
    assert PointsHold.objects.get(pk=hold.pk).state == "released"
    assert balances(member.pk) == {"available": 160, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_capture_keeps_the_soonest_expiring_parts_and_returns_the_latest(member, operator, now):
    set_points_settings(expiry_months=1)
    early = credit(member, operator, 60, now)
    set_points_settings(expiry_months=12)
    late = credit(member, operator, 100, now)
    hold = points_hold(member_id=member.pk, points=120, now=now).hold
    points_hold_capture(hold_id=hold.pk, points=70, now=now)
    # 60 from the early lot and 10 from the late one are spent; 50 go back to the late lot
    assert dict(PointsLot.objects.filter(member_id=member.pk).values_list("id", "remaining")) == {
        early.lot_id: 0, late.lot_id: 90}
    assert_ledger_consistent(member.pk)


def test_abandoned_hold_expires_by_itself_and_a_rerun_finds_nothing(member, make_member,
                                                                    operator, now):
    other = make_member()
    credit(member, operator, 100, now)
    credit(other, operator, 100, now)
    stale = points_hold(member_id=member.pk, points=80, ttl=timedelta(minutes=30), now=now).hold
    fresh = points_hold(member_id=other.pk, points=50, ttl=timedelta(hours=2), now=now).hold

    assert points_holds_expire_due(now=now + timedelta(minutes=29)) == 0
    assert points_holds_expire_due(now=now + timedelta(minutes=30)) == 1
    assert points_holds_expire_due(now=now + timedelta(minutes=31)) == 0

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.state, stale.closed_at) == ("expired", now + timedelta(minutes=30))
    assert fresh.state == "held"
    release = PointsEntry.objects.get(source_key=f"release:hold:{stale.pk}")
    assert (release.kind, release.available_delta, release.held_delta, release.reason) == (
        EntryKind.RELEASE, 80, -80, "hold expired")
    assert balances(member.pk) == {"available": 100, "pending": 0, "held": 0, "debt": 0}
    assert balances(other.pk)["held"] == 50
    assert_ledger_consistent(member.pk)
    assert_ledger_consistent(other.pk)
    with pytest.raises(PointsError) as excinfo:
        points_hold_capture(hold_id=stale.pk, points=10, now=now + timedelta(minutes=31))
    assert code(excinfo) == "hold_closed"


def test_expiry_job_runs_over_chunks(make_member, operator, now):
    members = [make_member() for _ in range(5)]
    for m in members:
        credit(m, operator, 10, now)
        points_hold(member_id=m.pk, points=10, now=now)
    assert points_holds_expire_due(now=now + timedelta(hours=1), chunk=2) == 5
    assert not PointsHold.objects.filter(state="held").exists()
    for m in members:
        assert balances(m.pk) == {"available": 10, "pending": 0, "held": 0, "debt": 0}


def test_a_capture_past_the_time_to_live_is_refused(member, operator, now):
    credit(member, operator, 100, now)
    hold = points_hold(member_id=member.pk, points=100, ttl=timedelta(minutes=5), now=now).hold
    with pytest.raises(PointsError) as excinfo:
        points_hold_capture(hold_id=hold.pk, points=100, now=now + timedelta(minutes=5))
    assert code(excinfo) == "hold_expired"
    assert balances(member.pk)["held"] == 100


@pytest.mark.parametrize("first", ["capture", "release"])
@pytest.mark.parametrize("second", ["capture", "release"])
def test_a_hold_closes_once(member, operator, now, first, second):
    credit(member, operator, 100, now)
    hold = points_hold(member_id=member.pk, points=100, now=now).hold
    close = {"capture": lambda: points_hold_capture(hold_id=hold.pk, points=40, now=now),
             "release": lambda: points_hold_release(hold_id=hold.pk, now=now)}
    close[first]()
    after = balances(member.pk)
    entries = PointsEntry.objects.filter(member_id=member.pk).count()

    with pytest.raises(PointsError) as excinfo:
        close[second]()

    assert code(excinfo) == "hold_closed"
    assert balances(member.pk) == after
    assert PointsEntry.objects.filter(member_id=member.pk).count() == entries


def test_capture_above_the_hold_is_refused_and_changes_nothing(member, operator, now):
    credit(member, operator, 500, now)
    hold = points_hold(member_id=member.pk, points=100, now=now).hold
    before = (balances(member.pk), PointsEntry.objects.count(),
              list(PointsLot.objects.values_list("id", "remaining")))

    with pytest.raises(PointsError) as excinfo:
        points_hold_capture(hold_id=hold.pk, points=101, now=now)

    assert code(excinfo) == "capture_exceeds_hold"
    assert excinfo.value.params == {"requested": 101, "held": 100}
    assert (balances(member.pk), PointsEntry.objects.count(),
            list(PointsLot.objects.values_list("id", "remaining"))) == before
    assert PointsHold.objects.get(pk=hold.pk).state == "held"


def test_held_points_cannot_be_spent_or_held_again(member, operator, now):
    credit(member, operator, 100, now)
    points_hold(member_id=member.pk, points=70, now=now)
    with pytest.raises(PointsError) as excinfo:
        points_spend(member_id=member.pk, points=31, now=now)
    assert code(excinfo) == "insufficient_points"
    with pytest.raises(PointsError) as excinfo:
        points_hold(member_id=member.pk, points=31, now=now)
    assert code(excinfo) == "insufficient_points"
    points_spend(member_id=member.pk, points=30, now=now)
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 70, "debt": 0}


def test_held_points_do_not_expire_until_released(member, operator, now):
    set_points_settings(expiry_months=1)
    lot = credit(member, operator, 150, now).lot
    hold = points_hold(member_id=member.pk, points=100, ttl=timedelta(days=7), now=now).hold
    due = now + relativedelta(months=1)
    points_expire_due(now=due - timedelta(days=1))
    assert balances(member.pk)["held"] == 100
    points_expire_due(now=due)          # the lot's own expiry takes the 50 not held
    assert PointsEntry.objects.get(source_key=f"expire:lot:{lot.pk}").available_delta == -50
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 100, "debt": 0}

    outcome = points_hold_release(hold_id=hold.pk, now=due + timedelta(hours=1))

    # back from a lot past its date: released and expired at once, under its own key
    assert [(e.kind, e.available_delta, e.held_delta, e.source_key) for e in outcome.entries] == [
        (EntryKind.RELEASE, 100, -100, f"release:hold:{hold.pk}"),
        (EntryKind.EXPIRE, -100, 0, f"expire:hold:{hold.pk}:lot:{lot.pk}")]
    assert PointsLot.objects.get(pk=lot.pk).remaining == 0
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)
    assert points_expire_due(now=due + timedelta(days=1)) == 0


def test_an_expiring_hold_whose_lot_lapsed_expires_those_points(member, operator, now):
    set_points_settings(expiry_months=1)
    early = credit(member, operator, 30, now).lot
    set_points_settings(expiry_months=12)
    late = credit(member, operator, 50, now).lot
    points_hold(member_id=member.pk, points=60, ttl=timedelta(days=7), now=now)
    due = now + relativedelta(months=1)
    points_expire_due(now=due - timedelta(days=3))

    assert points_holds_expire_due(now=due) == 1   # the hold's 7 days end after the lot's month

    assert dict(PointsLot.objects.filter(member_id=member.pk)
                .values_list("id", "remaining")) == {early.pk: 0, late.pk: 50}
    lapse = PointsEntry.objects.get(kind=EntryKind.EXPIRE)
    assert (lapse.available_delta, lapse.lot_id) == (-30, early.pk)
    assert balances(member.pk) == {"available": 50, "pending": 0, "held": 0, "debt": 0}
    assert_ledger_consistent(member.pk)


def test_another_owners_hold_is_not_found(member, operator, now):
    credit(member, operator, 100, now)
    hold = points_hold(member_id=member.pk, points=50, owner_id=operator.pk, now=now).hold
    stranger = User.objects.create(username="stranger")
    for attempt in (lambda: points_hold_capture(hold_id=hold.pk, points=1, owner_id=stranger.pk),
                    lambda: points_hold_release(hold_id=hold.pk, owner_id=stranger.pk)):
        with pytest.raises(PointsError) as excinfo:
            attempt()
        assert code(excinfo) == "hold_not_found"
    assert PointsHold.objects.get(pk=hold.pk).state == "held"


@pytest.mark.parametrize("bad", [0, -5])
def test_bad_amounts_and_lifetimes_are_refused(member, operator, now, bad):
    credit(member, operator, 100, now)
    with pytest.raises(PointsError) as excinfo:
        points_hold(member_id=member.pk, points=bad, now=now)
    assert code(excinfo) == "non_positive_amount"
    with pytest.raises(PointsError) as excinfo:
        points_hold(member_id=member.pk, points=10, ttl=timedelta(days=8), now=now)
    assert code(excinfo) == "hold_ttl_invalid"
    assert not PointsHold.objects.exists()


# --- under concurrency -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_threads_racing_spends_and_holds_on_one_balance_never_overdraw(member, now):
    operator = User.objects.create(username="ops")
    points_adjust(member_id=member.pk, points=100, operator_id=operator.pk,
                  reason="starting balance", now=now)

    def work(i):
        if i % 2:
            return points_hold(member_id=member.pk, points=10, now=now)
        return points_spend(member_id=member.pk, points=10, source_key=f"spend:{i}", now=now)

    results = run_at_once(work, n=30)

    ok = [r for kind, r in results if kind == "ok"]
    failed = [r for kind, r in results if kind == "error"]
    assert len(ok) == 10
    assert Counter(code_of(e) for e in failed) == {"insufficient_points": 20}
    holds = PointsHold.objects.filter(member_id=member.pk, state="held").count()
    spends = PointsEntry.objects.filter(member_id=member.pk, kind=EntryKind.SPEND).count()
    assert holds + spends == 10
    assert balances(member.pk) == {"available": 0, "pending": 0, "held": 10 * holds, "debt": 0}
    assert_ledger_consistent(member.pk)


@pytest.mark.django_db(transaction=True)
def test_racing_captures_and_releases_of_one_hold_close_it_once(member, now):
    operator = User.objects.create(username="ops")
    points_adjust(member_id=member.pk, points=100, operator_id=operator.pk,
                  reason="starting balance", now=now)
    hold = points_hold(member_id=member.pk, points=100, now=now).hold

    def work(i):
        if i % 3 == 0:
            return points_hold_release(hold_id=hold.pk, now=now)
        if i % 3 == 1:
            return points_hold_capture(hold_id=hold.pk, points=60, now=now)
        return points_holds_expire_due(now=now + timedelta(hours=1))

    results = run_at_once(work, n=12)

    closers = [r for kind, r in results if kind == "ok" and not isinstance(r, int)]
    expired = sum(r for kind, r in results if kind == "ok" and isinstance(r, int))
    errors = [r for kind, r in results if kind == "error"]
    assert len(closers) + expired == 1
    assert {code_of(e) for e in errors} <= {"hold_closed"}
    assert len(errors) == 8 - len(closers)
    assert PointsEntry.objects.filter(member_id=member.pk, kind=EntryKind.CAPTURE).count() <= 1
    assert balances(member.pk)["held"] == 0
    assert_ledger_consistent(member.pk)
