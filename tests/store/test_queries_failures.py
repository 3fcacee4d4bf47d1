"""Failure queries and decline advice on the hand-written finance store; expectations computed by hand."""

from __future__ import annotations

import pytest

from dashboard.declines import ASK_FOR_ANOTHER_CARD, NEVER_RETRY, RETRY_LATER, advise, is_retryable
from dashboard.queries import failures as q
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


def test_failure_rate_over_time(finance_store):
    df = q.failure_rate(finance_store, *WINDOW, grain="week")
    # Attempts: succeeded u1 u2 u7 j1 k1 (5) + failed u3 u4 u5 u6 j2 k2 k3 (7) = 12; 7 failed.
    assert (int(df["attempts"].sum()), int(df["failed"].sum())) == (12, 7)
    # Week of 06-08: u7 succeeded, k2 and k3 failed -> 2 / 3.
    week2 = df[df["period"].dt.day == 8].iloc[0]
    assert (week2["attempts"], week2["failed"]) == (3, 2)
    assert week2["failure_rate"] == pytest.approx(2 / 3)
    # KWD only: k1 succeeded, k2 k3 failed -> 2 / 3 overall.
    kwd = q.failure_rate(finance_store, *WINDOW, currency="KWD", grain="month")
    assert (int(kwd["attempts"].sum()), int(kwd["failed"].sum())) == (3, 2)


def test_top_decline_codes_with_advice(finance_store):
    df = q.top_decline_codes(finance_store, *WINDOW)
    first = df.iloc[0]
    # insufficient_funds twice (u3, k2) of 7 failures.
    assert (first["decline_code"], first["failures"]) == ("insufficient_funds", 2)
    assert first["share"] == pytest.approx(2 / 7)
    assert first["action"] == RETRY_LATER
    actions = {(c, a if isinstance(a, str) else None): act
               for c, a, act in zip(df["decline_code"], df["advice_code"], df["action"], strict=True)}
    assert actions[("stolen_card", None)] == NEVER_RETRY
    assert actions[("highest_risk_level", None)] == NEVER_RETRY
    # generic_decline is normally "ask for another card", but the issuer's advice do_not_try_again wins.
    assert actions[("generic_decline", "do_not_try_again")] == NEVER_RETRY
    assert actions[("expired_card", None)] == ASK_FOR_ANOTHER_CARD
    assert int(df["failures"].sum()) == 7
    assert len(q.top_decline_codes(finance_store, *WINDOW, limit=2)) == 2


def test_outcome_types(finance_store):
    df = q.outcome_types(finance_store, *WINDOW).set_index("outcome_type")
    # u5 was blocked by Radar; the other 6 failures were issuer declines.
    assert df["failures"].to_dict() == {"issuer_declined": 6, "blocked": 1}


def test_by_brand_and_country(finance_store):
    brand = q.failures_by(finance_store, *WINDOW, by="card_brand").set_index("card_brand")
    # visa: u1 u3 u5 u6 u7 k1 k2 k3 = 8 attempts; u3 u5 u6 k2 k3 failed = 5.
    assert brand.loc["visa", ["attempts", "failed"]].tolist() == [8, 5]
    assert brand.loc["amex", "failure_rate"] == 0
    country = q.failures_by(finance_store, *WINDOW, by="card_country").set_index("card_country")
    # US: u1 u2 u3 u5 u6 u7 = 6 attempts, 3 failed; GB: u4 1/1.
    assert country.loc["US", ["attempts", "failed"]].tolist() == [6, 3]
    assert country.loc["GB", "failure_rate"] == 1
    with pytest.raises(PayOpsError):
        q.failures_by(finance_store, *WINDOW, by="email; DROP TABLE payments")


def test_invoice_recovery(finance_store):
    df = q.invoice_recovery(finance_store, *WINDOW).set_index("currency")
    # in_b1 (USD 50.00) failed on 06-07 (linked through its payment intent, new API) and was paid on 06-09.
    assert df.loc["USD", ["failed_invoices", "recovered_invoices", "failed_amount", "recovered_amount"]].tolist() \
        == [1, 1, 5000, 5000]
    # in_d1 (KWD 1.000) failed twice and is still open.
    assert df.loc["KWD", ["failed_invoices", "recovered_invoices", "failed_amount"]].tolist() == [1, 0, 1000]
    assert df.loc["KWD", "recovery_rate"] == 0
    assert q.invoice_recovery(finance_store, *WINDOW, currency="USD")["currency"].tolist() == ["USD"]


def test_advise_hard_declines_are_never_retried():
    for code in ("stolen_card", "lost_card", "pickup_card", "fraudulent", "restricted_card"):
        assert advise(code).action == NEVER_RETRY and not is_retryable(code)
    # A hard decline stays hard whatever the advice code says.
    assert advise("lost_card", "try_again_later").action == NEVER_RETRY
    assert advise("insufficient_funds", "do_not_try_again").action == NEVER_RETRY
    assert advise("insufficient_funds").action == RETRY_LATER
    assert advise(None).action == ASK_FOR_ANOTHER_CARD
    assert "Unrecognised" in advise("made_up_code").meaning


def test_empty_store(empty_store):
    assert q.failure_rate(empty_store, *WINDOW).empty
    assert q.top_decline_codes(empty_store, *WINDOW).empty
    assert q.invoice_recovery(empty_store, *WINDOW).empty
