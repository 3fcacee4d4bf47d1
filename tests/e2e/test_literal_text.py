"""Provider, URL and user text in the real console (chromium): Markdown and HTML planted in a payment's description,
failure message, card brand and receipt email, a customer's name, an event id, a sync gap message and the
`?payment=` parameter show as the literal characters, never as an image, a link or formatting, and the browser
asks no host but 127.0.0.1 for anything (tests/e2e/conftest.py fails the test otherwise)."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.navigation import PAGES
from dashboard.text import JOINER
from sync.store import Store
from tests.conftest import charge, event
from tests.e2e.conftest import ARTIFACTS, start_server
from tests.peers import stop

pytestmark = pytest.mark.browser

PLANTED = ("![x](http://evil.example/p.png) [Verify](https://evil.example) <img src=http://evil.example/i.png> "
           "**bold** :red[x] $x$")


def _at(now: dt.datetime) -> Any:
    return lambda text: int((now - dt.timedelta(days=1)).replace(tzinfo=dt.UTC).timestamp())


@pytest.fixture(scope="module")
def planted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cwd = tmp_path_factory.mktemp("planted")
    path = cwd / "planted.duckdb"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    at = _at(now)
    failed = charge(at, "ch_planted", "", 2000, "usd", status="failed", brand=PLANTED, failure_code="card_declined",
                    email=f"{PLANTED}@evil.example")
    failed["failure_message"] = PLANTED
    failed["description"] = PLANTED
    named = charge(at, "ch_named", "", 1500, "usd", customer="cus_planted")
    customer = {"id": "cus_planted", "object": "customer", "created": at(""), "email": "c@example.com",
                "name": PLANTED, "livemode": False}
    store = Store(f"duckdb:///{path}")
    try:
        version = int(now.replace(tzinfo=dt.UTC).timestamp())
        store.apply_objects("stripe", [customer, failed, named], version)
        store.apply_events("stripe", [event(at, f"evt_{PLANTED}", "charge.failed", "",
                                            {"id": "ch_planted", "object": "charge"})])
        store.save_state("stripe", "events", last_synced_at=now, last_rows=1, gap_detected_at=now,
                         gap_message=PLANTED)
    finally:
        store.close()
    url, proc = start_server(path, cwd)
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    yield context.new_page()
    context.close()


def _settle(page: Any) -> None:
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=20_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText?.includes('Running')",
        timeout=20_000)
    page.wait_for_timeout(500)


def _assert_literal(page: Any, name: str, *, expect: str = PLANTED, count: int = 1) -> None:
    deadline = time.monotonic() + 10  # a rerun can redraw the main area in stages: wait for the text to settle
    while True:
        text = page.locator('[data-testid="stMain"]').inner_text().replace(JOINER, "")
        if text.count(expect) >= count or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"literal_{name}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert text.count(expect) >= count, f"{name}: the planted text is not shown literally:\n{text[:3000]}"
    evil = page.evaluate("""() => [
        ...[...document.querySelectorAll('img[src], a[href]')].map(e => e.src || e.href)
            .filter(v => !v.startsWith('data:') && new URL(v).hostname !== '127.0.0.1'),
        ...[...document.querySelectorAll('[data-testid="stMain"] :is(strong, .stMarkdownColoredText, .katex)')]
            .map(e => e.outerHTML).filter(v => v.includes('bold') || v.includes('>x<')),
    ]""")
    assert evil == [], f"{name}: planted Markdown became elements: {evil}"


def test_a_payments_provider_text_shows_literally(planted_server: str, page: Any) -> None:
    page.goto(f"{planted_server}/payments?payment=ch_planted", wait_until="domcontentloaded")
    _settle(page)
    page.get_by_text("Declined:").first.wait_for(timeout=10_000)
    _assert_literal(page, "payment_detail")  # the failure message
    # The normaliser keeps a card brand as a lower-case token ("_" for spaces): still every character as stored.
    _assert_literal(page, "card_brand", expect="Card (" + PLANTED.lower().replace(" ", "_") + ")")
    page.get_by_role("tab", name="Customer").click()
    page.wait_for_timeout(500)
    _assert_literal(page, "receipt_email", expect=f"receipt email {PLANTED}@evil.example")


def test_the_url_parameter_shows_literally(planted_server: str, page: Any) -> None:
    page.goto(f"{planted_server}/payments?payment={urllib.parse.quote(PLANTED)}", wait_until="domcontentloaded")
    _settle(page)
    page.get_by_text("No payment").first.wait_for(timeout=10_000)
    _assert_literal(page, "payment_param")


def test_a_customer_name_and_an_event_id_show_as_text(planted_server: str, page: Any) -> None:
    page.goto(f"{planted_server}/payments?payment=ch_named", wait_until="domcontentloaded")
    _settle(page)
    page.get_by_role("tab", name="Customer").click()
    page.wait_for_timeout(500)
    _assert_literal(page, "customer", expect="Payment ch_named")  # tables draw on a canvas: no element to become
    page.goto(f"{planted_server}/payments?payment=ch_planted", wait_until="domcontentloaded")
    _settle(page)
    page.get_by_role("tab", name="Timeline").click()
    page.wait_for_timeout(500)
    _assert_literal(page, "timeline")  # the event ids are in the timeline's table and chart: drawn, not elements


@pytest.mark.parametrize("path", ["failures", "sync_health", "webhooks"])
def test_pages_listing_provider_text_make_nothing_of_it(planted_server: str, page: Any, path: str) -> None:
    page.goto(f"{planted_server}/{path}", wait_until="domcontentloaded")
    _settle(page)
    _assert_literal(page, path, count=1 if path == "sync_health" else 0)


def test_the_console_itself_asks_no_other_host(planted_server: str, page: Any) -> None:
    """Page icons and the console's favicon are emoji (a data: URL), not Google-hosted material symbols."""
    page.goto(f"{planted_server}/revenue", wait_until="domcontentloaded")
    _settle(page)
    favicon = page.evaluate("() => document.querySelector('link[rel=\"shortcut icon\"]')?.href || ''")
    assert favicon.startswith(("data:", "http://127.0.0.1")), favicon
    for _, filename, _, _ in PAGES:
        page.goto(f"{planted_server}/{filename.removesuffix('.py')}", wait_until="domcontentloaded")
        page.locator('[data-testid="stSidebarNav"]').wait_for(timeout=20_000)
        page.wait_for_timeout(300)
    # tests/e2e/conftest.py's no_outside_requests fails this test if any page asked another host.
