"""Process-wide handles for pages: the settings, the one Store, store-aware caching of queries, and the viewer's
timezone (from their browser, once per session)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from dashboard.text import literal
from dashboard.timefmt import UTC, zone
from sync.errors import PayOpsError
from sync.settings import Settings, load_settings
from sync.store import Store

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    """The server process's one Store (DuckDB allows one process per file)."""
    return Store(get_settings().database_url)


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _cached_call(name: str, generation: int, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return _REGISTRY[name](get_store(), *args, **dict(kwargs))


_REGISTRY: dict[str, Callable[..., Any]] = {}


def cached(fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap a pure query `fn(store, *args, **kwargs)` so pages call `fn(*args, **kwargs)`.

    Results are cached per arguments and per store generation, so any write (a sync, a webhook)
    invalidates them.
    """
    name = f"{fn.__module__}.{fn.__qualname__}"
    _REGISTRY[name] = fn

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> T:
        return _cached_call(name, get_store().generation, args, tuple(sorted(kwargs.items())))

    return call


def run_query(fn: Callable[..., pd.DataFrame], *args: Any, **kwargs: Any) -> pd.DataFrame | None:
    """Run a cached query; on one of PayOps's errors show what to do and return None (never a traceback)."""
    try:
        return cached(fn)(*args, **kwargs)
    except PayOpsError as exc:
        st.error(literal(exc))
        return None


_TIMEZONE_KEY = "_payops_viewer_timezone"


def viewer_timezone() -> str:
    """The IANA timezone of the viewer's browser (st.context.timezone), read once per session; "UTC" when the
    browser sent none (AppTest, a non-browser client) or a name this machine does not know, and times are then
    labelled UTC. A missing value is not remembered, so a later rerun that carries the zone still picks it up."""
    known = st.session_state.get(_TIMEZONE_KEY)
    if isinstance(known, str):
        return known
    sent = st.context.timezone
    if sent is None:
        return UTC
    st.session_state[_TIMEZONE_KEY] = zone(sent)
    return st.session_state[_TIMEZONE_KEY]
