"""AppTest of the navigation script (dashboard/app.py): banner, sidebar filters in the URL, freshness, store errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard.navigation import PAGES, PAGES_DIR
from tests.conftest import run_app, texts
from tests.pages.conftest import shown


def test_demo_banner_freshness_and_default_page(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app()
    assert not at.exception
    assert ":blue-badge[DEMO]" in texts(at)
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert "**stripe**: synced" in sidebar and "last run failed" in sidebar  # the seeded failed run is newest
    # The first page that exists is the default (Revenue once the finance pages exist, else Payments).
    first = next(name for _, name, _, _ in PAGES if (PAGES_DIR / name).is_file())
    assert len(at.title) == 1
    if first == "payments.py":
        assert at.title[0].value == "Payments"


@pytest.mark.parametrize(("key", "banner"), [("sk_test_abc123456", "orange-badge[TEST MODE]"),
                                             ("rk_live_abc123456", "red-badge[LIVE]")])
def test_mode_banner(app_env, empty_db, monkeypatch, key, banner) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    app_env(empty_db)
    at = run_app()
    assert not at.exception
    assert banner in texts(at)
    assert key not in texts(at)  # the key itself is never shown


def test_filters_round_trip_through_the_url(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments", query={"start": "2026-01-01", "currency": "JPY"})
    assert at.sidebar.selectbox(key="filter_currency").value == "JPY"
    assert at.query_params["currency"] in ("JPY", ["JPY"])
    at.sidebar.selectbox(key="filter_provider").set_value("stripe").run()
    provider = at.query_params["provider"]
    assert provider in ("stripe", ["stripe"])
    found = at.dataframe[0].value
    assert list(found["id"]) == ["ch_jpy1"]  # the only JPY payment


def test_pages_that_do_not_exist_yet_are_left_out(app_env, empty_db) -> None:
    app_env(empty_db)
    at = run_app()
    assert not at.exception
    for page in ("payments", "disputes", "webhooks", "sync_health"):
        at.switch_page(f"../pages/{page}.py").run()
        assert not at.exception, page


def test_locked_store_shows_the_message_not_a_traceback(app_env, tmp_path) -> None:
    """Another process (a real second python holding the DuckDB file) locks the store."""
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"),
        str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        app_env(path)
        at = run_app()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and f"process {holder.pid}" in errors[0] and "Sync now" in errors[0], errors
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_unreadable_store_says_what_to_check(app_env, tmp_path) -> None:
    bad = tmp_path / "not_a_database.duckdb"
    bad.write_text("this is not a DuckDB file")
    app_env(bad)
    at = run_app()
    assert not at.exception
    assert any("PAYOPS_DATABASE_URL" in shown(e.value) for e in at.error)


def _sidebar(at) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def test_a_demo_load_is_not_called_a_sync_in_the_sidebar(app_env, demo_db) -> None:
    """Issue 20.4: the sidebar said "synced 30 min ago" of a store that only ever had the demo data loaded."""
    app_env(demo_db)
    at = run_app("payments")
    assert not at.exception
    sidebar = _sidebar(at)
    assert "**stripe**: demo data loaded " in sidebar and "synced" not in sidebar


def test_an_empty_store_points_at_sync_health_except_on_it(app_env, empty_db) -> None:
    app_env(empty_db)
    at = run_app("payments")
    assert "Store freshness: nothing loaded yet. See **Sync health**." in _sidebar(at)
    at.switch_page("../pages/sync_health.py").run()
    assert not at.exception
    assert "Store freshness: nothing loaded yet." in _sidebar(at) and "See **Sync health**" not in _sidebar(at)
