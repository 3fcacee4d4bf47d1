"""Disputes: the queue in the order it is worked (needing a response by deadline, overdue and due within 72 h
highlighted; inquiries; under review; closed), answering one through the guard (stage evidence, submit it, or
accept), and monthly dispute ratios."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import action_panel
from dashboard.actions import OPEN_DISPUTE
from dashboard.charts.disputes import ratio_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.format import format_money
from dashboard.layout import csv_download, definition, empty_state, with_money
from dashboard.queries import disputes as q
from dashboard.text import literal

action_panel.require_page("disputes")
filters = current_filters()
# Whole minutes: the cache key changes once a minute, not on every rerun.
now = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
st.title("Disputes")


def answer_section(queue: pd.DataFrame) -> None:
    """Stage evidence, submit it, or accept one open Stripe dispute through the guard, with its deadline in view."""
    st.subheader("Answer a dispute")
    action_panel.show_outcome("dispute_answer")  # stays shown once an answered dispute leaves the queue
    answerable = queue[(queue["provider"] == "stripe") & queue["status"].isin(OPEN_DISPUTE)]
    if answerable.empty:
        st.caption("No Stripe dispute needs a response.")
        return
    guard = action_panel.get_guard()
    if guard is None or not action_panel.may_act(guard, "dispute_update"):
        return
    labels = {row["id"]: f"{row['id']} · {format_money(row['amount'], row['currency'])} · {row['reason']} · due "
              f"{action_panel.when(row['evidence_due_by'])} ({row['bucket']})" for _, row in answerable.iterrows()}
    dispute_id = st.selectbox("Dispute", list(labels), format_func=labels.get, index=None, key="dispute_pick",
                              placeholder="pick a dispute (soonest deadline first)")
    if not dispute_id:
        return
    row = answerable.set_index("id").loc[dispute_id]
    left = None if pd.isna(row["days_left"]) else f"{row['days_left']:.1f} days left"
    st.metric("Evidence due", action_panel.when(row["evidence_due_by"]), left, delta_color="off",
              help="After this deadline Stripe no longer accepts evidence.")
    choices = {"stage": "Stage evidence (not submitted)", "submit": "Submit evidence (final)",
               "accept": "Accept the dispute (final)"}
    answer = st.radio("Answer", list(choices), format_func=choices.get, horizontal=True,
                      key=f"dispute_answer_{dispute_id}")
    if answer == "accept":
        if action_panel.may_act(guard, "dispute_close"):
            action_panel.panel(guard, guard.propose("dispute_close", dispute_id), key=f"dispute_close_{dispute_id}",
                               label="Accept dispute", outcome_key="dispute_answer")
        return
    text = st.text_area("Evidence (uncategorized text)", key=f"dispute_text_{dispute_id}",
                        placeholder="What happened, delivery proof, customer contact...")
    if not text.strip():
        st.caption("Write the evidence first; staged evidence can be changed until it is submitted.")
        return
    params = {"evidence": {"uncategorized_text": text.strip()}, "submit": answer == "submit"}
    action_panel.panel(guard, guard.propose("dispute_update", dispute_id, params), key=f"dispute_{answer}_{dispute_id}",
                       label="Submit evidence" if answer == "submit" else "Stage evidence",
                       outcome_key="dispute_answer")


queue = run_query(q.dispute_queue, filters, now)
if queue is not None:
    open_queue = queue[queue["is_open"]]
    overdue = int((queue["bucket"] == q.OVERDUE).sum())
    due_soon = int((queue["bucket"] == q.DUE_SOON).sum())
    m = st.columns(3)
    m[0].metric("Open disputes", f"{len(open_queue):,}", help="Status needs_response, warning_needs_response, "
                "under_review or warning_under_review; any date, filtered by currency and provider.")
    m[1].metric("Overdue", f"{overdue:,}", help="Evidence deadline passed while the dispute still needs a response.")
    m[2].metric("Due within 72 h", f"{due_soon:,}", help="Evidence due in the next 72 hours.")
    if open_queue.empty:
        empty_state("open disputes")
    else:
        at_stake = open_queue.groupby("currency", as_index=False)["amount"].sum()
        definition("Amount at stake, per currency (never summed across currencies): " + ", ".join(
            literal(format_money(a, c)) for a, c in zip(at_stake["amount"], at_stake["currency"], strict=True))
            + ".")
    if not queue.empty:
        definition("In the order to work them: needing a response (overdue, then the soonest deadline), inquiries, "
                   "under review, then disputes closed that were opened in the date range (newest first).")
        shown = with_money(queue, "amount")[
            ["id", "bucket", "evidence_due_by", "days_left", "amount", "reason", "status", "card_brand", "email",
             "charge_id", "provider"]
        ]
        colours = {q.OVERDUE: "background-color: #f8d7da", q.DUE_SOON: "background-color: #fff3cd"}
        styled = shown.style.apply(lambda row: [colours.get(row["bucket"], "")] * len(row), axis=1)
        st.dataframe(styled, hide_index=True, width="stretch", column_config={
            "days_left": st.column_config.NumberColumn(
                "days left", format="%.1f",
                help="Days until the evidence deadline (negative: passed); empty once nothing more can be sent "
                     "(under review or closed)."),
            "evidence_due_by": st.column_config.DatetimeColumn("evidence due (UTC)"),
        })
        csv_download(shown, "dispute_queue.csv")
    answer_section(queue)

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
