"""Small page helpers every page may use: empty states that say how to get data in (true for the mode and the page
they stand on), store freshness in words, definitions, money columns, CSV and spec tables."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import tables
from dashboard.format import format_money
from dashboard.text import literal
from sync.errors import PayOpsError

SYNC_PAGE = "sync"  # the Sync health page's slug (navigation.SLUGS): where the Sync now / Load demo data buttons are
KEY_HOW = "set STRIPE_SECRET_KEY (environment or .streamlit/secrets.toml) and restart the server"
# Kept for callers that want the key-set wording without a store at hand; how_to_sync() is what pages show.
HOW_TO_SYNC = ("To load data, set STRIPE_SECRET_KEY (environment or .streamlit/secrets.toml) and press **Sync now** on "
               "the **Sync health** page, or set PAYOPS_SYNC_INTERVAL (minutes) to sync on a timer.")


def _button(label: str, here: str | None) -> str:
    """Where a Sync health button is, said from the page the text stands on."""
    return f"**{label}** above" if here == SYNC_PAGE else f"**{label}** on the **Sync health** page"


def sync_advice(mode: str, *, here: str | None = None, holds_demo: bool = False, demo_available: bool = True,
                may_press: bool = True, interval_minutes: float | None = None) -> str:
    """The sentence telling a user how to get data in, true for the page it stands on (`here`, a page slug) and the
    mode: `mode` "demo" (no provider key; `holds_demo` when the demo data set is what the store holds) or "test" /
    "live" (a key is set). Pure, so each case is tested without a page."""
    who = "" if may_press else " (an engineer or admin can)"
    if mode in ("test", "live"):
        timer = (f"; a timer also syncs every {interval_minutes:g} min" if interval_minutes
                 else ", or set PAYOPS_SYNC_INTERVAL (minutes) to sync on a timer")
        return f"To bring data in, press {_button('Sync now', here)}{who}{timer}."
    if holds_demo:
        reload = f" {_button('Load demo data', here)} loads it again{who}." if demo_available else ""
        return (f"The store holds the generated demo data set (no provider key is set).{reload} To see a Stripe "
                f"account's data, {KEY_HOW}.")
    if demo_available:
        return (f"No provider key is set (demo mode): {_button('Load demo data', here)} fills the store with a "
                f"generated data set{who}, or {KEY_HOW} to sync a Stripe account.")
    return f"No provider key is set (demo mode): to sync a Stripe account, {KEY_HOW}."


def how_to_sync(*, here: str | None = None) -> str:
    """sync_advice for this session: the configured mode, whether the store holds demo data, this role."""
    from dashboard import roles
    from dashboard.action_panel import current_actor
    from dashboard.context import get_settings
    from dashboard.queries.common import freshness

    settings = get_settings()
    fresh = fresh_query(freshness)
    holds_demo = bool(fresh is not None and (fresh["last_success_mode"] == "demo").any())
    keyed = settings.stripe_mode != "demo"
    return sync_advice(settings.stripe_mode, here=here, holds_demo=holds_demo,
                       demo_available=importlib.util.find_spec("sync.demo") is not None,
                       may_press=roles.can_act(current_actor().role, "sync" if keyed else "demo_load"),
                       interval_minutes=settings.sync_interval_minutes)


def empty_state(what: str, *, filtered: bool = True, here: str | None = None) -> None:
    """Say there is nothing to show and what to do about it (`here`: this page's slug, so the advice never sends a
    user to the page they are on)."""
    hint = " Widen the date range or clear the currency and provider filters in the sidebar." if filtered else ""
    st.info(f"No {what} in the store for this view.{hint} {how_to_sync(here=here)}")


# -- store freshness: the sidebar and the Sync health page say it with these, so they agree -------------------

def ago(when: object, now: dt.datetime) -> str:
    """How long before `now` (naive UTC), floored to the largest whole unit: "3 h ago", "just now", "never"."""
    if when is None or pd.isna(when):  # type: ignore[arg-type]
        return "never"
    then = pd.Timestamp(when)
    if then.tzinfo is not None:
        then = then.tz_convert("UTC").tz_localize(None)
    seconds = (pd.Timestamp(now) - then).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def freshness_line(row: Any, now: dt.datetime) -> str:
    """One provider's freshness (a row of queries.common.freshness), Markdown: a demo load is not a sync."""
    provider = f"**{literal(row['provider'])}**"
    if row["last_success"] is None or pd.isna(row["last_success"]):
        line = f"{provider}: nothing loaded yet"
    elif row["last_success_mode"] == "demo":
        line = f"{provider}: demo data loaded {ago(row['last_success'], now)}"
    else:
        line = f"{provider}: synced {ago(row['last_success'], now)}"
    if row["last_status"] == "failed":
        line += " · last run failed"
    elif row["last_status"] == "running":
        line += " · loading demo data now" if row["last_mode"] == "demo" else " · syncing now"
    return line


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
    # st.columns takes no width="content" (StreamlitInvalidWidthError in 1.67): the buttons sit in equal columns.
    for column, fmt in zip(st.columns(len(formats)), formats, strict=True):
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
