"""Mobile numbers in query strings never reach a log: the development server's request
line, anything a handler writes, and gunicorn's access log (a real gunicorn, real requests:
an API lookup and an admin search, with the search page as referer)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from config.log_filters import mask_queries, mask_query_string

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("text", "masked"), [
    ("GET /api/v1/members/lookup?mobile=13800138000 HTTP/1.1",
     "GET /api/v1/members/lookup?mobile=138****8000 HTTP/1.1"),
    ("GET /admin/members/member/?q=1380013 HTTP/1.1", "GET /admin/members/member/?q=138**** HTTP/1.1"),
    ("/x?mobile=%2B8613800138000&a=1", "/x?mobile=138****8000&a=1"),
    ("/x?mobile=+8613912345678", "/x?mobile=139****5678"),
    ("/x?q=%E5%BC%A0&p=2&o=-1", "/x?q=%E5%BC%A0&p=2&o=-1"),       # nothing to mask
    ("/x?q=5678", "/x?q=5678"),                                   # last four digits alone
    ("/x?order=202603141234567", "/x?order=202603141234567"),     # not a mobile
    ("/members/13800138000/", "/members/13800138000/"),           # paths are not queries
])
def test_mobiles_in_query_strings_are_masked(text, masked):
    assert mask_queries(text) == masked


def test_a_bare_query_string_is_masked():
    assert mask_query_string("q=13800138000&p=2") == "q=138****8000&p=2"


def _through(logger_name: str, msg: str, args: tuple, **extra) -> str:
    handler = logging.getLogger(logger_name).handlers[0]
    record = logging.LogRecord(logger_name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    record.request_id = "-"
    assert handler.filter(record)
    return handler.format(record)


def test_the_configured_handlers_mask_query_strings():
    line = _through("django.server", '"%s" %s %s',
                    ("GET /admin/members/member/?q=13800138000 HTTP/1.1", "200", "512"),
                    status_code=200, server_time="now")
    assert "13800138000" not in line and "?q=138****8000" in line
    line = _through("django", "Lookup for %s", ("/api/v1/members/lookup?mobile=13912345678",))
    assert "13912345678" not in line and "139****5678" in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **headers) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db
def test_gunicorn_access_log_masks_mobiles(tmp_path):
    port = _free_port()
    log = tmp_path / "access.log"
    db_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "ALLOWED_HOSTS": "127.0.0.1", "GUNICORN_ACCESS_LOG": str(log)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "config.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("gunicorn did not start") from None
                time.sleep(0.2)
        search = f"{base}/admin/members/member/?q=13800138000"
        assert _get(f"{base}/api/v1/members/lookup?mobile=%2B8613912345678") == 401
        _get(search)  # redirected to the login page
        _get(f"{base}/admin/login/?next=/admin/", Referer=search)
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=20)
    text = log.read_text()
    assert "/api/v1/members/lookup?mobile=139****5678" in text
    assert "/admin/members/member/?q=138****8000" in text
    assert "13800138000" not in text and "13912345678" not in text, text
