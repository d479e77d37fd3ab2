"""Partner exchange: rates, idempotency by the partner's transaction id, daily limits on the
Beijing calendar — also under concurrency."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from points.errors import PointsError
from points.models import (
    EntryKind,
    PartnerDailyTotal,
    PartnerExchange,
    PartnerProgramme,
    PointsEntry,
)
from points.services.ledger import points_adjust
from points.services.partners import partner_exchange_in, partner_exchange_out
from tests.conftest import SHANGHAI
from tests.points.helpers import assert_ledger_consistent, balances
from tests.points.services.test_ledger_concurrency import code_of
from tests.races import run_at_once


def airline(**fields) -> PartnerProgramme:
    defaults = {"code": "air", "name": "航空里程", "rate_in": Decimal("0.5"),
                "rate_out": Decimal("2")}
    return PartnerProgramme.objects.create(**{**defaults, **fields})


def code(excinfo) -> str:
    return excinfo.value.code.value


def test_exchange_in_is_an_earning_at_the_rate_rounded_down(member, now):
    airline()
    outcome = partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=1001,
                                  external_id="T-1", now=now)
    assert (outcome.created, outcome.exchange.points, outcome.exchange.partner_points) == (
        True, 500, 1001)
    entry = outcome.exchange.entry
    assert (entry.kind, entry.available_delta, entry.source_key) == (
        EntryKind.EARN, 500, "partner:air:in:T-1")
    assert balances(member.pk)["available"] == 500
    assert_ledger_consistent(member.pk)


def test_exchange_out_is_a_spend(member, now):
    airline()
    operator = User.objects.create(username="o")
    points_adjust(member_id=member.pk, points=400, operator_id=operator.pk, reason="x", now=now)
    outcome = partner_exchange_out(partner_code="air", member_id=member.pk, points=300,
                                   external_id="T-2", now=now)
    assert (outcome.exchange.points, outcome.exchange.partner_points) == (300, 600)
    assert (outcome.exchange.entry.kind, outcome.exchange.entry.available_delta) == (
        EntryKind.SPEND, -300)
    assert balances(member.pk)["available"] == 100
    with pytest.raises(PointsError) as excinfo:
        partner_exchange_out(partner_code="air", member_id=member.pk, points=101,
                             external_id="T-3", now=now)
    assert code(excinfo) == "insufficient_points"
    assert not PartnerExchange.objects.filter(external_id="T-3").exists()


def test_the_same_partner_transaction_answers_the_first_exchange(member, make_member, now):
    airline()
    first = partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=100,
                                external_id="T-1", now=now)
    again = partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=100,
                                external_id="T-1", now=now + timedelta(minutes=1))
    assert (again.created, again.exchange.pk) == (False, first.exchange.pk)
    assert balances(member.pk)["available"] == 50
    for other in ({"partner_points": 101, "member_id": member.pk},
                  {"partner_points": 100, "member_id": make_member().pk}):
        with pytest.raises(PointsError) as excinfo:
            partner_exchange_in(partner_code="air", external_id="T-1", now=now, **other)
        assert code(excinfo) == "exchange_conflict"
    assert PointsEntry.objects.filter(kind=EntryKind.EARN).count() == 1


def test_refusals(member, now):
    airline(code="closed", is_active=False)
    airline(rate_in=Decimal("0.01"))
    cases = [
        ({"partner_code": "nope", "partner_points": 100}, "partner_not_found"),
        ({"partner_code": "closed", "partner_points": 100}, "partner_inactive"),
        ({"partner_code": "air", "partner_points": 99}, "exchange_too_small"),
        ({"partner_code": "air", "partner_points": 0}, "non_positive_amount"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(PointsError) as excinfo:
            partner_exchange_in(member_id=member.pk, external_id="T", now=now, **kwargs)
        assert code(excinfo) == expected
    assert not PointsEntry.objects.exists()
    assert not PartnerExchange.objects.exists()


def test_member_daily_limit_counts_beijing_days(member, now):
    airline(member_daily_limit_in=100)
    # 23:50 on 14 March in Beijing, then 00:10 on 15 March (both 14 March in UTC)
    late = datetime(2026, 3, 14, 15, 50, tzinfo=timezone.utc)
    partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=160,
                        external_id="T-1", now=late)
    with pytest.raises(PointsError) as excinfo:
        partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=60,
                            external_id="T-2", now=late + timedelta(minutes=5))
    assert code(excinfo) == "member_daily_limit"
    assert excinfo.value.params == {"remaining": 20}
    next_day = partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=200,
                                   external_id="T-3", now=late + timedelta(minutes=20))
    assert next_day.exchange.local_date == datetime(2026, 3, 15, tzinfo=SHANGHAI).date()
    assert balances(member.pk)["available"] == 180


def test_partner_daily_limit_counts_all_members(member, make_member, now):
    airline(daily_limit_in=150)
    partner_exchange_in(partner_code="air", member_id=member.pk, partner_points=200,
                        external_id="T-1", now=now)
    with pytest.raises(PointsError) as excinfo:
        partner_exchange_in(partner_code="air", member_id=make_member().pk, partner_points=102,
                            external_id="T-2", now=now)
    assert code(excinfo) == "partner_daily_limit"
    assert excinfo.value.params == {"remaining": 50}
    assert PartnerDailyTotal.objects.get().points == 100


# --- under concurrency -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_partner_daily_limit_holds_under_concurrency(make_member, now):
    airline(daily_limit_in=100, member_daily_limit_in=30)
    members = [make_member() for _ in range(6)]

    # 6 members × 4 threads, each asking 10 points: the member limit allows 3 each (18 in
    # all), the partner's 100 allows 10 of those
    def work(i):
        return partner_exchange_in(partner_code="air", member_id=members[i % 6].pk,
                                   partner_points=20, external_id=f"T-{i}", now=now)

    results = run_at_once(work, n=24)

    ok = [r for kind, r in results if kind == "ok"]
    errors = Counter(code_of(r) for kind, r in results if kind == "error")
    assert len(ok) == 10
    assert set(errors) <= {"partner_daily_limit", "member_daily_limit"}
    assert sum(errors.values()) == 14
    assert PartnerDailyTotal.objects.get().points == 100
    credited = Counter()
    for m in members:
        credited[m.pk] = balances(m.pk)["available"]
        assert credited[m.pk] <= 30
        assert_ledger_consistent(m.pk)
    assert sum(credited.values()) == 100


@pytest.mark.django_db(transaction=True)
def test_member_daily_limit_holds_under_concurrency(member, now):
    airline(member_daily_limit_out=50)
    operator = User.objects.create(username="o")
    points_adjust(member_id=member.pk, points=1000, operator_id=operator.pk, reason="x", now=now)

    results = run_at_once(
        lambda i: partner_exchange_out(partner_code="air", member_id=member.pk, points=10,
                                       external_id=f"T-{i}", now=now), n=20)

    assert Counter(kind for kind, _r in results) == {"ok": 5, "error": 15}
    assert {code_of(r) for kind, r in results if kind == "error"} == {"member_daily_limit"}
    assert balances(member.pk)["available"] == 950
    assert_ledger_consistent(member.pk)
