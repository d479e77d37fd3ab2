"""Member statistics (members.services.stats): kept by the intake on every sale and return,
and equal to the nightly rebuild from the orders."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from loyalty.services.intake import record_return, record_sale
from members.models import Member, MemberStats, Order
from members.services.orders import LineInput, ReturnInput, ReturnLineInput, SaleInput
from members.services.stats import lifecycle_refresh, stats_rebuild

D = Decimal
COLUMNS = ("member_id", "first_purchase_at", "last_purchase_at", "order_count",
           "return_count", "sales_amount", "returns_amount", "net_spend", "average_spend",
           "repurchase_cycle_days")


def snapshot() -> dict[int, tuple]:
    return {row[0]: row for row in MemberStats.objects.order_by("pk").values_list(*COLUMNS)}


def sell(store, member, at, order_no, amounts):
    lines = tuple(LineInput(line_no=i + 1, sku=f"SKU-{i}", category="茶饮", quantity=q,
                            gross_amount=g, coupon_discount=c)
                  for i, (q, g, c) in enumerate(amounts))
    return record_sale(sale=SaleInput(store_code=store.code, order_no=order_no,
                                      member_id=member.pk, ordered_at=at, lines=lines), now=at)


def give_back(store, sale: Order, at, order_no, lines):
    return record_return(ret=ReturnInput(store_code=store.code, order_no=order_no,
                                         sale_order_no=sale.order_no, ordered_at=at,
                                         lines=tuple(ReturnLineInput(n, q) for n, q in lines)),
                         now=at)


def test_a_sale_and_a_return_update_the_statistics(store, member, now):
    first = sell(store, member, now, "S-1", [(2, D("100.00"), D("10.00"))]).order
    sell(store, member, now + timedelta(days=10), "S-2", [(1, D("50.00"), D("0"))])
    sell(store, member, now - timedelta(days=20), "S-3", [(1, D("30.00"), D("0"))])
    give_back(store, first, now + timedelta(days=11), "R-1", [(1, 1)])

    stats = MemberStats.objects.get(member=member)
    assert stats.first_purchase_at == now - timedelta(days=20)
    assert stats.last_purchase_at == now + timedelta(days=10)
    assert (stats.order_count, stats.return_count) == (3, 1)
    assert stats.sales_amount == D("170.00")
    assert stats.returns_amount == D("45.00")
    assert stats.net_spend == D("125.00")
    assert stats.average_spend == D("41.67")
    assert stats.repurchase_cycle_days == D("15.0")  # 30 days over two gaps


def test_a_member_without_orders_has_no_statistics(member, now):
    stats_rebuild(now=now)
    assert not MemberStats.objects.filter(member=member).exists()


@pytest.mark.parametrize("seed", range(6))
def test_incremental_statistics_equal_the_rebuild(store, make_member, now, seed):
    rng = random.Random(seed)
    members = [make_member() for _ in range(4)]
    sales: list[Order] = []
    left: dict[int, dict[int, int]] = {}
    for step in range(40):
        at = now + timedelta(hours=rng.randint(-2000, 2000), seconds=rng.randint(0, 59))
        returnable = [s for s in sales if any(left[s.pk].values())]
        if returnable and rng.random() < 0.35:
            sale = rng.choice(returnable)
            lines = [(n, rng.randint(1, q)) for n, q in left[sale.pk].items() if q and rng.random() < 0.7]
            if not lines:
                continue
            give_back(store, sale, at, f"R-{step}", lines)
            for n, q in lines:
                left[sale.pk][n] -= q
        else:
            amounts = [(rng.randint(1, 4), D(rng.randint(1, 99999)) / 100, D(0))
                       for _ in range(rng.randint(1, 3))]
            amounts = [(q, g, min(g, D(rng.randint(0, 500)) / 100)) for q, g, _ in amounts]
            order = sell(store, rng.choice(members), at, f"S-{step}", amounts).order
            sales.append(order)
            left[order.pk] = {i + 1: q for i, (q, _, _) in enumerate(amounts)}
    incremental = snapshot()
    assert incremental  # the sequence sold something

    MemberStats.objects.all().delete()
    stats_rebuild(now=now)
    assert snapshot() == incremental
    assert stats_rebuild(now=now) >= 1
    assert snapshot() == incremental  # re-running changes nothing


def test_the_rebuild_repairs_drifted_rows(store, make_member, now):
    a, b = make_member(), make_member()
    sell(store, a, now, "S-1", [(1, D("10.00"), D("0"))])
    sell(store, b, now, "S-2", [(1, D("20.00"), D("0"))])
    expected = snapshot()
    MemberStats.objects.filter(member=a).update(order_count=9, net_spend=D("1.00"))
    MemberStats.objects.filter(member=b).delete()

    stats_rebuild(now=now)

    assert snapshot() == expected


def test_lifecycle_stages_follow_the_repurchase_cycle(store, make_member, now):
    # cycle 30 days: first purchase within 30 → new; last within 30 → active, 60 → at
    # risk, 120 → dormant, older → churned
    cases = {"new": [10], "active": [200, 20], "at_risk": [200, 45], "dormant": [200, 100],
             "churned": [300, 200]}
    members = {}
    for stage, days_ago in cases.items():
        member = make_member()
        for i, days in enumerate(days_ago):
            sell(store, member, now - timedelta(days=days), f"{stage}-{i}",
                 [(1, D("10.00"), D("0"))])
        members[stage] = member
    MemberStats.objects.update(lifecycle="")

    lifecycle_refresh(now=now)

    got = {stage: MemberStats.objects.get(member=m).lifecycle for stage, m in members.items()}
    assert got == {stage: stage for stage in cases}
    assert lifecycle_refresh(now=now) == 0
    assert lifecycle_refresh(now=now + timedelta(days=400)) == 4  # churned stays
    assert set(MemberStats.objects.values_list("lifecycle", flat=True)) == {"churned"}


def test_a_closed_member_keeps_statistics(store, member, now):
    sell(store, member, now, "S-1", [(1, D("10.00"), D("0"))])
    Member.objects.filter(pk=member.pk).update(status="closed")
    stats_rebuild(now=now)
    assert MemberStats.objects.filter(member=member).exists()
