"""The points ledger's hash chain as the writers keep it: a sale gains no statement, and
entries written by set-based jobs chain after those of the posting path and each other."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.services.intake import record_sale
from points.models import PointsAccount, PointsEntry
from points.services.batch import points_credit_many
from points.services.holds import points_hold, points_holds_expire_due
from points.services.ledger import points_earn, points_expire_due, points_spend
from tests.loyalty.services.test_intake import sale_input
from tests.points.helpers import assert_chained, assert_ledger_consistent, set_points_settings

# A member's second sale was 55 statements when the chain was added and stayed 55 with it;
# features since (tenders, task progress) add statements of their own, so the test checks
# what the chain would add instead: no statement looks up the previous entry (the head is
# read with the account's lock) and the head is written by the balances' own UPDATE.


def test_a_sale_gains_no_statement_from_the_chain(store, member, now):
    record_sale(sale=sale_input(store, member, now, order_no="S-0"), now=now)
    with CaptureQueriesContext(connection) as sale:
        record_sale(sale=sale_input(store, member, now, order_no="S-1"), now=now)
    # no statement looks up the member's previous entry: the head comes with the account
    assert not [q["sql"] for q in sale.captured_queries
                if 'FROM "points_pointsentry"' in q["sql"] and "DESC" in q["sql"]
                and "LIMIT 1" in q["sql"]]
    entry = PointsEntry.objects.filter(member=member).latest("id")
    assert entry.hash is not None
    assert bytes(PointsAccount.objects.get(pk=member.pk).chain_head) == bytes(entry.hash)
    # the head is written by the balances' own UPDATE
    [update] = [q["sql"] for q in sale.captured_queries
                if q["sql"].startswith('UPDATE "points_pointsaccount"')]
    assert '"chain_head"' in update
    assert_chained(member.pk)


def test_set_based_jobs_chain_many_entries_of_one_member_in_one_statement(make_member, now):
    set_points_settings(pending_days=0, expiry_months=1, points_per_yuan=1)
    members = [make_member() for _ in range(3)]
    for member in members:
        for day in range(4):  # four lots, all expiring at once later
            points_earn(member_id=member.pk, points=10 + day, now=now + timedelta(hours=day))
    points_spend(member_id=members[0].pk, points=5, now=now + timedelta(days=1))
    for points in (25, 9):  # two holds of one member released in one statement
        points_hold(member_id=members[1].pk, points=points, now=now + timedelta(days=1))
    assert points_holds_expire_due(now=now + timedelta(days=1, hours=2)) == 2
    credited = points_credit_many(credits=[(m.pk, 7, f"campaign:1:once:{m.pk}") for m in members],
                                  reason="campaign", now=now + timedelta(days=2))
    assert sorted(credited) == sorted(m.pk for m in members)
    points_expire_due(now=now + timedelta(days=40))  # several lots per member, one statement
    for member in members:
        assert PointsEntry.objects.filter(member=member, kind="expire").count() >= 4
        assert_ledger_consistent(member.pk)  # includes the chain
    points_earn(member_id=members[0].pk, points=3, now=now + timedelta(days=41))
    assert_chained(members[0].pk)
