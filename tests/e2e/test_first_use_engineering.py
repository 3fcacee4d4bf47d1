"""Issue 20 in a real browser, the engineer's pages (points 1, 4, 5, 6): on the demo store plus three webhook
deliveries made by the real receiver, the Webhooks delivery log downloaded as CSV parses (ISO 8601 UTC times,
numeric milliseconds, HTTP status numbers), the events chart's ticks follow the chosen grain, and Sync health says
nothing that contradicts what it shows.

Expectations by hand: the deliveries are evt_e2e_old (applied), then evt_e2e_new (applied), then one signed with a
wrong secret (rejected, HTTP 400, no event id), so the log, newest first, reads "", evt_e2e_new, evt_e2e_old with
statuses 400, 200, 200. The demo data set covers the year before today's midnight UTC with events every day, so
the three whole months before this one each get a bar, and a month grain ticks exactly those three months.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import stripe

from tests.e2e.conftest import start_server
from tests.peers import stop

pytestmark = pytest.mark.browser

SECRET = "whsec_e2e_first_use"
EVENTS = ("evt_e2e_old", "evt_e2e_new")


def _deliver(intake: Any, event_id: str, created: int, secret: str = SECRET) -> int:
    event = {"id": event_id, "object": "event", "type": "customer.updated", "created": created, "livemode": False,
             "data": {"object": {"id": "cus_e2e", "object": "customer", "created": created - 86400,
                                 "email": f"{event_id}@example.com"}}}
    body = orjson.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    status, _ = intake.receive(body, {"Content-Type": "application/json", "Stripe-Signature": header}, "127.0.0.1")
    return status


@pytest.fixture(scope="module")
def demo_server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server, demo mode, on a copy of the demo store holding three receiver-made deliveries."""
    from sync.store import Store
    from sync.webhooks import WebhookIntake

    cwd = tmp_path_factory.mktemp("first_use_engineering")
    path = Path(shutil.copy(demo_db, cwd / "demo.duckdb"))
    store = Store(f"duckdb:///{path}")
    intake = WebhookIntake(store, [SECRET])
    now = int(time.time())
    try:
        assert _deliver(intake, EVENTS[0], now - 7200) == 200
        assert _deliver(intake, EVENTS[1], now - 3600) == 200
        assert _deliver(intake, "evt_e2e_forged", now, secret="whsec_wrong") == 400
    finally:
        intake.close()
        store.close()
    url, proc = start_server(path, cwd)
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True, timezone_id="UTC")
    try:
        yield context.new_page()
    finally:
        context.close()


def _settled(page: Any) -> None:
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText?.includes('Running')",
        timeout=30_000)
    page.wait_for_timeout(300)


def test_the_delivery_log_csv_holds_times_and_numbers(demo_server: str, page: Any) -> None:
    page.goto(f"{demo_server}/webhooks", wait_until="domcontentloaded")
    page.get_by_role("tab", name="Delivery log").click()
    button = page.locator(".st-key-csv_webhook_deliveries button")
    button.wait_for(state="visible", timeout=30_000)
    _settled(page)
    assert page.locator(".st-key-parquet_webhook_deliveries button").is_visible()  # Parquet beside CSV
    with page.expect_download(timeout=20_000) as download:
        button.click()
    data = Path(download.value.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r["Event"] for r in rows][:3] == ["", "evt_e2e_new", "evt_e2e_old"], rows
    assert [int(r["HTTP status"]) for r in rows][:3] == [400, 200, 200]
    assert [r["Outcome"] for r in rows][:3] == ["rejected", "applied", "applied"]
    today = dt.datetime.now(dt.UTC).date()
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", row["Received (UTC)"]), row
        received = dt.datetime.fromisoformat(row["Received (UTC)"])
        assert received.utcoffset() == dt.timedelta(0) and abs((received.date() - today).days) <= 1
        assert 0 <= float(row["Processing (ms)"]) < 60_000, row


MONTH_TICK = r"[A-Z][a-z]{2} \d{4}"
WEEK_TICK = r"\d{1,2} [A-Z][a-z]{2}( \d{4})?"


def _ticks_once(page: Any, pattern: str) -> list[str]:
    """The events chart's x tick labels once every one reads like `pattern` (the rerun after a grain click redraws
    the figure); what they are when that has not happened in 20 s, so the assertion shows it."""
    deadline = time.monotonic() + 20
    while True:
        ticks = page.locator(".st-key-events_chart .xtick text").all_text_contents()
        if (ticks and all(re.fullmatch(pattern, t) for t in ticks)) or time.monotonic() > deadline:
            return ticks
        page.wait_for_timeout(200)


def _month_start(day: dt.date, back: int) -> dt.date:
    month = day.month - back
    year = day.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def test_the_events_chart_ticks_follow_the_chosen_grain(demo_server: str, page: Any) -> None:
    today = dt.datetime.now(dt.UTC).date()
    start, first_of_this_month = _month_start(today, 3), _month_start(today, 0)
    end = first_of_this_month - dt.timedelta(days=1)
    months = [_month_start(today, k) for k in (3, 2, 1)]
    page.goto(f"{demo_server}/webhooks?start={start}&end={end}", wait_until="domcontentloaded")
    chart = page.locator(".st-key-events_chart .main-svg").first
    chart.wait_for(state="visible", timeout=30_000)
    page.locator(".st-key-webhook_grain").get_by_text("month", exact=True).click()
    ticks = _ticks_once(page, MONTH_TICK)
    assert ticks == [f"{m:%b %Y}" for m in months], ticks
    page.locator(".st-key-webhook_grain").get_by_text("week", exact=True).click()
    ticks = _ticks_once(page, WEEK_TICK)
    # Weeks tick on Mondays, labelled day and month ("7 Sep"), never a time of day or a month alone.
    first = ticks[0] if re.search(r"\d{4}$", ticks[0]) else f"{ticks[0]} {start.year}"
    assert dt.datetime.strptime(first, "%d %b %Y").date().weekday() == 0, ticks
    # One month alone: a single bar, whose grain no chart can read from the rows (one period reads as a day), so
    # only the grain the page passes gives month ticks.
    last = months[-1]
    page.goto(f"{demo_server}/webhooks?start={last}&end={end}", wait_until="domcontentloaded")
    page.locator(".st-key-events_chart .main-svg").first.wait_for(state="visible", timeout=30_000)
    page.locator(".st-key-webhook_grain").get_by_text("month", exact=True).click()
    ticks = _ticks_once(page, MONTH_TICK)
    assert f"{last:%b %Y}" in ticks and all(re.fullmatch(MONTH_TICK, t) for t in ticks), ticks


def test_sync_health_in_demo_mode_says_nothing_it_does_not_show(demo_server: str, page: Any) -> None:
    page.goto(f"{demo_server}/sync_health", wait_until="domcontentloaded")
    page.get_by_role("button", name="Load demo data").wait_for(state="visible", timeout=30_000)
    _settled(page)
    main = page.locator('[data-testid="stMain"]').inner_text()
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert page.get_by_role("button", name="Sync now").count() == 0
    assert "Sync now" not in main and "Sync now" not in sidebar  # no button named that exists in demo mode
    assert "on the Sync health page" not in main  # this is the Sync health page
    assert "Load demo data above loads it again" in main
    assert "synced" not in sidebar and "0/?" not in main
    line = re.search(r"stripe: demo data loaded (just now|\d+ (min|h|d) ago)", sidebar)
    assert line, sidebar
    assert f"Store freshness: {line.group(0)}" in main  # the page says what the sidebar says
