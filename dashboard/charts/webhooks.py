"""Webhook charts: provider events per period by type; receiver deliveries per period by outcome; failure reasons."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboard.charts.style import (
    OTHER,
    PALETTE,
    bar_widths,
    chart_texts,
    count_axis,
    hover_format,
    infer_grain,
    mark_to_date,
    running_period,
    series_colours,
    stacked_top,
    time_axis,
)

TOP_TYPES = 12
# Fixed colours so an outcome looks the same on every reload: failures warm, successes cool.
OUTCOME_COLOURS = {"applied": "#2e7d32", "duplicate": "#90a4ae", "ignored_type": "#b0bec5",
                   "apply_error": "#c62828", "rejected": "#ef6c00", "store_error": "#6a1b9a"}


def _period_bars(df: pd.DataFrame, series: str, value: str, colours: dict[str, str], grain: str | None,
                 now: dt.datetime | None, *, height: int, legend: str) -> go.Figure:
    """Stacked bars of `value` per period, one trace per `series` in the order of `colours`, ticks on the grain."""
    grain = grain or infer_grain(df["period"])
    when = hover_format(grain)
    fig = go.Figure()
    for name, colour in colours.items():
        part = df[df[series] == name].sort_values("period")
        if part.empty:
            continue
        fig.add_bar(x=part["period"], y=part[value], name=str(name), marker_color=colour,
                    width=bar_widths(part["period"], grain),
                    hovertemplate=f"%{{x|{when}}}: %{{y:,}} {value}<extra>%{{fullData.name}}</extra>")
    fig.update_layout(barmode="stack", xaxis=time_axis(df["period"], grain),
                      yaxis={"title": value, **count_axis(stacked_top(df, "period", value))},
                      height=height, margin={"t": 10, "b": 10}, legend_title_text=legend)
    mark_to_date(fig, running_period(df["period"], grain, now), grain)
    return fig


def events_chart(events: pd.DataFrame, grain: str | None = None, now: dt.datetime | None = None) -> go.Figure:
    """Stacked bars of events per period; types beyond the busiest TOP_TYPES are grouped as 'other', so each shown
    type has its own colour. `grain` ('day', 'week', 'month'; read from the rows when None) sets the ticks; the
    period still running at `now` (default the current UTC time) is marked to date."""
    df = chart_texts(events, "type")  # provider event types are shown as text, never as Plotly's HTML
    busiest = df.groupby("type")["events"].sum().sort_values(ascending=False, kind="stable")
    top = list(busiest.index[:TOP_TYPES])
    df["type"] = df["type"].where(df["type"].isin(top), OTHER)
    df = df.groupby(["period", "type"], as_index=False)["events"].sum()
    names = top + ([OTHER] if (df["type"] == OTHER).any() else [])
    return _period_bars(df, "type", "events", series_colours(names), grain, now, height=360, legend="event type")


def deliveries_chart(deliveries: pd.DataFrame, grain: str | None = None, now: dt.datetime | None = None) -> go.Figure:
    """Stacked bars of deliveries per period, coloured by outcome. `grain` ('hour', 'day', 'week', 'month'; read
    from the rows when None) sets the ticks; the period still running at `now` (default current UTC) is marked."""
    deliveries = chart_texts(deliveries, "outcome")
    extra = [o for o in dict.fromkeys(deliveries["outcome"]) if o not in OUTCOME_COLOURS]
    colours = {**OUTCOME_COLOURS, **dict(zip(extra, PALETTE, strict=False))}
    return _period_bars(deliveries, "outcome", "deliveries", colours, grain, now, height=320, legend="outcome")


def failures_chart(reasons: pd.DataFrame) -> go.Figure:
    """Horizontal bars of failed deliveries per reason, split by detail."""
    reasons = chart_texts(reasons, "reason", "detail")
    fig = px.bar(reasons, x="deliveries", y="reason", color="detail", orientation="h",
                 color_discrete_sequence=PALETTE, labels={"reason": "", "deliveries": "failed deliveries"})
    fig.update_layout(barmode="stack", height=80 + 40 * reasons["reason"].nunique(), margin={"t": 10, "b": 10},
                      legend_title_text="detail", yaxis={"categoryorder": "total ascending"},
                      xaxis=count_axis(stacked_top(reasons, "reason", "deliveries")))
    return fig
