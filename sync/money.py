"""Currency exponents (from Babel's CLDR data) and conversion between minor and major units."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel.numbers import get_currency_precision


@cache
def exponent(currency: str) -> int:
    """Number of minor-unit digits for a currency, e.g. USD 2, JPY 0, KWD 3 (CLDR, as Stripe uses)."""
    return int(get_currency_precision(currency.upper()))


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units to an exact Decimal in major units (never a float)."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def to_minor(amount_major: Decimal | str, currency: str) -> int:
    """Major units (Braintree Decimal, PayPal "10.00") to integer minor units; refuses sub-minor digits."""
    value = Decimal(str(amount_major)).scaleb(exponent(currency))
    if value != value.to_integral_value():
        raise ValueError(f"{amount_major} {currency} has more decimals than {currency} allows")
    return int(value)
