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


# -- axes, partial periods, colours (issue 20.5) --------------------------------------------------------------------
# Hand facts: 2026-11-02, 2026-11-30 and 2000-01-03 are Mondays; NOW (Thu 2026-12-03 08:00 UTC) is inside December,
# the week of Mon 2026-11-30 and the day 2026-12-03, so those are the periods still running.
NOW = dt.datetime(2026, 12, 3, 8, 0)
DAY_MS, WEEK_MS = 86_400_000, 7 * 86_400_000


def _revenue_rows(periods: list[dt.datetime]) -> pd.DataFrame:
    n = len(periods)
    return pd.DataFrame({"period": periods, "currency": ["USD"] * n, "gross": [10_000] * n, "refunds": [0] * n,
                         "dispute_losses": [0] * n, "fees": [300] * n, "net": [9_700] * n})


MONTHS = [dt.datetime(2026, m, 1) for m in (9, 10, 11, 12)]
WEEKS = [dt.datetime(2026, 11, 2) + dt.timedelta(weeks=i) for i in range(5)]  # 2 Nov .. 30 Nov
DAYS = [dt.datetime(2026, 11, 29) + dt.timedelta(days=i) for i in range(5)]  # 29 Nov .. 3 Dec


def test_time_axis_ticks_follow_the_grain() -> None:
    month = revenue.revenue_chart(_revenue_rows(MONTHS), grain="month", now=NOW).layout.xaxis
    assert (month.dtick, month.tickformat, month.tick0) == ("M1", "%b %Y", "2000-01-01")
    week = revenue.revenue_chart(_revenue_rows(WEEKS), grain="week", now=NOW).layout.xaxis
    assert (week.dtick, week.tickformat, week.tick0) == (WEEK_MS, "%-d %b", "2000-01-03")  # ticks on Mondays
    day = revenue.revenue_chart(_revenue_rows(DAYS), grain="day", now=NOW).layout.xaxis
    assert (day.dtick, day.tickformat) == (DAY_MS, "%-d %b")
    # 60 days of daily bars: one tick a day would be 60 labels; 60 / 12 = 5 days -> the next step up is a week.
    many = [dt.datetime(2026, 10, 1) + dt.timedelta(days=i) for i in range(60)]
    wide = failures.failure_rate_chart(pd.DataFrame({"period": many, "attempts": [5] * 60, "failed": [1] * 60,
                                                     "failure_rate": [0.2] * 60}), grain="day", now=NOW).layout.xaxis
    assert (wide.dtick, wide.tick0) == (WEEK_MS, "2000-01-03")
    # A page that passes no grain still gets month ticks for monthly rows (the grain is read from the spacing).
    assert revenue.revenue_chart(_revenue_rows(MONTHS), now=NOW).layout.xaxis.dtick == "M1"
    assert mrr.movements_chart(pd.DataFrame({
        "month": MONTHS, "currency": ["USD"] * 4, "new": [1] * 4, "expansion": [0] * 4, "reactivation": [0] * 4,
        "contraction": [0] * 4, "churn": [0] * 4, "end_mrr": [1] * 4}), now=NOW).layout.xaxis.dtick == "M1"
    events = pd.DataFrame({"period": WEEKS, "type": ["charge.succeeded"] * 5, "events": [3] * 5})
    assert webhooks.events_chart(events, grain="week", now=NOW).layout.xaxis.dtick == WEEK_MS
    hours = pd.DataFrame({"period": [NOW - dt.timedelta(hours=h) for h in (2, 1, 0)], "outcome": ["applied"] * 3,
                          "deliveries": [4, 5, 6]})
    hour = webhooks.deliveries_chart(hours, grain="hour", now=NOW).layout.xaxis
    assert (hour.dtick, hour.tickformat) == (3_600_000, "%H:%M")


def _to_date_notes(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations if "to date" in (a.text or "")]


def test_the_running_period_is_marked_to_date_only_while_it_runs() -> None:
    fig = revenue.revenue_chart(_revenue_rows(MONTHS), grain="month", now=NOW)
    assert _to_date_notes(fig) == ["Dec 2026 (to date)"]
    gross = _traces(fig, "Gross volume")[0]
    assert list(gross.marker.pattern.shape) == ["", "", "", "/"]  # only December is hatched
    assert list(gross.marker.opacity) == [1.0, 1.0, 1.0, 0.5]
    assert list(gross.hovertext) == ["$100.00"] * 3 + ["$100.00 (to date)"]
    # At midnight on 1 January December is complete: no marker at all.
    done = revenue.revenue_chart(_revenue_rows(MONTHS), grain="month", now=dt.datetime(2027, 1, 1))
    assert _to_date_notes(done) == []
    assert _traces(done, "Gross volume")[0].marker.pattern.shape is None
    # A finished range (all periods in the past) is not marked either.
    assert _to_date_notes(revenue.revenue_chart(_revenue_rows(MONTHS[:3]), grain="month", now=NOW)) == []
    # Week of Monday 30 Nov runs to Monday 7 Dec; day 3 Dec runs to midnight.
    assert _to_date_notes(revenue.revenue_chart(_revenue_rows(WEEKS), grain="week", now=NOW)) == [
        "week of 30 Nov 2026 (to date)"]
    assert _to_date_notes(revenue.revenue_chart(_revenue_rows(DAYS), grain="day", now=NOW)) == [
        "3 Dec 2026 (to date)"]
    rate = failures.failure_rate_chart(pd.DataFrame({"period": DAYS, "attempts": [100] * 5, "failed": [5] * 5,
                                                     "failure_rate": [0.05] * 5}), grain="day", now=NOW)
    assert list(_traces(rate, "Attempts")[0].marker.pattern.shape) == ["", "", "", "", "/"]
    events = webhooks.events_chart(pd.DataFrame({"period": MONTHS, "type": ["a"] * 4, "events": [9] * 4}),
                                   grain="month", now=NOW)
    assert _to_date_notes(events) == ["Dec 2026 (to date)"]
    ratios = pd.DataFrame({"network": ["visa"] * 2, "month": ["2026-11-01", "2026-12-01"], "ratio": [0.01, 0.0],
                           "threshold": [0.015] * 2, "disputes": [10, 0], "transactions": [1000, 100],
                           "status": ["ok", "ok"]})
    disputed = disputes.ratio_chart(ratios, now=NOW)
    assert _to_date_notes(disputed) == ["Dec 2026 (to date)"]
    assert disputed.layout.xaxis.dtick == "M1"


def test_count_axes_are_whole_numbers_from_zero() -> None:
    rate = failures.failure_rate_chart(pd.DataFrame({"period": [D1, D2], "attempts": [200, 0], "failed": [10, 0],
                                                     "failure_rate": [0.05, None]}), now=NOW)
    assert _traces(rate, "Attempts")[0].yaxis in (None, "y") and _traces(rate, "Failure rate")[0].yaxis == "y2"
    attempts = rate.layout.yaxis
    # max 200 attempts / 6 ticks = 33.3 -> the next 1-2-5 step is 50.
    assert (attempts.tickformat, attempts.dtick, attempts.tick0, attempts.rangemode) == (",d", 50, 0, "tozero")
    assert rate.layout.yaxis2.title.text == "failure rate (%)"
    assert rate.layout.yaxis2.tickmode == "auto"  # not plotly's default "sync" to the attempts ticks (3.3 / 6.61 %)
    # Stacked: 6 + 6 = 12 in one period sets the scale (12 / 6 = 2), not either type's 6 alone (which gives 1).
    events = pd.DataFrame({"period": [D1, D1, D2], "type": ["a", "b", "a"], "events": [6, 6, 1]})
    y = webhooks.events_chart(events, now=NOW).layout.yaxis
    assert (y.tickformat, y.dtick, y.rangemode) == (",d", 2, "tozero")
    # Tiny counts never get a fractional step: max 3 / 6 = 0.5 -> at least 1.
    small = pd.DataFrame({"period": [D1], "outcome": ["applied"], "deliveries": [3]})
    assert webhooks.deliveries_chart(small, now=NOW).layout.yaxis.dtick == 1
    assert subscriptions.status_chart(pd.DataFrame({"status": ["active", "past_due"],
                                                    "subscriptions": [40, 3]})).layout.yaxis.dtick == 10
    rows = sync_health.rows_chart(pd.DataFrame({"provider": ["stripe", "braintree"], "table_name": ["payments"] * 2,
                                                "row_count": [1_000_000, 10]})).layout.xaxis
    assert (rows.tickformat, rows.dtick) == (",d", 200_000)  # 1,000,000 / 6 = 166,667 -> 200,000
    codes = failures.decline_codes_chart(pd.DataFrame({"decline_code": ["a", "b"], "advice_code": [None, None],
                                                       "failures": [7, 2], "action": ["Retry later", "Never retry"]}))
    assert (codes.layout.xaxis.tickformat, codes.layout.xaxis.dtick) == (",d", 2)  # 7 / 6 = 1.17 -> 2
    reasons = pd.DataFrame({"reason": ["bad_signature", "bad_signature"], "detail": ["x", "y"], "deliveries": [4, 5]})
    assert webhooks.failures_chart(reasons).layout.xaxis.dtick == 2  # stacked 9 / 6 = 1.5 -> 2


def test_each_event_type_has_its_own_colour_and_the_tail_is_other() -> None:
    rows = [{"period": D1, "type": f"type.{i:02d}", "events": 100 - i} for i in range(30)]
    fig = webhooks.events_chart(pd.DataFrame(rows), now=NOW)
    names = [t.name for t in fig.data]
    assert len(names) == webhooks.TOP_TYPES + 1 == 13 and names[-1] == "other"
    colours = [t.marker.color for t in fig.data]
    assert len(set(colours)) == 13  # 12 busiest types + other, no colour shared
    assert list(_traces(fig, "other")[0].y) == [sum(100 - i for i in range(12, 30))]  # 88 + ... + 71 = 1431
    assert sum(100 - i for i in range(12, 30)) == 1431
    timeline = pd.DataFrame({"created": [D1 + dt.timedelta(minutes=i) for i in range(12)],
                             "object_type": ["charge"] * 12, "type": [f"charge.t{i}" for i in range(12)],
                             "event_id": [f"evt_{i}" for i in range(12)], "object_id": ["ch_1"] * 12})
    assert len({t.marker.color for t in payments.timeline_chart(timeline).data}) == 12


def test_a_one_event_timeline_reads_in_seconds_with_a_padded_range() -> None:
    at = dt.datetime(2026, 11, 2, 23, 59, 0)
    one = pd.DataFrame({"created": [at], "object_type": ["charge"], "type": ["charge.succeeded"],
                        "event_id": ["evt_1"], "object_id": ["ch_1"]})
    x = payments.timeline_chart(one).layout.xaxis
    assert x.tickformat == "%H:%M:%S"  # never the sub-millisecond autorange of a single point
    assert list(x.range) == ["2026-11-02 23:58:30", "2026-11-02 23:59:30"]  # 30 s either side
    assert x.title.text == "UTC, 2 Nov 2026"
    # Two days of events: 5 % padding (2.4 h) and day + minute labels.
    two = pd.DataFrame({"created": [D1, D1 + dt.timedelta(days=2)], "object_type": ["charge"] * 2,
                        "type": ["charge.succeeded", "charge.refunded"], "event_id": ["evt_1", "evt_2"],
                        "object_id": ["ch_1", "re_1"]})
    x = payments.timeline_chart(two).layout.xaxis
    assert x.tickformat == "%-d %b %H:%M"
    assert list(x.range) == ["2026-10-31 21:36:00", "2026-11-03 02:24:00"]


def test_a_single_period_gets_room_either_side() -> None:
    # December alone: its own length (31 days) of room each side, 31 Oct .. 1 Jan, so the bar is not stretched across
    # the whole plot (and drawn 80 % of the 31 days wide, where plotly draws one bar alone 1 ms wide).
    x = revenue.revenue_chart(_revenue_rows([dt.datetime(2026, 12, 1)]), grain="month", now=NOW).layout.xaxis
    assert list(x.range) == ["2026-10-31 00:00:00", "2027-01-01 00:00:00"]
    assert x.dtick == "M1"
    assert list(_traces(revenue.revenue_chart(_revenue_rows([dt.datetime(2026, 12, 1)]), grain="month", now=NOW),
                        "Gross volume")[0].width) == [0.8 * 31 * DAY_MS]


def test_provider_text_in_charts_is_literal_not_plotly_html() -> None:
    # Plotly renders <a href> in names, ticks and hover text as a live link: provider strings are escaped (Plotly
    # decodes entities back to the characters), and no hovertemplate has a provider string pasted into it.
    evil = '<a href="https://evil.example">Verify</a>'
    events = pd.DataFrame({"period": pd.to_datetime(["2026-11-02"]), "type": [evil], "events": [3]})
    fig = webhooks.events_chart(events, grain="day", now=dt.datetime(2026, 12, 1))
    assert [t.name for t in fig.data] == ['&lt;a href="https://evil.example"&gt;Verify&lt;/a&gt;']
    assert all("evil" not in (t.hovertemplate or "") for t in fig.data)
    timeline = pd.DataFrame({"created": pd.to_datetime(["2026-11-02 10:00"]), "object_type": ["<b>charge</b>"],
                             "type": [evil], "event_id": ["evt_<img src=x>"], "object_id": ["ch_1"]})
    spec = str(payments.timeline_chart(timeline).to_plotly_json())
    assert "<a href" not in spec and "<img" not in spec and "&lt;b&gt;charge&lt;/b&gt;" in spec
    codes = pd.DataFrame({"decline_code": ["<i>x</i>"], "advice_code": [None], "action": ["Never retry"],
                          "failures": [2]})
    assert list(failures.decline_codes_chart(codes).data[2].y) == ["&lt;i&gt;x&lt;/i&gt;"]
