"""The demo catalog: what a first look at the product shows, created once however often the
run command starts."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.utils import timezone

from loyalty.management.commands.demo_data import Command
from loyalty.models import ApiKey
from members.models import Member, StoreStaff
from points.models import CouponTemplate, PartnerProgramme, Reward
from tiers.benefit_models import BenefitAttachment

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (CouponTemplate.objects.count(), Reward.objects.count(),
            BenefitAttachment.objects.count(), PartnerProgramme.objects.count())


def test_the_demo_catalog_is_created_once():
    Command().catalog(timezone.now())
    first = counts()
    assert first == (3, 3, 12, 1)
    Command().catalog(timezone.now())
    assert counts() == first
    gold = {a.benefit.code: a for a in BenefitAttachment.objects.filter(tier__code="gold")}
    assert gold["member-price"].discount_rate == Decimal("0.95")
    assert gold["monthly-shipping"].benefit.coupon_template.name == "包邮券"


def test_the_demo_refuses_to_run_with_debug_off_unless_forced():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--force"):
        call_command("demo_data")
    assert not Member.objects.exists()


def demo_already_loaded():
    """Members as the demo names them, so that a forced run skips the slow part."""
    return Member.objects.create(member_no="D1", external_id="demo-0", created_at=timezone.now(),
                                 updated_at=timezone.now())


def test_a_forced_run_keeps_passwords_and_keys_it_did_not_make(django_user_model):
    from django.core.management import call_command

    from loyalty.services import api_key_create

    demo_already_loaded()
    call_command("demo_data", "--force", stdout=StringIO())
    operator = django_user_model.objects.get(username="operator")
    operator.set_password("Changed-By-Its-Owner-2026")
    operator.save()
    storefront, _plaintext = api_key_create(name="storefront", scopes=["members:read"],
                                            owner_id=operator.pk)
    demo_key = ApiKey.objects.get(name="demo storefront")

    out = StringIO()
    call_command("demo_data", "--force", stdout=out)

    operator.refresh_from_db()
    assert operator.check_password("Changed-By-Its-Owner-2026")
    assert "operator-demo-2026" not in out.getvalue()
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert set(ApiKey.objects.values_list("pk", flat=True)) == {storefront.pk, demo_key.pk}


def test_the_demo_prints_a_login_per_role_and_binds_the_clerk_to_two_stores():
    from django.core.management import call_command

    demo_already_loaded()
    out = StringIO()
    call_command("demo_data", "--force", stdout=out)
    text = out.getvalue()
    for username in ("progadmin", "operator", "clerk", "finance"):
        assert f"user {username}" in text
    assert sorted(StoreStaff.objects.filter(user__username="clerk")
                  .values_list("store__code", flat=True)) == ["SH001", "SH002"]
    assert ApiKey.objects.get(name="demo storefront").owner.username == "progadmin"
