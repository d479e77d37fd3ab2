"""The lottery: costs, limits, stock and fallback, idempotent draws, the published method
reproducing every draw, and the odds (chi-square over 100,000 draws)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from campaigns.errors import LotteryError
from campaigns.models import LotteryDraw, LotteryEntries, LotteryPrize
from campaigns.selectors.lottery import (
    commitment_for,
    draw_value,
    lottery_results,
    lottery_verify,
    odds_table,
    pick_prize,
    seed_public,
)
from campaigns.services.lottery import (
    lottery_close,
    lottery_draw,
    lottery_entries_grant,
    lottery_open,
)
from points.errors import PointsError
from points.models import Coupon, PointsEntry
from points.services.ledger import points_earn
from tests.campaigns.helpers import coupon_template, members
from tests.campaigns.lottery_helpers import lottery, prize
from tests.points.helpers import balances, set_points_settings

NOW = datetime(2026, 5, 10, 4, 0, tzinfo=UTC)  # 12:00 in Beijing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pending():
    set_points_settings(pending_days=0)


def test_points_prize_costs_points_and_credits_under_the_draw_key():
    member = members(1, NOW)[0]
    points_earn(member_id=member.pk, points=100, now=NOW)
    lot = lottery(NOW, [{"name": "50分", "kind": "points", "weight": 1, "points": 50}],
                  cost_kind="points", cost_points=30)
    draw = lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="d-1", now=NOW)
    assert draw.prize.name == "50分" and draw.cost_points == 30
    assert balances(member.pk)["available"] == 100 - 30 + 50
    assert PointsEntry.objects.filter(source_key="lottery:d-1", available_delta=50).exists()
    # the same draw id: the first draw, nothing paid twice
    again = lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="d-1", now=NOW)
    assert again.pk == draw.pk and balances(member.pk)["available"] == 120
    assert LotteryDraw.objects.count() == 1


def test_points_prize_is_available_at_once_under_a_return_window():
    """The return window holds purchase points; a prize has nothing to return."""
    set_points_settings(pending_days=7)
    member = members(1, NOW)[0]
    lot = lottery(NOW, [{"name": "50分", "kind": "points", "weight": 1, "points": 50}])
    lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="d-1", now=NOW)
    assert (balances(member.pk)["available"], balances(member.pk)["pending"]) == (50, 0)


def test_short_of_points_writes_nothing():
    member = members(1, NOW)[0]
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1}],
                  cost_kind="points", cost_points=30)
    with pytest.raises(PointsError) as err:
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="d-1", now=NOW)
    assert err.value.code == "insufficient_points"
    assert not LotteryDraw.objects.exists()


def test_draw_id_of_another_member_is_refused():
    a, b = members(2, NOW)
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1}])
    lottery_draw(lottery_id=lot.pk, member_id=a.pk, draw_id="same", now=NOW)
    with pytest.raises(LotteryError) as err:
        lottery_draw(lottery_id=lot.pk, member_id=b.pk, draw_id="same", now=NOW)
    assert err.value.code == "draw_id_conflict"


def test_limits_per_day_on_the_beijing_calendar_and_per_lottery():
    member = members(1, NOW)[0]
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1}],
                  daily_limit=2, member_limit=3)
    late = datetime(2026, 5, 10, 15, 59, tzinfo=UTC)  # 23:59 Beijing, same day
    lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="a", now=NOW)
    lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="b", now=late)
    with pytest.raises(LotteryError) as err:
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="c", now=late)
    assert err.value.code == "lottery_daily_limit_reached"
    next_day = late + timedelta(minutes=2)  # 00:01 Beijing
    lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="c", now=next_day)
    with pytest.raises(LotteryError) as err:
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="d",
                     now=next_day + timedelta(days=1))
    assert err.value.code == "lottery_member_limit_reached"


def test_entries_are_given_once_per_key_and_used_one_per_draw():
    member = members(1, NOW)[0]
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1}], cost_kind="entries")
    with pytest.raises(LotteryError) as err:
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="a", now=NOW)
    assert err.value.code == "lottery_no_entries"
    assert lottery_entries_grant(lottery_id=lot.pk, member_id=member.pk, quantity=1,
                                 source_key="task:1:2026-05", now=NOW)
    assert not lottery_entries_grant(lottery_id=lot.pk, member_id=member.pk, quantity=1,
                                     source_key="task:1:2026-05", now=NOW)
    draw = lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="a", now=NOW)
    assert draw.cost_entries == 1
    assert LotteryEntries.objects.get(member=member).entries == 0
    with pytest.raises(LotteryError):
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="b", now=NOW)


def test_out_of_stock_falls_back_as_configured_and_others_odds_unchanged():
    member = members(1, NOW)[0]
    template = coupon_template(NOW)
    lot = lottery(NOW, [
        {"name": "谢谢", "kind": "nothing", "weight": 1},
        {"name": "券", "kind": "coupon", "weight": 1, "coupon_template": template,
         "stock": 0, "fallback": "谢谢"},
        {"name": "杯子", "kind": "goods", "weight": 1, "stock": 0},
    ])
    given = {}
    for i in range(60):
        draw = lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id=f"x{i}", now=NOW)
        given.setdefault(draw.drawn_prize.name, set()).add(draw.prize.name if draw.prize
                                                            else None)
    # the value still picks every prize at its weight; the coupon's draws get its fallback,
    # the goods (no fallback) nothing
    assert given == {"谢谢": {"谢谢"}, "券": {"谢谢"}, "杯子": {None}}
    assert not Coupon.objects.exists()
    # the odds table (the value → prize mapping) has not moved: each draw is still the pick
    for draw in LotteryDraw.objects.all():
        assert pick_prize(draw.value, lot.odds) == draw.drawn_prize_id
    results = lottery_results(lot)
    assert results["draws"] == 60 and results["fell_back"] == sum(
        1 for d in LotteryDraw.objects.all() if d.drawn_prize.name != "谢谢")


def test_coupon_prize_issues_the_coupon_and_takes_stock():
    member = members(1, NOW)[0]
    template = coupon_template(NOW)
    lot = lottery(NOW, [{"name": "券", "kind": "coupon", "weight": 1,
                         "coupon_template": template, "stock": 2}])
    lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="a", now=NOW)
    assert Coupon.objects.filter(member=member).count() == 1
    assert prize(lot, "券").stock == 1


def test_odds_cannot_change_while_open_but_stock_can_be_added():
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1},
                        {"name": "杯子", "kind": "goods", "weight": 1, "stock": 1}])
    cup = prize(lot, "杯子")
    with pytest.raises(IntegrityError), transaction.atomic():
        LotteryPrize.objects.filter(pk=cup.pk).update(weight=50)
    with pytest.raises(IntegrityError), transaction.atomic():
        LotteryPrize.objects.create(lottery=lot, name="新", kind="nothing", weight=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        LotteryPrize.objects.filter(pk=cup.pk).delete()
    LotteryPrize.objects.filter(pk=cup.pk).update(stock=10)
    assert prize(lot, "杯子").stock == 10


def test_not_open_refuses_draws_and_transitions_are_one_way():
    member = members(1, NOW)[0]
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 1}], open_=False)
    with pytest.raises(LotteryError) as err:
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="a", now=NOW)
    assert err.value.code == "lottery_not_open"
    lottery_open(lottery_id=lot.pk, now=NOW)
    with pytest.raises(LotteryError):
        lottery_open(lottery_id=lot.pk, now=NOW)
    lottery_close(lottery_id=lot.pk, now=NOW)
    with pytest.raises(LotteryError):
        lottery_draw(lottery_id=lot.pk, member_id=member.pk, draw_id="a", now=NOW)


def test_the_published_seed_reproduces_every_recorded_draw():
    people = members(3, NOW)
    lot = lottery(NOW, [{"name": "谢谢", "kind": "nothing", "weight": 5},
                        {"name": "杯子", "kind": "goods", "weight": 3, "stock": 4},
                        {"name": "伞", "kind": "goods", "weight": 2}])
    commitment = lot.commitment
    assert seed_public(lot) is None  # not while open
    for i in range(90):
        lottery_draw(lottery_id=lot.pk, member_id=people[i % 3].pk, draw_id=f"r{i}", now=NOW)
    lot = lottery_close(lottery_id=lot.pk, now=NOW)
    seed = seed_public(lot)
    assert seed is not None
    # what anyone does with the published seed, the odds table and the draw list, by hand
    text = json.dumps(lot.odds, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256((seed + text).encode()).hexdigest() == commitment
    weights = [(row["id"], row["weight"]) for row in lot.odds["prizes"]]
    total = sum(w for _id, w in weights)
    for draw in LotteryDraw.objects.filter(lottery=lot):
        value = hmac.new(bytes.fromhex(seed), draw.draw_id.encode(), hashlib.sha256).hexdigest()
        assert value == draw.value and draw.odds_version == lot.odds["version"]
        ticket, running = int(value, 16) % total, 0
        for prize_id, weight in weights:
            running += weight
            if ticket < running:
                break
        assert prize_id == draw.drawn_prize_id
    check = lottery_verify(lot, seed=seed)
    assert check.ok and check.draws == 90
    # a different seed reproduces nothing
    bad = lottery_verify(lot, seed="00" * 32)
    assert not bad.commitment_ok and len(bad.mismatched) == 90


def _chi2_sf(x: float, k: int) -> float:
    """P(χ² with k degrees of freedom > x): the regularized upper incomplete gamma
    Q(k/2, x/2), by its series (x small) or continued fraction (x large)."""
    a, z = k / 2, x / 2
    if z < a + 1:
        term = total = 1 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= z / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return 1 - total * math.exp(-z + a * math.log(z) - math.lgamma(a))
    b = z + 1 - a
    c, d = 1 / 1e-300, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(-z + a * math.log(z) - math.lgamma(a)) * h


def test_chi2_helper_matches_known_quantiles():
    assert _chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-6)
    assert _chi2_sf(11.070497693516351, 5) == pytest.approx(0.05, rel=1e-6)
    assert _chi2_sf(1.6103080, 5) == pytest.approx(0.9, rel=1e-5)


def test_odds_over_100000_draws_with_a_fixed_seed_pass_chi_square():
    """The service's own value and pick functions, in pure Python (no database)."""
    seed = hashlib.sha256(b"fixed test seed").hexdigest()

    class P:
        def __init__(self, id_, weight):
            self.id, self.weight, self.fallback_id = id_, weight, None

    prizes = [P(1, 1), P(2, 5), P(3, 10), P(4, 34), P(5, 150)]
    odds = odds_table(prizes, 1)
    assert len(commitment_for(seed, odds)) == 64
    n = 100_000
    counts = dict.fromkeys(range(1, 6), 0)
    for i in range(n):
        counts[pick_prize(draw_value(seed, f"draw-{i}"), odds)] += 1
    total = sum(p.weight for p in prizes)
    chi2 = sum((counts[p.id] - n * p.weight / total) ** 2 / (n * p.weight / total)
               for p in prizes)
    assert _chi2_sf(chi2, len(prizes) - 1) > 0.001
    # and the test can fail: odds skewed by one point of weight are caught
    skew = {**counts, 5: counts[5] + 2_000, 4: counts[4] - 2_000}
    chi2_skew = sum((skew[p.id] - n * p.weight / total) ** 2 / (n * p.weight / total)
                    for p in prizes)
    assert _chi2_sf(chi2_skew, len(prizes) - 1) < 0.001
