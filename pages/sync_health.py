"""Sync health: store freshness, Sync now (a key is set) or Load demo data (none), the run's progress, and per
provider and resource the last run, rows, cursor age, errors and event gaps."""

from __future__ import annotations

import datetime as dt
import importlib.util

import streamlit as st

from dashboard import action_panel, roles
from dashboard import table_specs as specs
from dashboard.charts.sync_health import rows_chart
from dashboard.context import get_settings, get_store
from dashboard.filters import current_filters
from dashboard.layout import (
    SYNC_PAGE,
    definition,
    empty_state,
    fresh_query,
    freshness_line,
    how_to_sync,
    show_spec_table,
)
from dashboard.queries import sync_health as q
from dashboard.queries.common import freshness
from dashboard.scheduler import SyncStatus, get_scheduler, press
from dashboard.text import literal

PRESSED = "sync_press"  # session key of the last Sync now / Load demo answer

actor = action_panel.require_page("sync")
filters = current_filters()
now = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
scheduler = get_scheduler()
settings = get_settings()
st.title("Sync health")


def _press(action: str) -> None:
    """Button callback: the role of whoever is signed in at click time decides (and the audit log records it)."""
    who = action_panel.current_actor()
    start = scheduler.start_demo if action == "demo_load" else scheduler.start_sync
    st.session_state[PRESSED] = press(get_store(), who.name, who.role, action, lambda: start(trigger="manual"),
                                      target="demo" if action == "demo_load" else settings.stripe_mode)


def store_button(action: str, label: str, key: str, help: str, **kwargs: object) -> None:
    """A button that changes the store: disabled while a run goes or when this role may not press it (the click
    itself is checked again, in `_press`)."""
    allowed = roles.can_act(actor.role, action)
    st.button(label, key=key, help=help, disabled=status.running or not allowed, on_click=_press, args=(action,),
              **kwargs)  # type: ignore[arg-type]
    if not allowed:
        st.caption(roles.action_refusal(actor.role, action))


gaps = fresh_query(q.gap_warnings, filters.provider)
for _, gap in (gaps.iterrows() if gaps is not None else ()):
    st.warning(f"**{literal(gap['provider'])} {literal(gap['resource'])}** (detected {gap['gap_detected_at']} UTC): "
               f"{literal(gap['gap_message'])}")

# The sidebar says the same, from the same query and in the same words (layout.freshness_line).
fresh = fresh_query(freshness)
if fresh is not None and not fresh.empty:
    clock = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    st.caption("Store freshness: " + "; ".join(freshness_line(row, clock) for _, row in fresh.iterrows()))

status = scheduler.status()
# What this page offers, said for the mode it is in: no key offers Load demo data, a key offers Sync now.
st.info(how_to_sync(here=SYNC_PAGE))
if settings.stripe_mode == "demo":
    if importlib.util.find_spec("sync.demo") is not None:
        store_button("demo_load", "Load demo data", "load_demo",
                     help="Fill the store with the generated demo data set, in the server process.")
else:
    interval = f"every {settings.sync_interval_minutes:g} min" if settings.sync_interval_minutes else "not scheduled"
    st.caption(f"Provider key: {settings.stripe_mode} mode. Periodic sync: {interval} (PAYOPS_SYNC_INTERVAL).")
    store_button("sync", "Sync now", "sync_now", type="primary",
                 help="Events since the last cursor plus a re-list of the last days, in the server process.")
pressed = st.session_state.pop(PRESSED, None)
if pressed is not None and not pressed.ok:
    (st.info if pressed.status == "already_running" else st.error)(literal(pressed.message))


def show_progress(current: SyncStatus) -> None:
    """A bar only when the run knows its total; otherwise the rows so far, in words, with no fraction."""
    if current.known_total:
        st.progress(current.fraction, text=literal(current.message))
    else:
        st.caption(literal(current.message))


status = scheduler.status()
if status.running:
    @st.fragment(run_every=1.0)
    def _progress() -> None:
        current = scheduler.status()
        if not current.running:
            st.rerun()  # the run ended: rerun the whole page so every table shows the new rows
        show_progress(current)

    _progress()
elif status.last_status == "failed":
    what = "demo data load" if status.kind == "demo" else f"{status.trigger or ''} run"
    st.error(f"The last {what} failed: {literal(status.last_error)}")
elif status.last_status == "succeeded":
    counts = literal(", ".join(f"{k} {v:,}" for k, v in status.last_counts.items()))
    if status.kind == "demo":
        st.success(f"Demo data loaded at {status.finished_at:%Y-%m-%d %H:%M:%S} UTC: {counts}")
    else:
        st.success(f"Last {status.trigger} run finished at {status.finished_at:%Y-%m-%d %H:%M:%S} UTC: {counts}")

st.subheader("Resources")
definition("Per provider and resource: when it last synced, rows in that run, cursor age (time since the newest "
           "event time read; Stripe keeps events 30 days, so an older cursor is a gap) and the last error.")
state = fresh_query(q.sync_state, now, filters.provider)
if state is not None:
    if state.empty:
        st.caption("No sync checkpoints: no provider sync has run on this store (a demo load writes none).")
    else:
        show_spec_table(state, specs.SYNC_STATE, "sync_state", key="sync_state_table")

st.subheader("Stored rows")
definition("Rows per provider and table now in the store, and that provider's last successful sync or demo load "
           "(UTC).")
counts = fresh_query(q.table_counts, filters.provider)
if counts is not None:
    if counts.empty:
        empty_state("rows", filtered=False, here=SYNC_PAGE)
    else:
        st.plotly_chart(rows_chart(counts), key="rows_chart")
        show_spec_table(counts, specs.TABLE_COUNTS, "stored_rows", key="stored_rows_table")

st.subheader("Recent runs")
definition("Syncs and demo loads (mode demo), newest first.")
runs = fresh_query(q.recent_runs, filters.provider)
if runs is not None:
    if runs.empty:
        st.caption("No sync or demo load has run on this store yet.")
    else:
        show_spec_table(runs, specs.RECENT_RUNS, "sync_runs", key="sync_runs_table")
