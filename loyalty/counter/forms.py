"""Parsing of the counter's forms: what the clerk typed, as the services' inputs."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.errors import CounterError, CounterErrorCode
from loyalty.services.checkout_commit import CheckoutLine
from members.models import Member
from points.services.tenders import TenderInput

LINE_ROWS = 5


def _amount(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as error:
        raise CounterError(CounterErrorCode.BAD_AMOUNT) from error
    if value < 0 or value != value.quantize(Decimal("0.01")) or value > Decimal("10000000"):
        raise CounterError(CounterErrorCode.BAD_AMOUNT)
    return value


def whole(raw: str, default: int = 0) -> int:
    raw = (raw or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise CounterError(CounterErrorCode.BAD_AMOUNT)
    return int(raw)


def purchase_lines(data) -> tuple[CheckoutLine, ...]:
    """Rows `sku-N`, `category-N`, `quantity-N`, `amount-N`; a row without an amount is
    empty. A row with a category and no SKU is one line of that category (a total)."""
    lines = []
    for n in range(LINE_ROWS):
        raw = data.get(f"amount-{n}", "").strip()
        if not raw:
            continue
        sku = data.get(f"sku-{n}", "").strip()[:64]
        category = data.get(f"category-{n}", "").strip()[:64]
        lines.append(CheckoutLine(sku=sku or category or f"LINE{n + 1}",
                                  quantity=max(whole(data.get(f"quantity-{n}", ""), 1), 1),
                                  amount=_amount(raw), category=category))
    if not lines:
        raise CounterError(CounterErrorCode.NO_LINES)
    return tuple(lines)


def purchase_tenders(data) -> tuple[TenderInput, ...]:
    """The tender picker: stored value and a gift card (code, PIN, amount) as the member
    asks; cash pays the rest."""
    tenders = []
    stored = data.get("stored_value", "").strip()
    if stored and _amount(stored) > 0:
        tenders.append(TenderInput(kind="stored_value", amount=_amount(stored)))
    card = data.get("gift_card_amount", "").strip()
    if card and _amount(card) > 0:
        tenders.append(TenderInput(kind="gift_card", amount=_amount(card),
                                   gift_card_code=data.get("gift_card_code", "").strip()[:20],
                                   gift_card_pin=data.get("gift_card_pin", "").strip()[:6]))
    return tuple(tenders)


class RegisterForm(forms.Form):
    mobile = forms.CharField(label=_("Mobile"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=64)
    birthday = forms.DateField(label=_("Birthday (optional)"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Member.Gender.choices,
                               initial=Member.Gender.UNKNOWN)
    marketing_consent = forms.BooleanField(label=_("Agrees to receive offers"),
                                           required=False)
