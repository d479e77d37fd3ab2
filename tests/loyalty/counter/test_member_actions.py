"""The member view's actions at the counter, against PostgreSQL: redeeming a reward (stock
checked, once per tap), claiming a benefit grant (once), and handing over a campaign gift
(once, on or before its date, at its store; recorded with the clerk and the store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CampaignGift
from core.clock import local_date
from core.errors import LoyaltyError
from loyalty.errors import CounterErrorCode
from loyalty.services.counter import campaign_gift_hand_over
from points.models import PointsEntry
from points.models.rewards import RewardRedemption
from points.selectors.ledger import account_for
from tests.campaigns.helpers import campaign
from tests.points.catalog_helpers import make_reward
from tests.tiers.helpers import benefit
from tiers.models import BenefitGrant
from tiers.models.benefits import GrantStatus

from .world import build_counter_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_counter_world()


def _errors(page) -> list[str]:
    return [m.message for m in page.context["messages"] if m.level_tag == "error"]


def test_a_reward_is_redeemed_once_per_tap_and_stock_is_checked(client, world):
    now = timezone.now()
    cup = make_reward(now, name="保温杯", points_cost=100, stock=1)
    client.force_login(world.clerk_a)
    url = f"/counter/m/{world.member_a.pk}/reward/"
    page = client.get(f"/counter/m/{world.member_a.pk}/").content.decode()
    assert "保温杯" in page
    first = client.post(url, {"reward": cup.pk, "key": "tap-1"}, follow=True)
    again = client.post(url, {"reward": cup.pk, "key": "tap-1"}, follow=True)  # a double tap
    assert not _errors(first) and not _errors(again)
    redemption = RewardRedemption.objects.get(member=world.member_a)
    assert redemption.store_id == world.store_a.pk and redemption.points == 100
    assert PointsEntry.objects.get(pk=redemption.spend_entry_id).actor_user_id == world.clerk_a.pk
    assert account_for(world.member_a.pk).available == 4900
    cup.refresh_from_db()
    assert cup.stock == 0
    sold_out = client.post(url, {"reward": cup.pk, "key": "tap-2"}, follow=True)
    assert _errors(sold_out) and 'class="error"' in sold_out.content.decode()
    assert RewardRedemption.objects.count() == 1
    assert account_for(world.member_a.pk).available == 4900


def test_a_reward_of_another_stores_member_is_not_served(client, world):
    cup = make_reward(timezone.now(), stock=5)
    client.force_login(world.clerk_a)
    answer = client.post(f"/counter/m/{world.member_b.pk}/reward/",
                         {"reward": cup.pk, "key": "x"})
    assert answer.status_code == 404 and not RewardRedemption.objects.exists()


def _grant(member, now, *, expires_in=timedelta(days=10)):
    item = benefit(f"bday{BenefitGrant.objects.count()}", "birthday_gift")
    return BenefitGrant.objects.create(member=member, benefit=item, period="2026", quantity=1,
                                       granted_at=now, expires_at=now + expires_in)


def test_a_benefit_grant_is_claimed_once(client, world):
    now = timezone.now()
    grant = _grant(world.member_a, now)
    client.force_login(world.clerk_a)
    page = client.get(f"/counter/m/{world.member_a.pk}/").content.decode()
    assert grant.benefit.name in page
    url = f"/counter/m/{world.member_a.pk}/benefit/"
    first = client.post(url, {"grant": grant.pk}, follow=True)
    assert not _errors(first)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.CLAIMED and grant.claimed_at is not None
    again = client.post(url, {"grant": grant.pk}, follow=True)
    assert _errors(again)
    other = _grant(world.member_b, now)  # not this member's grant
    refused = client.post(url, {"grant": other.pk}, follow=True)
    assert _errors(refused)
    other.refresh_from_db()
    assert other.status == GrantStatus.GRANTED


def _gift(world, now, *, store=None, days=3):
    c = campaign(now, code=f"gift{CampaignGift.objects.count()}",
                 actions=(("gift", {"gift_name": "帆布袋", "gift_days": 14}),))
    action = c.variants.get().actions.get()
    return CampaignGift.objects.create(
        campaign=c, occasion="once", member=world.member_a, action=action, name="帆布袋",
        store=store, collect_by=local_date(now + timedelta(days=days)), created_at=now)


def test_a_gift_is_handed_over_once_with_the_clerk_and_the_store(client, world):
    now = timezone.now()
    gift = _gift(world, now, store=world.store_a)
    client.force_login(world.clerk_a)
    url = f"/counter/m/{world.member_a.pk}/gift/"
    assert "帆布袋" in client.get(f"/counter/m/{world.member_a.pk}/").content.decode()
    first = client.post(url, {"gift": gift.pk}, follow=True)
    assert not _errors(first)
    gift.refresh_from_db()
    assert gift.handed_over_by_id == world.clerk_a.pk
    assert gift.handed_over_store_id == world.store_a.pk
    assert gift.handed_over_at is not None and gift.collected_at == gift.handed_over_at
    handed = gift.handed_over_at
    assert not client.get(f"/counter/m/{world.member_a.pk}/").context["card"].gifts
    again = client.post(url, {"gift": gift.pk}, follow=True)
    assert _errors(again)
    gift.refresh_from_db()
    assert gift.handed_over_at == handed


def test_a_gift_of_another_store_is_refused(client, world):
    gift = _gift(world, timezone.now(), store=world.store_b)
    client.force_login(world.clerk_a)
    answer = client.post(f"/counter/m/{world.member_a.pk}/gift/", {"gift": gift.pk},
                         follow=True)
    assert _errors(answer)
    gift.refresh_from_db()
    assert gift.collected_at is None and gift.handed_over_by_id is None


def test_a_gift_is_refused_after_its_date_on_the_beijing_calendar(world):
    now = timezone.now()
    gift = _gift(world, now, days=2)
    last_day = now + timedelta(days=2)
    with pytest.raises(LoyaltyError) as refused:
        campaign_gift_hand_over(gift_id=gift.pk, member_id=world.member_a.pk,
                                store_id=world.store_a.pk, clerk_id=world.clerk_a.pk,
                                now=last_day + timedelta(days=1))
    assert refused.value.code == CounterErrorCode.GIFT_NOT_AVAILABLE
    gift.refresh_from_db()
    assert gift.collected_at is None
    done = campaign_gift_hand_over(gift_id=gift.pk, member_id=world.member_a.pk,
                                   store_id=world.store_b.pk, clerk_id=world.clerk_b.pk,
                                   now=last_day)  # names no store: any store, by its date
    assert (done.handed_over_store_id, done.handed_over_by_id) == (world.store_b.pk,
                                                                   world.clerk_b.pk)


def test_the_clerk_changes_consent_per_channel(client, world):
    from members.models import ConsentChange
    from members.selectors.consent import member_consents

    client.force_login(world.clerk_a)
    page = client.get(f"/counter/m/{world.member_a.pk}/").content.decode()
    assert 'name="channel" value="sms"' in page
    client.post(f"/counter/m/{world.member_a.pk}/consent/", {"channel": ["sms", "wecom"]})
    assert [c for c, granted in member_consents(world.member_a.pk).items() if granted] == [
        "sms", "wecom"]
    assert set(ConsentChange.objects.filter(member=world.member_a)
               .values_list("source", flat=True)) == {"counter"}
    # a member of another store is not the clerk's to change
    answer = client.post(f"/counter/m/{world.member_b.pk}/consent/", {"channel": ["sms"]})
    assert answer.status_code in (403, 404)
    assert not any(member_consents(world.member_b.pk).values())
