"""The lottery's arithmetic, its verification and its figures; nothing here writes.

The published method, which anyone can rerun once the seed is published:

- the odds table is the JSON text `{"prizes": [{"fallback": …, "id": …, "weight": …}, …],
  "version": n}` with the prizes in id order, keys sorted, no spaces (`odds_text`);
- the commitment, published before the lottery opens, is
  SHA-256(seed hex text + odds table text), hexadecimal;
- a draw's value is HMAC-SHA256(key = the seed's bytes, message = the draw id in UTF-8);
- the value, read as a 256-bit big-endian integer, modulo the sum of the weights, is a
  ticket; the prize is the first whose running sum of weights exceeds the ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Q, Sum

from ..models import Lottery, LotteryDraw, LotteryPrize, LotteryStatus


def odds_table(prizes, version: int) -> dict:
    """The odds table of the given prizes (objects with id, weight, fallback_id)."""
    rows = sorted(({"id": p.id, "weight": p.weight, "fallback": p.fallback_id} for p in prizes),
                  key=lambda row: row["id"])
    return {"version": version, "prizes": rows}


def odds_text(odds: dict) -> str:
    return json.dumps(odds, sort_keys=True, separators=(",", ":"))


def commitment_for(seed: str, odds: dict) -> str:
    return hashlib.sha256((seed + odds_text(odds)).encode()).hexdigest()


def draw_value(seed: str, draw_id: str) -> str:
    return hmac.new(bytes.fromhex(seed), draw_id.encode(), hashlib.sha256).hexdigest()


def pick_prize(value: str, odds: dict) -> int:
    """The id of the prize a draw value picks from the odds table."""
    prizes = odds["prizes"]
    total = sum(row["weight"] for row in prizes)
    ticket = int(value, 16) % total
    running = 0
    for row in prizes:
        running += row["weight"]
        if ticket < running:
            return row["id"]
    raise AssertionError("unreachable: the ticket is below the total")


@dataclass(frozen=True)
class Verification:
    commitment_ok: bool
    draws: int
    mismatched: list[str]  # draw ids whose value, odds version or prize drawn differ

    @property
    def ok(self) -> bool:
        return self.commitment_ok and not self.mismatched


def lottery_verify(lottery: Lottery, *, seed: str | None = None,
                   chunk: int = 5000) -> Verification:
    """Recompute every recorded draw from the seed (the lottery's own, or one given, as a
    member would with the published seed) and check the commitment."""
    seed = lottery.seed if seed is None else seed
    odds = lottery.odds or {}
    try:
        commitment_ok = bool(odds) and commitment_for(seed, odds) == lottery.commitment
    except ValueError:
        commitment_ok = False
    mismatched: list[str] = []
    count = 0
    last = 0
    while True:
        rows = list(LotteryDraw.objects.filter(lottery=lottery, pk__gt=last).order_by("pk")
                    .values_list("pk", "draw_id", "value", "odds_version", "drawn_prize_id")
                    [:chunk])
        if not rows:
            break
        for pk, draw_id, value, version, drawn in rows:
            count += 1
            try:
                expected = draw_value(seed, draw_id)
            except ValueError:
                expected = ""
            if (expected != value or version != odds.get("version")
                    or not odds or pick_prize(expected, odds) != drawn):
                mismatched.append(draw_id)
            last = pk
    return Verification(commitment_ok=commitment_ok, draws=count, mismatched=mismatched)


def draws_for_member(*, member_id: int, lottery_id: int | None = None):
    qs = (LotteryDraw.objects.filter(member_id=member_id)
          .select_related("prize", "drawn_prize", "lottery").order_by("-id"))
    if lottery_id is not None:
        qs = qs.filter(lottery_id=lottery_id)
    return qs


def member_draw_counts(*, lottery_id: int, member_id: int, day) -> tuple[int, int]:
    """(draws today, draws in the lottery) of a member."""
    got = LotteryDraw.objects.filter(lottery_id=lottery_id, member_id=member_id).aggregate(
        total=Count("id"), today=Count("id", filter=Q(day=day)))
    return got["today"], got["total"]


def lottery_results(lottery: Lottery) -> dict:
    """Draws, members, prizes given per prize, fallbacks, cost, stock left — two grouped
    queries."""
    totals = LotteryDraw.objects.filter(lottery=lottery).aggregate(
        draws=Count("id"), members=Count("member_id", distinct=True),
        points=Sum("cost_points", default=0), entries=Sum("cost_entries", default=0),
        fell_back=Count("id", filter=~Q(prize_id=F("drawn_prize_id"))))
    with connection.cursor() as cursor:
        cursor.execute("SELECT prize_id, count(*) FROM campaigns_lotterydraw "
                       "WHERE lottery_id = %s AND prize_id IS NOT NULL GROUP BY prize_id",
                       [lottery.pk])
        given = dict(cursor.fetchall())
        cursor.execute("SELECT drawn_prize_id, count(*) FROM campaigns_lotterydraw "
                       "WHERE lottery_id = %s GROUP BY drawn_prize_id", [lottery.pk])
        drawn = dict(cursor.fetchall())
    prizes = [{"prize": prize, "drawn": drawn.get(prize.pk, 0), "given": given.get(prize.pk, 0),
               "stock": prize.stock}
              for prize in LotteryPrize.objects.filter(lottery=lottery)]
    return {**totals, "prizes": prizes}


def seed_public(lottery: Lottery) -> str | None:
    """The seed, once it may be published: after the lottery closed."""
    return lottery.seed if lottery.status == LotteryStatus.CLOSED else None
