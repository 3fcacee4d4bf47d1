"""Webhooks: provider events by type over time, and events the provider reports as not yet delivered."""

from __future__ import annotations

import streamlit as st

from dashboard.charts.webhooks import events_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.layout import csv_download, definition, empty_state
from dashboard.queries import webhooks as q

filters = current_filters()
st.title("Webhooks")

grain = st.segmented_control("Grain", q.GRAINS, default="day", key="webhook_grain") or "day"
events = run_query(q.events_by_type, filters, grain)
totals = run_query(q.event_type_totals, filters)
pending = run_query(q.pending_events, filters)

if events is not None and pending is not None:
    m = st.columns(3)
    m[0].metric("Events", f"{int(events['events'].sum()):,}", help="Provider events created in the date range.")
    m[1].metric("Event types", f"{events['type'].nunique():,}")
    m[2].metric("Not yet delivered", f"{len(pending):,}",
                help="Events with pending_webhooks > 0: at least one webhook endpoint has not acknowledged them "
                     "yet, as of the stored snapshot (a later sync refreshes it).")
    if events.empty:
        empty_state("events")
    else:
        st.subheader(f"Events by type per {grain}")
        st.plotly_chart(events_chart(events), key="events_chart")
        if totals is not None:
            st.dataframe(totals, hide_index=True, width="stretch")
            csv_download(totals, "event_types.csv")

    st.subheader("Not yet delivered")
    definition("Stripe's pending_webhooks counts endpoints still retrying an event (Stripe retries for up to "
               "3 days in live mode). Oldest first.")
    if pending.empty:
        st.success("Every event in the range was delivered to all endpoints.")
    else:
        st.dataframe(pending, hide_index=True, width="stretch")
        csv_download(pending, "pending_events.csv")
