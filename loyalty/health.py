"""Health.

`/healthz` is the load balancer's probe: 200 when this process reaches the database (one
`SELECT 1` under a short statement timeout), otherwise 503 with `Retry-After`. Nothing
else decides its status: `HealthProbeMiddleware` answers it right after the request id,
before the host check, the HTTPS redirect, sessions or the locale, so it answers over plain
HTTP and under whatever Host header the balancer sends.

`/healthz/detail` is for people and monitors (a staff session, or the probe token of
`HEALTH_PROBE_TOKEN`): the database, the broker, and the heartbeats of the Celery worker
(it ran the health task) and of beat (it sent it), each `ok`, `stale` (older than twice
their interval) or `error`, with its age in seconds; and `ledger`, the last run of
`verify_ledger` (error when it found an account that differs, stale when none ran lately).
"""

from __future__ import annotations

import hmac
import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.errors import error_body
from points.selectors.verify import ledger_check_last

from .models.health import Heartbeat

logger = logging.getLogger(__name__)

PROBE_PATH = "/healthz"
RETRY_AFTER_SECONDS = 5
STATEMENT_TIMEOUT_MS = 1000
BROKER_TIMEOUT_SECONDS = 2
PROBE_SQL = "SELECT 1"
HEARTBEAT_TASK = "loyalty.tasks.health_heartbeat"
WORKER, BEAT = "worker", "beat"
OK, STALE, ERROR = "ok", "stale", "error"


def heartbeat_interval() -> float:
    """Seconds between two heartbeats: the health task's period in beat's schedule."""
    return float(settings.CELERY_BEAT_SCHEDULE["health-heartbeat"]["schedule"])


# --- the checks -----------------------------------------------------------------------------
def database_ok() -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)",
                           [str(STATEMENT_TIMEOUT_MS)])
            cursor.execute(PROBE_SQL)
            return cursor.fetchone() == (1,)
    except Exception:  # any failure to reach the database means "not healthy"
        return False


def broker_ok() -> bool:
    from celery import current_app

    try:
        with current_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        return True
    except Exception:  # refused, timed out, bad credentials: the broker is not usable
        logger.warning("health: broker unreachable", exc_info=True)
        return False


def heartbeat_record(name: str, *, now: datetime) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})


def heartbeat_ages(*, now: datetime) -> dict[str, float]:
    return {row.name: max(0.0, (now - row.beat_at).total_seconds())
            for row in Heartbeat.objects.all()}


def heartbeat_state(age: float | None) -> str:
    if age is None:
        return ERROR  # never seen
    return OK if age <= 2 * heartbeat_interval() else STALE


def detail(*, now: datetime) -> dict:
    """Each part with its state and the age of what the state rests on (0 for what was
    checked just now, None when there is nothing to go by)."""
    started = time.monotonic()
    database = database_ok()
    parts = {"database": {"status": OK if database else ERROR, "age_seconds": 0,
                          "latency_ms": round((time.monotonic() - started) * 1000, 1)}}
    started = time.monotonic()
    broker = broker_ok()
    parts["broker"] = {"status": OK if broker else ERROR, "age_seconds": 0,
                       "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    try:
        ages = heartbeat_ages(now=now) if database else None
    except DatabaseError:
        ages = None
    for name in (WORKER, BEAT):
        if ages is None:  # the database cannot say
            parts[name] = {"status": ERROR, "age_seconds": None}
        else:
            age = ages.get(name)
            parts[name] = {"status": heartbeat_state(age),
                           "age_seconds": None if age is None else round(age, 1)}
    parts["ledger"] = ledger_part(now=now) if database else {"status": ERROR,
                                                             "age_seconds": None}
    states = {part["status"] for part in parts.values()}
    overall = OK if states == {OK} else (ERROR if ERROR in states else STALE)
    return {"status": overall, "interval_seconds": heartbeat_interval(), **parts}


def ledger_part(*, now: datetime) -> dict:
    """The last `verify_ledger` run: error if it found an account that differs, stale if
    there is none or it is old (points.selectors.verify)."""
    try:
        check = ledger_check_last(now=now)
    except DatabaseError:
        return {"status": ERROR, "age_seconds": None}
    run = check.run
    return {"status": check.status,
            "age_seconds": None if check.age_seconds is None else round(check.age_seconds, 1),
            "full": None if run is None else run.full,
            "accounts_checked": None if run is None else run.accounts_checked,
            "differing_accounts": None if run is None else run.differing_accounts}


# --- the Celery side --------------------------------------------------------------------------
def health_heartbeat_record() -> str:
    """The Celery health task, run by a worker: proves the worker runs and reaches the
    database; returns the time it ran."""
    now = timezone.now()
    heartbeat_record(WORKER, now=now)
    return now.isoformat()


_in_beat = False


def beat_started(**kwargs) -> None:
    global _in_beat
    _in_beat = True


def beat_sending(sender=None, **kwargs) -> None:
    """Beat is about to send the health task: beat is alive (whether or not a worker takes
    the task). Recording must never stop beat from sending."""
    if not _in_beat or sender != HEARTBEAT_TASK:
        return
    try:
        heartbeat_record(BEAT, now=timezone.now())
    except Exception:
        logger.warning("health: could not record beat's heartbeat", exc_info=True)


def connect_signals() -> None:
    from celery.signals import beat_embedded_init, beat_init, before_task_publish

    beat_init.connect(beat_started, dispatch_uid="loyalty.health.beat_started")
    beat_embedded_init.connect(beat_started, dispatch_uid="loyalty.health.beat_embedded")
    before_task_publish.connect(beat_sending, dispatch_uid="loyalty.health.beat_sending")


# --- the views ------------------------------------------------------------------------------
@require_safe
def healthz(request):
    ok = database_ok()
    response = JsonResponse({"status": "ok" if ok else "error",
                             "database": "ok" if ok else "unreachable"},
                            status=200 if ok else 503)
    if not ok:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class HealthProbeMiddleware:
    """Answers `/healthz` before any other middleware can decide otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == PROBE_PATH:
            return healthz(request)
        return self.get_response(request)


def _probe_token_ok(request) -> bool:
    expected = getattr(settings, "HEALTH_PROBE_TOKEN", "") or ""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@require_safe
def healthz_detail(request):
    if not _probe_token_ok(request):
        try:
            staff = request.user.is_authenticated and request.user.is_staff
        except DatabaseError:  # the session cannot be read: say so, as the probe would
            response = JsonResponse(error_body("service_unavailable", _(
                "The service is briefly unavailable; retry later.")), status=503)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if not staff:
            return JsonResponse(error_body("permission_denied", _(
                "Sign in as staff or send the health probe token.")), status=403)
    response = JsonResponse(detail(now=timezone.now()))
    response["Cache-Control"] = "no-store"
    return response
