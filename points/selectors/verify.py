"""The last result of `verify_ledger` (points.services.verify), for the dashboard and
/healthz/detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models import LedgerVerification

# The nightly run plus a margin: older than this, the last result says little.
FRESH_FOR = timedelta(hours=36)

OK, STALE, ERROR = "ok", "stale", "error"


@dataclass(frozen=True)
class LedgerCheck:
    """`status`: error when the last finished run found an account that differs (whatever
    its age: the difference is still there until a run finds it gone), stale when there is
    no run yet or the last is older than FRESH_FOR, ok otherwise."""

    status: str
    run: LedgerVerification | None
    age_seconds: float | None


def ledger_check_last(*, now: datetime) -> LedgerCheck:
    run = (LedgerVerification.objects.filter(finished_at__isnull=False)
           .order_by("-finished_at", "-id").first())
    if run is None:
        return LedgerCheck(status=STALE, run=None, age_seconds=None)
    age = max((now - run.finished_at).total_seconds(), 0.0)
    if run.differing_accounts:
        status = ERROR
    else:
        status = OK if age <= FRESH_FOR.total_seconds() else STALE
    return LedgerCheck(status=status, run=run, age_seconds=age)
