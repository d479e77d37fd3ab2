"""Batch runs that resume where they stopped: the progress of each run of a nightly job.

Every batch job walks its rows a chunk at a time. With a run key (the Celery task id: a
broker that delivers the task again after a lost worker keeps it), the run has a
`BatchRun` row; each chunk's transaction locks that row, reads how far the run got, does
its work and records the new position before it commits. So a run delivered again carries
on after the last committed chunk, acting for the same `now` as the first delivery; two
deliveries running at once take turns chunk by chunk; a finished run delivered again does
nothing. Without a run key (a job called directly: tests, the demo, the shell) the
position is kept in memory only.

`settings.BATCH_CHUNK_PAUSE_SECONDS` waits that long after each committed chunk: a brake for
a big run on a busy database, and how the tests make a run last long enough to kill its
worker mid-way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.batch import run_in_chunks
from core.clock import resolve_now

from ..models.batch import BatchRun

T = TypeVar("T")


class BatchProgress:
    """How far one run got. Read `now` (the moment the run acts for), `after` (every id up
    to it is done), `done`, `finished` and `state` inside `chunk()`, where they are fresh."""

    def __init__(self, *, job: str, now: datetime, row: BatchRun | None = None):
        self.job = job
        self.now = row.now if row else now
        self.after = row.after_id if row else 0
        self.done = row.done if row else 0
        self.chunks = row.chunks if row else 0
        self.state: dict[str, Any] = dict(row.state) if row else {}
        self.finished = bool(row and row.finished_at)
        self._pk = row.pk if row else None
        self._moved = False

    @property
    def persistent(self) -> bool:
        return self._pk is not None

    def _snapshot(self) -> tuple:
        return self.after, self.done, self.chunks, dict(self.state), self.finished

    def _restore(self, snapshot: tuple) -> None:
        self.after, self.done, self.chunks, self.state, self.finished = snapshot

    @contextmanager
    def chunk(self) -> Iterator[BatchProgress]:
        """One transaction: the run's row locked and re-read, the work, the new position."""
        self._moved = False
        with transaction.atomic():
            if self._pk is not None:
                row = BatchRun.objects.select_for_update().get(pk=self._pk)
                self.after, self.done, self.chunks = row.after_id, row.done, row.chunks
                self.state, self.finished = dict(row.state), row.finished_at is not None
            snapshot = self._snapshot()
            try:
                yield self
            except BaseException:
                self._restore(snapshot)
                raise
            if self._pk is not None and self._moved:
                BatchRun.objects.filter(pk=self._pk).update(
                    after_id=self.after, done=self.done, chunks=self.chunks, state=self.state,
                    updated_at=timezone.now(),
                    finished_at=timezone.now() if self.finished else None)
        pause = float(getattr(settings, "BATCH_CHUNK_PAUSE_SECONDS", 0) or 0)
        if self._moved and not self.finished and pause > 0:
            time.sleep(pause)

    def advance(self, *, after_id: int | None = None, count: int = 0) -> None:
        """Inside `chunk()`: this chunk's ids up to `after_id` are done, `count` rows acted on."""
        if after_id is not None:
            self.after = after_id
        self.done += count
        self.chunks += 1
        self._moved = True

    def remember(self, **values: Any) -> None:
        """Inside `chunk()`: keep values the rest of the run needs (e.g. boundaries)."""
        self.state.update(values)
        self._moved = True

    def close(self, result: T) -> T:
        """Finish a run that found nothing to do (outside `chunk()`); returns `result`."""
        with self.chunk():
            self.finish()
        return result

    def finish(self) -> None:
        """Inside `chunk()`: nothing is left; a later delivery of the run does nothing."""
        self.finished = True
        self._moved = True


def batch_run(job: str, *, run_key: str | None, now: datetime) -> BatchProgress:
    """The run `job` / `run_key`: started now (acting for `now`), or as far as it got."""
    if not run_key:
        return BatchProgress(job=job, now=now)
    stamp = timezone.now()
    BatchRun.objects.bulk_create(
        [BatchRun(job=job, run_key=run_key[:200], now=now, started_at=stamp, updated_at=stamp)],
        ignore_conflicts=True)
    return BatchProgress(job=job, now=now, row=BatchRun.objects.get(job=job, run_key=run_key[:200]))


def batch_by_ids(progress: BatchProgress, *, next_ids: Callable[[int], list[int]],
                 apply: Callable[[list[int]], int]) -> int:
    """Chunks of ids in order: `next_ids(after)` gives the next chunk (empty when none is
    left), `apply(ids)` acts on it and returns the rows acted on; both run in the chunk's
    transaction. Returns the rows acted on by the whole run."""
    while True:
        with progress.chunk():
            if progress.finished:
                return progress.done
            ids = next_ids(progress.after)
            if not ids:
                progress.finish()
                return progress.done
            progress.advance(after_id=ids[-1], count=apply(ids))


def keyset_ids(sql: str, params: dict[str, Any] | None = None, *,
               chunk: int) -> Callable[[int], list[int]]:
    """`next_ids` for `batch_by_ids` from one query: `sql` selects ids (its first column)
    after `%(after)s`, in id order, `LIMIT %(limit)s`; `params` fills its other names."""
    def next_ids(after: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(sql, {**(params or {}), "after": after, "limit": chunk})
            return [row[0] for row in cursor.fetchall()]

    return next_ids


def batch_by_ranges(progress: BatchProgress, *, low: int, high: int, size: int,
                    apply: Callable[[int, int], int],
                    retry: Callable[[Callable[[], bool]], bool] | None = None) -> int:
    """Id ranges [lo, lo + size) from `low` (aligned down to `size`) to `high`: `apply(lo, hi)`
    acts on one in the chunk's transaction and returns the rows acted on. `retry` wraps each
    chunk (e.g. again after a deadlock). Returns the rows acted on by the whole run."""
    start = low - low % size

    def step() -> bool:
        with progress.chunk():
            if progress.finished:
                return False
            lo = progress.after + 1 if progress.chunks else start
            if lo > high:
                progress.finish()
                return False
            progress.advance(after_id=lo + size - 1, count=apply(lo, lo + size))
            return True

    while (retry(step) if retry else step()):
        pass
    return progress.done


def batch_in_chunks(progress: BatchProgress, work: Callable[[], int], *, chunk: int) -> int:
    """A job whose statement picks what is still due itself (`... LIMIT chunk`, e.g. expiry
    by state): `work()` acts on at most `chunk` rows in the chunk's transaction; the run ends
    after a chunk that acted on fewer. Returns the rows acted on by the whole run."""
    while True:
        with progress.chunk():
            if progress.finished:
                return progress.done
            count = work()
            progress.advance(count=count)
            if count < chunk:
                progress.finish()
                return progress.done


def batch_runs_prune(*, older_than: timedelta = timedelta(days=30),
                     now: datetime | None = None, chunk: int = 5000) -> int:
    """Forget the runs started before the retention period (a run delivered again comes
    within hours, so a month is ample), a chunk at a time; returns how many."""
    return run_in_chunks(
        """DELETE FROM members_batchrun WHERE id IN (
               SELECT id FROM members_batchrun WHERE started_at < %(cutoff)s
               ORDER BY id LIMIT %(limit)s)""",
        {"cutoff": resolve_now(now) - older_than}, chunk=chunk)
