"""The prepaid liability for finance: what the programme owes in stored value (principal and
bonus apart) and on gift cards, and the flows month by month (Beijing months): top-ups,
bonus given, spend, refunds, give-backs on returns, bonus expired, gift cards activated,
spent and expired.

One grouped statement per ledger (month × kind). Both ledgers are far smaller than the
points ledger (a movement per top-up or payment, not per sale and rule); should they grow
past tens of millions of rows, the points liability's hourly month totals are the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

ZERO = Decimal("0.00")

MONTH_FIGURES = ("top_up_principal", "top_up_bonus", "spend_principal", "spend_bonus",
                 "refund_principal", "refund_bonus_forfeited", "return_principal",
                 "return_bonus", "expired_bonus", "gift_cards_activated", "gift_cards_spent",
                 "gift_cards_returned", "gift_cards_expired")


@dataclass
class PrepaidMonth:
    month: date
    top_up_principal: Decimal = ZERO      # money paid in
    top_up_bonus: Decimal = ZERO          # bonus given with it
    spend_principal: Decimal = ZERO       # paid for goods (positive figures)
    spend_bonus: Decimal = ZERO
    refund_principal: Decimal = ZERO      # paid back to members
    refund_bonus_forfeited: Decimal = ZERO
    return_principal: Decimal = ZERO      # given back on returned goods
    return_bonus: Decimal = ZERO
    expired_bonus: Decimal = ZERO
    gift_cards_activated: Decimal = ZERO
    gift_cards_spent: Decimal = ZERO
    gift_cards_returned: Decimal = ZERO
    gift_cards_expired: Decimal = ZERO


@dataclass
class PrepaidReport:
    principal: Decimal = ZERO             # stored value owed: members' money
    bonus: Decimal = ZERO                 # stored value owed: bonus still spendable
    gift_cards: Decimal = ZERO            # balances of active cards
    months: list[PrepaidMonth] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.principal + self.bonus + self.gift_cards


_STORED_VALUE_SQL = """
SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date, kind,
       sum(principal_delta), sum(bonus_delta)
FROM points_storedvalueentry GROUP BY 1, 2
"""
_GIFT_CARD_SQL = """
SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date, kind, sum(amount)
FROM points_giftcardentry GROUP BY 1, 2
"""
_OWED_SQL = """
SELECT (SELECT coalesce(sum(principal), 0) FROM points_storedvalueaccount),
       (SELECT coalesce(sum(bonus), 0) FROM points_storedvalueaccount),
       (SELECT coalesce(sum(balance), 0) FROM points_giftcard WHERE state = 'active')
"""

_STORED_VALUE_FIGURES = {  # kind → (figure for −principal / +principal, for bonus), sign
    "top_up": (("top_up_principal", 1), ("top_up_bonus", 1)),
    "spend": (("spend_principal", -1), ("spend_bonus", -1)),
    "refund": (("refund_principal", -1), ("refund_bonus_forfeited", -1)),
    "return": (("return_principal", 1), ("return_bonus", 1)),
    "expire": (None, ("expired_bonus", -1)),
}
_GIFT_CARD_FIGURES = {"activate": ("gift_cards_activated", 1), "spend": ("gift_cards_spent", -1),
                      "return": ("gift_cards_returned", 1), "expire": ("gift_cards_expired", -1)}


def prepaid_report() -> PrepaidReport:
    """What is owed now and every month's flows, oldest month first; the figures are
    positive amounts (a spend of ¥30 counts 30.00 spent)."""
    months: dict[date, PrepaidMonth] = {}

    def month(day: date) -> PrepaidMonth:
        return months.setdefault(day, PrepaidMonth(month=day))

    with connection.cursor() as cursor:
        cursor.execute(_OWED_SQL)
        principal, bonus, cards = cursor.fetchone()
        cursor.execute(_STORED_VALUE_SQL)
        for day, kind, principal_sum, bonus_sum in cursor.fetchall():
            for figure, value in zip(_STORED_VALUE_FIGURES[kind], (principal_sum, bonus_sum),
                                     strict=True):
                if figure is not None:
                    name, sign = figure
                    setattr(month(day), name, getattr(month(day), name) + sign * value)
        cursor.execute(_GIFT_CARD_SQL)
        for day, kind, amount in cursor.fetchall():
            name, sign = _GIFT_CARD_FIGURES[kind]
            setattr(month(day), name, getattr(month(day), name) + sign * amount)
    return PrepaidReport(principal=principal, bonus=bonus, gift_cards=cards,
                         months=[months[day] for day in sorted(months)])
