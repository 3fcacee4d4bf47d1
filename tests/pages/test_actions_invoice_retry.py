"""Invoice retries through the Failures and Subscriptions pages (AppTest) against localstripe, the store filled by
the real sync: a retry while the card still fails is declined again; after a card change the retry pays it."""

from __future__ import annotations

from typing import Any

import pytest

from sync.providers import stripe_writes as sw
from tests.conftest import run_app, texts
from tests.pages.conftest import shown, shown_texts
from tests.pages.test_actions_refund import point_app_at_peer, sync_from_peer
from tests.peer import mock_servers
from tests.peer.mock_servers import failing_subscription

localstripe_url = mock_servers.localstripe_url  # fixture
localstripe_client = mock_servers.localstripe_client  # fixture

pytestmark = pytest.mark.peer


def pick_and_confirm(at: Any, prefix: str, invoice: str) -> Any:
    at.selectbox(key=f"{prefix}_pick").set_value(invoice).run()
    at.text_input(key=f"action_typed_{prefix}_{invoice}").set_value(f"RETRY {invoice[-4:]}").run()
    at.button(key=f"action_button_{prefix}_{invoice}").click().run()
    return at


def test_retry_declined_then_paid_after_a_card_change(localstripe_client, localstripe_url, app_env, monkeypatch,
                                                      tmp_path) -> None:
    customer, invoice = failing_subscription(localstripe_client)
    db = tmp_path / "retry.duckdb"
    sync_from_peer(db, localstripe_url)
    point_app_at_peer(monkeypatch, app_env, db, localstripe_url)

    # Failures page: the invoice is listed with its decline; a retry on the same failing card is declined again.
    at = run_app("failures")
    assert not at.exception
    listed = next(f.value for f in at.dataframe if "invoice_id" in f.value.columns)
    assert listed["invoice_id"].tolist() == [invoice] and listed["amount_due"].tolist() == ["$20.00"]
    at.selectbox(key="failures_retry_pick").set_value(invoice).run()
    assert "Retry invoice" in shown_texts(at) and "20.00 USD" in shown_texts(at)
    assert "The last attempt failed with card_declined." in shown_texts(at)
    pick_and_confirm(at, "failures_retry", invoice)
    assert not at.exception
    assert any("declined again" in shown(e.value) for e in at.error), texts(at)
    assert sw.get_invoice(localstripe_client, invoice)["status"] == "open"

    # The customer changes card; the Subscriptions page retries and the invoice is paid.
    card = localstripe_client.v1.payment_methods.attach("pm_card_visa", {"customer": customer})
    localstripe_client.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": card.id}})
    at = run_app("subscriptions")
    pick_and_confirm(at, "subscriptions_retry", invoice)
    assert not at.exception
    assert any(f"invoice {invoice} is paid" in shown(s.value) for s in at.success), texts(at)
    assert sw.get_invoice(localstripe_client, invoice)["status"] == "paid"
    # The store was updated from Stripe's answer: the invoice left the retry list at once.
    assert "No open Stripe invoice with a failed payment to retry." in shown_texts(at)
