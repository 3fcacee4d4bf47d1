"""The shared chart shape: one panel per currency (never summed across currencies), signed stacked bars + a line."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.format import format_money
from sync.money import exponent

# (column, label, sign, colour): sign -1 stacks the series downwards.
Series = tuple[str, str, int, str]


def major(amounts: pd.Series, currency: str) -> list[float]:
    """Minor units -> major units as floats, for plotting only (hover text shows the exact formatted amount)."""
    scale = 10 ** exponent(currency)
    return [int(a) / scale for a in amounts]


def currency_panels(df: pd.DataFrame, *, x: str, bars: Sequence[Series], line: tuple[str, str],
                    x_format: str) -> go.Figure:
    """Per currency: `bars` stacked up or down by sign, and `line` (column, label) over them."""
    currencies = sorted(df["currency"].dropna().unique()) or ["USD"]
    fig = make_subplots(rows=len(currencies), cols=1, shared_xaxes=True, subplot_titles=currencies,
                        vertical_spacing=0.08)
    line_column, line_label = line
    for row, cur in enumerate(currencies, start=1):
        part = df[df["currency"] == cur]
        for column, label, sign, colour in bars:
            fig.add_bar(x=part[x], y=[sign * v for v in major(part[column], cur)], name=label,
                        marker_color=colour, legendgroup=label, showlegend=row == 1,
                        hovertext=[format_money(v, cur) for v in part[column]],
                        hovertemplate=f"%{{x|{x_format}}} {label}: %{{hovertext}}<extra>{cur}</extra>", row=row, col=1)
        fig.add_scatter(x=part[x], y=major(part[line_column], cur), name=line_label,
                        mode="lines+markers", line={"color": "#1565c0"}, legendgroup=line_column, showlegend=row == 1,
                        hovertext=[format_money(v, cur) for v in part[line_column]],
                        hovertemplate=f"%{{x|{x_format}}} {line_label}: %{{hovertext}}<extra>{cur}</extra>",
                        row=row, col=1)
        fig.update_yaxes(title_text=cur, row=row, col=1)
    fig.update_layout(barmode="relative", height=max(320, 260 * len(currencies)), margin={"t": 30, "b": 10},
                      legend={"orientation": "h"})
    return fig
