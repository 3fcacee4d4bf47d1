"""Webhook charts: provider events per period, stacked by type."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

TOP_TYPES = 12


def events_chart(events: pd.DataFrame) -> go.Figure:
    """Stacked bars of events per period; types beyond the busiest TOP_TYPES are grouped as 'other'."""
    df = events.copy()
    top = df.groupby("type")["events"].sum().nlargest(TOP_TYPES).index
    df["type"] = df["type"].where(df["type"].isin(top), "other")
    df = df.groupby(["period", "type"], as_index=False)["events"].sum()
    fig = px.bar(df, x="period", y="events", color="type", labels={"period": "", "events": "events"})
    fig.update_layout(barmode="stack", height=360, margin={"t": 10, "b": 10}, legend_title_text="event type")
    return fig
