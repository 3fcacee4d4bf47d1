"""Browser-test fixtures: the REAL server (`streamlit run dashboard/server.py`) on a free 127.0.0.1 port over a
demo store in tmp, and headless Debian chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:  # noqa: S310 (our loopback)
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer /_stcore/health in {timeout} s:\n{log.read_text()[-3000:]}")


def start_server(store: Path, cwd: Path, **env_vars: str) -> tuple[str, subprocess.Popen[bytes]]:
    """`streamlit run dashboard/server.py` from `cwd` (project config copied, no secrets) on `store`."""
    shutil.copytree(ROOT / ".streamlit", cwd / ".streamlit", ignore=shutil.ignore_patterns("secrets.toml"),
                    dirs_exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYOPS_"))}
    env |= {"PAYOPS_DATABASE_URL": f"duckdb:///{store}", "PYTHONPATH": str(ROOT), **env_vars}
    log = cwd / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "streamlit"), "run", str(ROOT / "dashboard" / "server.py"),
             "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except RuntimeError:
        stop(proc)
        raise
    return url, proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def demo_payment(demo_db: Path) -> str:
    """A succeeded, refunded demo payment's id, read before the server takes the file's lock."""
    from sync.store import Store

    store = Store(f"duckdb:///{demo_db}")
    try:
        found = store.query("SELECT id FROM payments WHERE status = 'succeeded' AND amount_refunded > 0 "
                            "ORDER BY created DESC, id LIMIT 1")
    finally:
        store.close()
    return str(found.iloc[0]["id"])


@pytest.fixture(scope="session")
def server(demo_db: Path, demo_payment: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real server on a copy of the demo store (the server holds its file's lock for the whole
    session, and other tests open the shared demo file), in demo mode (no key)."""
    cwd = tmp_path_factory.mktemp("server")
    store = shutil.copy(demo_db, cwd / "demo.duckdb")
    url, proc = start_server(Path(store), cwd)
    try:
        yield url
    finally:
        stop(proc)


# localstripe's own command binds every interface and pickles to /tmp: start it loopback-only, no disk.
_LOCALSTRIPE = """
import sys
from aiohttp import web
from localstripe.resources import Store
Store.dump_to_disk = lambda self: None
Store.try_load_from_disk = lambda self: None
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe peer (stateful fake Stripe) on a free 127.0.0.1 port."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _LOCALSTRIPE, str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"localstripe did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
