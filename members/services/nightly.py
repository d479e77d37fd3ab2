"""The nightly rebuild of what the programme knows about its members, in dependency order:
statistics from the orders, lifecycle stages, RFM, preference tags, then the rule tags
(which may read all of these). Every step is set-based over chunks of member ids and can
run again; each chunk commits on its own."""

from __future__ import annotations

import time
from datetime import datetime

from core.clock import resolve_now

from .batch import batch_run
from .rfm import preference_tags_refresh, rfm_score
from .stats import lifecycle_refresh, stats_rebuild
from .tag_rules import tag_rules_refresh


def insights_rebuild(*, now: datetime | None = None,
                     run_key: str | None = None) -> dict[str, float]:
    """Returns the seconds each step took (the nightly task logs them). With a run key each
    step keeps its own position (members.services.batch): a run delivered again skips the finished
    steps and carries on inside the one it was in."""
    now = batch_run("members.insights", run_key=run_key, now=resolve_now(now)).now
    timings: dict[str, float] = {}
    for name, step in (("statistics", stats_rebuild), ("lifecycle", lifecycle_refresh),
                       ("rfm", rfm_score), ("preferences", preference_tags_refresh),
                       ("rule_tags", tag_rules_refresh)):
        started = time.monotonic()
        step(now=now, run_key=run_key)
        timings[name] = round(time.monotonic() - started, 2)
    return timings
