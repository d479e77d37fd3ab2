"""The demo's way in (a login per role, the storefront key kept between runs), its catalog,
and a database that holds other members: no demo is loaded into it."""

from __future__ import annotations

import io
import os
import stat
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from loyalty import roles
from loyalty.demo.access import CHANGED, DEMO_KEY_NAME, LOGINS, demo_api_key, demo_logins
from loyalty.demo.catalog import demo_catalog
from loyalty.management.commands.demo_data import banner
from loyalty.models import ApiKey
from loyalty.services.api_keys import api_key_lookup, api_key_revoke
from members.models import Member
from points.models import CouponTemplate, PartnerProgramme, Reward
from tiers.defaults import ensure_default_ladder
from tiers.models.benefits import BenefitAttachment

pytestmark = pytest.mark.django_db


def test_a_database_with_other_members_gets_no_demo(make_member):
    make_member()
    out = io.StringIO()
    call_command("demo_data", force=True, stdout=out)
    assert "none was added" in out.getvalue()
    assert Member.objects.count() == 1


# --- the catalog ----------------------------------------------------------------------------

def counts() -> tuple[int, int, int, int]:
    return (CouponTemplate.objects.count(), Reward.objects.count(),
            BenefitAttachment.objects.count(), PartnerProgramme.objects.count())


def test_the_demo_catalog_is_created_once():
    ensure_default_ladder()  # the reference ladder (a data migration)
    demo_catalog(timezone.now())
    first = counts()
    assert first == (3, 3, 14, 1)
    demo_catalog(timezone.now())
    assert counts() == first
    gold = {a.benefit.code: a for a in BenefitAttachment.objects.filter(tier__code="gold")}
    assert gold["member-price"].discount_rate == Decimal("0.95")
    assert gold["monthly-shipping"].benefit.coupon_template.name == "包邮券"


# --- logins and the API key -------------------------------------------------------------------

def test_every_role_gets_a_login_and_a_changed_password_is_kept(settings):
    roles.roles_sync()
    demo_logins()
    User = get_user_model()
    assert {u.username for u in User.objects.filter(is_staff=True)} == {
        login.username for login in LOGINS}
    operator = User.objects.get(username="operator")
    operator.set_password("changed-by-the-owner")
    operator.save()
    for debug in (False, True):
        settings.DEBUG = debug
        shown = {login.username: login.password for login in demo_logins()}
        operator.refresh_from_db()
        assert operator.check_password("changed-by-the-owner")
        assert shown["operator"] == CHANGED and shown["clerk"] == "clerk-demo-2026"


@pytest.fixture
def key_setup(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    roles.roles_sync()
    demo_logins()
    return tmp_path / "var" / "demo-api-key"


def test_the_demo_key_is_kept_in_a_private_file_and_reused(settings, key_setup):
    settings.DEBUG = True
    first = demo_api_key()
    assert not first.reused and key_setup.read_text().strip() == first.plaintext
    assert stat.S_IMODE(os.stat(key_setup).st_mode) == 0o600
    again = demo_api_key()
    assert again.reused and again.plaintext == first.plaintext
    assert api_key_lookup(first.plaintext) is not None  # still live
    assert ApiKey.objects.filter(name=DEMO_KEY_NAME).count() == 1
    api_key_revoke(key_id=api_key_lookup(first.plaintext).pk)
    replaced = demo_api_key()
    assert not replaced.reused and replaced.plaintext != first.plaintext
    assert key_setup.read_text().strip() == replaced.plaintext


def test_without_debug_the_key_is_not_written_and_a_live_one_is_kept(settings, key_setup):
    settings.DEBUG = False
    first = demo_api_key()
    assert first.plaintext and not key_setup.exists()
    again = demo_api_key()
    assert again.plaintext is None and again.reused
    assert ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).count() == 1


def test_the_banner_lists_every_login_the_urls_and_the_key(settings, key_setup):
    settings.DEBUG = True
    key = demo_api_key()
    text = banner(LOGINS, key, "http://127.0.0.1:8801")
    for login in LOGINS:
        assert f"{login.username:<9} {login.password}" in text
    for path in ("/admin/", "/api/v1/", "/api/docs/", "/healthz"):
        assert f"http://127.0.0.1:8801{path}" in text
    assert key.plaintext in text and str(key_setup) in text
    clerk = next(line for line in text.splitlines() if " clerk " in line)
    assert "/counter/" in clerk  # clerks work at the counter, not in the admin
