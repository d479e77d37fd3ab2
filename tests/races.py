"""Racing real threads against PostgreSQL: the one helper every concurrency test uses."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_at_once(work: Callable[[int], object], n: int) -> list[tuple[str, object]]:
    """Run work(i) in n threads released together; each answers ("ok", result) or
    ("error", exception). Every thread connects before the barrier, so the work itself
    overlaps, and closes its own connection at the end."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, object] | None] = [None] * n

    def thread(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[i] = ("ok", work(i))
        except Exception as exc:  # noqa: BLE001 - handed to the test to judge
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert None not in results
    return results
