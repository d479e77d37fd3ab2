"""Liveness: /healthz checks the database; the Celery heartbeat proves worker and beat run."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure to reach the database means "not healthy"
        return False


def health_heartbeat_record() -> str:
    """The Celery health task: touch the database and return the time it ran."""
    if not database_ok():
        raise RuntimeError("database unreachable")
    return timezone.now().isoformat()


@require_GET
def healthz(request):
    ok = database_ok()
    return JsonResponse({"status": "ok" if ok else "error",
                         "database": "ok" if ok else "unreachable"},
                        status=200 if ok else 503)
