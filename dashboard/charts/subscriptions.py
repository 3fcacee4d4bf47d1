"""Subscription charts: counts by status."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import count_axis

_COLOURS = {"active": "#2e7d32", "trialing": "#42a5f5", "past_due": "#ffa726", "unpaid": "#ef6c00",
            "canceled": "#9e9e9e", "incomplete": "#bdbdbd", "incomplete_expired": "#757575", "paused": "#8d6e63"}


def status_chart(df: pd.DataFrame) -> go.Figure:
    """Bars: subscriptions per status, on a whole-number axis from zero."""
    fig = go.Figure()
    fig.add_bar(x=df["status"], y=df["subscriptions"],
                marker_color=[_COLOURS.get(str(s), "#78909c") for s in df["status"]],
                hovertemplate="%{x}: %{y:,}<extra></extra>")
    top = float(df["subscriptions"].max()) if len(df) else 0.0
    fig.update_layout(yaxis={"title": "subscriptions", **count_axis(top)}, xaxis_title=None, height=280,
                      margin={"t": 10, "b": 10})
    return fig
