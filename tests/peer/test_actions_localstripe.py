"""The guard against localstripe: full and partial refunds, and a failing subscription invoice retried after a
card change; the store shows each result at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.actions import Actor, Guard, Limits
from sync import audit
from sync.errors import ConfigError
from sync.providers import stripe_writes as sw
from sync.seed import seed_test_account
from sync.settings import Settings
from sync.store import Store
from tests.peer import mock_servers
from tests.peer.mock_servers import failing_subscription, make_client

localstripe_url = mock_servers.localstripe_url  # fixture
localstripe_client = mock_servers.localstripe_client  # fixture

pytestmark = pytest.mark.peer
FINANCE = Actor("fin@example.com", "finance", True)
SETTINGS = Settings(stripe_secret_key="sk_test_payops")


def _paid_charge(client, amount: int) -> str:
    customer = client.v1.customers.create({"email": "pat@example.com"})
    intent = client.v1.payment_intents.create({"amount": amount, "currency": "usd", "customer": customer.id,
                                               "payment_method": "pm_card_visa", "confirm": True})
    charge = intent.to_dict()["latest_charge"]
    return charge["id"] if isinstance(charge, dict) else charge


def test_partial_then_full_refund(localstripe_client, store) -> None:
    charge = _paid_charge(localstripe_client, 2500)
    guard = Guard(store, SETTINGS, FINANCE, client=localstripe_client)

    partial = guard.propose("refund", charge, {"amount": 1000})
    assert partial.allowed and partial.confirmation_text == f"10.00 {charge[-4:]}"
    assert "Partial refund of 10.00 USD" in partial.message
    outcome = guard.confirm(partial, partial.confirmation_text)
    assert outcome.ok and outcome.status == "succeeded", outcome.message
    # The store shows it at once: the refund row and the charge's refunded amount.
    assert store.query("SELECT amount FROM refunds WHERE charge_id = :c", {"c": charge}).amount.tolist() == [1000]
    assert store.query("SELECT amount_refunded FROM payments WHERE id = :c", {"c": charge}).amount_refunded[0] == 1000

    full = guard.propose("refund", charge)  # no amount: what is left
    # 2500 paid - 1000 refunded - 0 pending = 1500 refundable
    assert full.allowed and full.amount == 1500 and full.confirmation_text == f"15.00 {charge[-4:]}"
    assert guard.confirm(full, full.confirmation_text).status == "succeeded"
    assert sorted(r["amount"] for r in sw.list_refunds(localstripe_client, charge)) == [1000, 1500]
    assert store.query("SELECT amount_refunded FROM payments WHERE id = :c", {"c": charge}).amount_refunded[0] == 2500

    assert guard.propose("refund", charge, {"amount": 1}).message.startswith("Nothing left to refund")
    assert audit.verify(store).ok
    # started + succeeded for each refund
    assert audit.export(store).action.tolist() == ["refund.started", "refund.succeeded"] * 2


def test_failing_card_open_invoice_card_change_and_the_retry_that_pays(localstripe_client, store) -> None:
    customer, invoice = failing_subscription(localstripe_client)
    assert sw.get_invoice(localstripe_client, invoice)["status"] == "open"
    guard = Guard(store, SETTINGS, FINANCE, client=localstripe_client)

    first = guard.propose("invoice_retry", invoice)
    assert first.allowed and first.confirmation_text == f"RETRY {invoice[-4:]}"
    assert first.warnings == ["The last attempt failed with card_declined."]  # a soft decline: retry allowed
    declined = guard.confirm(first, first.confirmation_text)
    assert declined.status == "failed" and "declined again" in declined.message

    # The customer changes card; the next retry is a new action (new key) because the last one failed.
    card = localstripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer})
    localstripe_client.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": card.id}})
    second = guard.propose("invoice_retry", invoice)
    assert second.allowed and second.action_id != first.action_id
    paid = guard.confirm(second, second.confirmation_text)
    assert paid.ok and paid.status == "succeeded", paid.message
    assert store.query("SELECT status FROM invoices WHERE id = :i", {"i": invoice}).status.tolist() == ["paid"]

    again = guard.propose("invoice_retry", invoice)
    assert not again.allowed and ("already paid" in again.message or again.message.startswith("Already done"))
    rows = store.query("SELECT status, idempotency_key FROM actions ORDER BY generation")
    assert rows.status.tolist() == ["failed", "succeeded"]
    assert rows.idempotency_key.nunique() == 2


def test_invoice_retries_are_capped(localstripe_client, store) -> None:
    _, invoice = failing_subscription(localstripe_client)
    guard = Guard(store, SETTINGS, FINANCE, client=localstripe_client, limits=Limits(max_invoice_retries=1))
    first = guard.propose("invoice_retry", invoice)
    assert guard.confirm(first, first.confirmation_text).status == "failed"
    capped = guard.propose("invoice_retry", invoice)
    assert not capped.allowed and "cap is 1" in capped.message


def test_seed_refuses_live_keys_and_seeds_what_the_server_supports(localstripe_url) -> None:
    with pytest.raises(ConfigError, match="TEST key"):
        seed_test_account(make_client(localstripe_url, key="sk_live_payops"))
    result = seed_test_account(make_client(localstripe_url))
    # localstripe knows pm_card_visa and pm_card_chargeCustomerFail, not the other test cards.
    assert {"paid_usd", "refund_partial", "subscription_active", "subscription_failing_card"} <= set(result["created"])
    assert "declined_stolen_card" in result["skipped"]


def test_seed_command_audits_every_scenario(localstripe_url, tmp_path: Path) -> None:
    """The real `python -m sync seed-test-account` against localstripe: each scenario lands on the audit log."""
    import os
    import subprocess
    import sys

    db = tmp_path / "seed.duckdb"
    env = {**os.environ, "STRIPE_SECRET_KEY": "sk_test_payops", "STRIPE_API_BASE": localstripe_url,
           "PAYOPS_DATABASE_URL": f"duckdb:///{db}", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "sync", "seed-test-account"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout
    store = Store(f"duckdb:///{db}")
    try:
        entries = audit.export(store)
        assert set(entries["action"]) == {"seed-test-account"}
        assert "paid_usd" in " ".join(entries["params"].astype(str))
        assert audit.verify(store).ok
    finally:
        store.close()
