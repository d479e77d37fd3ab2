"""The liability rollup: `points_liability_rollup` (hourly) adds the ledger entries after
its cursor to `PointsMonthTotal` (month × kind sums) in id-range chunks over the primary key.
The cursor only moves to a watermark taken under a brief SHARE lock on the ledger table, so
an entry whose id is below the cursor can never commit later and be missed. What the
figures mean, and how the report reads these rows, is in `points.selectors.liability`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings as django_settings
from django.db import OperationalError, connection, transaction

from core.clock import resolve_now

from ..models import PointsRollupCursor

_ROLLUP_SQL = """
INSERT INTO points_pointsmonthtotal (month, kind, entries, available, pending, held, debt)
SELECT date_trunc('month', e.created_at AT TIME ZONE %(tz)s)::date, e.kind, COUNT(*),
       SUM(e.available_delta), SUM(e.pending_delta), SUM(e.held_delta), SUM(e.debt_delta)
FROM points_pointsentry e
WHERE e.id > %(after)s AND e.id <= %(upto)s
GROUP BY 1, 2
ON CONFLICT (month, kind) DO UPDATE SET
    entries = points_pointsmonthtotal.entries + EXCLUDED.entries,
    available = points_pointsmonthtotal.available + EXCLUDED.available,
    pending = points_pointsmonthtotal.pending + EXCLUDED.pending,
    held = points_pointsmonthtotal.held + EXCLUDED.held,
    debt = points_pointsmonthtotal.debt + EXCLUDED.debt
"""


def _watermark() -> int:
    """The highest entry id below which every insert has committed: taken under a SHARE lock
    on the ledger, which waits for open inserts and is released at once. New inserts queue
    behind a waiting lock, so it gives up after a second (a long batch transaction is open)
    and the next run tries again."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '1s'")
        cursor.execute("LOCK TABLE points_pointsentry IN SHARE MODE")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM points_pointsentry")
        return cursor.fetchone()[0]


def points_liability_rollup(*, now: datetime | None = None, chunk: int = 500_000) -> int:
    """Add the ledger entries after the cursor to the monthly totals, `chunk` ids per
    transaction. Re-runnable and safe to run twice at once (the cursor row is locked);
    a crash loses nothing. Returns the number of entry ids covered."""
    now = resolve_now(now)
    try:
        upto_all = _watermark()
    except OperationalError:
        return 0  # the ledger was busy: the next run catches up
    covered = 0
    # the first run ever creates the cursor row; two first runs at once both get past here
    PointsRollupCursor.objects.bulk_create([PointsRollupCursor(singleton=True)],
                                           ignore_conflicts=True)
    while True:
        with transaction.atomic():
            cursor_row = PointsRollupCursor.objects.select_for_update().get(singleton=True)
            after = cursor_row.last_entry_id
            if after >= upto_all:
                return covered
            upto = min(after + chunk, upto_all)
            with connection.cursor() as cursor:
                cursor.execute(_ROLLUP_SQL, {"tz": django_settings.TIME_ZONE, "after": after,
                                             "upto": upto})
            cursor_row.last_entry_id, cursor_row.updated_at = upto, now
            cursor_row.save(update_fields=["last_entry_id", "updated_at"])
        covered += upto - after
