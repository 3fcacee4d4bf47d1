"""Subscriptions: counts by status, past_due subscriptions with their failed invoice and last decline code,
retrying a failed invoice through the guard, upcoming renewals, cancellations."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import action_panel
from dashboard.charts.subscriptions import status_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.layout import csv_download, definition, empty_state, with_money
from dashboard.queries import audit as qa
from dashboard.queries import subscriptions as q

action_panel.require_page("subscriptions")
filters = current_filters()
# Whole hours: the cache key changes once an hour, not on every rerun.
now = dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
st.title("Subscriptions")

counts = run_query(q.status_counts, currency=filters.currency, provider=filters.provider)
if counts is not None:
    if counts.empty:
        empty_state("subscriptions")
    else:
        m = st.columns(4)
        by_status = dict(zip(counts["status"], counts["subscriptions"], strict=True))
        for col, status in zip(m, ("active", "trialing", "past_due", "canceled"), strict=True):
            col.metric(status.replace("_", " ").capitalize(), f"{int(by_status.get(status, 0)):,}")
        st.plotly_chart(status_chart(counts), key="subscription_status_chart")
        definition("Subscriptions per current status (all dates), filtered by currency and provider.")

        st.subheader("Past due")
        pd_subs = run_query(q.past_due, currency=filters.currency, provider=filters.provider)
        if pd_subs is not None:
            if pd_subs.empty:
                st.success("No past_due subscriptions.")
            else:
                definition("Each past_due subscription's unpaid invoice (its latest when still open), and the decline "
                           "code of the newest failed payment for that invoice, with what to do about it.")
                shown = with_money(pd_subs, "amount_due")
                st.dataframe(shown, hide_index=True, width="stretch")
                csv_download(shown, "past_due.csv")

        st.subheader("Retry a failed invoice")
        retryable = run_query(qa.retryable_invoices, currency=filters.currency, provider=filters.provider)
        if retryable is not None:
            definition("Open invoices whose payment failed at least once (past_due, incomplete or one-off), largest "
                       "first. Retrying charges the customer's current default payment method now.")
            action_panel.retry_invoice_section(retryable, key="subscriptions_retry")

        st.subheader("Renewing in the next 30 days")
        renewals = run_query(q.upcoming_renewals, now, 30, currency=filters.currency, provider=filters.provider)
        if renewals is not None:
            definition("Active, past_due and trialing subscriptions whose current period ends in the next 30 days "
                       "and that are not set to cancel; amount: list price of the next period (licensed items x "
                       "quantity, before discounts and tax).")
            if renewals.empty:
                st.info("No renewals in the next 30 days.")
            else:
                shown = with_money(renewals, "amount")
                st.dataframe(shown, hide_index=True, width="stretch")
                csv_download(shown, "renewals.csv")

        st.subheader("Cancellations")
        cancels = run_query(q.cancellations, **filters.params())
        if cancels is not None:
            definition(f"Canceled between {filters.start} and {filters.end} (by cancellation date), and subscriptions "
                       "scheduled to cancel (cancel at period end, or a cancel_at date).")
            if cancels.empty:
                st.info("No cancellations in this range.")
            else:
                st.dataframe(cancels, hide_index=True, width="stretch")
                csv_download(cancels, "cancellations.csv")
