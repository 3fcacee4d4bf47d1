"""Shared fixtures: real DuckDB stores in tmp, a small hand-written Stripe-shaped data set, the demo store,
and an app environment that points PayOps at a store file and isolates Streamlit's process-wide caches."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.store import Store

pytest_plugins = ["tests.postgres"]

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")

# The hand-written data set is dated relative to this instant; `seed_store(now=...)` shifts every timestamp
# by (now - SEED_NOW), so page tests can date it around the real clock while query tests stay fixed.
SEED_NOW = dt.datetime(2026, 11, 20, 12, 0)


def make_store(tmp_path: Path, name: str = "payops.duckdb") -> Store:
    """A real DuckDB store file under tmp_path (schema created)."""
    return Store(f"duckdb:///{tmp_path / name}")


def _epoch(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=dt.UTC).timestamp())


class _Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.shift = now - SEED_NOW

    def __call__(self, text: str) -> int:
        """'2026-11-01 10:00' (as if now were SEED_NOW) -> epoch seconds, shifted."""
        return _epoch(dt.datetime.fromisoformat(text) + self.shift)


def charge(at: Callable[[str], int], id: str, created: str, amount: int, currency: str, *,
           status: str = "succeeded", brand: str = "visa", last4: str = "4242", customer: str | None = None,
           email: str | None = None, refunded: int = 0, disputed: bool = False, failure_code: str | None = None,
           payment_intent: str | None = None, invoice: str | None = None) -> dict[str, Any]:
    failed = status == "failed"
    return {
        "id": id, "object": "charge", "created": at(created), "livemode": False,
        "amount": amount, "amount_captured": 0 if failed else amount, "amount_refunded": refunded,
        "currency": currency.lower(), "status": status, "captured": not failed, "refunded": refunded == amount,
        "disputed": disputed, "failure_code": failure_code,
        "failure_message": "Your card has insufficient funds." if failure_code else None,
        "outcome": {"type": "issuer_declined" if failed else "authorized", "network_status":
                    "declined_by_network" if failed else "approved_by_network",
                    "reason": failure_code, "risk_level": "normal"},
        "customer": customer, "billing_details": {"email": email}, "receipt_email": None,
        "description": f"Order {id}", "payment_intent": payment_intent, "invoice": invoice,
        "payment_method_details": {"type": "card", "card": {
            "brand": brand, "last4": last4, "country": "US", "exp_month": 12, "exp_year": 2030,
            "fingerprint": f"fp_{last4}"}},
    }


def dispute(at: Callable[[str], int], id: str, charge_id: str, created: str, due: str, amount: int, currency: str,
            status: str, reason: str = "fraudulent", brand: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": id, "object": "dispute", "created": at(created), "livemode": False, "charge": charge_id,
        "amount": amount, "currency": currency.lower(), "status": status, "reason": reason,
        "is_charge_refundable": False,
        "evidence_details": {"due_by": at(due), "has_evidence": False, "past_due": False, "submission_count": 0},
    }
    if brand:
        obj["payment_method_details"] = {"type": "card", "card": {"brand": brand, "network_reason_code": "10.4"}}
    return obj


def event(at: Callable[[str], int], id: str, type_: str, created: str, obj: dict[str, Any],
          pending: int = 0) -> dict[str, Any]:
    return {"id": id, "object": "event", "type": type_, "created": at(created), "livemode": False,
            "api_version": "2026-10-28", "pending_webhooks": pending, "request": {"id": f"req_{id}"},
            "data": {"object": obj}}


def seed_store(store: Store, now: dt.datetime = SEED_NOW) -> None:
    """The small data set the query and page tests compute their expectations from (dates as of SEED_NOW).

    stripe payments: ch_usd1 2026-11-01 $50.00 visa 4242 alice, refunded $15.00 (re_1), dispute dp_5 under review;
    ch_usd2 11-05 $123.45 mastercard 5555 bob, dispute dp_1 lost; ch_usd3 11-10 $20.00 visa 4242 alice FAILED;
    ch_jpy1 11-12 ¥1,200 visa 0005 bob, dispute dp_2 due 11-22 00:00; ch_kwd1 10-15 KWD 1.234 mastercard 4444,
    dispute dp_3 due 11-19 00:00; ch_usd4 09-20 $70.00 visa 1111 carol (no customer), dispute dp_4 due 12-01;
    ch_old 06-01 $9.99 visa 4242 alice (before the default 90-day range).
    braintree: bt_txn1 11-15 $30.00 visa 4242 dave.
    """
    at = _Clock(now)
    version = _epoch(now)
    customers = [
        {"id": "cus_a", "object": "customer", "created": at("2026-05-01 00:00"), "email": "alice@example.com",
         "name": "Alice", "livemode": False},
        {"id": "cus_b", "object": "customer", "created": at("2026-05-02 00:00"), "email": "bob@example.com",
         "name": "Bob", "livemode": False},
        {"id": "cus_k", "object": "customer", "created": at("2026-05-03 00:00"), "email": "kw@example.com",
         "name": "Kuwait Co", "livemode": False},
    ]
    charges = [
        charge(at, "ch_usd1", "2026-11-01 10:00", 5000, "usd", customer="cus_a", refunded=1500, disputed=True,
               payment_intent="pi_1", invoice="in_1"),
        charge(at, "ch_usd2", "2026-11-05 09:00", 12345, "usd", brand="mastercard", last4="5555", customer="cus_b",
               disputed=True),
        charge(at, "ch_usd3", "2026-11-10 08:00", 2000, "usd", status="failed", customer="cus_a",
               failure_code="insufficient_funds"),
        charge(at, "ch_jpy1", "2026-11-12 12:00", 1200, "jpy", last4="0005", customer="cus_b", disputed=True),
        charge(at, "ch_kwd1", "2026-10-15 12:00", 1234, "kwd", brand="mastercard", last4="4444", customer="cus_k",
               disputed=True),
        charge(at, "ch_usd4", "2026-09-20 12:00", 7000, "usd", last4="1111", email="carol@example.com",
               disputed=True),
        charge(at, "ch_old", "2026-06-01 12:00", 999, "usd", customer="cus_a"),
    ]
    refund = {"id": "re_1", "object": "refund", "created": at("2026-11-02 10:00"), "charge": "ch_usd1",
              "amount": 1500, "currency": "usd", "status": "succeeded", "reason": "requested_by_customer"}
    disputes = [
        dispute(at, "dp_1", "ch_usd2", "2026-11-06 00:00", "2026-11-16 00:00", 12345, "usd", "lost",
                brand="mastercard"),
        dispute(at, "dp_2", "ch_jpy1", "2026-11-13 00:00", "2026-11-22 00:00", 1200, "jpy", "needs_response",
                reason="product_not_received"),
        dispute(at, "dp_3", "ch_kwd1", "2026-10-20 00:00", "2026-11-19 00:00", 1234, "kwd", "needs_response",
                brand="mastercard"),
        dispute(at, "dp_4", "ch_usd4", "2026-10-01 00:00", "2026-12-01 00:00", 7000, "usd", "needs_response",
                brand="visa"),
        dispute(at, "dp_5", "ch_usd1", "2026-11-03 00:00", "2026-11-13 00:00", 5000, "usd", "under_review",
                brand="visa"),
    ]
    invoice = {"id": "in_1", "object": "invoice", "created": at("2026-11-01 09:00"), "customer": "cus_a",
               "status": "paid", "currency": "usd", "amount_due": 5000, "amount_paid": 5000, "amount_remaining": 0,
               "total": 5000, "attempt_count": 1, "attempted": True, "charge": "ch_usd1",
               "billing_reason": "subscription_cycle"}
    store.apply_objects("stripe", [*customers, *charges, refund, *disputes, invoice], version)
    store.apply_objects("braintree", [charge(at, "bt_txn1", "2026-11-15 12:00", 3000, "usd",
                                             email="dave@example.com")], version)
    store.apply_events("stripe", [
        event(at, "evt_1", "charge.succeeded", "2026-11-01 10:00", {"id": "ch_usd1", "object": "charge"}),
        event(at, "evt_2", "charge.refunded", "2026-11-02 10:00", {"id": "ch_usd1", "object": "charge"}, pending=1),
        event(at, "evt_3", "charge.dispute.created", "2026-11-03 00:00", {"id": "dp_5", "object": "dispute"}),
        event(at, "evt_4", "charge.failed", "2026-11-10 08:00", {"id": "ch_usd3", "object": "charge"}, pending=2),
        event(at, "evt_5", "customer.created", "2026-11-10 09:00", {"id": "cus_a", "object": "customer"}),
        event(at, "evt_6", "charge.succeeded", "2026-06-01 12:00", {"id": "ch_old", "object": "charge"}, pending=1),
        event(at, "evt_7", "refund.created", "2026-11-02 10:00", {"id": "re_1", "object": "refund"}),
        event(at, "evt_8", "invoice.paid", "2026-11-01 09:00", {"id": "in_1", "object": "invoice"}),
    ])
    synced = dt.datetime.fromtimestamp(at("2026-11-20 11:00"), dt.UTC).replace(tzinfo=None)
    gap_at = dt.datetime.fromtimestamp(at("2026-11-20 11:00"), dt.UTC).replace(tzinfo=None)
    store.save_state("stripe", "events", event_cursor=at("2026-11-19 12:00"), event_cursor_id="evt_x",
                     last_synced_at=synced, last_rows=8, gap_detected_at=gap_at,
                     gap_message="The event cursor was older than Stripe's 30-day event window; "
                                 "charges were re-listed from 2026-10-21.")
    store.save_state("stripe", "charges", last_synced_at=synced, last_rows=7, backfill_done=True)
    run = store.start_run("stripe", "incremental")
    store.finish_run(run, "succeeded", {"charges": 7, "events": 8})
    failed = store.start_run("stripe", "incremental")
    store.finish_run(failed, "failed", {}, error="Stripe rejected the API key.")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store (schema only) in a DuckDB file under tmp_path, closed after the test."""
    empty = make_store(tmp_path)
    yield empty
    empty.close()


@pytest.fixture
def seeded_store(tmp_path: Path) -> Iterator[Store]:
    """The hand-written data set in a DuckDB file, dated as of SEED_NOW."""
    store = make_store(tmp_path)
    seed_store(store)
    yield store
    store.close()


@pytest.fixture
def seeded_db(tmp_path: Path) -> Path:
    """The hand-written data set dated around the real clock, in a closed DuckDB file for the app to open."""
    path = tmp_path / "seeded.duckdb"
    store = Store(f"duckdb:///{path}")
    seed_store(store, now=dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0))
    store.close()
    return path


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    path = tmp_path / "empty.duckdb"
    Store(f"duckdb:///{path}").close()
    return path


DEMO_SCALE = 500  # charges: small enough for ~seconds, big enough for every page to have rows


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store (sync.demo.load_demo, small scale) shared by the session; closed for the app to open."""
    if importlib.util.find_spec("sync.demo") is None:
        pytest.skip("sync/demo.py (the demo data generator) does not exist yet")
    from sync.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    store = Store(f"duckdb:///{path}")
    load_demo(store, seed=7, scale=DEMO_SCALE)
    store.close()
    return path


def clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Point the app at a store file, in demo mode, from a cwd without secrets; caches cleared around it.

    AppTests share one process, so Streamlit's cache_resource (settings, the Store) must be cleared,
    or a test would read the previous test's store.
    """
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)  # load_settings reads .streamlit/secrets.toml from the cwd
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WRITE_KEY", "STRIPE_API_BASE", "PAYOPS_SYNC_INTERVAL", "PAYOPS_ROLE"):
        monkeypatch.delenv(name, raising=False)
    from dashboard import scheduler

    monkeypatch.setattr(scheduler, "_SCHEDULER", None)  # each test gets a fresh process-wide scheduler
    clear_streamlit_caches()

    def point_at(path: Path) -> None:
        monkeypatch.setenv("PAYOPS_DATABASE_URL", f"duckdb:///{path}")
        clear_streamlit_caches()

    yield point_at
    _close_cached_store()
    clear_streamlit_caches()


def _close_cached_store() -> None:
    """Close the Store the app opened, so the next test (or the session's demo file) can be reopened cleanly."""
    try:
        from dashboard.context import get_store

        get_store().close()
    except Exception:  # noqa: S110 - nothing was opened, or it is already closed
        pass


def run_app(page: str | None = None, *, query: dict[str, str] | None = None, timeout: float = 30) -> Any:
    """Run the real navigation script (dashboard/app.py), then switch to pages/<page>.py and run it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"../pages/{page}.py")
        at.run()
    return at


def metrics(at: Any) -> dict[str, str]:
    """{label: shown value} of every st.metric on the page."""
    return {m.label: m.value for m in at.metric}


def texts(at: Any) -> str:
    """Every info, warning, error, success, caption and markdown text on the page, joined (for 'in' checks)."""
    parts = [e.value for kind in ("info", "warning", "error", "success", "caption", "markdown") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)
