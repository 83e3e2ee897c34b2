"""Xero's amounts as Decimal pounds and pence Socket can store (webapp.xero.amounts)."""
from decimal import Decimal

import pytest

from webapp.xero.amounts import parse_xero_amount


@pytest.mark.parametrize("value, amount", [(250.0, "250.00"), ("12.346", "12.35"), (None, None), (0, "0.00"),
                                           (9999999999.99, "9999999999.99"), (-9999999999.994, "-9999999999.99")])
def test_an_amount_is_read_to_the_penny(value, amount):
    assert parse_xero_amount(value) == (None if amount is None else Decimal(amount))


@pytest.mark.parametrize("value", [9999999999.995, "-9999999999.995", 1e10, 1e30, "1e400", "NaN", "Infinity",
                                   True, [1], {"Total": 1}, "one pound"])
def test_an_amount_socket_cannot_store_is_refused(value):
    """9,999,999,999.995 is under the money columns' limit but rounds to the penny past it (the long corpus
    found it: the INSERT overflowed and the whole status read failed)."""
    with pytest.raises(ValueError):
        parse_xero_amount(value)
