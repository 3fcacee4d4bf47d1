"""Revenue charts: per currency (one panel each, never summed across currencies) gross, deductions and net."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.panels import currency_panels

_SERIES = (("gross", "Gross volume", 1, "#2e7d32"), ("refunds", "Refunds", -1, "#f9a825"),
           ("dispute_losses", "Dispute losses", -1, "#c62828"), ("fees", "Fees", -1, "#6d4c41"))


def revenue_chart(df: pd.DataFrame, grain: str | None = None, now: dt.datetime | None = None) -> go.Figure:
    """Bars per period: gross up, refunds, dispute losses and fees down; net as a line; one panel per currency.
    `grain` ('day', 'week', 'month'; read from the rows when None) sets the ticks; the period still running at `now`
    (the moment the data runs to, default the current UTC time) is marked to date."""
    return currency_panels(df, x="period", bars=_SERIES, line=("net", "Net (settlement currency)"), grain=grain,
                           now=now)
