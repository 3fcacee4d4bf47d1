"""Revenue: gross volume, refunds, dispute losses, fees and net per currency and period, with the change against
the previous period and a CSV of exactly the table shown."""

from __future__ import annotations

import streamlit as st

from dashboard import action_panel
from dashboard.charts.revenue import revenue_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.format import format_money
from dashboard.layout import csv_download, definition, empty_state, with_money
from dashboard.queries import revenue as q
from dashboard.text import literal

action_panel.require_page("revenue")
filters = current_filters()
st.title("Revenue")
grain = st.segmented_control("Grain", q.GRAINS, default="day", key="revenue_grain") or "day"

totals = run_query(q.revenue_totals, **filters.params())
rows = run_query(q.revenue_by_period, **filters.params(), grain=grain)
LABELS = {"gross": "Gross volume", "refunds": "Refunds", "dispute_losses": "Dispute losses", "fees": "Fees",
          "net": "Net"}

if totals is not None and rows is not None:
    if rows.empty:
        empty_state("payments, refunds, disputes or balance transactions")
    else:
        definition(
            "Per currency, never summed across currencies. Gross volume: captured amounts of succeeded payments, by "
            "payment date. Refunds: succeeded and pending refunds, by refund date. Dispute losses: lost disputes, "
            "by opening date. Fees and net: Stripe balance transactions of those payments, refunds and disputes "
            "(net = amount - fee; dispute fees included), in the SETTLEMENT currency, which can differ from the "
            "charge's (a JPY charge settled in USD adds to the USD row's fees and net). Change: against the "
            f"previous {(filters.end - filters.start).days + 1} days."
        )
        for _, t in totals.iterrows():
            cur = t["currency"]
            st.markdown(f"**{literal(cur)}**")
            cols = st.columns(len(LABELS))
            for col, (key, label) in zip(cols, LABELS.items(), strict=True):
                change = t[f"{key}_change_pct"]
                delta = None if change is None or change != change else f"{change:+.1f}%"
                col.metric(f"{label} ({literal(cur)})", literal(format_money(int(t[key]), cur)), delta=delta,
                           delta_color="inverse" if key in ("refunds", "dispute_losses", "fees") else "normal",
                           help=f"Previous period: {literal(format_money(int(t[f'{key}_prev']), cur))}")
        st.plotly_chart(revenue_chart(rows), key="revenue_chart")
        shown = with_money(rows, *LABELS)
        shown["period"] = shown["period"].dt.strftime("%Y-%m-%d")
        shown = shown.rename(columns={**LABELS, "payments": "Payments", "period": f"Period ({grain})",
                                      "currency": "Currency"})
        st.dataframe(shown, hide_index=True, width="stretch")
        csv_download(shown, f"revenue_{grain}_{filters.start}_{filters.end}.csv")
