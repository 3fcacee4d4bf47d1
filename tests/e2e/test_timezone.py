"""Issue 20 point 8 in a real browser: a spec table's times read in the viewer's timezone (chromium told it is in
Tokyo), with the zone in the header, while the CSV export keeps ISO 8601 UTC.

No page renders its tables through layout.show_spec_table yet, so a one-table script does, over a real DuckDB store
holding tests/conftest.py's hand-written data set, served by `streamlit run` on 127.0.0.1. Expectations by hand:
ch_jpy1 is created at 2026-11-12 12:00 UTC, so Tokyo (UTC+9, no DST) reads 2026-11-12 21:00.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, make_store, seed_store
from tests.peers import free_port, server_env, stop, wait_for_health

TABLE_SCRIPT = '''\
from dashboard import tables as t
from dashboard.context import get_store
from dashboard.layout import show_spec_table

df = get_store().query("SELECT id, created FROM payments ORDER BY id")
show_spec_table(df, t.spec(t.ident("id", "Payment"), t.timestamp("created", "Created")), "tz_payments")
'''


@pytest.fixture(scope="module")
def table_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cwd = tmp_path_factory.mktemp("tz")
    store = make_store(cwd, "tz.duckdb")
    seed_store(store)
    store.close()
    shutil.copytree(ROOT / ".streamlit", cwd / ".streamlit", ignore=shutil.ignore_patterns("secrets.toml"),
                    dirs_exist_ok=True)
    script = cwd / "one_table.py"
    script.write_text(TABLE_SCRIPT)
    port = free_port()
    log = cwd / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "streamlit"), "run", str(script), "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=server_env(cwd / "tz.duckdb"), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc)
    except RuntimeError as exc:
        stop(proc)
        raise RuntimeError(f"{exc}:\n{log.read_text()[-3000:]}") from None
    try:
        yield url
    finally:
        stop(proc)


def open_table(browser: Any, url: str, timezone_id: str) -> tuple[Any, Any]:
    context = browser.new_context(timezone_id=timezone_id, accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    # The accessible table sits under the canvas the grid draws on: attached, never visible.
    page.locator('[data-testid="stDataFrame"] [role="gridcell"]').first.wait_for(state="attached", timeout=30_000)
    return context, page


def row_of(page: Any, payment: str) -> tuple[list[str], list[str]]:
    """The grid's headers and the cells of the row whose first cell is `payment`, as its accessible table (the one
    screen readers get) reads them."""
    grid = page.locator('[data-testid="stDataFrame"]')
    headers = grid.locator('[role="columnheader"]').all_text_contents()
    for row in grid.locator('[role="row"]').all():
        cells = row.locator('[role="gridcell"]').all_text_contents()
        if cells and cells[0] == payment:
            return headers, cells
    raise AssertionError(f"no row {payment} in the grid")


def test_a_viewer_in_tokyo_reads_the_time_nine_hours_ahead_of_utc(browser: Any, table_server: str) -> None:
    context, page = open_table(browser, table_server, "Asia/Tokyo")
    try:
        headers, cells = row_of(page, "ch_jpy1")
        assert headers == ["Payment", "Created (Asia/Tokyo)"]
        assert cells[1].startswith("2026-11-12 21:00:00"), cells
    finally:
        context.close()
    context, page = open_table(browser, table_server, "UTC")  # the same row to a viewer in UTC
    try:
        headers, cells = row_of(page, "ch_jpy1")
        assert headers == ["Payment", "Created (UTC)"]
        assert cells[1].startswith("2026-11-12 12:00:00"), cells
    finally:
        context.close()


def test_the_csv_a_tokyo_viewer_downloads_keeps_utc(browser: Any, table_server: str) -> None:
    context, page = open_table(browser, table_server, "Asia/Tokyo")
    try:
        with page.expect_download(timeout=20_000) as download:
            page.get_by_role("button", name="Download CSV").click()
        data = Path(download.value.path()).read_bytes()
    finally:
        context.close()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Payment", "Created (UTC)"]
    assert ["ch_jpy1", "2026-11-12T12:00:00Z"] in rows[1:]
