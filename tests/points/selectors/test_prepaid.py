"""The prepaid liability report equals an independent tally: owed amounts from the sums of
the ledgers (not the balances the report reads), monthly flows from a differently written
SQL (to_char months, FILTER per kind), on activity straddling a Beijing month's start."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection

from points.selectors.prepaid import PrepaidReport, prepaid_report
from points.services.gift_cards import (
    gift_card_activate,
    gift_card_batch_issue,
    gift_card_spend,
    gift_cards_expire_due,
)
from points.services.stored_value import (
    stored_value_expire_due,
    stored_value_refund,
    stored_value_spend,
    stored_value_top_up,
)

D = Decimal
UTC = timezone.utc

TALLY_SQL = """
SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS m,
  coalesce(sum(principal_delta) FILTER (WHERE kind = 'top_up'), 0),
  coalesce(sum(bonus_delta) FILTER (WHERE kind = 'top_up'), 0),
  coalesce(-sum(principal_delta) FILTER (WHERE kind = 'spend'), 0),
  coalesce(-sum(bonus_delta) FILTER (WHERE kind = 'spend'), 0),
  coalesce(-sum(principal_delta) FILTER (WHERE kind = 'refund'), 0),
  coalesce(-sum(bonus_delta) FILTER (WHERE kind = 'refund'), 0),
  coalesce(sum(principal_delta) FILTER (WHERE kind = 'return'), 0),
  coalesce(sum(bonus_delta) FILTER (WHERE kind = 'return'), 0),
  coalesce(-sum(bonus_delta) FILTER (WHERE kind = 'expire'), 0)
FROM points_storedvalueentry GROUP BY m ORDER BY m
"""
CARD_TALLY_SQL = """
SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS m,
  coalesce(sum(amount) FILTER (WHERE kind = 'activate'), 0),
  coalesce(-sum(amount) FILTER (WHERE kind = 'spend'), 0),
  coalesce(sum(amount) FILTER (WHERE kind = 'return'), 0),
  coalesce(-sum(amount) FILTER (WHERE kind = 'expire'), 0)
FROM points_giftcardentry GROUP BY m ORDER BY m
"""


def tally() -> tuple[dict, dict[str, tuple]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(principal_delta), 0), coalesce(sum(bonus_delta), 0)"
                       " FROM points_storedvalueentry")
        principal, bonus = cursor.fetchone()
        cursor.execute("SELECT coalesce(sum(e.amount), 0) FROM points_giftcardentry e")
        cards = cursor.fetchone()[0]
        cursor.execute(TALLY_SQL)
        months = {m: tuple(rest) + (D(0),) * 4 for m, *rest in cursor.fetchall()}
        cursor.execute(CARD_TALLY_SQL)
        for m, *rest in cursor.fetchall():
            months[m] = months.get(m, (D(0),) * 13)[:9] + tuple(rest)
    return {"principal": principal, "bonus": bonus, "gift_cards": cards}, months


def figures(report: PrepaidReport) -> tuple[dict, dict[str, tuple]]:
    owed = {"principal": report.principal, "bonus": report.bonus,
            "gift_cards": report.gift_cards}
    names = ("top_up_principal", "top_up_bonus", "spend_principal", "spend_bonus",
             "refund_principal", "refund_bonus_forfeited", "return_principal", "return_bonus",
             "expired_bonus", "gift_cards_activated", "gift_cards_spent",
             "gift_cards_returned", "gift_cards_expired")
    return owed, {f"{m.month:%Y-%m}": tuple(getattr(m, n) for n in names)
                  for m in report.months}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def test_the_report_equals_an_independent_tally(make_member, db):
    from points.models import TopUpBonusRule

    TopUpBonusRule.objects.create(name="充500送50", min_amount=D("500"), bonus=D("50"),
                                  bonus_valid_days=10)
    march = datetime(2026, 3, 10, 4, tzinfo=UTC)
    boundary = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)  # 1 April 01:30 in Beijing
    members = [make_member() for _ in range(4)]
    for n, member in enumerate(members):
        stored_value_top_up(member_id=member.pk, amount=D("500") + n * 100, key=f"t{n}",
                            now=march)
        stored_value_spend(member_id=member.pk, amount=D("70.50") + n, key=f"s{n}",
                           now=march + timedelta(days=1))
    stored_value_refund(member_id=members[0].pk, amount="100", key="r0", now=boundary)
    stored_value_top_up(member_id=members[1].pk, amount="88.88", key="t-april", now=boundary)
    stored_value_expire_due(now=march + timedelta(days=15))
    cards = gift_card_batch_issue(name="b", face_value="200", quantity=3, valid_days=25,
                                  now=march).cards
    for n, card in enumerate(cards):
        gift_card_activate(code=card.code, key=f"a{n}", now=march)
    gift_card_spend(code=cards[0].code, pin=cards[0].pin, amount="55.55", key="g0",
                    now=boundary)
    gift_cards_expire_due(now=boundary + timedelta(days=6))

    report = prepaid_report()
    owed, months = figures(report)
    expected_owed, expected_months = tally()
    assert owed == expected_owed
    assert months == expected_months
    assert list(months) == ["2026-03", "2026-04"]
    # spot checks against hand-computed figures
    assert report.months[0].top_up_principal == D("2600.00")
    assert report.months[0].top_up_bonus == D("200.00")
    assert report.months[1].refund_principal == D("100.00")
    assert report.months[0].gift_cards_activated == D("600.00")
    assert report.gift_cards == D("0.00")  # every card expired
    assert report.months[1].gift_cards_expired == D("600.00") - D("55.55")
