"""MRR charts: monthly movements as stacked bars with the month-end MRR line, one panel per currency."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.panels import currency_panels

_MOVES = (("new", "New", 1, "#2e7d32"), ("expansion", "Expansion", 1, "#66bb6a"),
          ("reactivation", "Reactivation", 1, "#26a69a"), ("contraction", "Contraction", -1, "#ffa726"),
          ("churn", "Churn", -1, "#c62828"))


def movements_chart(df: pd.DataFrame, now: dt.datetime | None = None) -> go.Figure:
    """Per month: gains stacked up, contraction and churn stacked down, month-end MRR as a line; the month still
    running at `now` (default the current UTC time) is marked to date."""
    return currency_panels(df, x="month", bars=_MOVES, line=("end_mrr", "MRR at month end"), grain="month", now=now)
