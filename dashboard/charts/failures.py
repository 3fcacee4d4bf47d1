"""Failure charts: failure rate over time, decline codes, and failure rate by a dimension (brand, country)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def failure_rate_chart(df: pd.DataFrame) -> go.Figure:
    """Failure rate (%) per period as a line, attempts as faint bars on a second axis."""
    fig = go.Figure()
    fig.add_bar(x=df["period"], y=df["attempts"], name="Attempts", marker_color="#cfd8dc", yaxis="y2",
                hovertemplate="%{x|%Y-%m-%d}: %{y:,} attempts<extra></extra>")
    fig.add_scatter(x=df["period"], y=[None if pd.isna(r) else r * 100 for r in df["failure_rate"]],
                    name="Failure rate", mode="lines+markers", line={"color": "#c62828"},
                    customdata=df[["failed", "attempts"]].to_numpy(),
                    hovertemplate="%{x|%Y-%m-%d}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]})<extra></extra>")
    fig.update_layout(yaxis={"title": "failure rate (%)", "rangemode": "tozero"},
                      yaxis2={"title": "attempts", "overlaying": "y", "side": "right", "showgrid": False},
                      height=320, margin={"t": 10, "b": 10}, legend={"orientation": "h"})
    return fig


def decline_codes_chart(df: pd.DataFrame) -> go.Figure:
    """Horizontal bars: failures per decline code, coloured by recommended action."""
    colours = {"Retry later": "#ffa726", "Ask for another card": "#42a5f5", "Never retry": "#c62828"}
    fig = go.Figure()
    labels = [c if pd.isna(a) else f"{c} ({a})" for c, a in zip(df["decline_code"], df["advice_code"], strict=True)]
    for action, colour in colours.items():
        mask = (df["action"] == action).to_numpy()
        fig.add_bar(y=[label for label, m in zip(labels, mask, strict=True) if m], x=df["failures"][mask],
                    orientation="h", name=action, marker_color=colour,
                    hovertemplate="%{y}: %{x:,} failures<extra>" + action + "</extra>")
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="failed payments", barmode="stack",
                      height=max(240, 40 * len(df) + 80), margin={"t": 10, "b": 10}, legend={"orientation": "h"})
    return fig


def rate_by_chart(df: pd.DataFrame, by: str) -> go.Figure:
    """Bars: failure rate (%) per value of `by`, with counts in the hover."""
    fig = go.Figure()
    fig.add_bar(x=df[by].astype(str), y=[None if pd.isna(r) else r * 100 for r in df["failure_rate"]],
                marker_color="#ef5350", customdata=df[["failed", "attempts"]].to_numpy(),
                hovertemplate="%{x}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]})<extra></extra>")
    fig.update_layout(yaxis_title="failure rate (%)", xaxis_title=by.replace("_", " "), height=300,
                      margin={"t": 10, "b": 10})
    return fig
