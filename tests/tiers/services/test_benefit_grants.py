"""Benefit grants (DESIGN §2.3): granted per period by a set-based job, at most once per
member, benefit and period — run twice, or twice at the same moment; the birthday month
follows the Beijing calendar; claimed and used at most once (and never beyond the quantity)
under concurrent requests; grants not used up by their expiry expire."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from members.models import Member
from points.errors import PointsError
from points.models.coupons import Coupon
from points.services.coupons import coupon_redeem
from tests.points.catalog_helpers import basket, make_template
from tests.races import run_at_once
from tiers.errors import TierError
from tiers.models import Tier
from tiers.models.benefits import BenefitGrant, BenefitUse, GrantStatus
from tiers.selectors.benefits import benefit_cost_by_tier
from tiers.services.benefits import (
    benefit_grant_claim,
    benefit_grant_use,
    benefit_grants_expire_due,
    benefit_grants_issue,
    benefit_grants_issue_due,
)
from tiers.services.paid import paid_purchase

from ..helpers import attach, benefit, plan
from .test_ladder import register

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def grants(member=None) -> list[tuple[int, str, str, int]]:
    rows = BenefitGrant.objects.order_by("member_id", "benefit__code", "period")
    if member is not None:
        rows = rows.filter(member=member)
    return [(g.member_id, g.benefit.code, g.period, g.quantity) for g in rows]


def code(exc) -> str:
    assert isinstance(exc, TierError), exc
    return exc.code.value


@pytest.fixture
def monthly_pack(db):
    pack = benefit("free-ship", "free_shipping", grant_period="monthly", unit_cost="8.00")
    attach(pack, tier="registered", quantity=2)
    return pack


def test_a_monthly_grant_job_run_twice_grants_once_per_member(monthly_pack, now):
    members = [register(now) for _ in range(5)]
    assert benefit_grants_issue(grant_period="monthly", now=now, chunk=2) == 5
    assert benefit_grants_issue(grant_period="monthly", now=now + timedelta(hours=3)) == 0
    assert grants() == [(m.pk, "free-ship", "2026-03", 2) for m in members]
    grant = BenefitGrant.objects.get(member=members[0])
    # valid to the end of March in Beijing: 16:00 UTC on 31 March
    assert grant.expires_at == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert grant.status == GrantStatus.GRANTED and grant.tier.code == "registered"

    # April is a new period: granted again, once
    april = datetime(2026, 4, 1, 0, 30, tzinfo=SHANGHAI)
    assert benefit_grants_issue(grant_period="monthly", now=april) == 5
    assert benefit_grants_issue(grant_period="monthly", now=april) == 0
    assert Counter(p for _m, _b, p, _q in grants()) == {"2026-03": 5, "2026-04": 5}


@pytest.mark.django_db(transaction=True)
def test_the_grant_job_run_twice_at_the_same_time_grants_once(now):
    pack = benefit("free-ship", "free_shipping", grant_period="monthly")
    attach(pack, tier="registered", quantity=2)
    gift = benefit("welcome", "new_member_gift", grant_period="on_joining")
    attach(gift, tier="registered")
    members = [register(now) for _ in range(40)]

    results = run_at_once(lambda i: benefit_grants_issue_due(now=now), n=4)

    assert all(kind == "ok" for kind, _r in results), results
    written = [r for _k, r in results]
    assert sum(r["monthly"] for r in written) == 40
    assert sum(r["on_joining"] for r in written) == 40
    assert BenefitGrant.objects.count() == 80
    assert Counter(g.member_id for g in BenefitGrant.objects.all()) == {m.pk: 2 for m in members}


def test_the_birthday_month_turns_at_midnight_beijing_time(db, now):
    gift = benefit("birthday", "birthday_gift", grant_period="birthday_month", unit_cost="30")
    attach(gift, tier="registered", quantity=1)
    april_born = register(now)
    march_born = register(now)
    Member.objects.filter(pk=april_born.pk).update(birthday=date(1990, 4, 1))
    Member.objects.filter(pk=march_born.pk).update(birthday=date(1992, 3, 15))

    # 15:30 UTC on 31 March = 23:30 in Beijing: still March
    assert benefit_grants_issue(grant_period="birthday_month",
                                now=datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == 1
    assert grants() == [(march_born.pk, "birthday", "2026", 1)]

    # 16:30 UTC on 31 March — still the 31st in UTC — is 00:30 on 1 April in Beijing
    job = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    assert job.date() == date(2026, 3, 31)
    assert benefit_grants_issue(grant_period="birthday_month", now=job) == 1
    assert grants(april_born) == [(april_born.pk, "birthday", "2026", 1)]
    assert BenefitGrant.objects.get(member=april_born).expires_at == datetime(
        2026, 4, 30, 16, 0, tzinfo=UTC)
    # the rest of April, and a re-run, grant nothing more; next year's April does
    assert benefit_grants_issue(grant_period="birthday_month",
                                now=datetime(2026, 4, 20, tzinfo=SHANGHAI)) == 0
    assert benefit_grants_issue(grant_period="birthday_month",
                                now=datetime(2027, 4, 1, 0, 30, tzinfo=SHANGHAI)) == 1
    assert grants(april_born)[-1] == (april_born.pk, "birthday", "2027", 1)


def test_new_member_gift_goes_to_members_within_the_window_once(db, now):
    gift = benefit("welcome", "new_member_gift", grant_period="on_joining", valid_days=30)
    attach(gift, tier="registered")
    old = register(now - timedelta(days=31))
    new = register(now - timedelta(days=2))
    assert benefit_grants_issue(grant_period="on_joining", now=now) == 1
    assert grants() == [(new.pk, "welcome", "joining", 1)]
    assert BenefitGrant.objects.get(member=new).expires_at == new.created_at + timedelta(days=30)
    assert benefit_grants_issue(grant_period="on_joining", now=now + timedelta(days=1)) == 0
    assert not grants(old)


def test_a_paid_plan_gives_its_larger_pack_instead_of_the_tiers(monthly_pack, now):
    annual = plan()
    attach(monthly_pack, plan=annual, quantity=4)
    paid, unpaid = register(now), register(now)
    paid_purchase(member_id=paid.pk, plan_code="annual", purchase_id="P-1",
                  amount=Decimal("199.00"), channel="api", now=now - timedelta(days=3))
    assert benefit_grants_issue(grant_period="monthly", now=now) == 2
    assert grants() == [(paid.pk, "free-ship", "2026-03", 4), (unpaid.pk, "free-ship", "2026-03", 2)]
    assert BenefitGrant.objects.get(member=paid).plan_id == annual.pk


def test_inactive_members_and_benefits_get_nothing(monthly_pack, now):
    closed = register(now)
    Member.objects.filter(pk=closed.pk).update(status="frozen")
    assert benefit_grants_issue(grant_period="monthly", now=now) == 0
    monthly_pack.is_active = False
    monthly_pack.save()
    register(now)
    assert benefit_grants_issue(grant_period="monthly", now=now) == 0


def _one_grant(now, quantity=2):
    pack = benefit("free-ship", "free_shipping", grant_period="monthly", unit_cost="8.00")
    attach(pack, tier="registered", quantity=quantity)
    member = register(now)
    benefit_grants_issue(grant_period="monthly", now=now)
    return member, BenefitGrant.objects.get(member=member)


def test_claim_once_then_use_up_to_the_quantity(db, now):
    member, grant = _one_grant(now)
    with pytest.raises(TierError) as err:
        benefit_grant_use(member_id=member.pk, grant_id=grant.pk, now=now)
    assert code(err.value) == "benefit_grant_not_claimed"

    claimed = benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now)
    assert claimed.status == GrantStatus.CLAIMED and claimed.claimed_at == now
    with pytest.raises(TierError) as err:
        benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now)
    assert code(err.value) == "benefit_grant_already_claimed"

    first = benefit_grant_use(member_id=member.pk, grant_id=grant.pk, source_key="o-1", now=now)
    assert first.created and first.grant.remaining == 1
    replay = benefit_grant_use(member_id=member.pk, grant_id=grant.pk, source_key="o-1", now=now)
    assert not replay.created and replay.use.pk == first.use.pk
    with pytest.raises(TierError) as err:
        benefit_grant_use(member_id=member.pk, grant_id=grant.pk, units=2, now=now)
    assert code(err.value) == "benefit_grant_used_up"
    last = benefit_grant_use(member_id=member.pk, grant_id=grant.pk, now=now)
    assert last.grant.status == GrantStatus.USED
    assert [u.unit_cost for u in BenefitUse.objects.filter(grant=grant)] == [Decimal("8.00")] * 2

    other = register(now)
    with pytest.raises(TierError) as err:  # another member's grant is not found
        benefit_grant_claim(member_id=other.pk, grant_id=grant.pk, now=now)
    assert code(err.value) == "benefit_grant_not_found"


def test_claiming_a_coupon_pack_issues_its_coupons_once(db, now):
    template = make_template(now, kind="free_shipping", threshold=Decimal("0"), amount=None,
                             name="包邮券")
    pack = benefit("monthly-coupons", "coupon_pack", grant_period="monthly",
                   coupon_template=template)
    attach(pack, tier="registered", quantity=2)
    member = register(now)
    benefit_grants_issue(grant_period="monthly", now=now)
    grant = BenefitGrant.objects.get(member=member)

    benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now)
    coupons = Coupon.objects.filter(member=member)
    assert [(c.template_id, c.state) for c in coupons] == [(template.pk, "issued")] * 2
    with pytest.raises(TierError) as err:
        benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now)
    assert code(err.value) == "benefit_grant_already_claimed"
    assert coupons.count() == 2

    # a coupon used counts, at the discount it gave, in the granting tier's cost
    coupon_redeem(code=coupons[0].code, member_id=member.pk, order_no="S-1",
                  basket=basket("100.00", shipping="12.00"), now=now)
    month = now.astimezone(SHANGHAI).date().replace(day=1)
    cost = {row.name: row for row in benefit_cost_by_tier(month=month)}
    registered = next(row for row in cost.values() if row.source == "tier" and row.coupons_cost)
    assert (registered.name, registered.coupons_cost, registered.total) == (
        Tier.objects.get(code="registered").name, Decimal("12.00"), Decimal("12.00"))


def test_a_coupon_pack_whose_coupons_cannot_be_issued_stays_claimable(db, now):
    template = make_template(now, code_source="uploaded")  # no codes uploaded yet
    pack = benefit("monthly-coupons", "coupon_pack", grant_period="monthly",
                   coupon_template=template)
    attach(pack, tier="registered", quantity=2)
    member = register(now)
    benefit_grants_issue(grant_period="monthly", now=now)
    grant = BenefitGrant.objects.get(member=member)
    with pytest.raises(PointsError) as err:
        benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now)
    assert err.value.code.value == "coupon_codes_exhausted"
    grant.refresh_from_db()
    assert grant.status == GrantStatus.GRANTED and grant.claimed_at is None
    assert not Coupon.objects.filter(member=member).exists()


def test_grants_not_used_up_expire_at_the_end_of_their_month(db, now):
    member, grant = _one_grant(now)
    other = register(now)
    benefit_grants_issue(grant_period="monthly", now=now)
    claimed = BenefitGrant.objects.get(member=other)
    benefit_grant_claim(member_id=other.pk, grant_id=claimed.pk, now=now)
    benefit_grant_use(member_id=other.pk, grant_id=claimed.pk, units=2, now=now)

    end = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)
    assert benefit_grants_expire_due(now=end - timedelta(seconds=1)) == 0
    with pytest.raises(TierError) as err:  # past its expiry, even before the job ran
        benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=end)
    assert code(err.value) == "benefit_grant_expired"
    assert benefit_grants_expire_due(now=end, chunk=1) == 1
    assert benefit_grants_expire_due(now=end) == 0
    grant.refresh_from_db()
    claimed.refresh_from_db()
    assert grant.status == GrantStatus.EXPIRED and grant.expired_at == end
    assert claimed.status == GrantStatus.USED  # used up: nothing left to expire


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_and_uses_happen_once(now):
    member, grant = _one_grant(now, quantity=2)
    results = run_at_once(
        lambda i: benefit_grant_claim(member_id=member.pk, grant_id=grant.pk, now=now), n=6)
    assert Counter(kind for kind, _r in results) == {"ok": 1, "error": 5}
    assert {code(r) for kind, r in results if kind == "error"} == {"benefit_grant_already_claimed"}

    results = run_at_once(
        lambda i: benefit_grant_use(member_id=member.pk, grant_id=grant.pk,
                                    source_key=f"order-{i}", now=now), n=6)
    assert Counter(kind for kind, _r in results) == {"ok": 2, "error": 4}
    assert {code(r) for kind, r in results if kind == "error"} == {"benefit_grant_used_up"}
    grant.refresh_from_db()
    assert (grant.used_quantity, grant.status) == (2, GrantStatus.USED)
    assert BenefitUse.objects.filter(grant=grant).count() == 2
