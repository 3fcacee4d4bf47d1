"""Sync health queries (checkpoints, gaps, runs, row counts) on the hand-written data set."""

from __future__ import annotations

import pytest

from dashboard.queries import common
from dashboard.queries import sync_health as q
from sync.store import Store
from tests.conftest import SEED_NOW, seed_store


# Both backends (tests/postgres.py): overrides tests/conftest.py's DuckDB-only fixture in this module.
@pytest.fixture
def seeded_store(any_store: Store) -> Store:
    seed_store(any_store)
    return any_store


def test_sync_state_cursor_age_and_gap(seeded_store) -> None:
    state = q.sync_state(seeded_store, SEED_NOW).set_index("resource")
    # The event cursor is 2026-11-19 12:00, now 2026-11-20 12:00: 24.0 hours; both synced at 11:00: 1.0 h ago.
    assert state.loc["events", "cursor_age_hours"] == 24.0
    assert state.loc["events", "synced_hours_ago"] == 1.0
    assert state.loc["charges", "last_rows"] == 7
    assert "30-day" in state.loc["events", "gap_message"]
    gaps = q.gap_warnings(seeded_store)
    assert list(gaps["resource"]) == ["events"]
    assert q.gap_warnings(seeded_store, "braintree").empty


def test_runs_and_freshness(seeded_store) -> None:
    runs = q.recent_runs(seeded_store)
    assert list(runs["status"]) == ["failed", "succeeded"]  # newest first
    assert runs.iloc[1]["rows"] == 15  # counts {charges: 7, events: 8}
    fresh = common.freshness(seeded_store).set_index("provider")
    assert fresh.loc["stripe", "last_status"] == "failed"
    assert fresh.loc["stripe", "last_success"] == runs.iloc[1]["finished_at"]
    assert fresh.loc["stripe", "last_error"] == "Stripe rejected the API key."


def test_table_counts_per_provider(seeded_store) -> None:
    counts = q.table_counts(seeded_store).set_index(["provider", "table_name"])["row_count"]
    # stripe: 7 charges, 5 disputes, 3 customers, 1 refund, 1 invoice, 8 events; braintree: 1 payment.
    assert counts[("stripe", "payments")] == 7 and counts[("stripe", "disputes")] == 5
    assert counts[("stripe", "events")] == 8 and counts[("braintree", "payments")] == 1
    assert list(q.table_counts(seeded_store, "braintree")["table_name"]) == ["payments"]


def test_filter_options(seeded_store) -> None:
    options = common.filter_options(seeded_store)
    assert list(options[options["kind"] == "currency"]["value"]) == ["JPY", "KWD", "USD"]
    assert list(options[options["kind"] == "provider"]["value"]) == ["braintree", "stripe"]
