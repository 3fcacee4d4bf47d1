"""MRR and churn: MRR, ARR and ARPU per currency, monthly MRR movements, 30-day subscriber and revenue churn."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import action_panel
from dashboard.charts.mrr import movements_chart
from dashboard.context import run_query
from dashboard.filters import current_filters
from dashboard.format import format_money
from dashboard.layout import csv_download, definition, empty_state, with_money
from dashboard.queries import mrr as q
from dashboard.text import literal

action_panel.require_page("revenue")  # MRR has the revenue page's audience (navigation.SLUGS)
filters = current_filters()
st.title("MRR and churn")

current = run_query(q.current_mrr, currency=filters.currency, provider=filters.provider)
if current is not None:
    if current.empty:
        empty_state("active or past_due paid subscriptions")
    for _, row in current.iterrows():
        raw_cur = row["currency"]
        cur = literal(raw_cur)
        m = st.columns(4)
        m[0].metric(f"MRR ({cur})", literal(format_money(int(row["mrr"]), raw_cur)),
                    help="Monthly-normalised sum of active and past_due subscriptions (Stripe's definition).")
        m[1].metric(f"ARR ({cur})", literal(format_money(int(row["arr"]), raw_cur)), help="12 x MRR.")
        m[2].metric(f"Subscribers ({cur})", f"{int(row['subscribers']):,}",
                    help="Customers with MRR > 0 in this currency.")
        m[3].metric(f"ARPU ({cur})", literal(format_money(int(row["arpu"]), raw_cur)),
                    help="MRR / subscribers, rounded to the nearest minor unit.")
    definition(
        "MRR (Stripe's definition): the monthly-normalised value of active and past_due subscriptions; trials, "
        "tax, free plans and metered (usage) prices are excluded. Yearly prices count 1/12, weekly 52/12, daily "
        "365/12, divided by the interval count; times quantity. A forever coupon reduces it (percent or amount "
        "off per billing period); once and repeating coupons do not. Each subscription is computed exactly and "
        "rounded once to the nearest minor unit (halves up); totals add those. Never summed across currencies."
    )

as_of = filters.end_ts
st.subheader("Monthly MRR movements")
moves = run_query(q.mrr_movements, filters.start_ts, filters.end_ts, currency=filters.currency,
                  provider=filters.provider)
if moves is not None:
    if moves.empty:
        empty_state("subscription history")
    else:
        st.plotly_chart(movements_chart(moves), key="mrr_movements_chart")
        definition(
            "From each subscription's history (customer.subscription.* events; the subscription's start and end "
            "dates where events are missing), per customer and currency, comparing MRR at the start and end of each "
            "month: new (first MRR ever), reactivation (back from zero after having paid before), expansion, "
            "contraction, churn (the customer ends with no MRR at all: losing one of several subscriptions is "
            "contraction). Start + new + expansion + reactivation - contraction - churn = end."
        )
        shown = with_money(moves, "start_mrr", "new", "expansion", "reactivation", "contraction", "churn",
                           "end_mrr")
        shown["month"] = shown["month"].dt.strftime("%Y-%m")
        st.dataframe(shown, hide_index=True, width="stretch")
        csv_download(shown, "mrr_movements.csv")

st.subheader(f"Churn over the 30 days to {(as_of - dt.timedelta(days=1)).date()}")
churn = run_query(q.churn_30d, as_of, currency=filters.currency, provider=filters.provider)
if churn is not None:
    if churn.empty:
        empty_state("subscribers in those 30 days")
    else:
        for _, row in churn.iterrows():
            raw_cur = row["currency"]
            cur = literal(raw_cur)
            m = st.columns(2)
            sc, rc = row["subscriber_churn"], row["revenue_churn"]
            m[0].metric(f"Subscriber churn ({cur})", "—" if sc is None or sc != sc else f"{sc:.1%}",
                        help=f"{int(row['churned_subscribers'])} churned / ({int(row['subscribers_start'])} "
                             f"subscribers 30 days ago + {int(row['new_subscribers'])} new in the 30 days).")
            m[1].metric(f"Revenue churn ({cur})", "—" if rc is None or rc != rc else f"{rc:.1%}",
                        help=f"{literal(format_money(int(row['mrr_lost']), raw_cur))} MRR lost to contraction and "
                             f"churn / {literal(format_money(int(row['mrr_start']), raw_cur))} MRR 30 days ago.")
        definition("Subscriber churn = churned subscribers / (active 30 days ago + new in the 30 days). Revenue "
                   "churn = MRR lost to contraction and churn / MRR 30 days ago. Per currency.")
        shown = with_money(churn, "mrr_start", "mrr_lost", "mrr_end")
        for col in ("subscriber_churn", "revenue_churn"):
            shown[col] = [None if v is None or v != v else f"{v:.1%}" for v in shown[col]]
        st.dataframe(shown, hide_index=True, width="stretch")
        csv_download(shown, "churn_30d.csv")
