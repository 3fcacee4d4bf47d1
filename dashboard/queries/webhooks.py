"""Provider events: counts by type over time, and events the provider reports as not yet delivered."""

from __future__ import annotations

import pandas as pd

from dashboard.filters import Filters
from sync.store import Store

GRAINS = ("day", "week", "month")
PENDING_LIMIT = 500


def events_by_type(store: Store, filters: Filters, grain: str = "day") -> pd.DataFrame:
    """Events per period and type in the date range (provider filter applies; events carry no currency)."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    return store.query(
        """
        SELECT date_trunc(:grain, created) AS period, type, COUNT(*) AS events
        FROM events
        WHERE created >= :start AND created < :end AND (:provider IS NULL OR provider = :provider)
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        filters.params() | {"grain": grain},
    )


def event_type_totals(store: Store, filters: Filters) -> pd.DataFrame:
    """Per type in the date range: events, of which still pending delivery, and the newest one's time."""
    return store.query(
        """
        SELECT type, COUNT(*) AS events,
               CAST(SUM(CASE WHEN pending_webhooks > 0 THEN 1 ELSE 0 END) AS BIGINT) AS pending,
               MAX(created) AS last_seen
        FROM events
        WHERE created >= :start AND created < :end AND (:provider IS NULL OR provider = :provider)
        GROUP BY type
        ORDER BY events DESC, type
        """,
        filters.params(),
    )


def pending_events(store: Store, filters: Filters, limit: int = PENDING_LIMIT) -> pd.DataFrame:
    """Events with pending_webhooks > 0 (some endpoint has not acknowledged them yet), oldest first.

    Stripe's pending_webhooks is as of the snapshot PayOps stored; a later sync refreshes it.
    """
    return store.query(
        """
        SELECT provider, id, created, type, object_type, object_id, pending_webhooks, api_version
        FROM events
        WHERE pending_webhooks > 0 AND created >= :start AND created < :end
          AND (:provider IS NULL OR provider = :provider)
        ORDER BY created, id
        LIMIT :limit
        """,
        filters.params() | {"limit": limit},
    )
