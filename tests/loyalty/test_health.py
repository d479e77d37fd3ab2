"""/healthz and the Celery health task, run by a real worker against Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

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
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def _url_for(db_name: str) -> str:
    base = os.environ["DATABASE_URL"]
    return base.rsplit("/", 1)[0] + "/" + db_name
