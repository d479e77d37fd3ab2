"""Members added in bulk (an import, a COPY load) get their first tier as registering would
have given it, set-based, once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from members.models import Member, MemberTag, TagChange
from members.services.members import member_set_status
from members.services.orders import LineInput, SaleInput, order_record_sale
from tiers.models import GrowthAccount, TierChange
from tiers.services.growth import growth_add
from tiers.services.ladder import tier_place_unplaced

pytestmark = pytest.mark.django_db


def tier_of(member: Member) -> str | None:
    account = GrowthAccount.objects.select_related("tier").filter(member=member).first()
    return account.tier.code if account and account.tier else None


def test_imported_members_are_placed_as_registering_would_have(make_member, store, now):
    browser, buyer, closed, placed = (make_member() for _ in range(4))
    order_record_sale(sale=SaleInput(
        store_code=store.code, order_no="IMP-1", member_id=buyer.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="SKU-A", quantity=1, gross_amount=Decimal("99")),)),
        now=now)
    member_set_status(member_id=closed.pk, status=Member.Status.CLOSED, now=now)
    growth_add(member_id=placed.pk, points=2500, source_key="earlier", now=now)  # Silver

    assert tier_place_unplaced(now=now, chunk=2) == 2

    assert (tier_of(browser), tier_of(buyer), tier_of(closed), tier_of(placed)) == (
        "registered", "bronze", None, "silver")
    assert not GrowthAccount.objects.filter(member=closed).exists()
    for member, code in ((browser, "registered"), (buyer, "bronze")):
        change = TierChange.objects.get(member_id=member.pk)
        assert (change.from_tier, change.to_tier.code, change.reason) == (None, code, "initial")
        assert change.created_at == now
        assert list(MemberTag.objects.filter(member=member, tag__code__startswith="tier-")
                    .values_list("tag__code", flat=True)) == [f"tier-{code}"]
        history = TagChange.objects.get(member_id=member.pk, tag_id=MemberTag.objects.get(
            member=member, tag__code=f"tier-{code}").tag_id)
        assert (history.cause, history.changed_at) == ("system", now)
    assert GrowthAccount.objects.get(member=browser).growth == 0

    assert tier_place_unplaced(now=now) == 0  # a re-run finds nobody left
    assert TierChange.objects.filter(reason="initial", member_id__in=[browser.pk, buyer.pk]
                                     ).count() == 2
