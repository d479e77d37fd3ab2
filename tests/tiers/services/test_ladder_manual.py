"""Manual tiers (a floor until their end) and the opt-in immediate downgrade on a return."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from loyalty.services.intake import record_return
from members.services.members import member_set_status
from members.services.orders import ReturnInput, ReturnLineInput
from tests.tiers.services.test_ladder import assert_tier, changes, register, sell
from tiers.errors import TierError
from tiers.models import GrowthAccount, ManualTier, Tier, TierSettings
from tiers.services.ladder import tier_recalculate, tier_reevaluate_due, tier_set_manual


@pytest.fixture
def operator(db):
    return User.objects.create(username="ops")


def gold() -> Tier:
    return Tier.objects.get(code="gold")


def give_back(store, member, now, order_no, sale_order_no, quantity=1):
    return record_return(ret=ReturnInput(
        store_code=store.code, order_no=order_no, sale_order_no=sale_order_no, ordered_at=now,
        lines=(ReturnLineInput(1, quantity),)), now=now)


def test_a_manual_tier_is_a_floor_until_it_ends(store, operator, now):
    member = register(now)
    sell(store, member, now, "S-1", "2200.00")  # Silver
    ends = now + relativedelta(months=18)
    manual = tier_set_manual(member_id=member.pk, tier_id=gold().pk, reason="vip",
                             note="董事长的朋友", ends_at=ends, operator_id=operator.pk, now=now)

    assert (manual.reason, manual.note.text, manual.operator_id) == ("vip", "董事长的朋友",
                                                                      operator.pk)
    assert_tier(member, 2_200, "gold")
    assert changes(member)[-1] == ("silver", "gold", "manual")
    account = GrowthAccount.objects.get(member=member)
    assert (account.floor_tier_id, account.floor_until, account.tier_valid_until) == (
        gold().pk, ends, ends)

    # the periodic recalculation does not go below it
    TierSettings.objects.update(recalculation="monthly")
    assert tier_recalculate(now=now + relativedelta(months=1)) == 0
    assert_tier(member, 2_200, "gold")

    # when it ends: where the growth reaches, without Gold's end policy (keep 50%)
    tier_reevaluate_due(now=ends + timedelta(seconds=1))
    assert_tier(member, 2_200, "silver")
    assert changes(member)[-1] == ("gold", "silver", "downgrade")
    account.refresh_from_db()
    assert (account.floor_tier_id, account.floor_until) == (None, None)


def test_a_manual_tier_below_the_earned_one_is_set_too(store, operator, now):
    member = register(now)
    sell(store, member, now, "S-1", "12000.00")  # Gold
    silver = Tier.objects.get(code="silver")
    ends = now + relativedelta(months=20)
    tier_set_manual(member_id=member.pk, tier_id=silver.pk, reason="staff", ends_at=ends,
                    operator_id=operator.pk, now=now)
    assert_tier(member, 12_000, "silver")
    assert changes(member)[-1] == ("gold", "silver", "manual")
    assert GrowthAccount.objects.get(member=member).tier_valid_until == ends


def test_a_floor_below_the_earned_tier_lets_the_policy_run_but_holds(store, operator, now):
    member = register(now)
    sell(store, member, now, "S-1", "2200.00")  # Silver: reset at 12 months
    silver = Tier.objects.get(code="silver")
    ends = now + relativedelta(months=18)
    tier_set_manual(member_id=member.pk, tier_id=silver.pk, reason="compensation",
                    ends_at=ends, operator_id=operator.pk, now=now)
    assert [c[2] for c in changes(member)] == ["initial", "upgrade"]  # already Silver

    tier_reevaluate_due(now=now + relativedelta(months=12))
    assert_tier(member, 0, "silver")  # growth reset, tier held by the floor
    assert GrowthAccount.objects.get(member=member).tier_valid_until == ends
    tier_reevaluate_due(now=ends)
    assert_tier(member, 0, "bronze")


def test_refusals(store, member, operator, now):
    cases = [
        (dict(reason="nope"), "manual_tier_reason_required"),
        (dict(operator_id=None), "manual_tier_reason_required"),
        (dict(ends_at=now), "manual_tier_end_invalid"),
        (dict(tier_id=999_999), "tier_not_found"),
    ]
    for change, code in cases:
        kwargs = dict(member_id=member.pk, tier_id=gold().pk, reason="vip",
                      ends_at=now + timedelta(days=30), operator_id=operator.pk, now=now)
        kwargs.update(change)
        with pytest.raises(TierError) as caught:
            tier_set_manual(**kwargs)
        assert caught.value.code.value == code
    member_set_status(member_id=member.pk, status="closed", now=now)
    with pytest.raises(TierError) as caught:
        tier_set_manual(member_id=member.pk, tier_id=gold().pk, reason="vip",
                        ends_at=now + timedelta(days=30), operator_id=operator.pk, now=now)
    assert caught.value.code.value == "manual_tier_member_closed"
    assert not ManualTier.objects.exists()


# --- the immediate downgrade -----------------------------------------------------------------

def test_a_return_downgrades_at_once_only_when_the_ladder_says_so(store, now):
    assert TierSettings.current().immediate_downgrade is False  # the default
    settings = TierSettings.load()
    settings.immediate_downgrade = True
    settings.save()
    member = register(now)
    sell(store, member, now, "S-1", "2200.00", quantity=2)
    assert_tier(member, 2_200, "silver")

    give_back(store, member, now + timedelta(hours=1), "R-1", "S-1")

    assert_tier(member, 1_100, "bronze")  # below 2,000: down at once
    assert changes(member)[-1] == ("silver", "bronze", "downgrade")


def test_the_immediate_downgrade_stops_at_a_manual_tier(store, operator, now):
    settings = TierSettings.load()
    settings.immediate_downgrade = True
    settings.save()
    member = register(now)
    sell(store, member, now, "S-1", "12000.00", quantity=2)  # Gold
    tier_set_manual(member_id=member.pk, tier_id=Tier.objects.get(code="silver").pk,
                    reason="vip", ends_at=now + relativedelta(months=6),
                    operator_id=operator.pk, now=now)
    assert_tier(member, 12_000, "silver")
    sell(store, member, now, "S-2", "20000.00")  # back up to Gold by growth
    assert_tier(member, 32_000, "diamond")

    give_back(store, member, now + timedelta(hours=1), "R-2", "S-2")  # 12,000 left: Gold
    assert_tier(member, 12_000, "gold")
    give_back(store, member, now + timedelta(hours=2), "R-1", "S-1", quantity=2)  # 0 left
    assert_tier(member, 0, "silver")  # held by the manual tier
