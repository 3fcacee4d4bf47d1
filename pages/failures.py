"""Failures: payment failure rate over time, decline codes with meaning and action, outcome types, card brand and
country, the failed-invoice recovery rate, and retrying a failed invoice through the guard."""

from __future__ import annotations

import streamlit as st

from dashboard import action_panel
from dashboard.charts.failures import decline_codes_chart, failure_rate_chart, rate_by_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.format import format_money
from dashboard.layout import csv_download, definition, empty_state, with_money
from dashboard.queries import audit as qa
from dashboard.queries import failures as q
from dashboard.queries.revenue import GRAINS
from dashboard.text import literal

action_panel.require_page("failures")
filters = current_filters()
st.title("Payment failures")
grain = st.segmented_control("Grain", GRAINS, default="day", key="failures_grain") or "day"

rate = run_query(q.failure_rate, **filters.params(), grain=grain)
if rate is not None:
    attempts, failed = int(rate["attempts"].sum()), int(rate["failed"].sum())
    m = st.columns(3)
    m[0].metric("Failure rate", f"{failed / attempts:.1%}" if attempts else "—",
                help="Failed payments / (succeeded + failed payments) in the date range; pending and canceled "
                     "payments are left out.")
    m[1].metric("Failed payments", f"{failed:,}")
    m[2].metric("Attempts", f"{attempts:,}")
    if rate.empty:
        empty_state("payment attempts")
    else:
        st.plotly_chart(failure_rate_chart(rate), key="failure_rate_chart")

        st.subheader("Top decline codes")
        codes = run_query(q.top_decline_codes, **filters.params())
        if codes is not None and not codes.empty:
            st.plotly_chart(decline_codes_chart(codes), key="decline_codes_chart")
            definition("Decline code: Stripe's outcome reason (or failure code). Action, after Stripe's decline-code "
                       "guidance: retry later (temporary), ask for another card (the customer must act), never retry "
                       "(hard declines such as stolen, lost or fraudulent cards, and advice_code do_not_try_again).")
            shown = codes.assign(share=[f"{s:.1%}" for s in codes["share"]])
            st.dataframe(shown, hide_index=True, width="stretch")
            csv_download(shown, "decline_codes.csv")

        st.subheader("Outcome types")
        outcomes = run_query(q.outcome_types, **filters.params())
        if outcomes is not None and not outcomes.empty:
            definition("Stripe outcome.type of failed payments: issuer_declined (the bank said no), blocked "
                       "(Stripe or Radar blocked it), invalid (bad request details).")
            st.dataframe(outcomes.assign(share=[f"{s:.1%}" for s in outcomes["share"]]), hide_index=True,
                         width="stretch")

        left, right = st.columns(2)
        for col, by, title in ((left, "card_brand", "By card brand"), (right, "card_country", "By card country")):
            part = run_query(q.failures_by, **filters.params(), by=by)
            if part is not None and not part.empty:
                col.markdown(f"**{title}**")
                col.plotly_chart(rate_by_chart(part.head(15), by), key=f"failures_by_{by}")
                col.dataframe(part.assign(failure_rate=[f"{r:.1%}" for r in part["failure_rate"]]),
                              hide_index=True, width="stretch")

st.subheader("Failed-invoice recovery")
recovery = run_query(q.invoice_recovery, **filters.params())
if recovery is not None:
    definition(f"Invoices with a failed payment attempt between {filters.start} and {filters.end} (UTC) that were "
               "later paid: count and amount (amount due vs amount paid), per currency.")
    if recovery.empty:
        empty_state("invoices with failed payments")
    else:
        for _, row in recovery.iterrows():
            raw_cur = row["currency"]
            cur = literal(raw_cur)
            m = st.columns(2)
            m[0].metric(f"Recovered invoices ({cur})",
                        f"{row['recovery_rate']:.1%}" if row["recovery_rate"] == row["recovery_rate"] else "—",
                        help=f"{int(row['recovered_invoices'])} of {int(row['failed_invoices'])} invoices")
            m[1].metric(f"Recovered amount ({cur})", literal(format_money(int(row["recovered_amount"]), raw_cur)),
                        help=f"of {literal(format_money(int(row['failed_amount']), raw_cur))} due on those invoices")

st.subheader("Retry a failed invoice")
retryable = run_query(qa.retryable_invoices, currency=filters.currency, provider=filters.provider)
if retryable is not None:
    definition("Open invoices whose payment failed at least once (any date), largest first, with the last decline "
               "code. Retrying charges the customer's current default payment method now.")
    if not retryable.empty:
        shown = with_money(retryable, "amount_due")[["invoice_id", "amount_due", "email", "subscription_status",
                                                     "attempt_count", "decline_code", "failed_at", "provider"]]
        st.dataframe(shown, hide_index=True, width="stretch")
    action_panel.retry_invoice_section(retryable, key="failures_retry")
