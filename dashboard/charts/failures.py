"""Failure charts: failure rate over time, decline codes, and failure rate by a dimension (brand, country)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import (
    bar_widths,
    chart_text,
    count_axis,
    hover_format,
    infer_grain,
    mark_to_date,
    running_period,
    stacked_top,
    time_axis,
)


def failure_rate_chart(df: pd.DataFrame, grain: str | None = None, now: dt.datetime | None = None) -> go.Figure:
    """Failure rate (%) per period as a line, attempts as faint bars on a second axis. `grain` ('day', 'week',
    'month'; read from the rows when None) sets the ticks; the period still running at `now` (the moment the data
    runs to, default the current UTC time) is marked to date, so its few attempts do not read as a collapse."""
    grain = grain or infer_grain(df["period"])
    when = hover_format(grain)
    fig = go.Figure()
    # Attempts on the first axis and the rate on the overlaying one: plotly draws an overlaying axis's traces on top,
    # and bars drawn over the line hid it.
    fig.add_bar(x=df["period"], y=df["attempts"], name="Attempts", marker_color="#cfd8dc",
                width=bar_widths(df["period"], grain), hovertemplate=f"%{{x|{when}}}: %{{y:,}} attempts<extra></extra>")
    fig.add_scatter(x=df["period"], y=[None if pd.isna(r) else r * 100 for r in df["failure_rate"]],
                    name="Failure rate", mode="lines+markers", line={"color": "#c62828"}, yaxis="y2",
                    customdata=df[["failed", "attempts"]].to_numpy(),
                    hovertemplate=f"%{{x|{when}}}: %{{y:.1f}}% (%{{customdata[0]}} of %{{customdata[1]}})"
                                  "<extra></extra>")
    # Each axis ticks on its own: plotly syncs an overlaying axis's ticks to the other's by default, which is how the
    # attempts axis read 44.2 / 88.5 when it was the overlaying one.
    fig.update_layout(yaxis2={"title": "failure rate (%)", "rangemode": "tozero", "overlaying": "y", "side": "left",
                              "tickmode": "auto", "showgrid": True},
                      yaxis={"title": "attempts", "side": "right", "showgrid": False,
                             **count_axis(stacked_top(df, "period", "attempts"))},
                      xaxis=time_axis(df["period"], grain), height=320, margin={"t": 10, "b": 10},
                      legend={"orientation": "h"})
    mark_to_date(fig, running_period(df["period"], grain, now), grain)
    return fig


def decline_codes_chart(df: pd.DataFrame) -> go.Figure:
    """Horizontal bars: failures per decline code, coloured by recommended action."""
    colours = {"Retry later": "#ffa726", "Ask for another card": "#42a5f5", "Never retry": "#c62828"}
    fig = go.Figure()
    labels = [chart_text(c if pd.isna(a) else f"{c} ({a})")
              for c, a in zip(df["decline_code"], df["advice_code"], strict=True)]
    for action, colour in colours.items():
        mask = (df["action"] == action).to_numpy()
        fig.add_bar(y=[label for label, m in zip(labels, mask, strict=True) if m], x=df["failures"][mask],
                    orientation="h", name=action, marker_color=colour,
                    hovertemplate="%{y}: %{x:,} failures<extra>" + action + "</extra>")
    top = float(df["failures"].max()) if len(df) else 0.0  # one row per code: the bar is the code's total
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis={"title": "failed payments", **count_axis(top)},
                      barmode="stack", height=max(240, 40 * len(df) + 80), margin={"t": 10, "b": 10},
                      legend={"orientation": "h"})
    return fig


def rate_by_chart(df: pd.DataFrame, by: str) -> go.Figure:
    """Bars: failure rate (%) per value of `by`, with counts in the hover."""
    fig = go.Figure()
    fig.add_bar(x=[chart_text(v) for v in df[by].astype(str)],
                y=[None if pd.isna(r) else r * 100 for r in df["failure_rate"]],
                marker_color="#ef5350", customdata=df[["failed", "attempts"]].to_numpy(),
                hovertemplate="%{x}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]})<extra></extra>")
    fig.update_layout(yaxis_title="failure rate (%)", xaxis_title=by.replace("_", " "), height=300,
                      margin={"t": 10, "b": 10})
    return fig
