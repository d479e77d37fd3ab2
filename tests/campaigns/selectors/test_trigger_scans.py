"""Time-based triggers (campaigns.selectors.trigger_scans, campaign_triggers_scan): the
daily scan on the Beijing calendar — nothing at 29 days, once at 30 days, once per lapse;
a paid membership's end; points about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from campaigns.selectors.trigger_scans import trigger_scan
from campaigns.selectors.triggers import TriggerKind, trigger_spec
from campaigns.services.triggers import campaign_triggers_scan
from loyalty.services.intake import record_sale, register_member
from members.models import MemberSettings, Order
from members.services.members import MemberInput, member_set_status
from members.services.orders import LineInput, SaleInput
from points.models import PointsLot
from tests.campaigns.fakes import FakeCampaign, RecordingAct
from tests.conftest import SHANGHAI
from tests.points.helpers import set_points_settings
from tiers.models.paid import PaidMembership, PaidPlan
from tiers.services.paid import paid_purchase

D = Decimal
DAY0 = datetime(2026, 3, 2, 23, 30, tzinfo=SHANGHAI)      # 15:30 UTC: still 2 March in Beijing


def _member(n: int):
    return register_member(data=MemberInput(mobile=f"1360000{n:04d}", name=f"会员{n}"),
                           now=DAY0 - timedelta(days=60)).member


def _sale(store, member, order_no: str, at: datetime) -> Order:
    return record_sale(sale=SaleInput(store_code=store.code, order_no=order_no,
                                      member_id=member.pk, ordered_at=at,
                                      lines=(LineInput(line_no=1, sku="S", quantity=1,
                                                       gross_amount=D("80.00")),)),
                       now=at).order


def _day(n: int, hour: int = 10) -> datetime:
    """10:00 Beijing on the n-th day after DAY0's date."""
    return datetime.combine(DAY0.date() + timedelta(days=n), datetime.min.time(),
                            tzinfo=SHANGHAI) + timedelta(hours=hour)


def _scan(campaign, act, now):
    return campaign_triggers_scan(campaigns=[campaign], act=act, now=now, chunk=3)


def test_lapse_nothing_at_29_days_once_at_30_once_per_lapse(db, store):
    member = _member(1)
    last = _sale(store, member, "L-1", DAY0)
    reactivate = FakeCampaign(1, TriggerKind.LAPSE, {"days": 30})
    act = RecordingAct()

    _scan(reactivate, act, _day(29, hour=23))                 # 29 days: nothing, even late
    assert act.calls == []
    _scan(reactivate, act, _day(30, hour=0))                  # 00:00 on day 30, Beijing
    assert act.calls == [(1, f"lapse:{last.pk}", [member.pk])]
    _scan(reactivate, act, _day(30, hour=18))                 # the same day again
    _scan(reactivate, act, _day(33))                          # a missed day made up: same occasion
    assert {o for _, o, _ in act.calls} == {f"lapse:{last.pk}"}
    assert act.occasions(1) == [(f"lapse:{last.pk}", member.pk)]   # acted once
    calls = len(act.calls)
    _scan(reactivate, act, _day(37))                          # past the grace days: no longer offered
    assert len(act.calls) == calls

    again = _sale(store, member, "L-2", _day(40))             # buys again, then lapses again
    _scan(reactivate, act, _day(69))
    assert len(act.calls) == calls
    _scan(reactivate, act, _day(70))
    assert act.occasions(1) == sorted([(f"lapse:{last.pk}", member.pk),
                                       (f"lapse:{again.pk}", member.pk)])


def test_lapse_relative_to_the_members_own_cycle_or_the_programmes(db, store):
    settings = MemberSettings.load()
    settings.repurchase_cycle_days = 20
    settings.save()
    regular, once = _member(1), _member(2)
    _sale(store, regular, "R-1", DAY0 - timedelta(days=20))
    last = _sale(store, regular, "R-2", DAY0 - timedelta(days=10))
    _sale(store, regular, "R-3", DAY0)                         # every 10 days: cycle 10
    only = _sale(store, once, "O-1", DAY0)                     # one order: the programme's 20
    own = trigger_spec(TriggerKind.LAPSE, {"cycle": "member", "grace_days": 1})
    programme = trigger_spec(TriggerKind.LAPSE, {"cycle": "programme", "factor": "1.5",
                                                 "grace_days": 1})

    def due(spec, n):
        return {(e.member_id, e.occasion) for e in trigger_scan(spec, now=_day(n), lo=0,
                                                               hi=10**9)}

    last_regular = Order.objects.filter(member=regular).latest("ordered_at").pk
    assert due(own, 9) == set()
    assert due(own, 10) == {(regular.pk, f"lapse:{last_regular}")}
    assert due(own, 11) == set()                               # one grace day only
    assert due(own, 20) == {(once.pk, f"lapse:{only.pk}")}
    assert due(programme, 29) == set()
    assert due(programme, 30) == {(regular.pk, f"lapse:{last_regular}"),
                                  (once.pk, f"lapse:{only.pk}")}
    assert last.pk != last_regular
    # a closed member is never offered
    member_set_status(member_id=once.pk, status="closed", now=_day(30))
    assert due(programme, 30) == {(regular.pk, f"lapse:{last_regular}")}


def test_paid_membership_days_before_and_after_its_end(db):
    PaidPlan.objects.create(code="month", name="月卡", duration_months=1, price=D("19.00"))
    member = _member(1)
    paid_purchase(member_id=member.pk, plan_code="month", purchase_id="P-1",
                  amount=D("19.00"), channel="api", now=_day(0))
    end = PaidMembership.objects.get(member=member).ends_at
    end_date = end.astimezone(SHANGHAI).date()
    before = trigger_spec(TriggerKind.PAID_END, {"days": -7})
    after = trigger_spec(TriggerKind.PAID_END, {"days": 3, "grace_days": 2})

    def due(spec, on):
        now = datetime.combine(on, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=9)
        return [(e.member_id, e.occasion) for e in trigger_scan(spec, now=now, lo=0, hi=10**9)]

    occasion = f"paid:{member.pk}:{end_date.isoformat()}"
    assert due(before, end_date - timedelta(days=8)) == []
    assert due(before, end_date - timedelta(days=7)) == [(member.pk, occasion)]
    assert due(before, end_date - timedelta(days=1)) == [(member.pk, occasion)]
    assert due(before, end_date) == []                         # "before" stops at the end
    assert due(after, end_date + timedelta(days=2)) == []
    assert due(after, end_date + timedelta(days=3)) == [(member.pk, occasion)]
    assert due(after, end_date + timedelta(days=4)) == [(member.pk, occasion)]
    assert due(after, end_date + timedelta(days=5)) == []
    # renewed: a new end date, a new occasion; the old end is no longer due
    paid_purchase(member_id=member.pk, plan_code="month", purchase_id="P-2",
                  amount=D("19.00"), channel="api", now=end - timedelta(days=2))
    new_end = PaidMembership.objects.get(member=member).ends_at.astimezone(SHANGHAI).date()
    assert new_end > end_date
    assert due(after, end_date + timedelta(days=3)) == []
    assert due(before, new_end - timedelta(days=7)) == [
        (member.pk, f"paid:{member.pk}:{new_end.isoformat()}")]


def test_points_expiring_within_n_days_once_per_first_lot(db, store):
    set_points_settings(pending_days=0, expiry_months=1, expiry_policy="rolling")
    member, other = _member(1), _member(2)
    _sale(store, member, "X-1", _day(0))
    _sale(store, member, "X-2", _day(0, hour=11))
    _sale(store, other, "X-3", _day(20))
    lots = list(PointsLot.objects.filter(member=member, order__isnull=False).order_by("expires_at"))
    assert len(lots) == 2 and lots[0].expires_at is not None
    spec = trigger_spec(TriggerKind.POINTS_EXPIRING, {"days": 7})
    first_expiry = lots[0].expires_at

    events = trigger_scan(spec, now=first_expiry - timedelta(days=8), lo=0, hi=10**9)
    assert events == []
    events = trigger_scan(spec, now=first_expiry - timedelta(days=6), lo=0, hi=10**9)
    assert [(e.member_id, e.occasion) for e in events] == [(member.pk, f"lot:{lots[0].pk}")]
    assert events[0].facts["points"] == sum(lot.remaining for lot in lots)
    # once the first lot has expired, the next one is a new occasion
    later = trigger_scan(spec, now=first_expiry + timedelta(seconds=1), lo=0, hi=10**9)
    assert [(e.member_id, e.occasion) for e in later] == [(member.pk, f"lot:{lots[1].pk}")]


def test_the_scan_covers_every_chunk_and_only_time_based_campaigns(db, store):
    members = [_member(n) for n in range(7)]
    for n, m in enumerate(members):
        _sale(store, m, f"C-{n}", DAY0)
    act = RecordingAct()
    runs = campaign_triggers_scan(
        campaigns=[FakeCampaign(1, TriggerKind.LAPSE, {"days": 30}),
                   FakeCampaign(2, TriggerKind.REGISTRATION)],
        act=act, now=_day(30), chunk=2)
    assert set(runs) == {1}
    assert sorted(m for _, _, ms in act.calls for m in ms) == sorted(m.pk for m in members)
    assert runs[1].events == 7 and runs[1].calls == 7
