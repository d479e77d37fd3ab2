"""Guessing is stopped: admin logins lock out per account and per address (wrong API keys:
tests/loyalty/api/test_key_throttle.py), staff sessions end when idle, production needs a
shared cache and a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import checks
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def try_login(username: str, password: str, address: str) -> int:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("admin:login"), {"username": username,
                                                     "password": password})
    return response.status_code


def test_fifty_wrong_passwords_lock_the_account(django_user_model):
    django_user_model.objects.create_user("operator", password="Right-Pass-2026",
                                          is_staff=True)
    answers = [try_login("operator", f"guess-{n}", "198.51.100.7") for n in range(50)]
    limit = settings.AXES_FAILURE_LIMIT
    assert answers[:limit - 1] == [200] * (limit - 1)  # the form again, with an error
    assert set(answers[limit:]) == {429}
    locked = Client(REMOTE_ADDR="198.51.100.7").post(
        reverse("admin:login"), {"username": "operator", "password": "Right-Pass-2026"})
    assert "登录已锁定" in locked.content.decode() and int(locked["Retry-After"]) > 0
    # the right password no longer opens it, from this address or another one
    assert try_login("operator", "Right-Pass-2026", "198.51.100.7") == 429
    assert try_login("operator", "Right-Pass-2026", "203.0.113.5") == 429


def test_one_address_trying_many_accounts_is_locked_out(django_user_model):
    django_user_model.objects.create_user("finance", password="Right-Pass-2026",
                                          is_staff=True)
    for n in range(settings.AXES_FAILURE_LIMIT):
        try_login(f"user{n}", "guess", "198.51.100.8")
    assert try_login("finance", "Right-Pass-2026", "198.51.100.8") == 429
    assert try_login("finance", "Right-Pass-2026", "203.0.113.6") == 302  # elsewhere: fine


def test_a_staff_session_ends_after_the_idle_timeout(admin_client):
    assert settings.SESSION_COOKIE_AGE == 2 * 60 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    assert admin_client.get(reverse("admin:index")).status_code == 200
    session = Session.objects.get()
    assert abs(session.expire_date - timezone.now() - timedelta(hours=2)) < timedelta(minutes=1)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))  # 2 h idle
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_deploy_check_requires_a_shared_cache():
    errors = [e.id for e in checks.run_checks(include_deployment_checks=True,
                                              tags=[checks.Tags.caches])]
    assert "loyalty.E001" in errors
    redis = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                         "LOCATION": "redis://127.0.0.1:6379/0"}}
    with override_settings(CACHES=redis):
        errors = [e.id for e in checks.run_checks(include_deployment_checks=True,
                                                  tags=[checks.Tags.caches])]
    assert "loyalty.E001" not in errors


def test_production_refuses_to_start_without_a_database_url():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "LOYALTY_EMBEDDED_DB", "DEBUG")}
    env.update({"DEBUG": "0", "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings"})
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
