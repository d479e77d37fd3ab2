"""A worker killed mid-batch loses nothing and doubles nothing: a real `celery worker`
against the test database runs the tier re-evaluation slowly (small chunks, a pause after
each), is SIGKILLed mid-way with its pool, and a new worker carries the same run on from
its progress row once the broker gives the task back — Redis after its visibility timeout
(5 s here), RabbitMQ as soon as the connection drops.

The members are overdue by two years on a one-month tier that keeps on renewal, so each
renewal leaves them still due: a run started over would renew the first chunks' members a
second time. Exactly one renewal per member is the proof of exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from members.models import BatchRun, Member
from tests.conftest import need
from tiers.models import Tier, TierChange

ROOT = Path(__file__).resolve().parents[3]
MEMBERS = 400
CHUNK = 20
PAUSE = "0.25"


def _reachable(url: str, default_port: int) -> bool:
    rest = url.split("//", 1)[1].rsplit("@", 1)[-1]
    host = rest.split("/")[0].split(":")[0]
    port = int(rest.split("/")[0].split(":")[1]) if ":" in rest.split("/")[0] else default_port
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _database_url() -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]


def _overdue_members(now) -> list[int]:
    call_command("seed_members", f"--members={MEMBERS}", "--orders-per-member=0", "--seed=7",
                 "--stores=2", "--tags=2", "--no-analyze", verbosity=0)
    silver = Tier.objects.get(code="silver")
    silver.validity_months, silver.end_policy = 1, "keep"
    silver.save()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO tiers_growthaccount (member_id, growth, period_growth, tier_id,
                   tier_since, tier_valid_until, updated_at)
               SELECT id, 5000, 0, %s, %s, %s, %s FROM members_member""",
            [silver.pk, now - timedelta(days=760), now - timedelta(days=730), now])
    return list(Member.objects.order_by("pk").values_list("pk", flat=True))


def _start_worker(broker: str, queue: str, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, "CELERY_BROKER_URL": broker, "DATABASE_URL": _database_url(),
           "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "BATCH_CHUNK_PAUSE_SECONDS": PAUSE, **extra_env}
    env.pop("CELERY_RESULT_BACKEND", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
         "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-Q", queue, "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # its own process group: the kill takes the pool child too


def _kill(worker: subprocess.Popen) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait(timeout=20)


def _pool_children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry))
    return children


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            _kill(worker)


def _run(timeout: float, until):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = until()
        if value:
            return value
        time.sleep(0.1)
    return None


def _kill_mid_batch_and_resume(broker: str, extra_env: dict[str, str], *,
                               pool_child_only: bool = False) -> None:
    """Kill the whole worker (main process and pool child) and start a new one; or, with
    `pool_child_only`, only the pool process running the task (what the kernel's OOM killer
    does), after which the same worker must take the task again."""
    from celery import Celery

    now = timezone.now()
    members = _overdue_members(now)
    queue = f"faults-batch-{uuid.uuid4().hex[:10]}"
    client = Celery("faults-test", broker=broker)
    first = _start_worker(broker, queue, extra_env)
    second = None
    try:
        task_id = client.send_task("tiers.tasks.reevaluate_tiers", kwargs={"chunk": CHUNK},
                                   queue=queue).id
        run = _run(40, lambda: BatchRun.objects.filter(
            job="tiers.reevaluate", run_key=task_id, after_id__gt=0).first())
        assert run is not None, "the first worker never committed a chunk"
        if pool_child_only:
            for child in _pool_children(first.pid):
                os.kill(child, signal.SIGKILL)
        else:
            _kill(first)
        killed_at = BatchRun.objects.get(pk=run.pk)
        assert killed_at.finished_at is None and 0 < killed_at.done < MEMBERS, \
            "the kill came too late to be mid-batch"

        if not pool_child_only:
            second = _start_worker(broker, queue, extra_env)
        finished = _run(45, lambda: BatchRun.objects.filter(
            pk=run.pk, finished_at__isnull=False).first())
        assert finished is not None, "the run was not carried on after the worker was killed"
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        with client.connection_for_write() as conn:
            try:
                conn.default_channel.queue_delete(queue)
            except Exception:  # noqa: BLE001  the queue may not exist on every transport
                pass

    assert BatchRun.objects.filter(job="tiers.reevaluate").count() == 1  # one run, resumed
    assert finished.done == MEMBERS and finished.now == killed_at.now
    renewals = dict(TierChange.objects.filter(reason="renewal").values("member_id")
                    .annotate(n=Count("id")).values_list("member_id", "n"))
    assert sorted(renewals) == members                 # nobody lost
    assert set(renewals.values()) == {1}               # nobody twice


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing_on_redis():
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    need(_reachable(url, 6379), "no Redis server on 127.0.0.1:6379")
    broker = f"{url.rsplit('/', 1)[0] if url.count('/') > 2 else url}/13"
    _kill_mid_batch_and_resume(broker, {"CELERY_VISIBILITY_TIMEOUT": "5"})


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_mid_batch_gives_its_task_back():
    """task_reject_on_worker_lost: without it the task is marked failed and acknowledged,
    and the rest of the batch never runs."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    need(_reachable(url, 6379), "no Redis server on 127.0.0.1:6379")
    broker = f"{url.rsplit('/', 1)[0] if url.count('/') > 2 else url}/13"
    _kill_mid_batch_and_resume(broker, {"CELERY_VISIBILITY_TIMEOUT": "3600"},
                               pool_child_only=True)


@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing_on_rabbitmq():
    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    need(_reachable(url, 5672), "no RabbitMQ server on 127.0.0.1:5672")
    _kill_mid_batch_and_resume(url, {})
