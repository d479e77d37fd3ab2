"""The admin for tag rules, tag history, imports and segments (members.insight_admin)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loyalty import intake
from members.models import (
    MemberTag,
    Segment,
    SegmentSnapshot,
    Tag,
    TagChange,
    TagCondition,
    TagRule,
)
from members.services import LineInput, SaleInput, member_tags_add, member_tags_remove


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
    assert operator.get(url, {"expression": "tag:vip"}).json() == {"count": 1}
    assert operator.get(url, {"expression": "not tag:vip"}).json() == {"count": 1}
    wrong = operator.get(url, {"expression": "tag:vip and ("})
    assert wrong.status_code == 400 and "too early" in wrong.json()["error"]


def test_segment_form_refuses_a_bad_definition(operator, db):
    response = operator.post(reverse("admin:members_segment_add"), {
        "name": "x", "code": "x", "expression": "gender:robot", "description": "",
        "snapshots-TOTAL_FORMS": "0", "snapshots-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    assert "robot" in response.content.decode()
    assert not Segment.objects.exists()


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


def test_import_tags_members_by_number_and_lists_the_unknown(operator, make_member, vip):
    a, b = make_member(), make_member()
    upload = SimpleUploadedFile("numbers.csv", f"{b.member_no}\n".encode())
    response = operator.post(reverse("admin:members_member_import_tag"), {
        "tag": vip.pk, "member_numbers": f"{a.member_no}, 0099999999", "file": upload})
    body = response.content.decode()
    assert response.status_code == 200 and "0099999999" in body
    assert set(vip.member_tags.values_list("member_id", flat=True)) == {a.pk, b.pk}
    assert set(TagChange.objects.values_list("cause", flat=True)) == {"import"}


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
    """A clerk serves members and finance reads figures: neither may put a tag on members
    from the list or by import (both answered anyone who could open the list)."""
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
    assert acted.status_code in (200, 302)  # the list answers "no such action"
    assert not vip.member_tags.exists()
