"""Sync health charts: stored rows per table and provider."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def rows_chart(counts: pd.DataFrame) -> go.Figure:
    """Horizontal bars: rows per table, one colour per provider."""
    fig = px.bar(counts, x="row_count", y="table_name", color="provider", orientation="h",
                 labels={"row_count": "rows", "table_name": ""})
    fig.update_layout(barmode="group", height=60 + 28 * max(counts["table_name"].nunique(), 1),
                      margin={"t": 10, "b": 10})
    return fig
