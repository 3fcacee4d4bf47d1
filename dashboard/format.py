"""Money and time formatting for display: store amounts read with the store's exponent (sync/money.py), shown with
CLDR's digits for the currency (¥1,200, KWD 12.345, ISK 1,234) but never rounded: a fraction CLDR has no digits for
is shown, not dropped."""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pandas as pd
from babel import Locale
from babel.numbers import format_currency, get_currency_precision

from sync.money import store_exponent, to_major

_LOCALE = Locale.parse("en_US")
# CLDR's currencySpacing: a symbol ending in a letter (an ISO code such as ISK) is set apart from the digits.
# Babel does not apply that rule; ICU and browsers do, and "ISK1,234" reads as one word.
_CODE_THEN_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)")


def _display_digits(value: Decimal, code: str) -> int:
    """CLDR's digits when they show the value exactly; else the store's, which always do (ISK 1,234.56)."""
    cldr = int(get_currency_precision(code))
    if value == value.quantize(Decimal(1).scaleb(-cldr)):
        return cldr
    return max(cldr, store_exponent(code))


def format_money(amount_minor: int | None, currency: str | None) -> str:
    """Integer store minor units -> display text with the currency's own number of decimals."""
    if amount_minor is None or currency is None or pd.isna(amount_minor):
        return "—"
    code = str(currency).upper()
    try:
        value = to_major(int(amount_minor), code)
    except ValueError:
        # A malformed code from the store: show what is stored rather than guess an exponent.
        return f"{int(amount_minor):,} {str(currency)[:12]!r} (minor units)"
    pattern = copy.copy(_LOCALE.currency_formats["standard"])
    digits = _display_digits(value, code)
    pattern.frac_prec = (digits, digits)
    text = format_currency(value, code, format=pattern, locale=_LOCALE, currency_digits=False)
    return _CODE_THEN_DIGIT.sub(" ", text, count=1)


def money_column(df: pd.DataFrame, amount: str, currency: str = "currency", into: str | None = None) -> pd.DataFrame:
    """Add (or replace) a text column formatting `amount` in each row's own currency."""
    out = df.copy()
    out[into or amount] = [format_money(a, c) for a, c in zip(out[amount], out[currency], strict=True)]
    return out
