"""Payment charts: one payment's event timeline."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboard.charts.style import chart_texts, moment_axis, series_colours


def timeline_chart(events: pd.DataFrame) -> go.Figure:
    """Each event about the payment and its related objects as a point in time, one row per object type; one colour
    per event type, and an axis padded and labelled for the span (one event reads in seconds, not 23:58:59.9995)."""
    events = chart_texts(events, "type", "object_type", "event_id", "object_id")  # provider text, never Plotly HTML
    types = list(dict.fromkeys(events["type"]))
    fig = px.scatter(events, x="created", y="object_type", color="type", hover_data=["event_id", "object_id"],
                     color_discrete_map=series_colours(types), category_orders={"type": types},
                     labels={"created": "", "object_type": ""})
    fig.update_traces(marker={"size": 12})
    fig.update_layout(height=120 + 40 * max(events["object_type"].nunique(), 1), margin={"t": 10, "b": 10},
                      legend_title_text="event", xaxis=moment_axis(events["created"]))
    return fig
