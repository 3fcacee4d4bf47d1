"""Peer-server fixtures for the action tests: localstripe and stripe-stateful-mock, each on 127.0.0.1.

Import the fixtures into a test module (`from tests.peer.mock_servers import localstripe_url, ...`); they are
module-scoped processes started by this file and ended by their own pid.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe

ROOT = Path(__file__).resolve().parents[2]
MOCK_DIR = ROOT / "node_modules" / "stripe-stateful-mock"

# localstripe's own `localstripe` command binds every interface and pickles its store to /tmp after each
# write; this launcher binds loopback only and turns both disk paths off.
_LOCALSTRIPE_LAUNCHER = """
import sys
from aiohttp import web
from localstripe import resources
resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

# stripe-stateful-mock's autostart calls app.listen(PORT) on every interface; build the same app and bind it
# to loopback instead (dist/index.js exports createExpressApp).
_STATEFUL_MOCK_LAUNCHER = """
const log = require("loglevel");
log.setLevel("silent");
const { createExpressApp } = require(process.argv[1]);
createExpressApp().listen(+process.argv[2], "127.0.0.1");
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(proc: subprocess.Popen, port: int, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_localstripe() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _LOCALSTRIPE_LAUNCHER, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_listening(proc, port, "localstripe")
    return proc, f"http://127.0.0.1:{port}"


def start_stateful_mock() -> tuple[subprocess.Popen, str]:
    node = shutil.which("node")
    if node is None or not (MOCK_DIR / "dist" / "index.js").exists():
        pytest.fail("stripe-stateful-mock is not installed: run `npm ci` at the repository root (make test does).")
    port = free_port()
    proc = subprocess.Popen([node, "-e", _STATEFUL_MOCK_LAUNCHER, str(MOCK_DIR / "dist" / "index.js"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LOG_LEVEL": "silent"})
    _wait_listening(proc, port, "stripe-stateful-mock")
    return proc, f"http://127.0.0.1:{port}"


def make_client(base: str, key: str = "sk_test_payops", retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=retries)


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    proc, url = start_localstripe()
    try:
        yield url
    finally:
        _stop(proc)


@pytest.fixture
def localstripe_client(localstripe_url: str) -> Iterator[stripe.StripeClient]:
    """A client on a localstripe whose data is cleared before each test."""
    httpx.delete(f"{localstripe_url}/_config/data").raise_for_status()
    yield make_client(localstripe_url)


@pytest.fixture(scope="module")
def stateful_mock_url() -> Iterator[str]:
    proc, url = start_stateful_mock()
    try:
        yield url
    finally:
        _stop(proc)


@pytest.fixture
def stateful_client(stateful_mock_url: str) -> stripe.StripeClient:
    """A client on stripe-stateful-mock (one account for every key: tests isolate by creating their own charges)."""
    return make_client(stateful_mock_url)
