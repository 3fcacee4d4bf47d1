"""Sync health charts: stored rows per table and provider."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboard.charts.style import PALETTE, count_axis


def rows_chart(counts: pd.DataFrame) -> go.Figure:
    """Horizontal bars: rows per table, one colour per provider, on a whole-number axis from zero."""
    fig = px.bar(counts, x="row_count", y="table_name", color="provider", orientation="h",
                 color_discrete_sequence=PALETTE, labels={"row_count": "rows", "table_name": ""})
    top = float(counts["row_count"].max()) if len(counts) else 0.0  # grouped, not stacked: the longest single bar
    fig.update_layout(barmode="group", height=60 + 28 * max(counts["table_name"].nunique(), 1),
                      margin={"t": 10, "b": 10}, xaxis={"title": "rows", **count_axis(top)})
    return fig
