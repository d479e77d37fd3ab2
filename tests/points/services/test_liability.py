"""The liability report against a tally the test keeps of what it did: two Beijing months
of earning, spending, holds, expiry, returns and adjustments, with the rollup run part-way
(the report must be the same before and after it, and match the tally either way)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from loyalty.services.intake import record_return, record_sale
from points.models import PointsMonthTotal, PointsRollupCursor, PointsSettings
from points.selectors.liability import liability_report
from points.services.holds import points_hold, points_hold_capture, points_hold_release
from points.services.ledger import points_adjust, points_earn, points_expire_due, points_spend
from points.services.liability import points_liability_rollup
from points.services.rewards import redemption_cancel, reward_redeem
from tests.conftest import SHANGHAI
from tests.points.catalog_helpers import make_reward
from tests.points.helpers import return_input, sale_input, set_points_settings
from tests.races import run_at_once


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


FIGURES = ("issued", "redeemed", "expired", "reversed", "adjusted")


class Tally:
    """What the test did, month by month, and what each member should hold."""

    def __init__(self):
        self.months: dict[str, dict[str, int]] = {}
        self.held: dict[str, int] = {}
        self.debt = 0

    def add(self, moment: datetime, figure: str, points: int) -> None:
        month = self.months.setdefault(moment.strftime("%Y-%m"), dict.fromkeys(FIGURES, 0))
        month[figure] += points


def assert_report_matches(tally: Tally) -> None:
    report = liability_report()
    assert {m.month.strftime("%Y-%m"): {f: getattr(m, f) for f in FIGURES}
            for m in report.months} == tally.months
    for figure in FIGURES:
        assert getattr(report, figure) == sum(m[figure] for m in tally.months.values()), figure
    outstanding = sum(tally.held.values())
    assert (report.outstanding, report.debt) == (outstanding, tally.debt)
    assert report.cash_value == Decimal(outstanding) / 100
    issued = sum(m["issued"] for m in tally.months.values())
    expired = sum(m["expired"] for m in tally.months.values())
    assert report.breakage_rate == (Decimal(expired) / Decimal(issued)).quantize(Decimal("0.0001"))


def test_liability_figures_equal_the_tally_of_what_was_done(store, make_member):
    operator = User.objects.create(username="ops")
    set_points_settings(pending_days=0, expiry_months=24, points_per_yuan_value=100)
    a, b, c = make_member(), make_member(), make_member()
    t = Tally()

    # --- January (Beijing) ---
    points_adjust(member_id=a.pk, points=1000, operator_id=operator.pk, reason="x", now=at(1, 10))
    t.add(at(1, 10), "adjusted", 1000)
    record_sale(sale=sale_input(store, a.pk, at(1, 10, 13), "S-A", "300.00", quantity=3),
                now=at(1, 10, 13))
    t.add(at(1, 10), "issued", 300)
    points_spend(member_id=a.pk, points=200, now=at(1, 11))
    t.add(at(1, 11), "redeemed", 200)
    hold = points_hold(member_id=a.pk, points=400, now=at(1, 12)).hold
    points_hold_capture(hold_id=hold.pk, points=150, now=at(1, 12, 12, 5))
    t.add(at(1, 12), "redeemed", 150)

    points_adjust(member_id=b.pk, points=50, operator_id=operator.pk, reason="x", now=at(1, 15))
    t.add(at(1, 15), "adjusted", 50)
    set_points_settings(expiry_months=1)
    points_earn(member_id=b.pk, points=70, now=at(1, 20))           # expires 20 February
    t.add(at(1, 20), "issued", 70)
    set_points_settings(expiry_months=24)
    released = points_hold(member_id=b.pk, points=50, now=at(1, 21)).hold
    points_hold_release(hold_id=released.pk, now=at(1, 21, 12, 10))
    open_hold = points_hold(member_id=b.pk, points=30, ttl=timedelta(days=7),
                            now=at(1, 30)).hold                      # still held at the end
    # 23:30 on 31 January in Beijing is January; 00:10 on 1 February is February, though
    # both are 31 January in UTC
    points_earn(member_id=b.pk, points=10, now=at(1, 31, 23, 30))
    t.add(at(1, 31), "issued", 10)
    points_earn(member_id=b.pk, points=20, now=at(2, 1, 0, 10))
    t.add(at(2, 1), "issued", 20)

    assert points_liability_rollup(now=at(2, 1, 1)) > 0
    t.held = {"a": 1000 + 300 - 200 - 150, "b": 50 + 70 + 10 + 20}
    assert_report_matches(t)

    # --- February ---
    record_return(ret=return_input(store, at(2, 3), "R-A", "S-A", quantity=3), now=at(2, 3))
    t.add(at(2, 3), "reversed", 300)
    points_adjust(member_id=a.pk, points=-100, operator_id=operator.pk, reason="x",
                  now=at(2, 4))
    t.add(at(2, 4), "adjusted", -100)
    # a cancelled redemption gives its points back: "redeemed" counts it net of the refund
    reward = make_reward(at(2, 4), points_cost=200)
    redemption = reward_redeem(member_id=a.pk, reward_id=reward.pk, source_key="r-a",
                               now=at(2, 4, 14))
    t.add(at(2, 4), "redeemed", 200)
    redemption_cancel(redemption_id=redemption.pk, reason="x", now=at(2, 4, 15))
    t.add(at(2, 4), "redeemed", -200)
    points_hold_release(hold_id=open_hold.pk, now=at(2, 5))
    points_expire_due(now=at(2, 21))
    t.add(at(2, 21), "expired", 70)
    # a reversal beyond the balance leaves a debt
    record_sale(sale=sale_input(store, c.pk, at(2, 22), "S-C", "100.00"), now=at(2, 22))
    t.add(at(2, 22), "issued", 100)
    points_spend(member_id=c.pk, points=80, now=at(2, 23))
    t.add(at(2, 23), "redeemed", 80)
    record_return(ret=return_input(store, at(2, 24), "R-C", "S-C"), now=at(2, 24))
    t.add(at(2, 24), "reversed", 100)
    t.debt = 80
    t.held = {"a": 950 - 300 - 100, "b": 150 - 70, "c": 0}

    assert_report_matches(t)            # January rolled up, February live
    points_liability_rollup(now=at(2, 25))
    assert_report_matches(t)            # all rolled up
    assert points_liability_rollup(now=at(2, 26)) == 0   # nothing new: a re-run adds nothing
    assert_report_matches(t)
    assert PointsMonthTotal.objects.filter(month="2026-01-01", kind="earn").get().available == 380


def test_rollup_in_small_chunks_equals_one_pass(store, make_member, now):
    operator = User.objects.create(username="ops")
    m = make_member()
    for i in range(7):
        points_adjust(member_id=m.pk, points=10 + i, operator_id=operator.pk, reason="x",
                      now=now + timedelta(days=20 * i))
    live = liability_report()
    assert points_liability_rollup(chunk=2) >= 7
    assert liability_report() == live
    assert PointsRollupCursor.objects.get().last_entry_id > 0
    assert sum(PointsMonthTotal.objects.values_list("entries", flat=True)) == 7


def test_empty_ledger_reports_zero_and_no_breakage(db):
    report = liability_report()
    assert (report.outstanding, report.cash_value, report.breakage_rate, report.months) == (
        0, Decimal("0.00"), None, [])


@pytest.mark.django_db(transaction=True)
def test_rollup_never_skips_an_entry_that_commits_late(make_member, now):
    """Entry N is written but not committed; entry N+1 commits. A rollup must not move its
    cursor past N+1 (N would never be counted): it waits for the open insert, gives up, and
    the next run counts both."""
    import threading

    from django.db import connection, transaction

    operator = User.objects.create(username="ops")
    m = make_member()
    PointsSettings.load()  # created now, not inside the writer's open transaction
    written, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                points_adjust(member_id=m.pk, points=7, operator_id=operator.pk, reason="late",
                              now=now)
                written.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(timeout=30)
    other = make_member()
    points_adjust(member_id=other.pk, points=5, operator_id=operator.pk, reason="early",
                  now=now)

    assert points_liability_rollup(now=now) == 0
    assert not PointsRollupCursor.objects.filter(last_entry_id__gt=0).exists()

    release.set()
    thread.join(timeout=30)
    assert points_liability_rollup(now=now) > 0
    assert sum(PointsMonthTotal.objects.values_list("entries", flat=True)) == 2
    assert (liability_report().outstanding, liability_report().adjusted) == (12, 12)


@pytest.mark.django_db(transaction=True)
def test_two_first_rollups_at_once_both_succeed(make_member):
    points_earn(member_id=make_member().pk, points=10, now=at(1, 10))
    results = run_at_once(lambda i: points_liability_rollup(now=at(1, 11)), 2)
    assert [kind for kind, _ in results] == ["ok", "ok"]
    assert sorted(r for _, r in results)[0] == 0  # the second found nothing left to add
    assert PointsRollupCursor.objects.count() == 1
    assert liability_report().issued == 10
