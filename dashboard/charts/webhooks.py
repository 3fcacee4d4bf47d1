"""Webhook charts: provider events per period by type; receiver deliveries per period by outcome; failure reasons."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

TOP_TYPES = 12
# Fixed colours so an outcome looks the same on every reload: failures warm, successes cool.
OUTCOME_COLOURS = {"applied": "#2e7d32", "duplicate": "#90a4ae", "ignored_type": "#b0bec5",
                   "apply_error": "#c62828", "rejected": "#ef6c00", "store_error": "#6a1b9a"}


def events_chart(events: pd.DataFrame) -> go.Figure:
    """Stacked bars of events per period; types beyond the busiest TOP_TYPES are grouped as 'other'."""
    df = events.copy()
    top = df.groupby("type")["events"].sum().nlargest(TOP_TYPES).index
    df["type"] = df["type"].where(df["type"].isin(top), "other")
    df = df.groupby(["period", "type"], as_index=False)["events"].sum()
    fig = px.bar(df, x="period", y="events", color="type", labels={"period": "", "events": "events"})
    fig.update_layout(barmode="stack", height=360, margin={"t": 10, "b": 10}, legend_title_text="event type")
    return fig


def deliveries_chart(deliveries: pd.DataFrame) -> go.Figure:
    """Stacked bars of deliveries per period, coloured by outcome."""
    fig = px.bar(deliveries, x="period", y="deliveries", color="outcome", color_discrete_map=OUTCOME_COLOURS,
                 category_orders={"outcome": list(OUTCOME_COLOURS)}, labels={"period": "", "deliveries": "deliveries"})
    fig.update_layout(barmode="stack", height=320, margin={"t": 10, "b": 10}, legend_title_text="outcome")
    return fig


def failures_chart(reasons: pd.DataFrame) -> go.Figure:
    """Horizontal bars of failed deliveries per reason, split by detail."""
    fig = px.bar(reasons, x="deliveries", y="reason", color="detail", orientation="h",
                 labels={"reason": "", "deliveries": "failed deliveries"})
    fig.update_layout(barmode="stack", height=80 + 40 * reasons["reason"].nunique(), margin={"t": 10, "b": 10},
                      legend_title_text="detail", yaxis={"categoryorder": "total ascending"})
    return fig
