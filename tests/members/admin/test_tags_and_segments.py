"""The admin for tag rules, tag history, imports and segments (members.admin.tags, members.admin.segments)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty.services import intake
from members.models import (
    MemberTag,
    Segment,
    SegmentSnapshot,
    Tag,
    TagChange,
    TagCondition,
    TagGroup,
    TagRule,
)
from members.services.orders import LineInput, SaleInput
from members.services.tags import member_tags_add, member_tags_remove


@pytest.fixture
def operator(admin_client):
    return admin_client


@pytest.fixture
def vip(db) -> Tag:
    return Tag.objects.create(code="vip", name="VIP")


def test_live_count_answers_the_number_or_the_reason(operator, make_member, vip, now):
    a, _b = make_member(), make_member()
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk], now=now)
    url = reverse("admin:members_segment_count")
    live = operator.get(url, {"expression": "tag:VIP"}).json()  # by name
    assert live["count"] == 1 and live["hints"] == []
    assert [row["member_no"] for row in live["preview"]] == [a.member_no]
    assert live["preview"][0]["mobile"].count("*") == 4  # masked
    assert operator.get(url, {"expression": "not tag:vip"}).json()["count"] == 1
    wrong = operator.get(url, {"expression": "tag:vip and ("})
    assert wrong.status_code == 400 and "定义不完整" in wrong.json()["error"]
    wrong = operator.get(url, {"expression": "tag:vip and ("}, HTTP_ACCEPT_LANGUAGE="en")
    assert wrong.status_code == 400 and "too early" in wrong.json()["error"]
    assert operator.get(url, {"expression": "  "}).json() == {"empty": True}
    hinted = operator.get(url, {"expression": "region:火星"}).json()
    assert hinted["count"] == 0 and "火星" in hinted["hints"][0]


def test_a_fresh_add_page_opens_without_an_error(operator, db):
    page = operator.get(reverse("admin:members_segment_add"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "人群包条件无效" not in body and "errornote" not in body and "errorlist" not in body
    assert "输入人群定义" in body  # the prompt where the count will show
    assert 'id="segment-live"' in body


def test_segment_form_refuses_a_bad_definition(operator, db):
    response = operator.post(reverse("admin:members_segment_add"), {
        "name": "x", "code": "x", "expression": "gender:robot", "description": "",
        "snapshots-TOTAL_FORMS": "0", "snapshots-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "“robot”不是以下之一" in body
    assert not Segment.objects.exists()


def test_an_ambiguous_tag_name_is_a_form_error_listing_the_candidates(operator, db):
    spend = TagGroup.objects.create(name="消费层级")
    marketing = TagGroup.objects.create(name="营销")
    Tag.objects.create(code="hs-spend", name="高消费", group=spend)
    Tag.objects.create(code="hs-campaign", name="高消费", group=marketing)
    response = operator.post(reverse("admin:members_segment_add"), {
        "name": "x", "code": "x", "expression": "tag:高消费", "description": "",
        "snapshots-TOTAL_FORMS": "0", "snapshots-INITIAL_FORMS": "0"})
    body = response.content.decode()
    assert "2 个标签都叫“高消费”" in body
    assert "编码“hs-spend”（分组：消费层级）" in body and "编码“hs-campaign”（分组：营销）" in body
    assert not Segment.objects.exists()


def test_a_segment_saved_by_tag_name_keeps_ids_and_follows_a_rename(operator, make_member, now):
    tag = Tag.objects.create(code="high-spend", name="高消费")
    member = make_member(region="上海市")
    member_tags_add(tag_id=tag.pk, member_ids=[member.pk], now=now)
    response = operator.post(reverse("admin:members_segment_add"), {
        "name": "高消费上海", "code": "spend-sh", "expression": "tag:高消费 and region:上海市",
        "description": "", "snapshots-TOTAL_FORMS": "0", "snapshots-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    segment = Segment.objects.get(code="spend-sh")
    assert segment.expression == f"tag:#{tag.pk} and region:上海市"

    tag.name = "超高消费"
    tag.save()
    page = operator.get(reverse("admin:members_segment_change", args=[segment.pk]))
    body = page.content.decode()
    assert "tag:超高消费 and region:上海市</textarea>" in body
    assert member.member_no in body  # the count and preview, before anything is typed
    listing = operator.get(reverse("admin:members_segment_changelist")).content.decode()
    assert "tag:超高消费 and region:上海市" in listing

    operator.post(reverse("admin:members_segment_snapshot", args=[segment.pk]))
    page = operator.get(reverse("admin:members_segment_change", args=[segment.pk]))
    assert page.content.decode().count("tag:超高消费 and region:上海市") >= 2  # field + snapshot
    assert SegmentSnapshot.objects.get(segment=segment).member_count == 1


def test_saving_a_segment_with_an_unknown_region_warns(operator, db):
    response = operator.post(reverse("admin:members_segment_add"), {
        "name": "x", "code": "x", "expression": "region:火星", "description": "",
        "snapshots-TOTAL_FORMS": "0", "snapshots-INITIAL_FORMS": "0"}, follow=True)
    assert Segment.objects.get(code="x").expression == "region:火星"
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings and "“火星”不是中国的省级或地级行政区" in warnings[0]


def test_segment_page_previews_exports_and_snapshots(operator, make_member, vip, now):
    a = make_member(name="王芳")
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk], now=now)
    segment = Segment.objects.create(code="vips", name="VIP", expression="tag:vip")

    page = operator.get(reverse("admin:members_segment_change", args=[segment.pk]))
    assert page.status_code == 200 and a.member_no in page.content.decode()

    export = operator.get(reverse("admin:members_segment_export", args=[segment.pk]))
    body = b"".join(export.streaming_content).decode("utf-8")
    assert a.member_no in body and "王芳" in body and len(body.strip().splitlines()) == 2

    operator.post(reverse("admin:members_segment_snapshot", args=[segment.pk]))
    snapshot = SegmentSnapshot.objects.get(segment=segment)
    assert snapshot.member_count == 1


def test_a_tag_rule_is_built_in_the_admin_and_checked(operator, make_member, now):
    tag = Tag.objects.create(code="women", name="女性", kind=Tag.Kind.RULE)
    url = reverse("admin:members_tagrule_add")
    form = {"tag": tag.pk, "is_active": "on", "conditions-TOTAL_FORMS": "1",
            "conditions-INITIAL_FORMS": "0", "conditions-0-kind": "gender",
            "conditions-0-values": "robot"}
    refused = operator.post(url, form)
    assert refused.status_code == 200 and "robot" in refused.content.decode()
    assert not TagRule.objects.exists()

    assert operator.post(url, {**form, "conditions-0-values": "female"}).status_code == 302
    assert TagCondition.objects.get().values == "female"
    woman = make_member(gender="female")
    rule = TagRule.objects.get()
    operator.post(reverse("admin:members_tagrule_changelist"),
                  {"action": "refresh_now", "_selected_action": [rule.pk]})
    assert MemberTag.objects.filter(tag=tag, member=woman).exists()


def test_remove_tag_action(operator, make_member, vip, now):
    members = [make_member() for _ in range(3)]
    member_tags_add(tag_id=vip.pk, member_ids=[m.pk for m in members], now=now)
    response = operator.post(reverse("admin:members_member_changelist"), {
        "action": "remove_tag", "apply": "1", "tag": vip.pk,
        "_selected_action": [m.pk for m in members[:2]]})
    assert response.status_code == 302
    assert set(vip.member_tags.values_list("member_id", flat=True)) == {members[2].pk}
    assert TagChange.objects.filter(action="removed", cause="manual").count() == 2


def test_tag_history_and_member_statistics_pages(operator, member, store, vip, now):
    intake.record_sale(sale=SaleInput(
        store_code=store.code, order_no="S-1", member_id=member.pk, ordered_at=now,
        lines=(LineInput(line_no=1, sku="TEA", quantity=1, gross_amount=Decimal("68.00")),)),
        now=now - timedelta(days=1))
    member_tags_add(tag_id=vip.pk, member_ids=[member.pk], cause="manual", now=now)
    history = operator.get(reverse("admin:members_tagchange_changelist"),
                           {"q": member.member_no})
    assert history.status_code == 200 and "VIP" in history.content.decode()
    page = operator.get(reverse("admin:members_member_change", args=[member.pk]))
    assert page.status_code == 200 and "68.00" in page.content.decode()
    for name in ("members_rfmrun_changelist", "members_rfmsegment_changelist",
                 "members_segment_changelist", "members_tagrule_changelist"):
        assert operator.get(reverse(f"admin:{name}")).status_code == 200, name


def test_tag_history_is_searched_like_the_member_list(operator, make_member, vip, now):
    """By member number, mobile or its last four digits — what an operator has at hand —
    and each row names the member by number, linked to the member's page."""
    wang, li = make_member(name="王芳"), make_member(name="李娜")
    member_tags_add(tag_id=vip.pk, member_ids=[wang.pk, li.pk], cause="manual", now=now)
    member_tags_remove(tag_id=vip.pk, member_ids=[li.pk], cause="manual", now=now)
    url = reverse("admin:members_tagchange_changelist")

    def found(term: str) -> list[tuple[int, str]]:
        response = operator.get(url, {"q": term})
        assert response.status_code == 200
        return sorted((c.member_id, c.action) for c in response.context["cl"].result_list)

    assert found(wang.member_no) == [(wang.pk, "added")]
    assert found(li.mobile) == [(li.pk, "added"), (li.pk, "removed")]
    assert found(li.mobile[-4:]) == [(li.pk, "added"), (li.pk, "removed")]
    assert found("13999999999") == [] and found("没有这个人") == []
    page = operator.get(url, {"q": wang.member_no}).content.decode()
    member_page = reverse("admin:members_member_change", args=[wang.pk])
    assert f"<a href='{member_page}'>{wang.member_no}</a>" in page


@pytest.mark.parametrize("role", ["clerks", "finance"])
def test_tagging_members_in_bulk_is_for_who_may_tag(client, django_user_model, make_member,
                                                    vip, role):
    """A clerk serves members at the counter and finance reads figures: neither may put a
    tag on members from the list or by import (both answered anyone who could open the
    list)."""
    from loyalty.roles import roles_sync

    user = django_user_model.objects.create_user(f"{role}-1", password="x", is_staff=True)
    user.groups.add(roles_sync()[role])
    client.force_login(user)
    member = make_member()

    imported = client.post(reverse("admin:members_member_import_tag"),
                           {"tag": vip.pk, "member_numbers": member.member_no})
    acted = client.post(reverse("admin:members_member_changelist"), {
        "action": "add_tag", "apply": "1", "tag": vip.pk, "_selected_action": [member.pk]})

    assert imported.status_code == 403
    if role == "clerks":
        assert acted.status_code == 403  # a clerk opens no admin page at all
    else:
        assert acted.status_code in (200, 302)  # the list answers "no such action"
    assert not vip.member_tags.exists()
