"""AppTest of the Sync health page (what it offers in each mode, freshness as the sidebar says it, progress with a
total) and the in-process scheduler behind its "Sync now" and "Load demo data" buttons."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from dashboard.scheduler import SyncScheduler
from dashboard.text import literal
from sync.errors import ConfigError
from tests.conftest import make_store, run_app, texts
from tests.pages.conftest import open_page


def _sidebar(at) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def _main(at) -> str:
    """The page's own text, the sidebar left out."""
    side = {c.value for c in at.sidebar.caption}
    return "\n".join(t for t in texts(at).split("\n") if t not in side)


def _labels(at) -> list[str]:
    return [b.label for b in at.button]


def test_demo_mode_offers_load_demo_data_and_never_sync_now(empty_or_demo) -> None:
    """Issue 20.4: in demo mode the page said "press **Sync now** on the **Sync health** page" and had no such
    button. Without a key it offers Load demo data, says so from this page ("above"), and never names Sync now."""
    at = open_page("sync_health", "Sync health")
    shown = texts(at)
    assert "Load demo data" in _labels(at) and "Sync now" not in _labels(at)
    assert "Sync now" not in shown and "Sync health** page" not in _main(at)
    if empty_or_demo == "empty_db":
        assert "No provider key is set (demo mode): **Load demo data** above fills the store" in shown
        assert "No rows in the store" in shown
    else:
        assert ("The store holds the generated demo data set (no provider key is set). **Load demo data** above "
                "loads it again.") in shown
        counts = next(d.value for d in at.dataframe if "row_count" in d.value.columns)
        assert int(counts["row_count"].sum()) > 0


def test_with_a_key_it_offers_sync_now_from_this_page(app_env, empty_db, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_payops_key_page")
    app_env(empty_db)
    at = open_page("sync_health", "Sync health")
    assert "Sync now" in _labels(at) and "Load demo data" not in _labels(at)
    shown = texts(at)
    assert "To bring data in, press **Sync now** above, or set PAYOPS_SYNC_INTERVAL" in shown
    assert "Sync health** page" not in _main(at) and "Load demo data" not in shown


def test_sidebar_and_page_say_the_same_freshness(app_env, demo_db) -> None:
    """The demo load is recorded as a run of mode demo: both say "demo data loaded", never "synced"."""
    app_env(demo_db)
    at = open_page("sync_health", "Sync health")
    side = _sidebar(at)
    line = next(x for x in side.split("\n") if x.startswith("**stripe**"))
    assert re.fullmatch(r"\*\*stripe\*\*: demo data loaded (just now|\d+ (min|h|d) ago)", line), line
    assert "synced" not in side
    page = next(c.value for c in at.main.caption if c.value.startswith("Store freshness: "))
    assert page == f"Store freshness: {line}"


def test_state_gap_counts_and_provider_filter(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("sync_health")
    assert any(literal("30-day event window") in w.value for w in at.warning)
    state, counts, runs = (d.value for d in at.dataframe)
    # The cursor is 24 h before the seed time, which is this hour: 24 h plus the minutes past the hour, rounded
    # to the hour once over a day ("1 d 00 h" or "1 d 01 h").
    assert state.set_index("resource").loc["events", "cursor_age_hours"] in ("1 d 00 h", "1 d 01 h")
    assert counts.set_index(["provider", "table_name"]).loc[("stripe", "payments"), "row_count"] == 7
    assert list(runs["status"]) == ["failed", "succeeded"]
    # A synced store (mode incremental) says "synced", on the page as in the sidebar.
    assert "Store freshness: **stripe**: synced " in texts(at) and "last run failed" in texts(at)
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
    title = "Stripe"
    resources = ("customers", "events")
    # What the runner reads of the provider protocol (sync/providers/base.py): Stripe keeps events 30 days.
    capabilities = SimpleNamespace(event_retention_days=30, resources=resources)

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


def _recording(scheduler: SyncScheduler) -> list[str]:
    """Every progress message the scheduler would show, as each report arrives."""
    seen: list[str] = []
    report = scheduler._progress

    def record(resource: str, count: int, done: bool) -> None:
        report(resource, count, done)
        seen.append(scheduler.status().message)

    scheduler._progress = record  # type: ignore[method-assign]
    return seen


def test_demo_load_reports_done_of_a_known_total(tmp_path) -> None:
    """Issue 20.4: the demo load showed "0/? done". It writes exactly the charges it is asked for (here 500; the
    demo's own count of payments proves it), so its progress is charges written of 500."""
    store = make_store(tmp_path)
    scheduler = SyncScheduler(store_factory=lambda: store, provider_factory=lambda: None)
    seen = _recording(scheduler)
    assert scheduler.start_demo(scale=500) is True
    assert scheduler.status().total == 500 and scheduler.status().known_total
    assert scheduler.wait(timeout=60)
    status = scheduler.status()
    assert status.last_status == "succeeded" and status.kind == "demo", status.last_error
    assert status.last_counts["payments"] == 500 and (status.done, status.total, status.fraction) == (500, 500, 1.0)
    assert seen and all(" of 500 charges written; " in m for m in seen), seen
    assert "?" not in "".join(seen)
    store.close()


def test_sync_progress_counts_resources_of_the_provider_total(tmp_path) -> None:
    store = make_store(tmp_path)
    provider = _ListProvider()
    scheduler = SyncScheduler(store_factory=lambda: store, provider_factory=lambda: provider)
    seen = _recording(scheduler)
    assert scheduler.start_sync() is True
    assert scheduler.status().message == "stripe sync: 0 of 2 resources done"
    provider.gate.set()
    assert scheduler.wait(timeout=20)
    assert seen[-1] == "stripe sync: 2 of 2 resources done; customers: 1 rows so far", seen
    assert all(" of 2 resources done" in m for m in seen)
    store.close()


def test_unknown_total_says_rows_so_far_without_a_fraction() -> None:
    from dashboard.scheduler import SyncStatus

    status = SyncStatus(running=True, label="stripe sync", rows=1234)
    assert status.message == "stripe sync: 1,234 rows so far" and not status.known_total and status.fraction == 0


def test_the_page_shows_the_running_load_with_its_total(app_env, empty_db) -> None:
    """A load held open mid-way: the page's bar text has the total ("200 of 500 charges")."""
    from dashboard.scheduler import get_scheduler

    app_env(empty_db)
    at = open_page("sync_health", "Sync health")
    gate = threading.Event()

    def job(progress):
        progress("charges", 200, False)
        progress("customers", 40, False)
        gate.wait(20)
        return {"status": "succeeded", "counts": {"payments": 500}}

    scheduler = get_scheduler()
    try:
        assert scheduler._start("Loading demo data", "manual", 500, job, unit="charges")
        for _ in range(100):
            if scheduler.status().done == 200:
                break
            threading.Event().wait(0.02)
        at.run()
        bars = at.get("progress")
        assert [b.proto.text for b in bars] == ["Loading demo data: 200 of 500 charges written; 240 rows in all"]
        assert bars[0].proto.value == 40  # percent
    finally:
        gate.set()
        scheduler.wait(timeout=20)


def test_a_failed_run_shows_the_error_with_secrets_redacted(app_env, empty_db) -> None:
    """Issue 15.9: the scheduler stored str(exc) as shown on the page; a key in provider text is redacted."""
    from dashboard.scheduler import get_scheduler

    app_env(empty_db)
    key = "sk_test_" + "a1B2c3D4e5F6g7H8i9J0k1L2"

    def job(progress):
        raise RuntimeError(f"Invalid API Key provided: {key}")

    scheduler = get_scheduler()
    assert scheduler._start("stripe sync", "manual", 2, job)
    assert scheduler.wait(timeout=20)
    assert key not in (scheduler.status().last_error or "") and "[redacted]" in scheduler.status().last_error
    at = open_page("sync_health", "Sync health")
    errors = [e.value for e in at.error]
    assert any("The last manual run failed" in e for e in errors) and not any(key in e for e in errors), errors


@pytest.mark.parametrize("mode", ["demo", "test", "live"])
@pytest.mark.parametrize("holds_demo", [False, True])
def test_sync_advice_is_true_where_it_stands(mode: str, holds_demo: bool) -> None:
    """On Sync health the buttons are "above"; elsewhere they are on the Sync health page; without a key there is
    no Sync now to press, with one no Load demo data."""
    from dashboard.layout import SYNC_PAGE, sync_advice

    here = sync_advice(mode, here=SYNC_PAGE, holds_demo=holds_demo)
    there = sync_advice(mode, here="payments", holds_demo=holds_demo)
    button = "**Load demo data**" if mode == "demo" else "**Sync now**"
    assert f"{button} above" in here and "Sync health" not in here
    assert f"{button} on the **Sync health** page" in there
    other = "Sync now" if mode == "demo" else "Load demo data"
    assert other not in here and other not in there
    if mode == "demo":
        assert "STRIPE_SECRET_KEY" in here and "restart the server" in here
    assert "an engineer or admin can" in sync_advice(mode, may_press=False)
    assert "every 15 min" in sync_advice("test", interval_minutes=15) and "PAYOPS_SYNC_INTERVAL" not in (
        sync_advice("test", interval_minutes=15))
    assert "Load demo data" not in sync_advice("demo", demo_available=False)
