"""Every page in headless chromium against the real server on a demo store: it draws its table and chart,
shows no exception box, and leaves a screenshot under tests/artifacts/."""

from __future__ import annotations

import time

import pytest

from dashboard.navigation import PAGES, PAGES_DIR
from tests.e2e.conftest import ARTIFACTS, start_server
from tests.peers import make_client, stop

pytestmark = pytest.mark.browser

# (url path, file): the first existing page is the default, served at "/".
EXISTING = [name for _, name, _, _ in PAGES if (PAGES_DIR / name).is_file()]
CONTENT = '[data-testid="stDataFrame"], [data-testid="stPlotlyChart"] .main-svg, [data-testid="stTable"]'


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("filename", EXISTING)
def test_page_renders_in_the_browser(server, page, filename: str) -> None:
    slug = filename.removesuffix(".py")
    path = "" if filename == EXISTING[0] else slug
    page.goto(f"{server}/{path}", wait_until="domcontentloaded")
    # Real content, not the cold skeleton: a data grid or a drawn plotly chart, in the main area.
    page.locator(f'[data-testid="stMain"] :is({CONTENT})').first.wait_for(state="visible", timeout=20_000)
    # Let the script run finish (the status widget says "Running..." while it goes), then charts settle.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText?.includes('Running')",
        timeout=20_000)
    page.wait_for_timeout(400)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{slug}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{filename} shows an exception"
    errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    assert not errors, f"{filename} shows errors: {errors}"
    assert page.locator('[data-testid="stSidebar"]').get_by_text("Store freshness").count() == 1
    assert page.get_by_text("DEMO", exact=True).count() >= 1


def test_payment_deep_link_opens_its_detail(server, page, demo_payment: str) -> None:
    page.goto(f"{server}/payments?payment={demo_payment}", wait_until="domcontentloaded")
    page.get_by_text(f"Payment {demo_payment}").wait_for(timeout=20_000)
    page.get_by_role("tab", name="Timeline").click()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(state="visible", timeout=10_000)
    page.get_by_role("tab", name="Refunds").click()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "payment_detail.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Refunded", exact=True).count() == 1


def test_periodic_and_manual_sync_run_inside_the_server(browser, localstripe_url, tmp_path) -> None:
    """PAYOPS_SYNC_INTERVAL starts the timer in the server's lifespan; "Sync now" runs in the same process
    (the server holds the DuckDB file, so no second process could sync it)."""
    key = "sk_test_payops_e2e"
    client = make_client(localstripe_url, key=key)
    client.v1.customers.create(params={"email": "e2e@example.com"})
    url, proc = start_server(tmp_path / "synced.duckdb", tmp_path, STRIPE_SECRET_KEY=key,
                             STRIPE_API_BASE=localstripe_url, PAYOPS_SYNC_INTERVAL="60",
                             STRIPE_MAX_NETWORK_RETRIES="0")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        # The timer's first run starts 5 s after start-up; reload until the page reports it.
        deadline = time.monotonic() + 30
        while True:
            page.goto(f"{url}/sync_health", wait_until="domcontentloaded")
            page.get_by_text("Sync health", exact=True).first.wait_for(timeout=15_000)
            page.wait_for_timeout(500)
            if page.get_by_text("Last schedule run finished").count():
                break
            assert time.monotonic() < deadline, "the periodic sync did not report within 30 s"
            page.wait_for_timeout(1000)
        assert page.get_by_text("TEST MODE", exact=True).count() >= 1
        assert "customers 1" in page.get_by_text("Last schedule run finished").inner_text()
        page.get_by_role("button", name="Sync now").click()
        page.get_by_text("Last manual run finished").wait_for(timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sync_now.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Every 60 min".lower() in page.get_by_text("Periodic sync").inner_text().lower()
    finally:
        context.close()
        stop(proc)
