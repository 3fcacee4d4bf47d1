"""Subscription queries on the hand-written finance store; expectations computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.declines import ASK_FOR_ANOTHER_CARD
from dashboard.queries import subscriptions as q
from sync.store import Store
from tests.store.conftest import NOW, WINDOW, seed_finance


# Both backends (tests/postgres.py): these override tests/store/conftest.py's DuckDB-only fixtures in this module.
@pytest.fixture
def finance_store(any_store: Store) -> Store:
    seed_finance(any_store)
    return any_store


@pytest.fixture
def empty_store(any_store: Store) -> Store:
    return any_store


def test_status_counts(finance_store):
    counts = q.status_counts(finance_store).set_index("status")["subscriptions"].to_dict()
    # active: a1 b1 c2; canceled: b2 c1 g1; past_due: d1; trialing: e1.
    assert counts == {"active": 3, "canceled": 3, "past_due": 1, "trialing": 1}
    assert q.status_counts(finance_store, currency="JPY").set_index("status")["subscriptions"].to_dict() == {
        "active": 1, "canceled": 1}


def test_past_due_with_failed_invoice_and_last_decline(finance_store):
    df = q.past_due(finance_store)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["subscription_id"], row["invoice_id"], row["amount_due"], row["currency"]) == (
        "sub_d1", "in_d1", 1000, "KWD")
    # Two failed attempts: insufficient_funds on 06-08, then do_not_honor on 06-10 (the last one).
    assert (row["payment_id"], row["decline_code"]) == ("ch_k3", "do_not_honor")
    assert row["action"] == ASK_FOR_ANOTHER_CARD
    assert row["email"] == "d@example.com"


def test_upcoming_renewals(finance_store):
    df = q.upcoming_renewals(finance_store, NOW, 30).set_index("subscription_id")
    # Period ends in [06-15, 07-15): d1 06-15, e1 07-01, c2 07-03, b1 07-05; a1 renews in 2027.
    assert list(df.index) == ["sub_d1", "sub_e1", "sub_c2", "sub_b1"]
    # sub_b1: $50.00 x 2; the metered item is not in the list price.
    assert df.loc["sub_b1", "amount"] == 10000
    assert q.upcoming_renewals(finance_store, NOW, 1).index.size == 1


def test_cancellations(finance_store):
    df = q.cancellations(finance_store, *WINDOW)
    # Only sub_g1 was canceled in [06-01, 06-15); b2 (04-10) and c1 (03-15) are outside.
    assert df["subscription_id"].tolist() == ["sub_g1"]
    assert df.iloc[0]["reason"] == "cancellation_requested"
    wide = q.cancellations(finance_store, dt.datetime(2026, 3, 1), NOW)
    assert sorted(wide["subscription_id"]) == ["sub_b2", "sub_c1", "sub_g1"]


def test_empty_store(empty_store):
    assert q.status_counts(empty_store).empty
    assert q.past_due(empty_store).empty
    assert q.upcoming_renewals(empty_store, NOW).empty
    assert q.cancellations(empty_store, *WINDOW).empty
