"""50 threads racing 200 draws on a prize with 5 in stock: exactly 5 given, never below
zero, every draw recorded once (real threads, real PostgreSQL transactions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.models import LotteryDraw
from campaigns.services.lottery import lottery_draw
from points.services.ledger import points_earn
from tests.campaigns.helpers import members
from tests.campaigns.lottery_helpers import lottery, prize
from tests.points.helpers import set_points_settings
from tests.races import run_at_once

NOW = datetime(2026, 5, 10, 4, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_two_hundred_draws_five_in_stock_give_exactly_five():
    set_points_settings(pending_days=0)
    people = members(50, NOW)
    for member in people:
        points_earn(member_id=member.pk, points=40, now=NOW)
    # every draw picks the scarce prize; once it is gone, its fallback
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1, "stock": None},
                        {"name": "手机", "kind": "goods", "weight": 1_000_000, "stock": 5,
                         "fallback": "谢谢"}],
                  cost_kind="points", cost_points=10)
    phone = prize(lot, "手机")

    def work(i: int):
        member = people[i]
        out = []
        for k in range(4):
            draw = lottery_draw(lottery_id=lot.pk, member_id=member.pk,
                                draw_id=f"t{i}-{k}", now=NOW)
            out.append(draw.prize_id)
        return out

    results = run_at_once(work, 50)
    assert [r for r in results if r[0] == "error"] == []
    given = [p for _ok, draws in results for p in draws]
    assert len(given) == 200
    assert given.count(phone.pk) == 5
    assert LotteryDraw.objects.filter(lottery=lot).count() == 200
    assert LotteryDraw.objects.filter(prize=phone).count() == 5
    assert LotteryDraw.objects.filter(drawn_prize=phone).count() >= 195
    phone.refresh_from_db()
    assert phone.stock == 0
