"""Disputes: the queue by evidence due date (overdue and due within 72 h highlighted) and monthly dispute ratios."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard.charts.disputes import ratio_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.format import format_money
from dashboard.layout import csv_download, definition, empty_state, with_money
from dashboard.queries import disputes as q

filters = current_filters()
# Whole minutes: the cache key changes once a minute, not on every rerun.
now = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
st.title("Disputes")

queue = run_query(q.dispute_queue, filters, now)
if queue is not None:
    overdue = int((queue["urgency"] == "overdue").sum())
    due_soon = int((queue["urgency"] == "due within 72 h").sum())
    m = st.columns(3)
    m[0].metric("Open disputes", f"{len(queue):,}", help="Status needs_response, warning_needs_response, "
                "under_review or warning_under_review; any date, filtered by currency and provider.")
    m[1].metric("Overdue", f"{overdue:,}", help="Evidence deadline passed while the dispute still needs a response.")
    m[2].metric("Due within 72 h", f"{due_soon:,}", help="Evidence due in the next 72 hours.")
    if queue.empty:
        empty_state("open disputes")
    else:
        at_stake = queue.groupby("currency", as_index=False)["amount"].sum()
        definition("Amount at stake, per currency (never summed across currencies): " + ", ".join(
            format_money(a, c) for a, c in zip(at_stake["amount"], at_stake["currency"], strict=True)) + ".")
        shown = with_money(queue, "amount")[
            ["id", "urgency", "evidence_due_by", "days_left", "amount", "reason", "status", "card_brand", "email",
             "charge_id", "provider"]
        ]
        colours = {"overdue": "background-color: #f8d7da", "due within 72 h": "background-color: #fff3cd"}
        styled = shown.style.apply(lambda row: [colours.get(row["urgency"], "")] * len(row), axis=1)
        st.dataframe(styled, hide_index=True, width="stretch", column_config={
            "days_left": st.column_config.NumberColumn("days left", format="%.1f",
                                                       help="Days until the evidence deadline (negative: passed)."),
            "evidence_due_by": st.column_config.DatetimeColumn("evidence due (UTC)"),
        })
        csv_download(shown, "dispute_queue.csv")

st.subheader("Monthly dispute ratio")
definition(
    "Visa (VAMP) = disputes opened in the month / the month's settled card-not-present transactions; "
    "excessive at 2.2% before April 2026 and 1.5% from April 2026, once more than 1,500 a month "
    "(fraud reports are not synced, so this counts disputes only). Mastercard = the month's chargebacks / "
    "the previous month's transactions; monitored at >= 1.0%, excessive at 1.5% (ECM) and 3.0% (HECM), each "
    "with at least 100 chargebacks. All Stripe card payments are counted as card-not-present."
)
ratios = run_query(q.dispute_ratios, filters)
if ratios is not None:
    if int(ratios["disputes"].sum()) == 0 and int(ratios["transactions"].sum()) == 0:
        empty_state("card payments or disputes")
    else:
        st.plotly_chart(ratio_chart(ratios), key="dispute_ratio_chart")
        shown_ratios = ratios.assign(ratio=[None if pd.isna(r) else f"{r:.2%}" for r in ratios["ratio"]],
                                     threshold=[f"{t:.1%}" for t in ratios["threshold"]])
        st.dataframe(shown_ratios, hide_index=True, width="stretch")
        csv_download(shown_ratios, "dispute_ratios.csv")
