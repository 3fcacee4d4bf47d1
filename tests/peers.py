"""Peer and server processes for the tests: free loopback ports, waiting for a port or a health route, stopping a
process we started, and launching localstripe, stripe-stateful-mock and the real PayOps server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import stripe

ROOT = Path(__file__).resolve().parent.parent
MOCK_DIR = ROOT / "node_modules" / "stripe-stateful-mock"

# localstripe's own `localstripe` command binds every interface and pickles its store to /tmp after each
# write; this launcher binds loopback only and turns both disk paths off.
_LOCALSTRIPE_LAUNCHER = """
import sys
from aiohttp import web
from localstripe.resources import Store
Store.dump_to_disk = lambda self: None
Store.try_load_from_disk = lambda self: None
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
    """A port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(log: IO[bytes] | None, size: int = 2000) -> str:
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")[-size:]


def wait_for_port(proc: subprocess.Popen[bytes], port: int, name: str, timeout: float = 30,
                  log: IO[bytes] | None = None) -> None:
    """Wait until `proc` accepts connections on 127.0.0.1:port; kill it and fail the test if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail(f"{name} did not start on 127.0.0.1:{port}: {_tail(log)}")
            time.sleep(0.05)


def wait_for_health(base: str, proc: subprocess.Popen[bytes], timeout: float = 45) -> None:
    """Streamlit binds its socket before the app (and its lifespan) is up: wait for its health route.

    Raises RuntimeError (the caller adds the server's log) if the process exits or never answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:  # noqa: S310 (our loopback)
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /_stcore/health in {timeout} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """End a process this test session started: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@contextmanager
def _serving(cmd: list[str], name: str, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `cmd` (which listens on `port`) until the block ends; its stderr goes to a temp file, not a pipe that
    could fill and stall it."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            wait_for_port(proc, port, name, log=err)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


@contextmanager
def start_localstripe() -> Iterator[str]:
    """localstripe (a stateful fake Stripe) on a free 127.0.0.1 port, no disk; yields its base URL."""
    port = free_port()
    with _serving([sys.executable, "-c", _LOCALSTRIPE_LAUNCHER, str(port)], "localstripe", port) as url:
        yield url


@contextmanager
def start_stateful_mock() -> Iterator[str]:
    """stripe-stateful-mock (node) on a free 127.0.0.1 port; yields its base URL."""
    node = shutil.which("node")
    if node is None or not (MOCK_DIR / "dist" / "index.js").exists():
        pytest.fail("stripe-stateful-mock is not installed: run `npm ci` at the repository root (make test does).")
    port = free_port()
    cmd = [node, "-e", _STATEFUL_MOCK_LAUNCHER, str(MOCK_DIR / "dist" / "index.js"), str(port)]
    with _serving(cmd, "stripe-stateful-mock", port, env={**os.environ, "LOG_LEVEL": "silent"}) as url:
        yield url


def make_client(base: str, key: str = "sk_test_payops", retries: int = 0) -> stripe.StripeClient:
    """The official SDK pointed at a peer."""
    return stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=retries)


def server_command(port: int) -> list[str]:
    """The REAL entry, `streamlit run dashboard/server.py`, on 127.0.0.1:port."""
    return [str(ROOT / ".venv" / "bin" / "streamlit"), "run", str(ROOT / "dashboard" / "server.py"),
            "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false"]


def server_env(store: Path, **env_vars: str) -> dict[str, str]:
    """This process's environment without any STRIPE_/PAYOPS_ setting, pointed at `store`, plus `env_vars`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYOPS_"))}
    return env | {"PAYOPS_DATABASE_URL": f"duckdb:///{store}", "PYTHONPATH": str(ROOT), **env_vars}
