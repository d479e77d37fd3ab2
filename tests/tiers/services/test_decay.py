"""Growth decay after a paid membership lapses (QQ's rule) on the reference ladder, walked
day by day on a controlled clock: nothing for 7 days, −5 a day after, at 0 the member is
re-evaluated and drops to Bronze; buying again stops the decay; a re-run on the same day
(or two at once) decays once."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyalty.services.intake import record_return
from members.services.orders import ReturnInput, ReturnLineInput
from tests.races import run_at_once
from tiers.models import GrowthEntry, TierSettings
from tiers.services.decay import growth_decay_due
from tiers.services.paid import paid_purchase

from ..helpers import plan
from .test_ladder import account, assert_tier, changes, register, sell

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 10, 10, 0, tzinfo=SHANGHAI)


def silver_with_22_growth(store, now):
    """Silver on 2,200 growth; a return takes 2,178 back without a downgrade: 22 left."""
    member = register(now)
    sell(store, member, now, f"S-{member.pk}", "2200.00", quantity=100)
    record_return(ret=ReturnInput(store_code=store.code, order_no=f"R-{member.pk}",
                                  sale_order_no=f"S-{member.pk}", ordered_at=now,
                                  lines=(ReturnLineInput(1, 99),)), now=now)
    assert_tier(member, 22, "silver")
    return member


def buy(member, purchase_id, now, code="half-year"):
    return paid_purchase(member_id=member.pk, plan_code=code, purchase_id=purchase_id,
                         amount=Decimal("99.00"), channel="api", now=now)


def daily_job(day: int) -> datetime:
    """00:15 Beijing time on the given day of February 2026 (the job's hour)."""
    return datetime(2026, 2, day, 0, 15, tzinfo=SHANGHAI)


def test_decay_walked_day_by_day_on_the_reference_ladder(store):
    plan("half-year", months=1, price="99.00")  # paid until 10 February 10:00
    member = silver_with_22_growth(store, START)
    buy(member, "P-1", START)

    growth = []
    for day in range(10, 24):  # 10 … 23 February
        growth_decay_due(now=daily_job(day))
        growth_decay_due(now=daily_job(day) + timedelta(hours=5))  # a re-run that day
        growth.append(account(member).growth)
    # 10 Feb: still paid at 00:15; 11–17 Feb: lapsed 1–7 days, nothing; 18 Feb: day 8, −5
    assert growth == [22] * 8 + [17, 12, 7, 2, 0, 0]
    assert_tier(member, 0, "bronze")  # a member who bought: Bronze, not Registered
    assert changes(member)[-1] == ("silver", "bronze", "downgrade")
    decays = list(GrowthEntry.objects.filter(member=member, kind="decay").order_by("id")
                  .values_list("delta", "source_key"))
    assert decays == [(-5, f"decay:{member.pk}:2026-02-{d}") for d in (18, 19, 20, 21)] + [
        (-2, f"decay:{member.pk}:2026-02-22")]


def test_buying_again_stops_the_decay_and_keeps_what_is_left(store):
    plan("half-year", months=1, price="99.00")
    member = silver_with_22_growth(store, START)
    buy(member, "P-1", START)
    for day in range(18, 20):
        growth_decay_due(now=daily_job(day))
    assert_tier(member, 12, "silver")

    buy(member, "P-2", daily_job(20) - timedelta(hours=1))  # bought again: no more decay
    for day in range(20, 28):
        growth_decay_due(now=daily_job(day))
    assert_tier(member, 12, "silver")
    # it resumes only when the new period (paid until 19 March 23:15) has lapsed 8 days
    growth_decay_due(now=datetime(2026, 3, 26, 0, 15, tzinfo=SHANGHAI))
    assert_tier(member, 12, "silver")
    growth_decay_due(now=datetime(2026, 3, 27, 0, 15, tzinfo=SHANGHAI))
    assert_tier(member, 7, "silver")


def test_members_who_never_paid_do_not_decay_and_the_numbers_are_settings(store):
    plan("half-year", months=1, price="99.00")
    never = silver_with_22_growth(store, START)
    member = silver_with_22_growth(store, START)
    buy(member, "P-1", START)
    settings = TierSettings.load()
    settings.decay_grace_days, settings.decay_per_day = 2, 10
    settings.save()
    growth_decay_due(now=daily_job(12))  # paid until 10 February: lapsed 2 days
    assert_tier(member, 22, "silver")
    growth_decay_due(now=daily_job(13))  # day 3 > 2 days: −10
    assert_tier(member, 12, "silver")
    assert_tier(never, 22, "silver")
    settings.decay_per_day = 0  # off
    settings.save()
    assert growth_decay_due(now=daily_job(14)) == 0
    assert_tier(member, 12, "silver")


@pytest.mark.django_db(transaction=True)
def test_two_decay_runs_at_the_same_time_decay_once():
    from members.models import Store

    store = Store.objects.create(code="SH001", name="上海店")
    plan("half-year", months=1, price="99.00")
    members = [silver_with_22_growth(store, START) for _ in range(3)]
    for i, member in enumerate(members):
        buy(member, f"P-{i}", START)
    results = run_at_once(lambda i: growth_decay_due(now=daily_job(18)), n=3)
    assert all(kind == "ok" for kind, _r in results), results
    assert sum(r for _k, r in results) == 3
    for member in members:
        assert_tier(member, 17, "silver")


def test_a_lapsed_member_already_at_zero_is_re_evaluated_without_decay(store):
    plan("half-year", months=1, price="99.00")
    member = register(START)
    sell(store, member, START, "S-0", "2200.00")
    record_return(ret=ReturnInput(store_code=store.code, order_no="R-0", sale_order_no="S-0",
                                  ordered_at=START, lines=(ReturnLineInput(1, 1),)), now=START)
    assert_tier(member, 0, "silver")  # returns never downgrade at once
    buy(member, "P-1", START)
    growth_decay_due(now=daily_job(17))
    assert_tier(member, 0, "silver")  # lapsed 7 days: not yet
    growth_decay_due(now=daily_job(18))
    assert_tier(member, 0, "bronze")
    assert not GrowthEntry.objects.filter(member=member, kind="decay").exists()
