"""Fixtures and helpers the page AppTests share: the finance data set as a store file, the empty-or-demo store
every page must render on, and opening a page through the real navigation with its title checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_app
from tests.store.conftest import make_finance_db


@pytest.fixture
def finance_db(tmp_path: Path) -> Path:
    """The finance data set (tests/store/conftest.py's seed_finance) in a closed DuckDB file for the app."""
    return make_finance_db(tmp_path)


# The finance data set's window (WINDOW in tests/store/conftest.py, [06-01, 06-15)) as the pages' inclusive range.
JUNE = {"start": "2026-06-01", "end": "2026-06-14"}


@pytest.fixture
def finance_page(app_env: Callable[[Path], None], finance_db: Path) -> Callable[..., Any]:
    """Opens a page on the finance store over a date range (default JUNE); it must render without an exception."""
    app_env(finance_db)

    def open_(page: str, query: dict[str, str] = JUNE) -> Any:
        at = run_app(page, query=query)
        assert not at.exception
        return at

    return open_


def pick_currency(at: Any, currency: str) -> Any:
    """Choose one currency in the sidebar's filter and rerun the page."""
    return at.sidebar.selectbox(key="filter_currency").set_value(currency).run()


@pytest.fixture(params=["empty_db", "demo_db"])
def empty_or_demo(request: pytest.FixtureRequest, app_env: Callable[[Path], None]) -> str:
    """The app pointed at the empty store, then (second run) the demo store; the value names which."""
    app_env(request.getfixturevalue(request.param))
    return request.param


def open_page(page: str, title: str, **kwargs: Any) -> Any:
    """Run pages/<page>.py through dashboard/app.py; it must render without an exception, under `title`."""
    at = run_app(page, **kwargs)
    assert not at.exception
    assert [t.value for t in at.title] == [title]
    return at


def shown(markdown: str) -> str:
    """What a reader sees of Markdown that dashboard.text.literal escaped: escapes and word joiners dropped."""
    from dashboard.text import JOINER

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(JOINER, "")


def shown_metrics(at: Any) -> dict[str, str]:
    """{label: value} of every st.metric, as the reader sees them."""
    return {shown(m.label): shown(m.value) for m in at.metric}


def shown_texts(at: Any) -> str:
    """tests.conftest.texts as the reader sees it (literal()'s escapes and joiners dropped)."""
    from tests.conftest import texts

    return shown(texts(at))
