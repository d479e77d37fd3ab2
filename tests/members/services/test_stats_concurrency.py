"""The nightly statistics rebuild running while a sale is being recorded: the rebuild of the
member's chunk waits for the sale to commit (advisory lock per chunk), so it neither misses
the sale nor overwrites the intake's count with an older one."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from loyalty.services.intake import record_sale
from members.models import MemberStats
from members.services.orders import LineInput, SaleInput
from members.services.stats import stats_rebuild


def sale(store, member, at, order_no):
    return SaleInput(store_code=store.code, order_no=order_no, member_id=member.pk,
                     ordered_at=at, lines=(LineInput(line_no=1, sku="TEA", quantity=1,
                                                     gross_amount=Decimal("10.00")),))


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_during_a_sale_keeps_the_sale(store, member, now):
    record_sale(sale=sale(store, member, now, "S-1"), now=now)
    recorded = threading.Event()
    failures: list[BaseException] = []

    def slow_sale() -> None:
        try:
            with transaction.atomic():
                record_sale(sale=sale(store, member, now + timedelta(days=1), "S-2"), now=now)
                recorded.set()
                time.sleep(1.5)  # the rebuild starts while this sale is not committed
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
            recorded.set()
        finally:
            connection.close()

    worker = threading.Thread(target=slow_sale)
    worker.start()
    assert recorded.wait(timeout=30)
    started = time.monotonic()
    stats_rebuild(now=now)
    waited = time.monotonic() - started
    worker.join(timeout=30)

    assert not failures
    assert waited > 0.5  # it waited for the sale's transaction
    stats = MemberStats.objects.get(member=member)
    assert (stats.order_count, stats.sales_amount) == (2, Decimal("20.00"))
    assert stats.last_purchase_at == now + timedelta(days=1)
