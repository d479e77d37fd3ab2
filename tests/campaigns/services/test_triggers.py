"""Event triggers on the commit-ordered feed (campaigns.selectors.triggers,
campaigns.services.triggers.campaign_triggers_poll): each trigger kind finds exactly its
members and occasions in what committed, a campaign reacts only to what happens after it
starts, and polling again acts on nothing twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone, translation

from campaigns.errors import TriggerError
from campaigns.selectors.triggers import TriggerKind, trigger_spec
from campaigns.services.triggers import campaign_triggers_poll
from loyalty.services.intake import record_sale, register_member
from members.models import Member, Store, Tag
from members.services.members import MemberInput, member_set_status
from members.services.orders import LineInput, SaleInput
from members.services.tags import member_tags_add, member_tags_remove
from tests.campaigns.fakes import FakeCampaign, RecordingAct
from tests.campaigns.helpers import feed_settle
from tiers.models import TierChange

D = Decimal


def _register(n: int, channel: str = "store") -> Member:
    return register_member(data=MemberInput(mobile=f"1370000{n:04d}", name=f"会员{n}",
                                            source_channel=channel),
                           now=timezone.now()).member


def _sale(member: Member, order_no: str, amount: str = "100.00", store: str = "SH001",
          category: str = "tea"):
    now = timezone.now()
    return record_sale(sale=SaleInput(
        store_code=store, order_no=order_no, member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-1", category=category, quantity=1,
                         gross_amount=D(amount)),)), now=now).order


def _poll(campaigns, act):
    feed_settle()
    return campaign_triggers_poll(campaigns=campaigns, act=act, now=timezone.now())


@pytest.fixture
def stores(db):
    return (Store.objects.create(code="SH001", name="上海店", region="上海"),
            Store.objects.create(code="BJ001", name="北京店", region="北京"))


@pytest.mark.django_db(transaction=True)
def test_registration_once_from_the_campaign_start_without_bulk_imports():
    before = _register(1)
    welcome = FakeCampaign(1, TriggerKind.REGISTRATION)
    act = RecordingAct()
    _poll([welcome], act)                     # the campaign starts: its cursor at the horizon
    assert act.calls == []
    new = _register(2, "mini_program")
    imported = _register(3, "import")
    runs = _poll([welcome], act)
    assert act.calls == [(1, "once", [new.pk])]
    assert runs[1].rows >= 2 and runs[1].events == 1
    assert before.pk not in act.calls[0][2] and imported.pk not in act.calls[0][2]
    _poll([welcome], act)                     # nothing new: nothing again
    assert len(act.calls) == 1
    # a campaign asking for imports gets them (and only them)
    imports = FakeCampaign(2, TriggerKind.REGISTRATION, {"channels": ["import"]})
    _poll([imports], act)
    _register(4, "import")
    other = _register(5, "web")
    _poll([imports, welcome], act)
    assert act.occasions(2) == [("once", Member.objects.get(mobile="+8613700000004").pk)]
    assert ("once", other.pk) in act.occasions(1)


@pytest.mark.django_db(transaction=True)
def test_first_purchase_once_and_only_for_the_first_sale(stores):
    old = _register(1)
    _sale(old, "S-0")                         # bought before the campaign
    campaign = FakeCampaign(7, TriggerKind.FIRST_PURCHASE)
    act = RecordingAct()
    _poll([campaign], act)
    new = _register(2)
    first = _sale(new, "S-1")
    _sale(new, "S-2")
    _sale(old, "S-3")                         # old's second purchase: not a first
    runs = _poll([campaign], act)
    assert act.calls == [(7, "once", [new.pk])]
    assert runs[7].events == 1
    assert first.pk < Member.objects.get(pk=new.pk).orders.order_by("-id")[0].pk


@pytest.mark.django_db(transaction=True)
def test_purchase_conditions_store_amount_and_category(stores):
    member = _register(1)
    campaign = FakeCampaign(3, TriggerKind.PURCHASE,
                            {"stores": ["SH001"], "min_amount": "200", "categories": ["tea"]})
    act = RecordingAct()
    _poll([campaign], act)
    small = _sale(member, "P-1", amount="199.99")
    other_store = _sale(member, "P-2", amount="300.00", store="BJ001")
    other_category = _sale(member, "P-3", amount="300.00", category="cups")
    match = _sale(member, "P-4", amount="200.00")
    _poll([campaign], act)
    assert act.calls == [(3, f"order:{match.pk}", [member.pk])]
    assert {small.pk, other_store.pk, other_category.pk}.isdisjoint(
        {int(o.split(":")[1]) for _, o, _ in act.calls})


@pytest.mark.django_db(transaction=True)
def test_tier_change_up_to_a_named_tier_and_down(stores):
    member = _register(1)
    up_to_bronze = FakeCampaign(4, TriggerKind.TIER_CHANGE,
                                {"direction": "up", "to_tiers": ["bronze"]})
    any_down = FakeCampaign(5, TriggerKind.TIER_CHANGE, {"direction": "down"})
    act = RecordingAct()
    _poll([up_to_bronze, any_down], act)
    _sale(member, "T-1")                      # first purchase: Registered → Bronze
    change = TierChange.objects.filter(member=member).latest("id")
    assert change.to_tier.code == "bronze"
    _poll([up_to_bronze, any_down], act)
    assert act.calls == [(4, f"tier:{change.pk}", [member.pk])]
    # a downgrade (an operator's manual tier, written as the services write it)
    registered = change.from_tier
    down = TierChange.objects.create(member=member, from_tier=change.to_tier,
                                     to_tier=registered, reason="manual",
                                     created_at=timezone.now())
    _poll([up_to_bronze, any_down], act)
    assert act.calls[1:] == [(5, f"tier:{down.pk}", [member.pk])]


@pytest.mark.django_db(transaction=True)
def test_tag_added_and_removed_and_closed_members_are_left_out():
    member, closed = _register(1), _register(2)
    tag = Tag.objects.create(code="coffee-lover", name="咖啡爱好者")
    added = FakeCampaign(8, TriggerKind.TAG_CHANGE, {"tag": "coffee-lover"})
    removed = FakeCampaign(9, TriggerKind.TAG_CHANGE, {"tag": "coffee-lover",
                                                       "action": "removed"})
    act = RecordingAct()
    _poll([added, removed], act)
    member_set_status(member_id=closed.pk, status="closed", now=timezone.now())
    member_tags_add(tag_id=tag.pk, member_ids=[member.pk, closed.pk], cause="manual")
    member_tags_remove(tag_id=tag.pk, member_ids=[member.pk], cause="manual")
    _poll([added, removed], act)
    assert [(c, o.split(":")[0], m) for c, o, m in act.calls] == [
        (8, "tag", [member.pk]), (9, "tag", [member.pk])]
    assert act.calls[0][1] != act.calls[1][1]  # each change its own occasion


@pytest.mark.django_db(transaction=True)
def test_time_based_campaigns_are_left_to_the_daily_scan():
    act = RecordingAct()
    runs = _poll([FakeCampaign(10, TriggerKind.LAPSE, {"days": 30})], act)
    assert runs == {} and act.calls == []


@pytest.mark.parametrize(("kind", "params"), [
    ("birthday", {}),
    (TriggerKind.PURCHASE, {"store": ["SH001"]}),             # a typo must not widen it
    (TriggerKind.PURCHASE, {"min_amount": "-1"}),
    (TriggerKind.PURCHASE, {"min_amount": "abc"}),
    (TriggerKind.PURCHASE, {"stores": "SH001"}),
    (TriggerKind.TIER_CHANGE, {"direction": "sideways"}),
    (TriggerKind.TAG_CHANGE, {}),
    (TriggerKind.LAPSE, {}),
    (TriggerKind.LAPSE, {"days": 30, "cycle": "member"}),
    (TriggerKind.LAPSE, {"days": 0}),
    (TriggerKind.LAPSE, {"cycle": "member", "factor": "100"}),
    (TriggerKind.PAID_END, {}),
    (TriggerKind.POINTS_EXPIRING, {"days": True}),
])
def test_a_bad_trigger_is_refused_with_a_code(kind, params):
    with pytest.raises(TriggerError) as error:
        trigger_spec(kind, params)
    assert error.value.code.value in {"unknown_trigger", "invalid_trigger"}
    with translation.override("zh-hans"):
        with pytest.raises(TriggerError) as zh:
            trigger_spec(kind, params)
        assert "触发条件" in zh.value.as_dict()["error"]["message"]


def test_a_good_trigger_is_read_into_a_spec():
    spec = trigger_spec(TriggerKind.PURCHASE, {"stores": ["SH001"], "min_amount": 99.5})
    assert (spec.source, spec.stores, spec.min_amount) == ("orders", ("SH001",), D("99.50"))
    lapse = trigger_spec(TriggerKind.LAPSE, {"cycle": "programme"})
    assert (lapse.source, lapse.days, lapse.factor, lapse.grace_days) == (None, None, 1, 7)
