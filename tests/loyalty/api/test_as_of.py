"""A member's points, lots and tier on a past day (points.selectors.as_of,
tiers.selectors.ladder.tier_as_of; API `memberAsOf`, the admin's as-of page): a year of
sales, returns, spending, holds, unlocks, expiries and tier changes is walked day by day,
the live answers are recorded at the end of chosen days, and the as-of answers asked
afterwards must equal them."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pgtrigger
import pytest
from django.db import connection

from core.clock import programme_tz
from loyalty.services.intake import record_return, record_sale
from points.errors import PointsError
from points.models import PointsAccount, PointsLot
from points.selectors.as_of import points_as_of
from points.services.holds import points_hold, points_holds_expire_due
from points.services.ledger import points_expire_due, points_spend, points_unlock_due
from tests.points.helpers import return_input, sale_input, set_points_settings
from tiers.models import GrowthAccount
from tiers.selectors.ladder import tier_as_of
from tiers.services.ladder import tier_reevaluate_due

from .conftest import API, client_for

START = date(2025, 3, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=programme_tz())


def live(member_id: int) -> dict:
    account = PointsAccount.objects.filter(member_id=member_id).first()
    lots = sorted((lot.pk, lot.state, lot.remaining) for lot in PointsLot.objects.filter(
        member_id=member_id, remaining__gt=0))
    tier = GrowthAccount.objects.filter(member_id=member_id).values_list("tier__code",
                                                                         flat=True).first()
    balances = ((account.available, account.pending, account.held, account.debt)
                if account else (0, 0, 0, 0))
    return {"balances": balances, "lots": lots, "tier": tier}


def as_of(member_id: int, day: date) -> dict:
    answer = points_as_of(member_id=member_id, day=day)
    tier = tier_as_of(member_id, answer.cutoff)
    return {"balances": (answer.available, answer.pending, answer.held, answer.debt),
            "lots": sorted((lot.lot_id, lot.state, lot.remaining) for lot in answer.lots),
            "tier": tier.code if tier else None}


def walk_a_year(store, members) -> dict[tuple[int, date], dict]:
    """Every day: the nightly jobs just after midnight, then sales, returns, spends and
    holds during the day; the live answers recorded at the end of every fifth day."""
    set_points_settings(pending_days=7, expiry_months=3, points_per_yuan=1)
    rng = random.Random(27)
    recorded: dict[tuple[int, date], dict] = {}
    sales: list[tuple[int, str, date]] = []
    for n in range(365):
        day = START + timedelta(days=n)
        points_unlock_due(now=at(day, 0, 5))
        points_expire_due(now=at(day, 0, 10))
        points_holds_expire_due(now=at(day, 0, 15))
        tier_reevaluate_due(now=at(day, 0, 20))
        for member in members:
            if rng.random() < 0.3:
                order_no = f"S-{member.pk}-{n}"
                amount = f"{rng.randint(50, 900)}.00"
                record_sale(sale=sale_input(store, member.pk, at(day, 11), order_no, amount),
                            now=at(day, 11))
                sales.append((member.pk, order_no, day))
            mine = [s for s in sales if s[0] == member.pk and s[2] < day]
            if mine and rng.random() < 0.05:
                sold = mine[rng.randrange(len(mine))]
                sales.remove(sold)
                record_return(ret=return_input(store, at(day, 13), f"R-{sold[1]}", sold[1]),
                              now=at(day, 13))
            if rng.random() < 0.15:
                try:
                    points_spend(member_id=member.pk, points=rng.randint(10, 300),
                                 now=at(day, 15))
                except PointsError:
                    pass  # not enough: nothing written
            if rng.random() < 0.05:
                try:
                    points_hold(member_id=member.pk, points=rng.randint(5, 50),
                                now=at(day, 23, 50))  # open at the end of the day
                except PointsError:
                    pass
            if n % 5 == 4:
                recorded[(member.pk, day)] = live(member.pk)
    return recorded


@pytest.fixture
def year(store, make_member):
    members = [make_member() for _ in range(2)]
    return members, walk_a_year(store, members)


def test_as_of_answers_equal_the_live_answers_of_a_year(year, make_key, admin_client):
    members, recorded = year
    assert len(recorded) == 2 * 73
    # the walk did reach every kind of state worth checking
    assert any(r["balances"][1] for r in recorded.values())  # pending points
    assert any(r["balances"][2] for r in recorded.values())  # held points
    assert len({r["tier"] for r in recorded.values()}) >= 2  # a tier change
    for (member_id, day), expected in recorded.items():
        assert as_of(member_id, day) == expected, (member_id, day)
        assert not points_as_of(member_id=member_id, day=day).reconstructed
    the_api_and_the_admin_page_answer_the_same(recorded, make_key, admin_client)


def the_api_and_the_admin_page_answer_the_same(recorded, make_key, admin_client):
    (member_id, day), expected = sorted(recorded.items())[40]
    raw = make_key(scopes=["members:read"])[1]
    body = client_for(raw).get(f"{API}/members/{member_id}/as-of",
                               {"date": day.isoformat()}).json()
    assert (body["available"], body["pending"], body["held"], body["debt"]) == \
        expected["balances"]
    assert sorted((lot["id"], lot["state"], lot["remaining"]) for lot in body["lots"]) == \
        expected["lots"]
    assert (body["tier"] or {}).get("code") == expected["tier"]
    assert body["lots_reconstructed"] is False
    page = admin_client.get(f"/admin/members/member/{member_id}/as-of/",
                            {"date": day.isoformat()}).content.decode()
    assert page.count('class="as-of-lot"') == len(expected["lots"])
    # a key without the member scope is refused, a bad date is 400 in the API's shape
    assert client_for(make_key(scopes=["orders:write"])[1]).get(
        f"{API}/members/{member_id}/as-of", {"date": day.isoformat()}).status_code == 403
    bad = client_for(raw).get(f"{API}/members/{member_id}/as-of", {"date": "2025-02-30"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"


def test_days_before_lot_movements_were_kept_are_reconstructed(store, make_member):
    """Lots on a day before the movement table began are replayed by the spending order:
    for a history of earning, unlocking, spending and expiring that replay is exact."""
    member = make_member()
    set_points_settings(pending_days=0, expiry_months=2, points_per_yuan=1)
    recorded = {}
    for n in range(90):
        day = START + timedelta(days=n)
        points_expire_due(now=at(day, 0, 10))
        if n % 4 == 0:
            record_sale(sale=sale_input(store, member.pk, at(day, 11), f"S-{n}",
                                        f"{100 + n}.00"), now=at(day, 11))
        if n % 6 == 5:
            points_spend(member_id=member.pk, points=70 + n, now=at(day, 15))
        recorded[day] = live(member.pk)
    # as if the movement table began on day 60: earlier movements gone, each lot's
    # remaining then carried over by a row without an entry
    began = at(START + timedelta(days=60), 12)
    with pgtrigger.ignore("points.PointsLotMovement:append_only"), \
            connection.cursor() as cursor:
        cursor.execute("""
            WITH gone AS (DELETE FROM points_pointslotmovement
                          WHERE member_id = %s AND created_at < %s
                          RETURNING lot_id, points)
            INSERT INTO points_pointslotmovement (entry_id, lot_id, member_id, points, held,
                                                  created_at)
            SELECT NULL, lot_id, %s, sum(points), 0, %s FROM gone GROUP BY lot_id
            HAVING sum(points) <> 0""", [member.pk, began, member.pk, began])
    for day, expected in recorded.items():
        answer = points_as_of(member_id=member.pk, day=day)
        assert answer.reconstructed == (day < START + timedelta(days=60))
        assert as_of(member.pk, day)["lots"] == expected["lots"], day
        assert as_of(member.pk, day)["balances"] == expected["balances"], day
