"""Peer-server fixtures for the sync tests: localstripe on a free 127.0.0.1 port, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import stripe

from tests.peers import make_client, start_localstripe


@dataclass
class LocalStripe:
    url: str
    key: str = "sk_test_payops_peer"

    def client(self) -> stripe.StripeClient:
        """The official SDK pointed at the peer, as a test's own 'Stripe dashboard'."""
        return make_client(self.url, self.key)

    def clear(self) -> None:
        httpx.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    with start_localstripe() as url:
        yield LocalStripe(url)


@pytest.fixture
def localstripe(localstripe_server: LocalStripe) -> LocalStripe:
    """The session's localstripe, with no objects left from an earlier test."""
    localstripe_server.clear()
    return localstripe_server
