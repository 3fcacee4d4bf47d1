"""Dispute charts: monthly dispute ratio per card network against its programme threshold."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import mark_to_date, running_period, time_axis

_COLOURS = {"visa": "#1a1f71", "mastercard": "#eb001b"}


def ratio_chart(ratios: pd.DataFrame, now: dt.datetime | None = None) -> go.Figure:
    """Bars: each month's ratio (%) per network; dashed lines: the threshold in force that month. The month still
    running at `now` (default the current UTC time) is marked to date: its ratio rests on a part-month of sales."""
    fig = go.Figure()
    for network, part in ratios.groupby("network", sort=False):
        months = pd.to_datetime(part["month"])
        fig.add_bar(x=months, y=part["ratio"].astype(float) * 100, name=f"{network} ratio",
                    marker_color=_COLOURS.get(str(network)),
                    customdata=part[["disputes", "transactions", "status"]].to_numpy(),
                    hovertemplate="%{x|%b %Y}: %{y:.2f}%<br>%{customdata[0]} disputes / %{customdata[1]} "
                                  "transactions<br>%{customdata[2]}<extra></extra>")
        fig.add_scatter(x=months, y=part["threshold"].astype(float) * 100, name=f"{network} threshold",
                        mode="lines", line={"dash": "dash", "color": _COLOURS.get(str(network))},
                        hovertemplate="threshold %{y:.1f}%<extra></extra>")
    fig.update_layout(barmode="group", yaxis_title="dispute ratio (%)", xaxis={"title": None,
                      **time_axis(ratios["month"], "month")}, height=340, margin={"t": 10, "b": 10},
                      legend={"orientation": "h"})
    mark_to_date(fig, running_period(ratios["month"], "month", now), "month")
    return fig
