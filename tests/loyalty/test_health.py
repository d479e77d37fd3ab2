"""/healthz (the load balancer's probe), /healthz/detail, and the heartbeats of a real Celery
worker and beat against Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from loyalty import health
from loyalty.models import Heartbeat
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(client, db, monkeypatch):
    from loyalty import health

    class Unreachable:
        def cursor(self):
            raise RuntimeError("connection refused")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert int(response["Retry-After"]) > 0


def test_healthz_gives_up_on_a_slow_database_within_its_timeout(client, db, monkeypatch):
    monkeypatch.setattr(health, "PROBE_SQL", "SELECT 1 FROM pg_sleep(10)")
    started = time.monotonic()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert time.monotonic() - started < 5


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["loyalty.example.com"])
def test_healthz_answers_over_plain_http_whatever_the_host(client, db):
    """A balancer probes each instance by its address, over HTTP: neither the HTTPS redirect
    nor the host check decides the probe's answer (the rest of the site keeps both)."""
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.head("/healthz", HTTP_HOST="10.0.0.7").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="loyalty.example.com").status_code == 301
    assert client.get("/admin/login/", HTTP_HOST="10.0.0.7").status_code == 400


def test_healthz_is_decided_by_the_database_alone(client, db, monkeypatch):
    monkeypatch.setattr(health, "broker_ok", lambda: False)
    Heartbeat.objects.all().delete()  # no worker, no beat
    assert client.get("/healthz").status_code == 200


# --- /healthz/detail --------------------------------------------------------------------------
def test_detail_refuses_anyone_without_a_staff_session_or_the_token(client, db):
    response = client.get("/healthz/detail")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    client.force_login(User.objects.create_user("someone", password="x"))  # not staff
    assert client.get("/healthz/detail").status_code == 403


def test_detail_for_staff_reports_each_part_with_its_age(client, db):
    now = timezone.now()
    health.heartbeat_record("worker", now=now - timedelta(seconds=30))
    health.heartbeat_record("beat", now=now - timedelta(seconds=121))  # interval 60 s
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    body = client.get("/healthz/detail").json()
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "ok"  # the filesystem transport
    assert body["worker"]["status"] == "ok"
    assert 30 <= body["worker"]["age_seconds"] < 40
    assert body["beat"]["status"] == "stale"
    assert body["beat"]["age_seconds"] >= 121
    assert body["status"] == "stale"
    Heartbeat.objects.filter(name="beat").delete()
    body = client.get("/healthz/detail").json()
    assert body["beat"] == {"status": "error", "age_seconds": None}  # never seen
    assert body["status"] == "error"


def test_detail_reports_an_unreachable_broker(client, db, monkeypatch):
    from celery import current_app

    monkeypatch.setitem(current_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))
    body = client.get("/healthz/detail").json()
    assert body["broker"]["status"] == "error"
    assert body["database"]["status"] == "ok"


@override_settings(HEALTH_PROBE_TOKEN="probe-" + "s3cret" * 4)
def test_detail_answers_the_probe_token_and_nothing_like_it(client, db):
    token = "probe-" + "s3cret" * 4
    ok = client.get("/healthz/detail", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200
    assert set(ok.json()) >= {"status", "database", "broker", "worker", "beat"}
    for wrong in (token[:-1], token + "x", "", token.upper()):
        response = client.get("/healthz/detail", HTTP_AUTHORIZATION=f"Bearer {wrong}")
        assert response.status_code == 403, wrong
    assert client.get("/healthz/detail", HTTP_AUTHORIZATION=token).status_code == 403


@override_settings(HEALTH_PROBE_TOKEN="")
def test_no_token_is_accepted_when_none_is_set(client, db):
    for sent in ("Bearer ", "Bearer x", "Bearer  "):
        assert client.get("/healthz/detail", HTTP_AUTHORIZATION=sent).status_code == 403


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    host, port = url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        with socket.create_connection((host, port), timeout=1):
            return url
    except OSError:
        return None


@pytest.mark.django_db(transaction=True)
def test_beat_schedule_is_stored_by_django_celery_beat():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from config.celery import app

    try:
        DatabaseScheduler(app=app, lazy=False)  # what `celery beat` does at start
    finally:
        connection.close()  # the scheduler closes connections behind Django's back
    task = PeriodicTask.objects.get(name="health-heartbeat")
    assert task.task == "loyalty.tasks.health_heartbeat"
    assert task.interval.every == 60


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_health_task_runs_on_a_real_worker_with_redis():
    url = redis_url()
    need(url is not None, "no Redis server on 127.0.0.1:6379")
    broker = f"{url}/14"
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker,
           "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    db_name = connection.settings_dict["NAME"]  # the test database
    env["DATABASE_URL"] = _url_for(db_name)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "-Q", "health-test"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        from celery import Celery

        client = Celery(broker=broker, backend=broker)
        result = client.send_task("loyalty.tasks.health_heartbeat", queue="health-test")
        value = result.get(timeout=60)
        assert value.startswith(time.strftime("%Y-"))
        assert Heartbeat.objects.get(name="worker").beat_at.isoformat() == value
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_and_beat_leave_their_heartbeats(client):
    """Beat sends the health task (and records its own heartbeat), a worker runs it (and
    records the worker's); /healthz/detail then reports both ok."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    url = redis_url()
    need(url is not None, "no Redis server on 127.0.0.1:6379")
    queue = f"health-{uuid.uuid4().hex[:8]}"
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(  # due at once: its last run was a day ago
        name=queue, task="loyalty.tasks.health_heartbeat", interval=every_minute, queue=queue,
        last_run_at=timezone.now() - timedelta(days=1))
    env = {**os.environ, "CELERY_BROKER_URL": f"{url}/13", "DJANGO_SETTINGS_MODULE":
           "config.settings_test", "DATABASE_URL": _url_for(connection.settings_dict["NAME"])}
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    started = [
        subprocess.Popen([*celery, "worker", "--pool", "solo", "--loglevel", "WARNING",
                          "--without-gossip", "--without-mingle", "-Q", queue], cwd=ROOT,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([*celery, "beat", "--loglevel", "WARNING"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if Heartbeat.objects.filter(name__in=["worker", "beat"]).count() == 2:
                break
            time.sleep(0.5)
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        connection.close()  # beat's scheduler may leave Django's connection state behind
    assert set(Heartbeat.objects.values_list("name", flat=True)) == {"worker", "beat"}
    client.force_login(User.objects.create_user("staff", password="x", is_staff=True))
    body = client.get("/healthz/detail").json()
    assert body["worker"]["status"] == "ok", body
    assert body["beat"]["status"] == "ok", body


def _url_for(db_name: str) -> str:
    base = os.environ["DATABASE_URL"]
    return base.rsplit("/", 1)[0] + "/" + db_name


def test_detail_reports_the_last_ledger_check(client, db):
    from points.models import LedgerVerification

    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get("/healthz/detail").json()["ledger"]["status"] == "stale"  # never run
    now = timezone.now()
    LedgerVerification.objects.create(started_at=now - timedelta(days=3),
                                      finished_at=now - timedelta(days=3), accounts_checked=9)
    assert client.get("/healthz/detail").json()["ledger"]["status"] == "stale"  # too old
    LedgerVerification.objects.create(started_at=now, finished_at=now, accounts_checked=10)
    ledger = client.get("/healthz/detail").json()["ledger"]
    assert (ledger["status"], ledger["accounts_checked"], ledger["differing_accounts"]) == (
        "ok", 10, 0)
    LedgerVerification.objects.create(started_at=now, finished_at=now, accounts_checked=10,
                                      differing_accounts=1,
                                      differences=[{"member": 1, "problems": []}])
    body = client.get("/healthz/detail").json()
    assert body["ledger"]["status"] == "error" and body["status"] == "error"
