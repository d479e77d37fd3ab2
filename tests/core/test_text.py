"""Text people type refuses control and format characters (core.text, core.fields): in the
admin's forms, through the models, and in the API."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from core.fields import MultiLineCharField, MultiLineTextField, OneLineField
from core.text import CONTROL, multiline_text, one_line_text, whole_number
from members.models import Member, Store, Tag
from tests.admin_forms import form_data

REFUSED = ["\u202e", "\u202d", "\u200e", "\u200f", "\u2066", "\u061c", "\u200b", "\ufeff",
           "\u00ad", "\u2028", "\u2029", "\r", "\n", "\t", "\x00", "\x1b", "\x7f", "\x85"]


@pytest.mark.parametrize("char", REFUSED)
def test_one_line_text_refuses_control_and_format_characters(char):
    with pytest.raises(ValidationError) as refused:
        one_line_text(f"王芳{char}")
    assert refused.value.code == "control_characters"
    assert f"U+{ord(char):04X}" in refused.value.messages[0]


@pytest.mark.parametrize("text", ["王芳", "Café au lait", "  spaced  ", "👨\u200d👩\u200d👧",
                                  "می\u200cخواهم", "=1+1", "", "\u3000全角空格"])
def test_one_line_text_lets_names_through(text):
    one_line_text(text)  # no error


def test_multi_line_text_allows_line_feeds_only():
    multiline_text("第一行\n第二行\r\n第三行")
    for char in ("\t", "\u202e", "\x00", "\u2028", "\x0b"):
        with pytest.raises(ValidationError):
            multiline_text(f"第一行\n{char}")


def test_the_character_set_is_one_for_python_and_the_schema():
    """Every character the validators refuse is in the class the API schema publishes, and
    the reverse (the basic plane, Unicode's categories Cc, Cf, Zl, Zp, less ZWNJ and ZWJ)."""
    import re
    import unicodedata

    published = re.compile(f"[{CONTROL}]")
    for code in range(0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        expected = (unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")
                    and char not in "\u200c\u200d")
        assert bool(published.match(char)) == expected, f"U+{code:04X}"


def test_whole_numbers_are_ascii_digits_only():
    assert whole_number("42") == 42 and whole_number("0") == 0
    for text in ("²", "١٢", "４２", "-1", "1.0", " 1", "", None, "1" * 19):
        assert whole_number(text) is None
    assert whole_number("1001", maximum=1000) is None


# Columns the programme writes itself, never typed by a person.
MACHINE_TEXT = {
    "members.Member.member_no", "members.Member.mobile", "members.Order.fingerprint",
    "members.MemberActivity.source_key", "members.AccessEvent.subject",
    "members.SegmentSnapshot.expression", "members.TagImportRow.member_no",
    "members.RfmSegment.code", "members.MemberStats.rfm_segment",
    "members.SegmentFacts.region", "members.SegmentFacts.status", "members.SegmentFacts.gender",
    "members.SegmentFacts.source_channel", "members.TagImportJob.error",
    "points.Coupon.source_key", "points.PointsEntry.source_key",
    "points.RewardRedemption.source_key", "points.RuleAward.detail",
    "points.PointsMonthTotal.kind", "tiers.BenefitGrant.period",
    "campaigns.Lottery.seed", "campaigns.Lottery.commitment", "campaigns.LotteryDraw.value",
    "campaigns.LotteryDraw.draw_id", "campaigns.LotteryEntryGrant.source_key",
    "campaigns.TaskCompletion.period", "tiers.BenefitUse.source_key",
    "tiers.GrowthEntry.source_key", "loyalty.ApiKey.prefix", "loyalty.ApiKey.hashed_key",
    "loyalty.IdempotencyRecord.key", "loyalty.IdempotencyRecord.request_hash",
    "loyalty.CheckoutCommit.key", "loyalty.CheckoutCommit.request_hash",
    "loyalty.Heartbeat.name", "loyalty.MemberCodeUse.nonce",
    "loyalty.WebhookSubscription.secret", "loyalty.WebhookSubscription.previous_secret",
    "loyalty.WebhookDelivery.event_key", "loyalty.WebhookDelivery.event_type",
    "loyalty.WebhookDelivery.last_response", "loyalty.WebhookDelivery.last_error",
    "members.BatchRun.job", "members.BatchRun.run_key",
    "campaigns.FeedCursor.name", "campaigns.FeedCursor.source",
    "campaigns.CampaignGift.occasion", "campaigns.Message.occasion", "campaigns.CampaignRun.key",
    "campaigns.CampaignRun.occasion", "campaigns.CampaignMember.occasion",
    "points.StoredValueEntry.source_key", "points.StoredValueEntry.request_hash",
    "points.GiftCard.code", "points.GiftCard.pin_hash", "points.GiftCardEntry.source_key",
    "points.GiftCardEntry.request_hash", "points.PointsTransfer.key",
    "loyalty.DashboardFact.key",
    # a touch as rendered from its template and sent
    "campaigns.OutboxMessage.recipient", "campaigns.OutboxMessage.body",
    # the system's label on an append-only row; what people type is in a MemberNote
    "points.PointsEntry.reason", "points.CouponEvent.reason",
}


def test_every_text_field_people_type_refuses_control_characters():
    """A text column added later is either typed by people — then it is a OneLineField or a
    multi-line one (or a SlugField, which allows no such character) — or listed above."""
    unchecked = []
    for config in apps.get_app_configs():
        if config.label not in ("members", "points", "tiers", "campaigns", "loyalty"):
            continue
        for model in config.get_models():
            for field in model._meta.get_fields():
                if not isinstance(field, (models.CharField, models.TextField)):
                    continue
                name = f"{config.label}.{model.__name__}.{field.name}"
                if (field.choices or isinstance(field, (models.SlugField, OneLineField,
                                                        MultiLineCharField, MultiLineTextField))
                        or name in MACHINE_TEXT or isinstance(field, models.GeneratedField)):
                    continue
                base = getattr(field, "base_field", None)
                if base is not None and (base.choices or isinstance(base, OneLineField)):
                    continue
                if one_line_text in field.validators:
                    continue  # RegionField
                unchecked.append(name)
    assert unchecked == []


def test_the_admin_refuses_a_bidi_override_in_a_store_name(admin_client, db):
    response = admin_client.post(reverse("admin:members_store_add"), {
        "code": "SH009", "name": "上海\u202e店", "kind": "physical", "region": "上海",
        "is_active": "on"})
    assert response.status_code == 200
    assert "请删除不可见字符或控制字符" in response.content.decode()
    assert "U+202E" in response.content.decode()
    assert not Store.objects.filter(code="SH009").exists()


def test_the_admin_refuses_a_line_break_in_a_tag_name_but_keeps_it_in_its_description(
        admin_client, db):
    url = reverse("admin:members_tag_add")
    refused = admin_client.post(url, {"code": "vip", "name": "VIP\r\n会员", "kind": "manual",
                                      "description": "", "is_active": "on"})
    assert refused.status_code == 200 and "U+000A" in refused.content.decode()
    assert not Tag.objects.filter(code="vip").exists()
    saved = admin_client.post(url, {"code": "vip", "name": "VIP", "kind": "manual",
                                    "description": "第一行\r\n第二行", "is_active": "on"})
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    assert Tag.objects.get(code="vip").description == "第一行\n第二行"


def test_the_member_page_refuses_a_direction_mark_in_a_name(admin_client, member):
    url = reverse("admin:members_member_change", args=[member.pk])
    data = form_data(admin_client.get(url).content.decode(), "member_form", name="王\u200f芳")
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "U+200F" in response.content.decode()
    member.refresh_from_db()
    assert member.name != "王\u200f芳"
    saved = admin_client.post(url, {**data, "name": "王芳"})  # the same form, name fixed
    assert saved.status_code == 302
    member.refresh_from_db()
    assert member.name == "王芳"


@pytest.mark.parametrize("name", ["王\u202e芳", "王\n芳", "王\x00芳"])
def test_the_api_refuses_control_characters_in_a_name(name, db):
    from loyalty.api.fields import Text

    field = Text(max_length=64, blank=True)
    from rest_framework.exceptions import ValidationError as ApiValidationError

    with pytest.raises(ApiValidationError) as refused:
        field.run_validation(name)
    assert refused.value.detail[0].code == "control_characters"
    assert Member.objects.count() == 0
