"""Money is Decimal CNY with two places, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("9999999999.99")  # fits NUMERIC(12, 2)


def to_money(value: object) -> Decimal:
    """Parse a value into a 2-place Decimal; raise ValueError on anything that is not money."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise ValueError(f"amount out of range: {value!r}")
    return amount
