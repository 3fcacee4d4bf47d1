"""Payment charts: one payment's event timeline."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def timeline_chart(events: pd.DataFrame) -> go.Figure:
    """Each event about the payment and its related objects as a point in time, one row per object type."""
    fig = px.scatter(events, x="created", y="object_type", color="type", hover_data=["event_id", "object_id"],
                     labels={"created": "", "object_type": ""})
    fig.update_traces(marker={"size": 12})
    fig.update_layout(height=120 + 40 * max(events["object_type"].nunique(), 1), margin={"t": 10, "b": 10},
                      legend_title_text="event")
    return fig
