"""The member list: tier, points, net spend, last purchase and lifecycle columns; filters by
tier, store, channel, lifecycle and join date; the filtered list exported as CSV, recorded."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from core.clock import programme_tz
from loyalty.services.intake import record_sale
from members.models import AccessEvent, Member, MemberStats
from members.services.orders import LineInput, SaleInput
from tiers.models import GrowthAccount, Tier

pytestmark = pytest.mark.django_db

LIST = "/admin/members/member/"


def _sale(store, member, when, no, amount):
    record_sale(sale=SaleInput(store_code=store.code, order_no=no, member_id=member.pk,
                               ordered_at=when, lines=(LineInput(
                                   line_no=1, sku="TEA", quantity=1,
                                   gross_amount=Decimal(amount)),)), now=when)


@pytest.fixture
def members(store, make_member, now):
    buyer = make_member(name="=HYPERLINK(1)", home_store_code=store.code, source_channel="store")
    _sale(store, buyer, now, "S-1", "1234.50")
    idle = make_member(name="未消费", source_channel="web")
    Member.objects.filter(pk=idle.pk).update(created_at=now - timedelta(days=40))
    return buyer, idle


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_list_shows_tier_points_spend_last_purchase_and_lifecycle(admin_client, members):
    buyer, _idle = members
    stats = MemberStats.objects.get(member=buyer)
    account = GrowthAccount.objects.select_related("tier").get(member=buyer)
    response = admin_client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "1,234.50" in page  # net spend, with separators
    assert stats.get_lifecycle_display() in page
    assert account.tier is not None and account.tier.name in page
    assert stats.last_purchase_at.astimezone(programme_tz()).date().isoformat() in page


def test_filters_by_tier_lifecycle_channel_and_join_dates(admin_client, members, now):
    buyer, idle = members
    tier = GrowthAccount.objects.get(member=buyer).tier
    lifecycle = MemberStats.objects.get(member=buyer).lifecycle

    def listed(params) -> set[int]:
        response = admin_client.get(LIST, params)
        assert response.status_code == 200, params
        return {m.pk for m in response.context["cl"].result_list}

    assert listed({"growth_account__tier__id__exact": tier.pk}) == {buyer.pk}
    assert listed({"stats__lifecycle__exact": lifecycle}) == {buyer.pk}
    assert listed({"source_channel__exact": "web"}) == {idle.pk}
    assert listed({"home_store__id__exact": buyer.home_store_id}) == {buyer.pk}
    day = now.astimezone(programme_tz()).date()
    # both ends included, on the Beijing calendar
    assert listed({"created_at_from": day.isoformat(), "created_at_to": day.isoformat()}) == {
        buyer.pk}
    assert listed({"created_at_to": (day - timedelta(days=1)).isoformat()}) == {idle.pk}
    assert listed({"created_at_from": "not a date"}) == {buyer.pk, idle.pk}


def test_the_export_is_the_filtered_list_formula_safe_and_recorded(admin_client, members):
    buyer, idle = members
    page = admin_client.get(LIST, {"source_channel__exact": "store"}).content.decode()
    export = reverse("admin:loyalty_member_export") + "?source_channel__exact=store"
    assert export.replace("&", "&amp;") in page
    response = admin_client.get(export)
    assert response.status_code == 200
    header, *rows = _rows(response)
    assert len(rows) == 1
    row = dict(zip(header, rows[0]))
    assert row["会员号"] == buyer.member_no
    assert rows[0][1] == "'=HYPERLINK(1)"  # the name, neutralised
    assert row["净消费额"] == "1234.50"
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.MEMBER_EXPORT)
    assert "source_channel__exact=store" in event.subject


def test_the_export_of_every_member_comes_in_chunks(admin_client, members, make_member):
    for _ in range(5):
        make_member()
    from loyalty.admin.members import member_list_rows

    everyone = Member.objects.all()
    assert [r[0] for r in member_list_rows(everyone, chunk=2)] == list(
        everyone.order_by("-pk").values_list("member_no", flat=True))


def test_the_tier_filter_offers_the_ladder(admin_client, members):
    page = admin_client.get(LIST).content.decode()
    for tier in Tier.objects.all():
        assert tier.name in page
