"""Small page helpers every page may use: empty states that say how to sync, definitions, money columns, CSV."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import tables
from dashboard.format import format_money
from dashboard.text import literal
from sync.errors import PayOpsError

HOW_TO_SYNC = (
    "To load data, set STRIPE_SECRET_KEY (environment or .streamlit/secrets.toml) and press **Sync now** on the "
    "**Sync health** page, or set PAYOPS_SYNC_INTERVAL (minutes) to sync on a timer."
)


def how_to_sync() -> str:
    """The one sentence telling a user how to get data in (mentions demo data when the generator exists)."""
    if importlib.util.find_spec("sync.demo") is not None:
        return HOW_TO_SYNC + " Without a key, **Load demo data** on the Sync health page fills the store."
    return HOW_TO_SYNC


def empty_state(what: str, *, filtered: bool = True) -> None:
    """Say there is nothing to show and what to do about it."""
    hint = " Widen the date range or clear the currency and provider filters in the sidebar." if filtered else ""
    st.info(f"No {what} in the store for this view.{hint} {how_to_sync()}")


def definition(text: str) -> None:
    """A figure's definition, shown as a caption right under it."""
    st.caption(text)


def with_money(df: pd.DataFrame, *columns: str, currency: str = "currency") -> pd.DataFrame:
    """Replace integer minor-unit columns by text formatted in each row's own currency (¥1,200, KWD 1.234)."""
    out = df.copy()
    for column in columns:
        out[column] = [format_money(a, c) for a, c in zip(out[column], out[currency], strict=True)]
    return out


def csv_download(df: pd.DataFrame, filename: str, *, label: str = "Download CSV", key: str | None = None) -> None:
    """Offer exactly the DataFrame shown as CSV (same rows, columns and formatting)."""
    st.download_button(label, df.to_csv(index=False).encode("utf-8"), file_name=filename, mime="text/csv",
                       key=key or f"csv_{filename}")


def show_table(df: pd.DataFrame, filename: str, **dataframe_kwargs: object) -> None:
    """Render a table and the CSV download of exactly that table."""
    st.dataframe(df, hide_index=True, width="stretch", **dataframe_kwargs)  # type: ignore[arg-type]
    csv_download(df, filename)


def show_spec_table(df: pd.DataFrame, spec: tables.Table, stem: str, *, parquet: bool = False, links: bool = True,
                    key: str | None = None, styled: Callable[[pd.DataFrame], Any] | None = None,
                    **dataframe_kwargs: Any) -> Any:
    """A table formatted for the screen by its spec, with CSV (and Parquet) of the same rows built when clicked:
    numbers, currency codes, ISO 8601 UTC and unit headers, never the screen's text. Returns st.dataframe's event."""
    from dashboard.context import get_settings, viewer_timezone

    # Demo objects exist in no provider account, so their ids link nowhere.
    screen = tables.for_screen(df, spec, links=links and get_settings().stripe_mode != "demo", tz=viewer_timezone())
    event = st.dataframe(styled(screen.data) if styled else screen.data, key=key, **screen.kwargs(),
                         **dataframe_kwargs)
    formats = ("csv", "parquet") if parquet else ("csv",)
    for column, fmt in zip(st.columns(len(formats), width="content"), formats, strict=True):
        column.download_button(f"Download {fmt.upper()}", tables.exporter(df, spec, fmt), file_name=f"{stem}.{fmt}",
                               mime=tables.MIME[fmt], key=f"{fmt}_{stem}", on_click="ignore")
    return event


def fresh_query(fn: Callable[..., pd.DataFrame], *args: Any, **kwargs: Any) -> pd.DataFrame | None:
    """Run a cheap query uncached, for bookkeeping tables (sync runs, checkpoints) whose writes do not bump
    the store generation that run_query's cache keys on. PayOps errors are shown, never raised."""
    from dashboard.context import get_store

    try:
        return fn(get_store(), *args, **kwargs)
    except PayOpsError as exc:
        st.error(literal(exc))
        return None
