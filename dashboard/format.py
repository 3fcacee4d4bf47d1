"""Money and time formatting for display: amounts by their currency's exponent (¥1,200, KWD 1.234)."""

from __future__ import annotations

import pandas as pd
from babel.numbers import format_currency

from sync.money import to_major


def format_money(amount_minor: int | None, currency: str | None) -> str:
    """Integer minor units -> display text with the currency's own number of decimals."""
    if amount_minor is None or currency is None or pd.isna(amount_minor):
        return "—"
    code = str(currency).upper()
    return format_currency(to_major(int(amount_minor), code), code, locale="en_US", currency_digits=True)


def money_column(df: pd.DataFrame, amount: str, currency: str = "currency", into: str | None = None) -> pd.DataFrame:
    """Add (or replace) a text column formatting `amount` in each row's own currency."""
    out = df.copy()
    out[into or amount] = [format_money(a, c) for a, c in zip(out[amount], out[currency], strict=True)]
    return out
