"""The real server (`streamlit run dashboard/server.py`) receiving webhooks: localstripe's own sender and a forged
delivery reach `POST /webhooks/stripe`, and the Webhooks page of the same process shows them at once (the route
writes through the pages' one Store, so the pages' cache generation sees the writes); anything but a POST to a
provider's path answers 405 or 404, not the console's page. The store is read after the server stops (DuckDB
lets one process hold the file)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import orjson
import pytest
import stripe

from sync.store import Store
from tests.e2e.conftest import ARTIFACTS, start_server
from tests.peers import make_client, stop

pytestmark = pytest.mark.browser

SECRET = "whsec_e2e_server"


def deliveries_shown(page, url: str) -> int:
    """The Delivery log tab's 'Deliveries' figure, after a fresh load of the Webhooks page."""
    page.goto(f"{url}/webhooks", wait_until="domcontentloaded")
    page.get_by_role("tab", name="Delivery log").click(timeout=20_000)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Deliveries").first
    metric.wait_for(state="visible", timeout=20_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText?.includes('Running')",
        timeout=20_000)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text()
    return int(re.sub(r"\D", "", value) or 0)


def test_localstripe_delivers_to_the_real_server_and_the_page_sees_it(browser, localstripe_url: str,
                                                                      tmp_path: Path) -> None:
    db = tmp_path / "webhooks.duckdb"
    url, proc = start_server(db, tmp_path, STRIPE_WEBHOOK_SECRET=SECRET)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        assert deliveries_shown(page, url) == 0
        httpx.post(f"{localstripe_url}/_config/webhooks/payops_e2e",
                   data={"url": f"{url}/webhooks/stripe", "secret": SECRET}, timeout=5).raise_for_status()
        client = make_client(localstripe_url, key="sk_test_payops_e2e_hooks")
        customer = client.v1.customers.create({"email": "hook-old@example.com"})
        time.sleep(1.1)  # event versions are whole seconds: the update must be strictly newer than the create
        client.v1.customers.update(customer.id, {"email": "hook-new@example.com"})
        forged = orjson.dumps({"id": "evt_forged", "object": "event", "type": "customer.updated",
                               "created": int(time.time()), "data": {"object": {"id": customer.id,
                                                                               "object": "customer"}}})
        header = stripe.WebhookSignature.generate_signature_header(forged.decode(), "whsec_not_ours")
        answer = httpx.post(f"{url}/webhooks/stripe", content=forged, timeout=10,
                            headers={"Content-Type": "application/json", "Stripe-Signature": header})
        assert (answer.status_code, answer.json()["error"]) == (400, "bad_signature")
        # localstripe sends each event about a second after it happens; the page shows them as they land.
        deadline = time.monotonic() + 30
        while (shown := deliveries_shown(page, url)) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert shown == 3
        page.get_by_text("Failures by reason").wait_for(timeout=10_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webhook_log.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
        stop(proc)  # SIGTERM: the lifespan closes the intake after recording what is queued
    store = Store(f"duckdb:///{db}")
    try:
        rows = store.query("SELECT COALESCE(event_type, '-') AS event_type, verdict, status_code, outcome "
                           "FROM webhook_deliveries "
                           "ORDER BY 1").to_dict("records")
        email = store.query("SELECT email FROM customers WHERE id = :id", {"id": customer.id})["email"].tolist()
    finally:
        store.close()
    assert [(r["event_type"], r["verdict"], r["status_code"], r["outcome"]) for r in rows] == [
        ("-", "bad_signature", 400, "rejected"),
        ("customer.created", "ok", 200, "applied"),
        ("customer.updated", "ok", 200, "applied"),
    ]
    assert email == ["hook-new@example.com"]


def test_webhook_paths_answer_405_or_404_not_the_console_page(tmp_path: Path) -> None:
    # Streamlit's static mount answers any unmatched GET with the console's HTML; the webhook paths must not.
    db = tmp_path / "methods.duckdb"
    url, proc = start_server(db, tmp_path, STRIPE_WEBHOOK_SECRET=SECRET)
    try:
        with httpx.Client(timeout=10) as client:
            answers = {(method, path): client.request(method, f"{url}{path}") for method, path in [
                ("GET", "/webhooks/stripe"), ("HEAD", "/webhooks/stripe"), ("PUT", "/webhooks/stripe"),
                ("GET", "/webhooks/paypal"), ("POST", "/webhooks/paypal"), ("GET", "/webhooks/stripe/extra"),
                ("GET", "/webhooks")]}
    finally:
        stop(proc)
    assert {key: (r.status_code, r.headers.get("allow"), r.headers["content-type"].split(";")[0])
            for key, r in answers.items()} == {
        ("GET", "/webhooks/stripe"): (405, "POST", "application/json"),
        ("HEAD", "/webhooks/stripe"): (405, "POST", "application/json"),
        ("PUT", "/webhooks/stripe"): (405, "POST", "application/json"),
        ("GET", "/webhooks/paypal"): (404, None, "application/json"),
        ("POST", "/webhooks/paypal"): (404, None, "application/json"),
        ("GET", "/webhooks/stripe/extra"): (404, None, "application/json"),
        ("GET", "/webhooks"): (200, None, "text/html"),  # the Webhooks page itself still serves
    }
    assert answers[("HEAD", "/webhooks/stripe")].content == b""
    assert answers[("GET", "/webhooks/stripe")].json()["error"] == "method_not_allowed"
    store = Store(f"duckdb:///{db}")
    try:  # none of them is a delivery, so none is recorded as one
        assert store.query("SELECT COUNT(*) AS n FROM webhook_deliveries")["n"].tolist() == [0]
    finally:
        store.close()
