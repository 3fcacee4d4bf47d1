"""Revenue queries on the hand-written finance store (tests/store/conftest.py); expectations computed by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.queries import revenue as q
from sync.errors import PayOpsError
from sync.store import Store
from tests.store.conftest import WINDOW, seed_finance


# Both backends (tests/postgres.py): these override tests/store/conftest.py's DuckDB-only fixtures in this module.
@pytest.fixture
def finance_store(any_store: Store) -> Store:
    seed_finance(any_store)
    return any_store


@pytest.fixture
def empty_store(any_store: Store) -> Store:
    return any_store


def _by_currency(df):
    return df.set_index("currency")


def test_totals_per_currency_never_summed(finance_store):
    t = _by_currency(q.revenue_totals(finance_store, *WINDOW))
    assert sorted(t.index) == ["JPY", "KWD", "USD"]
    # USD gross: ch_u1 10000 + ch_u2 5000 + ch_u7 5000 = 20000 (failed charges excluded).
    assert t.loc["USD", "gross"] == 20000
    # Partial refund re_u1 2500; lost dispute dp_u2 5000.
    assert t.loc["USD", "refunds"] == 2500
    assert t.loc["USD", "dispute_losses"] == 5000
    # USD fees: txn_u1 320 + txn_ru1 0 + txn_u2 175 + txn_du2 1500 + txn_u7 175 + txn_j1 62 (¥ charge settled
    # in USD) = 2232; the payout txn_po is not revenue.
    assert t.loc["USD", "fees"] == 2232
    # USD net: 9680 - 2500 + 4825 - 6500 + 4825 + 1038 = 11368.
    assert t.loc["USD", "net"] == 11368
    # JPY: ¥1,200 gross, but its fee and net landed in USD (settlement currency), so 0 here.
    assert (t.loc["JPY", "gross"], t.loc["JPY", "fees"], t.loc["JPY", "net"]) == (1200, 0, 0)
    # KWD 12.345: fee 0.400, net 12345 - 400 = 11945.
    assert (t.loc["KWD", "gross"], t.loc["KWD", "fees"], t.loc["KWD", "net"]) == (12345, 400, 11945)


def test_change_against_previous_period(finance_store):
    t = _by_currency(q.revenue_totals(finance_store, *WINDOW))
    # Previous 14 days [05-18, 06-01): ch_u0 8000, fee 262, net 7738. Gross change (20000 - 8000) / 8000 = +150%.
    assert t.loc["USD", "gross_prev"] == 8000
    assert t.loc["USD", "gross_change_pct"] == pytest.approx(150.0)
    # Net change (11368 - 7738) / 7738 = 46.91...%
    assert t.loc["USD", "net_change_pct"] == pytest.approx(46.9)
    # No KWD in the previous period: no percentage (not +inf).
    assert pd.isna(t.loc["KWD", "gross_change_pct"])


def test_weekly_grain_and_currency_filter(finance_store):
    df = q.revenue_by_period(finance_store, *WINDOW, currency="USD", grain="week")
    assert set(df["currency"]) == {"USD"}
    weeks = df.set_index(df["period"].dt.date)
    # Week of Mon 06-01: gross 10000 + 5000 = 15000; week of 06-08: ch_u7 5000.
    assert weeks.loc[dt.date(2026, 6, 1), "gross"] == 15000
    assert weeks.loc[dt.date(2026, 6, 8), "gross"] == 5000
    # Fees in week 1: 320 + 175 + 1500 + 62 = 2057.
    assert weeks.loc[dt.date(2026, 6, 1), "fees"] == 2057


def test_daily_rows_sum_to_totals_and_provider_filter(finance_store):
    daily = q.revenue_by_period(finance_store, *WINDOW, grain="day")
    assert daily.groupby("currency")["gross"].sum().to_dict() == {"JPY": 1200, "KWD": 12345, "USD": 20000}
    assert q.revenue_by_period(finance_store, *WINDOW, provider="braintree").empty


def test_bad_grain_is_a_payops_error(finance_store):
    with pytest.raises(PayOpsError, match="grain"):
        q.revenue_by_period(finance_store, *WINDOW, grain="hour")


def test_empty_store(empty_store):
    assert q.revenue_by_period(empty_store, *WINDOW).empty
    assert q.revenue_totals(empty_store, *WINDOW).empty
