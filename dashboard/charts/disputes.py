"""Dispute charts: monthly dispute ratio per card network against its programme threshold."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_COLOURS = {"visa": "#1a1f71", "mastercard": "#eb001b"}


def ratio_chart(ratios: pd.DataFrame) -> go.Figure:
    """Bars: each month's ratio (%) per network; dashed lines: the threshold in force that month."""
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
    fig.update_layout(barmode="group", yaxis_title="dispute ratio (%)", xaxis_title=None, height=340,
                      margin={"t": 10, "b": 10}, legend={"orientation": "h"})
    return fig
