"""The monthly / yearly recalculation an operator may turn on: members whose growth no
longer reaches their tier drop at once to the tier it does reach; nobody moves up; the
job acts only on the 1st (Beijing time) and a re-run changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty.services.intake import record_return
from members.services.orders import ReturnInput, ReturnLineInput
from tiers.models import TierSettings
from tiers.services.ladder import tier_recalculate, tier_recalculate_if_due

from .test_ladder import assert_tier, changes, register, sell

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _silver_then_returned(store, now):
    member = register(now)
    sell(store, member, now, "S-1", "2200.00", quantity=2)  # growth 2,200 → Silver
    record_return(ret=ReturnInput(store_code=store.code, order_no="R-1", sale_order_no="S-1",
                                  ordered_at=now, lines=(ReturnLineInput(1, 1),)), now=now)
    assert_tier(member, 1_100, "silver")  # a return never downgrades at once
    return member


def test_recalculation_drops_members_below_their_tier_once(store, now):
    member = _silver_then_returned(store, now)
    stays = register(now)
    sell(store, stays, now, "S-2", "2500.00")
    assert_tier(stays, 2_500, "silver")

    later = now + timedelta(days=3)
    assert tier_recalculate(now=later, chunk=1) == 1
    assert_tier(member, 1_100, "bronze")
    assert changes(member)[-1] == ("silver", "bronze", "downgrade")
    assert_tier(stays, 2_500, "silver")  # still qualifies: untouched

    assert tier_recalculate(now=later + timedelta(hours=1)) == 0  # a re-run finds nothing
    assert [c[2] for c in changes(member)].count("downgrade") == 1


def test_the_job_acts_only_on_the_first_in_beijing_time(store, now):
    member = _silver_then_returned(store, now)
    settings = TierSettings.load()
    settings.recalculation = "monthly"
    settings.save()

    # 15:30 UTC on 31 March is 23:30 in Beijing, still March; 16:30 UTC, still the 31st in
    # UTC, is already 00:30 on 1 April in Beijing.
    assert tier_recalculate_if_due(now=datetime(2026, 3, 31, 15, 30, tzinfo=ZoneInfo("UTC"))) is None
    assert_tier(member, 1_100, "silver")
    assert tier_recalculate_if_due(now=datetime(2026, 3, 31, 16, 30, tzinfo=ZoneInfo("UTC"))) == 1
    assert_tier(member, 1_100, "bronze")


def test_recalculation_off_or_yearly_waits(store, now):
    member = _silver_then_returned(store, now)
    first_of_month = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)
    assert tier_recalculate_if_due(now=first_of_month) is None  # off by default
    settings = TierSettings.load()
    settings.recalculation = "yearly"
    settings.save()
    assert tier_recalculate_if_due(now=first_of_month) is None
    assert_tier(member, 1_100, "silver")
    assert tier_recalculate_if_due(now=datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI)) == 1
    assert_tier(member, 1_100, "bronze")
