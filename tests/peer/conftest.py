"""Peer-server fixtures for the sync tests: localstripe on a free 127.0.0.1 port, emptied before each test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import stripe

# localstripe's own command binds every interface and pickles its store to /tmp on each write: this
# launcher binds loopback only, with both disk paths turned off.
_LAUNCHER = """
import sys
from aiohttp import web
from localstripe.resources import Store
Store.dump_to_disk = lambda self: None
Store.try_load_from_disk = lambda self: None
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalStripe:
    url: str
    key: str = "sk_test_payops_peer"

    def client(self) -> stripe.StripeClient:
        """The official SDK pointed at the peer, as a test's own 'Stripe dashboard'."""
        return stripe.StripeClient(self.key, base_addresses={"api": self.url}, max_network_retries=0)

    def clear(self) -> None:
        httpx.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"localstripe did not start on 127.0.0.1:{port}: {err[-500:]}")
            time.sleep(0.05)
    try:
        yield LocalStripe(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def localstripe(localstripe_server: LocalStripe) -> LocalStripe:
    """The session's localstripe, with no objects left from an earlier test."""
    localstripe_server.clear()
    return localstripe_server
