"""Revenue charts: per currency (one panel each, never summed across currencies) gross, deductions and net."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.format import format_money
from sync.money import exponent

_SERIES = (("gross", "Gross volume", 1, "#2e7d32"), ("refunds", "Refunds", -1, "#f9a825"),
           ("dispute_losses", "Dispute losses", -1, "#c62828"), ("fees", "Fees", -1, "#6d4c41"))


def major(amounts: pd.Series, currency: str) -> list[float]:
    """Minor units -> major units as floats, for plotting only (hover text shows the exact formatted amount)."""
    scale = 10 ** exponent(currency)
    return [int(a) / scale for a in amounts]


def revenue_chart(df: pd.DataFrame) -> go.Figure:
    """Bars per period: gross up, refunds, dispute losses and fees down; net as a line; one panel per currency."""
    currencies = sorted(df["currency"].dropna().unique()) or ["USD"]
    fig = make_subplots(rows=len(currencies), cols=1, shared_xaxes=True, subplot_titles=currencies,
                        vertical_spacing=0.08)
    for row, cur in enumerate(currencies, start=1):
        part = df[df["currency"] == cur]
        for column, label, sign, colour in _SERIES:
            fig.add_bar(x=part["period"], y=[sign * v for v in major(part[column], cur)], name=label,
                        marker_color=colour, legendgroup=label, showlegend=row == 1,
                        hovertext=[format_money(v, cur) for v in part[column]],
                        hovertemplate=f"%{{x|%Y-%m-%d}} {label}: %{{hovertext}}<extra>{cur}</extra>", row=row, col=1)
        fig.add_scatter(x=part["period"], y=major(part["net"], cur), name="Net (settlement currency)",
                        mode="lines+markers", line={"color": "#1565c0"}, legendgroup="net", showlegend=row == 1,
                        hovertext=[format_money(v, cur) for v in part["net"]],
                        hovertemplate=f"%{{x|%Y-%m-%d}} net: %{{hovertext}}<extra>{cur}</extra>", row=row, col=1)
        fig.update_yaxes(title_text=cur, row=row, col=1)
    fig.update_layout(barmode="relative", height=max(320, 260 * len(currencies)), margin={"t": 30, "b": 10},
                      legend={"orientation": "h"})
    return fig
