"""Coupons: the five kinds valued against a basket, fixed and rolling validity, generated and
uploaded codes, redeem once, void, expire as a batch, and the append-only history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from points.errors import PointsError
from points.models import Coupon, CouponEvent
from points.selectors.coupons import usable_coupons
from points.services.coupons import (
    coupon_issue,
    coupon_redeem,
    coupon_template_save,
    coupon_value,
    coupon_void,
    coupons_expire_due,
    coupons_upload,
)
from tests.points.catalog_helpers import basket, make_template

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.mark.parametrize("fields, amounts, shipping, expected", [
    ({"kind": "spend_save", "threshold": D("200"), "amount": D("30")}, ["250.00"], "0", "30.00"),
    ({"kind": "spend_save", "threshold": D("200"), "amount": D("30")}, ["150.00", "49.99"],
     "0", None),
    ({"kind": "percent_off", "threshold": D("0"), "amount": None, "percent_off": 10},
     ["99.99"], "0", "9.99"),
    ({"kind": "percent_off", "threshold": D("0"), "amount": None, "percent_off": 10,
      "max_discount": D("20")}, ["300.00"], "0", "20.00"),
    ({"kind": "free_shipping", "threshold": D("99"), "amount": None}, ["120.00"], "12.00", "12.00"),
    ({"kind": "free_shipping", "threshold": D("0"), "amount": None}, ["120.00"], "0", None),
    ({"kind": "product_voucher", "threshold": D("0"), "amount": None, "sku": "SKU-1"},
     ["90.00"], "0", "90.00"),
    ({"kind": "product_voucher", "threshold": D("0"), "amount": D("50"), "sku": "SKU-1"},
     ["90.00"], "0", "50.00"),
    ({"kind": "product_voucher", "threshold": D("0"), "amount": None, "sku": "TEA"},
     ["90.00"], "0", None),
    ({"kind": "no_threshold", "threshold": D("0"), "amount": D("10")}, ["6.50"], "0", "6.50"),
])
def test_what_each_kind_takes_off_a_basket(now, fields, amounts, shipping, expected):
    template = make_template(now, **fields)
    value, why = coupon_value(template=template, basket=basket(*amounts, shipping=shipping))
    if expected is None:
        assert value == 0 and why
    else:
        assert (value, why) == (D(expected), "")


def test_templates_refuse_inconsistent_terms(now):
    for bad in ({"kind": "spend_save", "threshold": D("20"), "amount": D("30")},
                {"kind": "no_threshold", "threshold": D("5"), "amount": D("10")},
                {"kind": "percent_off", "amount": None, "percent_off": 100},
                {"kind": "product_voucher", "sku": ""},
                {"valid_days": 30, "valid_until": now}):
        with pytest.raises(DatabaseError), transaction.atomic():
            make_template(now, **bad)


def test_rolling_and_fixed_validity(member, now):
    rolling = coupon_issue(template_id=make_template(now, valid_days=10).pk,
                           member_id=member.pk, now=now)
    assert (rolling.valid_from, rolling.valid_until) == (now, now + timedelta(days=10))
    start, end = now + timedelta(days=1), now + timedelta(days=31)
    fixed = coupon_issue(template_id=make_template(now, valid_from=start, valid_until=end).pk,
                         member_id=member.pk, now=now)
    assert (fixed.valid_from, fixed.valid_until) == (start, end)
    with pytest.raises(PointsError) as err:
        coupon_redeem(code=fixed.code, member_id=member.pk, basket=basket("300.00"),
                      order_no="O1", now=now)
    assert err.value.code.value == "coupon_not_yet_valid"
    assert len(rolling.code) == 12 and rolling.code != fixed.code


def test_a_template_whose_window_is_over_issues_nothing(member, now):
    template = make_template(now, valid_from=now - timedelta(days=9), valid_until=now)
    with pytest.raises(PointsError) as err:
        coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    assert err.value.code.value == "coupon_template_inactive"
    assert not Coupon.objects.exists()


def test_uploaded_codes_are_issued_from_the_pool_until_none_are_left(member, make_member, now):
    template = make_template(now, code_source="uploaded")
    assert coupons_upload(template_id=template.pk, codes=["vip-0001", " VIP-0002 ", ""],
                          now=now) == 2
    with pytest.raises(PointsError) as err:
        coupons_upload(template_id=template.pk, codes=["VIP-0002", "VIP-0003"], now=now)
    assert err.value.code.value == "coupon_code_taken"
    with pytest.raises(PointsError) as err:
        coupons_upload(template_id=template.pk, codes=["bad code!"], now=now)
    assert err.value.code.value == "coupon_code_invalid"
    assert Coupon.objects.count() == 2
    first = coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    second = coupon_issue(template_id=template.pk, member_id=make_member().pk, now=now)
    assert {first.code, second.code} == {"VIP-0001", "VIP-0002"}
    with pytest.raises(PointsError) as err:
        coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    assert err.value.code.value == "coupon_codes_exhausted"


def test_redeem_once_with_a_replay_and_the_history(member, now):
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk,
                          source_key="issue-1", now=now)
    assert coupon_issue(template_id=coupon.template_id, member_id=member.pk,
                        source_key="issue-1", now=now).pk == coupon.pk
    used = coupon_redeem(code=coupon.code.lower(), member_id=member.pk,
                         basket=basket("260.00"), order_no="O-1", now=now)
    assert (used.state, used.discount, used.order_no) == ("redeemed", D("30.00"), "O-1")
    replay = coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("260.00"),
                           order_no="O-1", now=now)
    assert replay.pk == coupon.pk
    with pytest.raises(PointsError) as err:
        coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("260.00"),
                      order_no="O-2", now=now)
    assert err.value.code.value == "coupon_not_usable"
    events = list(CouponEvent.objects.filter(member_id=member.pk).order_by("id")
                  .values_list("kind", "order_no", "discount"))
    assert events == [("issued", "", None), ("redeemed", "O-1", D("30.00"))]


@pytest.mark.parametrize("case, code", [
    ("another member's", "coupon_not_owned"),
    ("expired", "coupon_expired"),
    ("used", "coupon_not_usable"),
    ("voided", "coupon_not_usable"),
    ("below threshold", "coupon_not_applicable"),
    ("unknown code", "coupon_not_found"),
])
def test_refusals_change_nothing(member, make_member, now, case, code):
    coupon = coupon_issue(template_id=make_template(now, valid_days=5).pk, member_id=member.pk,
                          now=now)
    who, when, amount, code_sent = member.pk, now, "250.00", coupon.code
    if case == "another member's":
        who = make_member().pk
    elif case == "expired":
        when = now + timedelta(days=5)
    elif case == "used":
        coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("250.00"),
                      order_no="FIRST", now=now)
    elif case == "voided":
        coupon_void(code=coupon.code, reason="发错了", now=now)
    elif case == "below threshold":
        amount = "199.99"
    elif case == "unknown code":
        code_sent = "NOPE-NOPE"
    before = (list(Coupon.objects.values()), CouponEvent.objects.count())
    with pytest.raises(PointsError) as err:
        coupon_redeem(code=code_sent, member_id=who, basket=basket(amount), order_no="O-9",
                      now=when)
    assert err.value.code.value == code
    assert (list(Coupon.objects.values()), CouponEvent.objects.count()) == before


def test_void_needs_a_reason_and_an_unused_coupon(member, now):
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    with pytest.raises(PointsError):
        coupon_void(code=coupon.code, reason=" ", now=now)
    voided = coupon_void(code=coupon.code, reason="运营撤回", now=now)
    assert voided.state == "voided"
    with pytest.raises(PointsError):
        coupon_void(code=coupon.code, reason="again", now=now)
    event = CouponEvent.objects.select_related("note").get(coupon=coupon, kind="voided")
    assert (event.reason, event.note.text) == ("", "运营撤回")  # typed text: a note


def test_expiry_is_a_batch_over_chunks_and_a_rerun_does_nothing(member, make_member, now):
    template = make_template(now, valid_days=3)
    members = [member] + [make_member() for _ in range(4)]
    due = [coupon_issue(template_id=template.pk, member_id=m.pk, now=now) for m in members]
    fresh = coupon_issue(template_id=template.pk, member_id=member.pk,
                         now=now + timedelta(days=1))
    used = coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    coupon_redeem(code=used.code, member_id=member.pk, basket=basket("300"), order_no="U",
                  now=now)
    at = now + timedelta(days=3)
    assert coupons_expire_due(now=at, chunk=2) == 5
    assert coupons_expire_due(now=at, chunk=2) == 0
    assert set(Coupon.objects.filter(state="expired").values_list("pk", flat=True)) == {
        c.pk for c in due}
    assert Coupon.objects.get(pk=fresh.pk).state == "issued"
    assert Coupon.objects.get(pk=used.pk).state == "redeemed"
    expired_events = CouponEvent.objects.filter(kind="expired")
    assert {(e.coupon_id, e.member_id, e.created_at) for e in expired_events} == {
        (c.pk, c.member_id, at) for c in due}


def test_history_rows_cannot_be_edited_or_deleted(member, now):
    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    event = CouponEvent.objects.get(coupon=coupon)
    with pytest.raises(DatabaseError), transaction.atomic():
        CouponEvent.objects.filter(pk=event.pk).update(reason="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        CouponEvent.objects.filter(pk=event.pk).delete()


def test_usable_coupons_are_valued_best_first(member, now):
    small = coupon_issue(template_id=make_template(now, name="无门槛5元", kind="no_threshold",
                                                   threshold=D("0"), amount=D("5")).pk,
                         member_id=member.pk, now=now)
    big = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    far = coupon_issue(template_id=make_template(now, threshold=D("500"), amount=D("80")).pk,
                       member_id=member.pk, now=now)
    values = usable_coupons(member_id=member.pk, basket=basket("210.00"), now=now)
    assert [(v.coupon.pk, v.applicable, v.value) for v in values] == [
        (big.pk, True, D("30.00")), (small.pk, True, D("5.00")), (far.pk, False, D("0"))]
    assert values[2].why


def test_the_expiry_job_is_scheduled_and_runs_the_service(member, now):
    from django.conf import settings

    from points.tasks import expire_coupons

    assert settings.CELERY_BEAT_SCHEDULE["coupons-expire"]["task"] == "points.tasks.expire_coupons"
    coupon_issue(template_id=make_template(now, valid_days=1).pk, member_id=member.pk,
                 now=now - timedelta(days=400))
    assert expire_coupons() == 1


def test_an_expired_coupon_says_when_in_beijing_time(member, now):
    coupon = coupon_issue(template_id=make_template(now, valid_days=1).pk, member_id=member.pk,
                          now=now)  # 2026-03-14 10:30 Beijing
    with pytest.raises(PointsError) as err:
        coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("300"),
                      order_no="LATE", now=now + timedelta(days=2))
    assert err.value.params == {"valid_until": "2026-03-15 10:30"}


def test_a_frozen_member_cannot_use_a_coupon(member, now):
    from members.services.members import member_set_status

    coupon = coupon_issue(template_id=make_template(now).pk, member_id=member.pk, now=now)
    member_set_status(member_id=member.pk, status="frozen", now=now)
    with pytest.raises(PointsError) as err:
        coupon_redeem(code=coupon.code, member_id=member.pk, basket=basket("300"),
                      order_no="F", now=now)
    assert err.value.code.value == "member_frozen"
    assert Coupon.objects.get(pk=coupon.pk).state == "issued"


def test_a_template_with_coupons_cannot_be_repriced(member, now):
    """Issued coupons keep their terms: once a coupon is issued the service refuses a new
    amount or validity, and still saves a new name or switching the template off."""
    template = make_template(now)
    edited = type(template).objects.get(pk=template.pk)
    edited.amount = Decimal("50.00")
    coupon_template_save(template=edited, now=now)  # no coupons yet: re-priced
    coupon_issue(template_id=template.pk, member_id=member.pk, now=now)
    edited.amount, edited.valid_days = Decimal("80.00"), 60
    with pytest.raises(PointsError) as err:
        coupon_template_save(template=edited, now=now)
    assert err.value.code.value == "coupon_template_terms_fixed"
    assert "amount" in err.value.message and "valid_days" in err.value.message
    fresh = type(template).objects.get(pk=template.pk)
    assert (fresh.amount, fresh.valid_days) == (Decimal("50.00"), 30)
    fresh.name, fresh.is_active = "满200减50", False
    coupon_template_save(template=fresh, now=now)
    assert type(template).objects.get(pk=template.pk).name == "满200减50"
