"""MRR charts: monthly movements as stacked bars with the month-end MRR line, one panel per currency."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.revenue import major
from dashboard.format import format_money

_MOVES = (("new", "New", 1, "#2e7d32"), ("expansion", "Expansion", 1, "#66bb6a"),
          ("reactivation", "Reactivation", 1, "#26a69a"), ("contraction", "Contraction", -1, "#ffa726"),
          ("churn", "Churn", -1, "#c62828"))


def movements_chart(df: pd.DataFrame) -> go.Figure:
    """Per month: gains stacked up, contraction and churn stacked down, month-end MRR as a line."""
    currencies = sorted(df["currency"].dropna().unique()) or ["USD"]
    fig = make_subplots(rows=len(currencies), cols=1, shared_xaxes=True, subplot_titles=currencies,
                        vertical_spacing=0.08)
    for row, cur in enumerate(currencies, start=1):
        part = df[df["currency"] == cur]
        for column, label, sign, colour in _MOVES:
            fig.add_bar(x=part["month"], y=[sign * v for v in major(part[column], cur)], name=label,
                        marker_color=colour, legendgroup=label, showlegend=row == 1,
                        hovertext=[format_money(v, cur) for v in part[column]],
                        hovertemplate=f"%{{x|%b %Y}} {label}: %{{hovertext}}<extra>{cur}</extra>", row=row, col=1)
        fig.add_scatter(x=part["month"], y=major(part["end_mrr"], cur), name="MRR at month end",
                        mode="lines+markers", line={"color": "#1565c0"}, legendgroup="mrr", showlegend=row == 1,
                        hovertext=[format_money(v, cur) for v in part["end_mrr"]],
                        hovertemplate=f"%{{x|%b %Y}} MRR: %{{hovertext}}<extra>{cur}</extra>", row=row, col=1)
        fig.update_yaxes(title_text=cur, row=row, col=1)
    fig.update_layout(barmode="relative", height=max(320, 260 * len(currencies)), margin={"t": 30, "b": 10},
                      legend={"orientation": "h"})
    return fig
