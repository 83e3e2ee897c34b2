"""Xero's money amounts (a JSON number, or its text) as Decimal pounds and pence that Socket can store."""
from decimal import Decimal, InvalidOperation
from typing import Any

PENCE = Decimal("0.01")
LIMIT = Decimal("10000000000")  # Socket's money columns hold up to 9,999,999,999.99 (NUMERIC(12, 2))


def parse_xero_amount(value: Any) -> Decimal | None:
    """An amount to the penny, or None when Xero gave none; ValueError for anything else (text that is not a
    number, a bool, a list, NaN or infinity, or an amount too large to store)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r:.80} is not an amount")
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise InvalidOperation
        amount = amount.quantize(PENCE)  # before the limit: 9,999,999,999.995 rounds up past it
        if abs(amount) >= LIMIT:
            raise InvalidOperation
        return amount
    except InvalidOperation:
        raise ValueError(f"{value!r:.80} is not an amount Socket can store") from None
