"""Refunds through the Payments page (AppTest) against real peers: localstripe (store filled by the real sync) for a
partial refund then the rest, stripe-stateful-mock (idempotent server) for a double click and a live key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard.context import get_store
from sync import audit
from sync.providers import stripe_writes as sw
from sync.providers.stripe import StripeProvider
from sync.runner import run_sync
from sync.settings import Settings
from sync.store import Store, epoch_now
from tests.conftest import run_app, texts
from tests.pages.conftest import shown, shown_metrics, shown_texts
from tests.peer import mock_servers
from tests.peer.mock_servers import make_client

localstripe_url = mock_servers.localstripe_url  # fixture
localstripe_client = mock_servers.localstripe_client  # fixture
stateful_mock_url = mock_servers.stateful_mock_url  # fixture
stateful_client = mock_servers.stateful_client  # fixture

pytestmark = pytest.mark.peer
KEY = "sk_test_payops"


def point_app_at_peer(monkeypatch: pytest.MonkeyPatch, app_env: Any, db: Path, base: str, key: str = KEY) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    monkeypatch.setenv("STRIPE_API_BASE", base)
    monkeypatch.setenv("STRIPE_MAX_NETWORK_RETRIES", "0")
    app_env(db)


def sync_from_peer(db: Path, base: str) -> None:
    """The real sync (runner + StripeProvider) from the peer into the store file, closed for the app."""
    store = Store(f"duckdb:///{db}")
    try:
        result = run_sync(store, StripeProvider.from_settings(Settings(stripe_secret_key=KEY, stripe_api_base=base,
                                                                       stripe_max_network_retries=0)))
        assert result.status == "succeeded", result.error
    finally:
        store.close()


def store_from_peer(db: Path, objects: list[dict[str, Any]]) -> None:
    """Objects fetched from the peer, applied through the normaliser (stripe-stateful-mock cannot be listed)."""
    store = Store(f"duckdb:///{db}")
    try:
        store.apply_objects("stripe", objects, version=epoch_now())
    finally:
        store.close()


def open_refund(at: Any, charge: str, amount: str = "") -> Any:
    at.toggle(key=f"refund_open_{charge}").set_value(True).run()
    at.text_input(key=f"refund_amount_{charge}").set_value(amount).run()
    return at


def confirm(at: Any, charge: str, typed: str) -> Any:
    at.text_input(key=f"action_typed_refund_{charge}").set_value(typed).run()
    at.button(key=f"action_button_refund_{charge}").click().run()
    return at


def refunds_shown(at: Any) -> list[str]:
    """Amounts in the payment detail's refunds table (the one with a failure_reason column)."""
    for frame in at.dataframe:
        value = frame.value
        if "failure_reason" in value.columns:
            return list(value["amount"])
    return []


def test_partial_then_the_rest_through_the_page(localstripe_client, localstripe_url, app_env, monkeypatch,
                                                tmp_path) -> None:
    customer = localstripe_client.v1.customers.create({"email": "pat@example.com"})
    intent = localstripe_client.v1.payment_intents.create({"amount": 2500, "currency": "usd", "customer": customer.id,
                                                          "payment_method": "pm_card_visa", "confirm": True})
    latest = intent.to_dict()["latest_charge"]
    charge = latest["id"] if isinstance(latest, dict) else latest
    db = tmp_path / "refund.duckdb"
    sync_from_peer(db, localstripe_url)
    point_app_at_peer(monkeypatch, app_env, db, localstripe_url)

    at = open_refund(run_app("payments", query={"payment": charge}), charge, "10.00")
    assert not at.exception
    assert "Partial refund of 10.00 USD" in shown_texts(at) and "25.00 USD refundable" in shown_texts(at)
    confirm(at, charge, f"10.00 {charge[-4:]}")
    assert not at.exception
    assert any("Done: refund" in s.value and "10.00 USD" in shown(s.value) for s in at.success), texts(at)
    # The page shows the new refund at once (the guard stored the provider's answer).
    assert refunds_shown(at) == ["$10.00"]
    assert shown_metrics(at)["Refunded"] == "$10.00"

    # The rest: an empty amount means everything still refundable, 2500 - 1000 = 1500.
    at.text_input(key=f"refund_amount_{charge}").set_value("").run()
    assert "Partial refund of 15.00 USD" in shown_texts(at)
    confirm(at, charge, f"15.00 {charge[-4:]}")
    assert not at.exception
    assert sorted(r["amount"] for r in sw.list_refunds(localstripe_client, charge)) == [1000, 1500]
    assert sorted(refunds_shown(at)) == ["$10.00", "$15.00"]  # both made in the same second: order by id
    assert shown_metrics(at)["Refunded"] == "$25.00"
    assert "Already done: refund on" in shown_texts(at)  # the same form again is the action just done, not a new one
    at.text_input(key=f"refund_amount_{charge}").set_value("1.00").run()
    assert "Nothing left to refund" in shown_texts(at)


def _stateful_charge(client: Any, amount: int) -> dict[str, Any]:
    charge = client.v1.charges.create({"amount": amount, "currency": "usd", "source": "tok_visa",
                                       "receipt_email": "dee@example.com"})
    return sw.get_charge(client, charge.id)


def test_double_click_gives_one_refund(stateful_client, stateful_mock_url, app_env, monkeypatch, tmp_path) -> None:
    charge = _stateful_charge(stateful_client, 5000)
    db = tmp_path / "double.duckdb"
    store_from_peer(db, [charge])
    point_app_at_peer(monkeypatch, app_env, db, stateful_mock_url)
    cid = charge["id"]

    at = open_refund(run_app("payments", query={"payment": cid}), cid, "12.34")
    at.text_input(key=f"action_typed_refund_{cid}").set_value(f"12.34 {cid[-4:]}").run()
    button = at.button(key=f"action_button_refund_{cid}")
    button.click().run()
    at.button(key=f"action_button_refund_{cid}").click().run()  # the second click of a double click
    assert not at.exception
    assert [r["amount"] for r in sw.list_refunds(stateful_client, cid)] == [1234]
    assert any(shown(s.value).startswith("Already done") for s in at.success), texts(at)
    assert refunds_shown(at) == ["$12.34"]

    store = get_store()  # the app holds the file; read through its own store
    assert store.query("SELECT status, attempts FROM actions").to_dict("records") == [
        {"status": "succeeded", "attempts": 1}]
    assert audit.export(store).action.tolist() == ["refund.started", "refund.succeeded"]


def test_live_key_without_the_flag_is_refused_with_the_how_to(stateful_client, stateful_mock_url, app_env,
                                                              monkeypatch, tmp_path) -> None:
    charge = _stateful_charge(stateful_client, 3000)
    db = tmp_path / "live.duckdb"
    store_from_peer(db, [charge])
    point_app_at_peer(monkeypatch, app_env, db, stateful_mock_url, key="sk_live_payops")
    cid = charge["id"]

    at = open_refund(run_app("payments", query={"payment": cid}), cid, "5.00")
    assert not at.exception
    warnings = shown("\n".join(w.value for w in at.warning))
    assert "Live-mode writes are off" in warnings and "PAYOPS_ALLOW_LIVE_WRITES=true" in warnings
    assert "[auth]" in warnings  # and how to configure sign-in
    assert not [b for b in at.button if b.key == f"action_button_refund_{cid}"]
    assert "sk_live_payops" not in shown_texts(at)
    # nothing was sent: the peer has no refund
    assert sw.list_refunds(make_client(stateful_mock_url), cid) == []
