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
    assert (fresh.loc["stripe", "last_success_mode"], fresh.loc["stripe", "last_mode"]) == ("incremental",
                                                                                          "incremental")


def test_freshness_tells_a_demo_load_from_a_sync(any_store: Store) -> None:
    """The sidebar and Sync health say "demo data loaded" of a demo run, "synced" of a sync: the newest successful
    run's mode decides, whichever came last."""
    demo = any_store.start_run("stripe", "demo")
    any_store.finish_run(demo, "succeeded", {"payments": 3})
    fresh = common.freshness(any_store).set_index("provider")
    assert fresh.loc["stripe", "last_success_mode"] == "demo" and fresh.loc["stripe", "last_status"] == "succeeded"
    synced = any_store.start_run("stripe", "incremental")
    any_store.finish_run(synced, "succeeded", {"charges": 1})
    fresh = common.freshness(any_store).set_index("provider")
    assert fresh.loc["stripe", "last_success_mode"] == "incremental"
    running = any_store.start_run("stripe", "demo")
    fresh = common.freshness(any_store).set_index("provider")
    assert (fresh.loc["stripe", "last_status"], fresh.loc["stripe", "last_mode"]) == ("running", "demo")
    assert fresh.loc["stripe", "last_success_mode"] == "incremental"  # still the last one that finished
    any_store.finish_run(running, "failed", {}, "stopped")


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
