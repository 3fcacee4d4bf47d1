"""Browser-test fixtures: the REAL server (`streamlit run dashboard/server.py`) on a free 127.0.0.1 port over a
demo store in tmp, and headless Debian chromium driven by Playwright. Every browser context aborts any request to a
host other than 127.0.0.1 and every test FAILS if one was attempted: the console must fetch nothing from outside
(no font CDN, no favicon host, no image a provider's text points at)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT
from tests.peers import free_port, server_command, server_env, start_localstripe, stop, wait_for_health

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
ARTIFACTS = ROOT / "tests" / "artifacts"


def start_server(store: Path, cwd: Path, **env_vars: str) -> tuple[str, subprocess.Popen[bytes]]:
    """`streamlit run dashboard/server.py` from `cwd` (project config copied, no secrets) on `store`."""
    shutil.copytree(ROOT / ".streamlit", cwd / ".streamlit", ignore=shutil.ignore_patterns("secrets.toml"),
                    dirs_exist_ok=True)
    port = free_port()
    log = cwd / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(server_command(port), cwd=cwd, env=server_env(store, **env_vars), stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc)
    except RuntimeError as exc:
        stop(proc)
        raise RuntimeError(f"{exc}:\n{log.read_text()[-3000:]}") from None
    return url, proc


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


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe peer (stateful fake Stripe) on a free 127.0.0.1 port."""
    with start_localstripe() as url:
        yield url


LOCAL_HOST = "127.0.0.1"
OUTSIDE: list[str] = []  # every request to another host, in the order attempted; emptied before each test


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == LOCAL_HOST


class LocalOnlyBrowser:
    """The launched chromium, whose contexts route every request: one to another host is recorded and aborted."""

    def __init__(self, chromium: Any) -> None:
        self.chromium = chromium

    def new_context(self, **kwargs: Any) -> Any:
        context = self.chromium.new_context(**kwargs)

        def guard(route: Any) -> None:
            if is_local(route.request.url):
                route.continue_()
            else:
                OUTSIDE.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        # Some requests (a favicon) skip routing in chromium; the request event still sees them.
        context.on("request", lambda request: None if is_local(request.url) or request.url in OUTSIDE
                   else OUTSIDE.append(request.url))
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chromium, name)


@pytest.fixture(autouse=True)
def no_outside_requests() -> Iterator[None]:
    """Fails the test if its browser asked any host but 127.0.0.1 for anything (each was aborted)."""
    OUTSIDE.clear()
    yield
    attempted, OUTSIDE[:] = list(OUTSIDE), []
    assert not attempted, f"the browser requested hosts other than {LOCAL_HOST}: {attempted}"


@pytest.fixture(scope="session")
def browser() -> Iterator[LocalOnlyBrowser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield LocalOnlyBrowser(chromium)
        finally:
            chromium.close()
