"""AppTest of the Sync health page and the in-process scheduler behind its "Sync now" button."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.scheduler import NO_KEY_MESSAGE, SyncScheduler
from dashboard.text import literal
from sync.errors import ConfigError
from tests.conftest import make_store, run_app, texts
from tests.pages.conftest import open_page


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("sync_health", "Sync health")
    assert NO_KEY_MESSAGE in texts(at)  # demo mode: no key, and how to set one
    if empty_or_demo == "empty_db":
        assert "No rows in the store" in texts(at)
    else:
        counts = next(d.value for d in at.dataframe if "row_count" in d.value.columns)
        assert int(counts["row_count"].sum()) > 0  # stored rows per table


def test_state_gap_counts_and_provider_filter(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("sync_health")
    assert any(literal("30-day event window") in w.value for w in at.warning)
    state, counts, runs = (d.value for d in at.dataframe)
    # The cursor is 24 h before the seed time, which is this hour: 24.0 h plus the minutes past the hour, rounded to
    # 0.1 h, so 25.0 in an hour's last three minutes (a run at 12:59:21 failed a "< 25.0").
    assert 24.0 <= state.set_index("resource").loc["events", "cursor_age_hours"] <= 25.0
    assert counts.set_index(["provider", "table_name"]).loc[("stripe", "payments"), "row_count"] == 7
    assert list(runs["status"]) == ["failed", "succeeded"]
    at.sidebar.selectbox(key="filter_provider").set_value("braintree").run()
    counts = next(d.value for d in at.dataframe if "row_count" in d.value.columns)
    assert list(counts["table_name"]) == ["payments"]  # braintree holds one payment and nothing else


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sync_now_runs_in_process_and_reports_failure(app_env, seeded_db, monkeypatch) -> None:
    """A real Stripe client against a closed 127.0.0.1 port: the run fails to connect and the page says so."""
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_payops_closed_port")
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("STRIPE_MAX_NETWORK_RETRIES", "0")
    app_env(seeded_db)
    at = run_app("sync_health")
    assert "test mode" in texts(at)
    at.button(key="sync_now").click().run()
    assert not at.exception
    from dashboard.scheduler import get_scheduler

    assert get_scheduler().wait(timeout=20)
    at.run()
    errors = [e.value for e in at.error]
    assert any("The last manual run failed" in e and "Could not reach Stripe" in e for e in errors), errors


class _ListProvider:
    """PayOps's own Provider protocol over in-memory lists (no peer is needed to test the scheduler's
    one-run-at-a-time rule); `gate` holds the run open so the test can try a second one."""

    name = "stripe"
    resources = ("customers", "events")

    def __init__(self) -> None:
        self.gate = threading.Event()

    def list_objects(self, resource: str, created_gt: int | None, created_lte: int | None) -> Iterator[dict[str, Any]]:
        self.gate.wait(10)
        if resource == "customers" and (created_gt or 0) < 1_700_000_000 <= (created_lte or 0):
            yield {"id": "cus_1", "object": "customer", "created": 1_700_000_000, "email": "x@example.com"}

    def list_events(self, created_gt: int) -> Iterator[dict[str, Any]]:
        yield from ()


def test_scheduler_runs_one_at_a_time_and_records_progress(tmp_path) -> None:
    store = make_store(tmp_path)
    provider = _ListProvider()
    scheduler = SyncScheduler(store_factory=lambda: store, provider_factory=lambda: provider)
    assert scheduler.start_sync() is True
    assert scheduler.status().running and scheduler.status().resources_total == 2
    assert scheduler.start_sync() is False  # refused, not queued, while the first one runs
    provider.gate.set()
    assert scheduler.wait(timeout=20)
    status = scheduler.status()
    assert status.last_status == "succeeded", status.last_error
    assert status.last_counts["customers"] == 1 and status.fraction == 1.0
    assert store.query("SELECT email FROM customers")["email"].tolist() == ["x@example.com"]
    store.close()


def test_scheduler_without_a_key_says_how_to_set_one(tmp_path) -> None:
    scheduler = SyncScheduler(store_factory=lambda: None, provider_factory=lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY"):
        scheduler.start_sync()


def test_periodic_sync_fires_on_its_interval(tmp_path) -> None:
    store = make_store(tmp_path)
    provider = _ListProvider()
    provider.gate.set()
    scheduler = SyncScheduler(store_factory=lambda: store, provider_factory=lambda: provider)
    scheduler.start_periodic(60, first_delay=0.05)
    try:
        deadline = threading.Event()
        for _ in range(200):
            if scheduler.status().last_status:
                break
            deadline.wait(0.05)
        assert scheduler.wait(timeout=20)
        assert scheduler.status().trigger == "schedule" and scheduler.status().last_status == "succeeded"
        assert scheduler.status().interval_minutes == 60
    finally:
        scheduler.stop_periodic()
    assert scheduler.status().interval_minutes is None
    with pytest.raises(ConfigError):
        scheduler.start_periodic(0)
    store.close()
