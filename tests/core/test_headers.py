"""Response headers: the Content-Security-Policy on every page (a fresh nonce each time, and
every inline script of ours carrying it), `Cache-Control: no-store` on every answer of the
versioned API, and HSTS preloading off unless asked for."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from loyalty.models import Scope
from loyalty.services.api_keys import api_key_create
from members.models import Segment

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
}
NONCE = re.compile(r"^'nonce-([A-Za-z0-9+/=]{16,})'$")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", re.I)

pytestmark = pytest.mark.django_db


def policy(response) -> tuple[dict[str, list[str]], str]:
    """The policy's directives, and the nonce its script-src names."""
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, header
        directives[name] = sources
    script = directives.pop("script-src")
    # the console's pages (/admin/) also allow 'unsafe-eval' for Alpine.js (config.settings)
    admin = response.wsgi_request.path_info.startswith("/admin/")
    assert script[0] == "'self'" and len(script) == 2 + admin, header
    assert ("'unsafe-eval'" in script) == admin, header
    match = NONCE.match(script[1])
    assert match, header
    return directives, match.group(1)


def test_every_page_has_the_policy_with_a_fresh_nonce(client):
    first = client.get("/admin/login/")
    second = client.get("/admin/login/")
    directives, nonce = policy(first)
    assert directives == EXPECTED
    assert policy(second)[1] != nonce
    docs = client.get("/api/docs/")
    assert policy(docs)[0] == EXPECTED
    assert "'unsafe-eval'" not in docs["Content-Security-Policy"]
    assert "'unsafe-eval'" not in client.get("/counter/")["Content-Security-Policy"]
    assert "'unsafe-eval'" in first["Content-Security-Policy"]


def test_our_inline_scripts_carry_the_nonce(client):
    """The segment page's live count and beat's schedule page run inline scripts: each has
    the nonce of its own response (else the browser would refuse to run it)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    client.force_login(User.objects.create_superuser("root", password="x"))
    segment = Segment.objects.create(code="women", name="女性会员", expression="gender:female")
    task = PeriodicTask.objects.create(
        name="t", task="loyalty.tasks.health_heartbeat",
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES))
    for url in (f"/admin/members/segment/{segment.pk}/change/",
                f"/admin/django_celery_beat/periodictask/{task.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        _directives, nonce = policy(response)
        scripts = INLINE_SCRIPT.findall(response.content.decode())
        assert scripts, url
        for attributes in scripts:
            assert f'nonce="{nonce}"' in attributes, (url, attributes)


def test_the_api_docs_run_no_inline_script_and_load_everything_from_here(client):
    html = client.get("/api/docs/").content.decode()
    assert not INLINE_SCRIPT.findall(html)
    sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/"), source  # this site (the sidecar's static files)
        assert not source.startswith("//"), source
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.fixture
def api_key():
    owner = User.objects.create_user("owner", password="x", is_staff=True)
    return api_key_create(name="k", scopes=[Scope.MEMBERS_READ.value], owner_id=owner.pk)[1]


def test_every_api_answer_is_not_stored(client, api_key, member):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    answers = {
        "member": api.get(f"/api/v1/members/{member.pk}"),
        "not found": api.get("/api/v1/members/999999999"),
        "no such path": api.get("/api/v1/nowhere"),
        "no key": APIClient().get(f"/api/v1/members/{member.pk}"),
        "too large": api.generic("POST", "/api/v1/members", "x" * 3_000_000,
                                 content_type="application/json"),
    }
    assert answers["member"].status_code == 200
    for name, response in answers.items():
        assert response["Cache-Control"] == "no-store", name
    # the schema and the docs carry no personal data
    assert "no-store" not in client.get("/api/schema/").get("Cache-Control", "")


def _production_setting(name: str, **env) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0",
                   "SECRET_KEY": secrets.token_urlsafe(50), **env}
    environment.pop("SECURE_HSTS_PRELOAD", None)
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def test_hsts_preload_is_off_unless_asked_for():
    assert _production_setting("SECURE_HSTS_PRELOAD") == "False"
    assert _production_setting("SECURE_HSTS_SECONDS") == "31536000"
    assert _production_setting("SECURE_HSTS_PRELOAD", SECURE_HSTS_PRELOAD="1") == "True"
