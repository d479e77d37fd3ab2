"""POST /members/{id}/tags, DELETE /members/{id}/tags/{code}, and the segment membership
checks GET /segments/{code}/members/{id} and …/snapshots/{id}/members/{id}."""

from __future__ import annotations

import pytest

from members.models import MemberTag, Segment, SegmentFacts, Tag, TagChange
from members.services.segments import segment_definition_store, segment_snapshot_take
from members.services.tags import member_tags_add

from .conftest import API, client_for, error_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(db) -> Tag:
    return Tag.objects.create(code="vip", name="VIP")


def test_add_and_remove_a_manual_tag(api, member, vip):
    url = f"{API}/members/{member.pk}/tags"
    first = api.post(url, {"tag": "vip"}, format="json")
    again = api.post(url, {"tag": "vip"}, format="json")
    assert first.status_code == again.status_code == 200
    assert (first.json()["changed"], again.json()["changed"]) == (True, False)
    assert again.json()["tags"].count("vip") == 1
    assert SegmentFacts.objects.get(pk=member.pk).tag_ids.count(vip.pk) == 1

    gone = api.delete(f"{url}/vip")
    assert gone.status_code == 204 and gone.content == b""
    assert api.delete(f"{url}/vip").status_code == 204  # already off: the same answer
    assert not MemberTag.objects.filter(member=member, tag=vip).exists()
    assert list(TagChange.objects.filter(member_id=member.pk, tag_id=vip.pk)
                .values_list("action", "cause")) == [("added", "api"), ("removed", "api")]


def test_rule_tags_and_unknown_tags_are_refused(api, member):
    Tag.objects.create(code="big", name="big", kind=Tag.Kind.RULE)
    url = f"{API}/members/{member.pk}/tags"
    refused = api.post(url, {"tag": "big"}, format="json")
    assert refused.status_code == 409 and error_code(refused) == "tag_not_manual"
    assert api.delete(f"{url}/big").status_code == 409
    unknown = api.post(url, {"tag": "nope"}, format="json")
    assert unknown.status_code == 404 and error_code(unknown) == "tag_not_found"
    assert not MemberTag.objects.filter(member=member).exclude(tag__kind="system").exists()


def test_tag_writes_need_the_write_scope(make_key, member, vip):
    reader = client_for(make_key(["members:read"])[1])
    response = reader.post(f"{API}/members/{member.pk}/tags", {"tag": "vip"}, format="json")
    assert response.status_code == 403
    assert not MemberTag.objects.filter(tag=vip).exists()


def test_segment_membership_live_and_in_a_snapshot(api, make_member, vip, now):
    a, b = make_member(), make_member()
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk], now=now)
    segment = Segment.objects.create(code="vips", name="VIP", expression="tag:vip")
    snapshot = segment_snapshot_take(segment_id=segment.pk, now=now)
    member_tags_add(tag_id=vip.pk, member_ids=[b.pk], now=now)

    def live(member):
        return api.get(f"{API}/segments/vips/members/{member.pk}").json()

    def frozen(member):
        return api.get(f"{API}/segments/vips/snapshots/{snapshot.pk}/members/{member.pk}").json()

    assert live(a) == {"segment": "vips", "member": a.pk, "snapshot": None, "member_of": True}
    assert live(b)["member_of"] is True
    assert frozen(a)["member_of"] is True and frozen(b)["member_of"] is False
    other = Segment.objects.create(code="other", name="o", expression="tag:vip")
    response = api.get(f"{API}/segments/other/snapshots/{snapshot.pk}/members/{a.pk}")
    assert response.status_code == 404 and error_code(response) == "snapshot_not_found"
    missing = api.get(f"{API}/segments/nope/members/{a.pk}")
    assert missing.status_code == 404 and error_code(missing) == "segment_not_found"
    assert other.pk


def test_membership_reads_the_stored_form_after_a_tag_is_renamed(api, make_member, vip, now):
    a, b = make_member(region="上海"), make_member(region="北京")
    member_tags_add(tag_id=vip.pk, member_ids=[a.pk, b.pk], now=now)
    kept = segment_definition_store(expression="tag:VIP and region:上海市")
    assert kept == f"tag:#{vip.pk} and region:上海市"
    Segment.objects.create(code="vips-sh", name="上海贵宾", expression=kept)
    Tag.objects.filter(pk=vip.pk).update(code="gold-guest", name="贵宾")

    def live(member):
        return api.get(f"{API}/segments/vips-sh/members/{member.pk}").json()["member_of"]

    assert live(a) is True and live(b) is False
