"""The shared chart shape: one panel per currency (never summed across currencies), signed stacked bars + a line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.style import (
    bar_widths,
    hover_format,
    infer_grain,
    mark_to_date,
    naive_utc,
    running_period,
    time_axis,
)
from dashboard.format import format_money
from sync.money import store_exponent

# (column, label, sign, colour): sign -1 stacks the series downwards.
Series = tuple[str, str, int, str]


def major(amounts: pd.Series, currency: str) -> list[float]:
    """Minor units -> major units as floats, for plotting only (hover text shows the exact formatted amount)."""
    scale = 10 ** store_exponent(currency)
    return [int(a) / scale for a in amounts]


def currency_panels(df: pd.DataFrame, *, x: str, bars: Sequence[Series], line: tuple[str, str],
                    grain: str | None = None, now: dt.datetime | None = None) -> go.Figure:
    """Per currency: `bars` stacked up or down by sign, and `line` (column, label) over them; x ticks on `grain`
    (read from the spacing of `x` when None), the period running at `now` (default: current UTC) marked to date."""
    grain = grain or infer_grain(df[x])
    running = running_period(df[x], grain, now)
    x_format = hover_format(grain)
    currencies = sorted(df["currency"].dropna().unique()) or ["USD"]
    fig = make_subplots(rows=len(currencies), cols=1, shared_xaxes=True, subplot_titles=currencies,
                        vertical_spacing=0.08)
    # Currency titles on the left, leaving the top right to the "to date" label of the latest period.
    fig.update_annotations(x=0, xanchor="left")
    line_column, line_label = line
    for row, cur in enumerate(currencies, start=1):
        part = df[df["currency"] == cur]
        suffix = [" (to date)" if running is not None and p == running else "" for p in naive_utc(part[x])]
        widths = bar_widths(part[x], grain)
        for column, label, sign, colour in bars:
            fig.add_bar(x=part[x], y=[sign * v for v in major(part[column], cur)], name=label,
                        marker_color=colour, legendgroup=label, showlegend=row == 1, width=widths,
                        hovertext=[format_money(v, cur) + s for v, s in zip(part[column], suffix, strict=True)],
                        hovertemplate=f"%{{x|{x_format}}} {label}: %{{hovertext}}<extra>{cur}</extra>", row=row, col=1)
        fig.add_scatter(x=part[x], y=major(part[line_column], cur), name=line_label,
                        mode="lines+markers", line={"color": "#1565c0"}, legendgroup=line_column, showlegend=row == 1,
                        hovertext=[format_money(v, cur) + s for v, s in zip(part[line_column], suffix, strict=True)],
                        hovertemplate=f"%{{x|{x_format}}} {line_label}: %{{hovertext}}<extra>{cur}</extra>",
                        row=row, col=1)
        fig.update_yaxes(title_text=cur, row=row, col=1)
    fig.update_layout(barmode="relative", height=max(320, 260 * len(currencies)), margin={"t": 30, "b": 10},
                      legend={"orientation": "h"})
    fig.update_xaxes(**time_axis(df[x], grain))
    mark_to_date(fig, running, grain)
    return fig
