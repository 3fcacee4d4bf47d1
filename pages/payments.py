"""Payments: find a payment by id or id prefix, email, last4, description or amount (and the customers and
subscriptions the text names); its refunds, dispute, invoice, customer and events; refund it (full or partial)
through the guard."""

from __future__ import annotations

import streamlit as st

from dashboard import action_panel
from dashboard.actions import DONE, REFUND_REASONS
from dashboard.amounts import AmountError, read_amount, search_amounts
from dashboard.charts.payments import timeline_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.format import format_money
from dashboard.layout import definition, empty_state, show_table, with_money
from dashboard.queries import payments as q
from dashboard.queries.common import filter_options
from dashboard.text import literal

action_panel.require_page("payments")
filters = current_filters()
st.title("Payments")
# Filled at the end (once a table selection is known) but shown first: the open payment is what support reads.
detail = st.container()

options = run_query(filter_options)
currencies = [] if options is None else options.loc[options["kind"] == "currency", "value"].tolist()


def amount_to_minor(text: str, currency: str) -> int | None:
    """The typed amount in minor units, read as the person means it ("32,99" EUR is 32.99); None (with a message
    saying how to type it) when it cannot be read or stays ambiguous."""
    try:
        return read_amount(text, currency).minor
    except AmountError as exc:
        st.error(literal(str(exc)))
        return None


def refund_section(pid: str, currency: str, status: str) -> None:
    """Refund this payment: amount (empty: everything refundable) and reason, checked with Stripe, then confirmed."""
    st.markdown("#### Refund")
    action_panel.show_outcome(f"refund_{pid}")  # the last click's outcome, whatever the form shows now
    if status != "succeeded":
        st.caption(f"Only succeeded payments can be refunded; this one is {literal(status)}.")
        return
    guard = action_panel.get_guard()
    if guard is None or not action_panel.may_act(guard, "refund"):
        return
    if not st.toggle("Refund this payment", key=f"refund_open_{pid}",
                     help="Checks the payment with Stripe (amount refunded and pending) before you confirm."):
        return
    left, right = st.columns(2)
    text = left.text_input(f"Amount ({currency})", key=f"refund_amount_{pid}",
                           placeholder="empty: everything still refundable")
    reason = right.selectbox("Reason", REFUND_REASONS, index=None, key=f"refund_reason_{pid}",
                             format_func=lambda r: r.replace("_", " "), placeholder="none given")
    amount = amount_to_minor(text, currency) if text.strip() else None
    if text.strip() and amount is None:
        return
    params = {"amount": amount, "reason": reason}
    proposal = guard.propose("refund", pid, params)
    if proposal.status in DONE and st.checkbox("Refund this amount again (another refund)", key=f"refund_again_{pid}"):
        proposal = guard.propose("refund", pid, params, repeat=True)
    action_panel.panel(guard, proposal, key=f"refund_{pid}", label="Refund", outcome_key=f"refund_{pid}")


search_col, amount_col = st.columns([3, 1])
text = search_col.text_input("Search", key="payment_search",
                             placeholder="id or its start (ch_…, pi_…, cus_…, sub_…), email, name, card last4 or "
                                         "description")
amount_text = amount_col.text_input(
    "Amount", key="payment_amount", placeholder="e.g. 49.99 or 49,99",
    help="As on the receipt (32,99 or 32.99; 1.234,56 or 1,234.56), in the sidebar's currency; with all "
         "currencies, in every currency it reads in. Add a code to pick one: 32,99 EUR.")
amount_search = None
if amount_text.strip():
    try:
        amount_search = search_amounts(amount_text, filters.currency, currencies)
    except AmountError as exc:
        st.error(literal(str(exc)))

kind = q.search_kind(text)
definition(
    "Searching " + {"id": "by id or id start (any date)", "email": "by customer email", "last4": "by card last4",
                    "text": "by id start, email or description", "": "all payments"}[kind]
    + ("" if kind == "id" else f" from {filters.start} to {filters.end}")
    + (f"; {literal(amount_search.text)}" if amount_search is not None else "")
    + f". Newest first, at most {q.SEARCH_LIMIT}. Select a row to open it; `?payment=<id>` links to one payment."
)
# An amount that cannot be read searches nothing, rather than every payment.
results = (None if amount_text.strip() and amount_search is None else
           run_query(q.search_payments, filters, text, amounts=amount_search.pairs if amount_search else ()))
if results is not None:
    if results.empty:
        empty_state("payments match this search")
    else:
        shown = with_money(results, "amount", "amount_refunded")[
            ["id", "created", "status", "amount", "amount_refunded", "email", "card_brand", "card_last4",
             "disputed", "failure_code", "provider"]
        ]
        capped = "+" if len(shown) >= q.SEARCH_LIMIT else ""
        st.metric("Payments found", f"{len(shown):,}{capped}",
                  help=f"Rows matching the search, newest first; at most {q.SEARCH_LIMIT} are listed.")
        event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun",
                             selection_mode="single-row", key="payment_results")
        rows = getattr(getattr(event, "selection", None), "rows", None) or []
        if rows:
            st.query_params["payment"] = str(shown.iloc[rows[0]]["id"])

if text.strip() and kind != "last4":
    customers = run_query(q.search_customers, filters, text)
    if customers is not None and not customers.empty:
        st.markdown("#### Customers")
        definition("Customers whose id starts with the search, or whose email or name contains it; any date. "
                   "Search by a customer's id to list their payments.")
        st.dataframe(customers[["id", "email", "name", "created", "delinquent", "provider"]], hide_index=True,
                     width="stretch", key="customer_results")
    subscriptions = run_query(q.search_subscriptions, filters, text)
    if subscriptions is not None and not subscriptions.empty:
        st.markdown("#### Subscriptions")
        definition("Subscriptions whose id starts with the search, whose customer it is, or whose customer's "
                   "email or name contains it; any date.")
        st.dataframe(subscriptions, hide_index=True, width="stretch", key="subscription_results")

selected = st.query_params.get("payment")
if selected:
    with detail:
        found = run_query(q.payment, selected, filters.provider)
        if found is not None and found.empty:
            st.warning(f"No payment '{literal(selected)}' in the store. Check the id, or sync if it is newer than "
                       "the last sync.")
        elif found is not None:
            p = found.iloc[0]
            provider, pid, cur = str(p["provider"]), str(p["id"]), str(p["currency"])
            st.subheader(f"Payment {literal(pid)}")
            st.caption(f"{literal(provider)} · created {p['created']} UTC · link: ?payment={literal(pid)}")
            m = st.columns(4)
            m[0].metric("Amount", literal(format_money(p["amount"], cur)), help="What the customer was charged.")
            m[1].metric("Refunded", literal(format_money(p["amount_refunded"], cur)),
                        help="Sum of succeeded refunds.")
            m[2].metric("Status", literal(p["status"]), help="Unified status: succeeded, pending, failed or canceled.")
            card = f"•••• {p['card_last4']}" if p["card_last4"] else (p["payment_method_type"] or "—")
            m[3].metric(f"Card ({literal(p['card_brand'] or 'unknown brand')})", literal(card),
                        help="Brand and last four digits only; PayOps never stores card numbers.")
            if p["status"] == "failed":
                st.error(f"Declined: {literal(p['failure_code'] or '')} {literal(p['decline_code'] or '')} — "
                         f"{literal(p['failure_message'] or '')}")
            tabs = st.tabs(["Refunds", "Dispute", "Invoice", "Customer", "Timeline"])
            related = ((q.payment_refunds, ("amount",), "refunds", "No refunds."),
                       (q.payment_disputes, ("amount",), "disputes", "No dispute."),
                       (q.payment_invoice, ("amount_due", "amount_paid"), "invoice", "Not paid through an invoice."))
            for tab, (query, money, name, none) in zip(tabs[:3], related, strict=True):
                with tab:
                    rows = run_query(query, provider, pid)
                    if rows is not None and not rows.empty:
                        show_table(with_money(rows, *money), f"{name}_{pid}.csv")
                    elif rows is not None:
                        st.caption(none)
            with tabs[3]:
                if p["customer_id"]:
                    customer = run_query(q.payment_customer, provider, str(p["customer_id"]))
                    if customer is not None and not customer.empty:
                        st.dataframe(customer, hide_index=True, width="stretch")
                else:
                    st.caption(f"No customer object; receipt email {literal(p['email'] or '—')}.")
            with tabs[4]:
                definition("Events about this payment, its PaymentIntent, refunds, disputes and invoice, oldest first.")
                timeline = run_query(q.payment_timeline, provider, pid)
                if timeline is not None and not timeline.empty:
                    st.plotly_chart(timeline_chart(timeline), key="payment_timeline")
                    st.dataframe(timeline, hide_index=True, width="stretch")
                elif timeline is not None:
                    st.caption("No events stored for this payment (events are kept 30 days by Stripe).")
            if provider == "stripe":
                refund_section(pid, cur, str(p["status"]))
            else:
                st.caption(f"Refunds from PayOps are available for Stripe payments; refund {literal(provider)} "
                           f"payments in the {literal(provider)} console.")
        st.divider()
