"""Input that used to answer 500: a segment of 474 chained `not`s, unicode digits where a
page read a number, NaN and 1e30 as amounts. Each now answers a translated error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.errors import MemberError
from members.models import Segment, Tag
from members.segment_expr import MAX_DEPTH, MAX_LENGTH, parse
from tiers.models import Tier


@pytest.fixture
def vip(db) -> Tag:
    return Tag.objects.create(code="vip", name="VIP")


NOTS = "not " * 474 + "tag:vip"


def test_474_chained_nots_are_a_definition_error_not_a_crash(admin_client, vip):
    assert len(NOTS) < MAX_LENGTH
    with pytest.raises(MemberError) as refused:
        parse(NOTS)
    assert refused.value.code.value == "invalid_segment"
    live = admin_client.get(reverse("admin:members_segment_count"), {"expression": NOTS})
    assert live.status_code == 400 and "嵌套过深（最多 50 层）" in live.json()["error"]
    english = admin_client.get(reverse("admin:members_segment_count"), {"expression": NOTS},
                               HTTP_ACCEPT_LANGUAGE="en")
    assert "nested too deeply (at most 50 levels)" in english.json()["error"]
    page = admin_client.post(reverse("admin:members_segment_add"), {
        "name": "深", "code": "deep", "expression": NOTS, "description": "",
        "snapshots-TOTAL_FORMS": "0", "snapshots-INITIAL_FORMS": "0"})
    assert page.status_code == 200 and "嵌套过深（最多 50 层）" in page.content.decode()
    assert not Segment.objects.exists()


def test_nesting_up_to_the_limit_still_works(admin_client, vip):
    assert parse("not " * MAX_DEPTH + "tag:vip")
    assert parse("(" * (MAX_DEPTH - 1) + "tag:vip" + ")" * (MAX_DEPTH - 1))
    for deep in ("not " * (MAX_DEPTH + 1) + "tag:vip",
                 "(" * (MAX_DEPTH + 1) + "tag:vip" + ")" * (MAX_DEPTH + 1),
                 "(not " * 30 + "tag:vip" + ")" * 30):
        with pytest.raises(MemberError):
            parse(deep)
    live = admin_client.get(reverse("admin:members_segment_count"),
                            {"expression": "not " * MAX_DEPTH + "tag:vip"})
    assert live.status_code == 200


@pytest.mark.parametrize("value", ["²", "١٢", "４２", "1²"])
def test_unicode_digits_in_the_member_list_tag_filter(admin_client, vip, value):
    response = admin_client.get(reverse("admin:members_member_changelist"), {"tag": value})
    assert response.status_code == 200


@pytest.mark.parametrize("q", ["²", "²²²²", "١٢٣٤", "１３８００１３８０００"])
def test_unicode_digits_in_the_tag_history_search(admin_client, db, q):
    response = admin_client.get(reverse("admin:members_tagchange_changelist"), {"q": q})
    assert response.status_code == 200


def test_unicode_digits_in_the_ladder_preview(admin_client, db):
    from tiers.defaults import ensure_default_ladder

    ensure_default_ladder()
    tier = Tier.objects.filter(is_active=True, min_growth__isnull=False).first()
    response = admin_client.get(reverse("admin:tiers_tier_preview"), {f"t{tier.pk}": "²"})
    assert response.status_code == 200
    assert f"{tier.name}：所需成长值须为 0 或更大的整数" in response.content.decode()


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "-NaN", "1e30", "Infinity", "-Infinity",
                                    "1E+9999", "-0.5"])
def test_try_the_rules_refuses_what_is_not_an_amount(admin_client, member, amount):
    response = admin_client.post(reverse("admin:points_earningrule_try"), {
        "member": member.member_no, "event": "sale", "basket": f"TEA-01, tea, {amount}"})
    assert response.status_code == 200
    assert response.context["form"].errors["basket"]
    assert response.context["results"] is None


def test_try_the_rules_still_runs_a_basket(admin_client, member):
    response = admin_client.post(reverse("admin:points_earningrule_try"), {
        "member": member.member_no, "event": "sale", "basket": "TEA-01, tea, 68.005"})
    assert response.status_code == 200 and not response.context["form"].errors
    assert response.context["results"] is not None


@pytest.mark.parametrize("params", [{"kind__exact": "\x00"}, {"q": "王\x00"}])
def test_a_nul_in_the_parameters_is_a_bad_request(admin_client, db, params):
    response = admin_client.get(reverse("admin:members_accessevent_changelist"), params)
    assert response.status_code == 400
    posted = admin_client.post(reverse("admin:points_earningrule_try"), {"store": "\x00"})
    assert posted.status_code == 400


def test_the_api_keeps_its_own_error_shape_for_a_nul(db, client):
    response = client.get("/api/v1/members/lookup", {"mobile": "\x00"})
    assert response.status_code in (400, 401)
    assert response.json()["error"]["code"]
