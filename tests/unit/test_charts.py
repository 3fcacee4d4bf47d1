"""Charts are pure functions DataFrame -> plotly Figure, checked without Streamlit on small hand-made frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import disputes, failures, mrr, payments, revenue, subscriptions, sync_health, webhooks

D1, D2 = dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2)


def _traces(fig: go.Figure, name: str) -> list:
    return [t for t in fig.data if t.name == name]


def test_revenue_has_one_panel_per_currency_in_major_units() -> None:
    df = pd.DataFrame({
        "period": [D1, D2, D1], "currency": ["JPY", "JPY", "KWD"],
        "gross": [1200, 3000, 1234], "refunds": [200, 0, 0], "dispute_losses": [0, 0, 1000],
        "fees": [43, 108, 37], "net": [957, 2892, 197],
    })
    fig = revenue.revenue_chart(df)
    assert [a.text for a in fig.layout.annotations] == ["JPY", "KWD"]  # never one summed panel
    gross = _traces(fig, "Gross volume")
    assert list(gross[0].y) == [1200.0, 3000.0]  # JPY has no minor digits: ¥1,200 plots as 1200
    assert list(gross[1].y) == [1.234]  # KWD has three: 1234 fils = 1.234 KWD
    assert list(_traces(fig, "Refunds")[0].y) == [-200.0, 0.0]  # deductions stack downwards
    assert list(gross[0].hovertext) == ["¥1,200", "¥3,000"]


def test_mrr_movements_stack_gains_up_and_losses_down() -> None:
    df = pd.DataFrame({"month": [D1], "currency": ["USD"], "new": [5000], "expansion": [2500], "reactivation": [0],
                       "contraction": [1000], "churn": [3000], "end_mrr": [9500]})
    fig = mrr.movements_chart(df)
    assert list(_traces(fig, "New")[0].y) == [50.0]
    assert list(_traces(fig, "Churn")[0].y) == [-30.0]
    assert list(_traces(fig, "MRR at month end")[0].y) == [95.0]
    assert fig.layout.barmode == "relative"


def test_failure_charts_show_percentages_and_advice() -> None:
    rate = pd.DataFrame({"period": [D1, D2], "attempts": [200, 0], "failed": [10, 0], "failure_rate": [0.05, None]})
    fig = failures.failure_rate_chart(rate)
    assert list(_traces(fig, "Failure rate")[0].y) == [5.0, None]  # 10 / 200; no attempts -> no point
    codes = pd.DataFrame({"decline_code": ["insufficient_funds", "stolen_card"], "advice_code": [None, None],
                          "failures": [7, 2], "action": ["Retry later", "Never retry"]})
    fig = failures.decline_codes_chart(codes)
    assert list(_traces(fig, "Never retry")[0].y) == ["stolen_card"]
    assert list(_traces(fig, "Retry later")[0].x) == [7]
    by = pd.DataFrame({"card_brand": ["visa", "amex"], "failure_rate": [0.1, 0.25], "failed": [1, 1],
                       "attempts": [10, 4]})
    assert list(failures.rate_by_chart(by, "card_brand").data[0].y) == [10.0, 25.0]


def test_dispute_ratio_chart_draws_each_threshold() -> None:
    ratios = pd.DataFrame({"network": ["visa", "mastercard"], "month": ["2026-10-01", "2026-10-01"],
                           "ratio": [0.004, 0.012], "threshold": [0.015, 0.015], "disputes": [4, 12],
                           "transactions": [1000, 1000], "status": ["ok", "monitored"]})
    fig = disputes.ratio_chart(ratios)
    assert list(_traces(fig, "mastercard ratio")[0].y) == [1.2]  # 12 / 1000 = 1.2 %
    assert list(_traces(fig, "visa threshold")[0].y) == [1.5]


def test_simple_charts_plot_their_rows() -> None:
    status = pd.DataFrame({"status": ["active", "past_due"], "subscriptions": [40, 3]})
    assert list(subscriptions.status_chart(status).data[0].y) == [40, 3]
    counts = pd.DataFrame({"provider": ["stripe", "stripe"], "table_name": ["payments", "refunds"],
                           "row_count": [120, 8]})
    assert sorted(sync_health.rows_chart(counts).data[0].x) == [8, 120]
    events = pd.DataFrame({"created": [D1, D2], "object_type": ["charge", "refund"], "type": ["charge.succeeded",
                           "charge.refunded"], "event_id": ["evt_1", "evt_2"], "object_id": ["ch_1", "re_1"]})
    assert {t.name for t in payments.timeline_chart(events).data} == {"charge.succeeded", "charge.refunded"}


def test_webhook_charts_group_rare_types_as_other() -> None:
    rows = [{"period": D1, "type": f"type.{i}", "events": 100 - i} for i in range(webhooks.TOP_TYPES + 3)]
    fig = webhooks.events_chart(pd.DataFrame(rows))
    names = {t.name for t in fig.data}
    assert "other" in names and len(names) == webhooks.TOP_TYPES + 1
    other = _traces(fig, "other")[0]
    assert list(other.y) == [88 + 87 + 86]  # the three quietest types: 100-12, 100-13, 100-14
    deliveries = pd.DataFrame({"period": [D1, D1], "outcome": ["applied", "rejected"], "deliveries": [50, 2]})
    assert {t.name for t in webhooks.deliveries_chart(deliveries).data} == {"applied", "rejected"}
    reasons = pd.DataFrame({"reason": ["bad_signature"], "detail": ["no matching secret"], "deliveries": [3]})
    assert list(webhooks.failures_chart(reasons).data[0].x) == [3]
