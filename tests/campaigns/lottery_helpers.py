"""Building lotteries for the lottery tests."""

from __future__ import annotations

from datetime import datetime

from campaigns.models import Lottery, LotteryPrize
from campaigns.services.lottery import lottery_create, lottery_open


def lottery(now: datetime, prizes: list[dict], *, open_: bool = True, code: str = "spring",
            **fields) -> Lottery:
    """A lottery with the given prizes (name, kind, weight, stock, points, fallback by
    name), opened unless told otherwise."""
    fields.setdefault("cost_kind", "free")
    lot = lottery_create(lottery=Lottery(code=code, name=fields.pop("name", code), **fields),
                         now=now)
    made: dict[str, LotteryPrize] = {}
    for i, spec in enumerate(prizes):
        spec = dict(spec)
        fallback = spec.pop("fallback", None)
        made[spec["name"]] = LotteryPrize.objects.create(
            lottery=lot, sort_order=i, fallback=made.get(fallback), **spec)
    if open_:
        lot = lottery_open(lottery_id=lot.pk, now=now)
    return lot


def prize(lot: Lottery, name: str) -> LotteryPrize:
    return LotteryPrize.objects.get(lottery=lot, name=name)
