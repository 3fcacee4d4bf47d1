"""Peer-server fixtures for the action tests: localstripe and stripe-stateful-mock, each on 127.0.0.1, and the
peer scenarios more than one action test builds.

Import the fixtures into a test module (`from tests.peer.mock_servers import localstripe_url, ...`); they are
module-scoped processes started by tests/peers.py and ended by their own pid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.peers import make_client, start_localstripe, start_stateful_mock

__all__ = ["failing_subscription", "localstripe_client", "localstripe_url", "make_client", "stateful_client",
           "stateful_mock_url"]


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    with start_localstripe() as url:
        yield url


@pytest.fixture
def localstripe_client(localstripe_url: str) -> Iterator[stripe.StripeClient]:
    """A client on a localstripe whose data is cleared before each test."""
    httpx.delete(f"{localstripe_url}/_config/data").raise_for_status()
    yield make_client(localstripe_url)


@pytest.fixture(scope="module")
def stateful_mock_url() -> Iterator[str]:
    with start_stateful_mock() as url:
        yield url


@pytest.fixture
def stateful_client(stateful_mock_url: str) -> stripe.StripeClient:
    """A client on stripe-stateful-mock (one account for every key: tests isolate by creating their own charges)."""
    return make_client(stateful_mock_url)


def failing_subscription(client: Any) -> tuple[str, str]:
    """A monthly $20.00 subscription whose first invoice fails on the customer's card (localstripe's
    pm_card_chargeCustomerFail): the invoice stays open, the subscription incomplete. Returns (customer, invoice)."""
    customer = client.v1.customers.create({"email": "fay@example.com"})
    card = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": card.id}})
    product = client.v1.products.create({"name": "Pro"})
    plan = client.v1.plans.create({"amount": 2000, "currency": "usd", "interval": "month", "product": product.id})
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"plan": plan.id}]})
    invoice = subscription.to_dict()["latest_invoice"]
    return customer.id, invoice["id"] if isinstance(invoice, dict) else invoice
