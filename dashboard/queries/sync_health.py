"""Sync health: per provider and resource the checkpoint, last rows, cursor age, errors and event-gap warnings."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.store import Store

RUNS_LIMIT = 20


def sync_state(store: Store, now: dt.datetime, provider: str | None = None) -> pd.DataFrame:
    """One row per provider and resource. cursor_age_hours: hours since the newest applied event (events only).

    Stripe keeps events 30 days: a cursor older than that means events were missed (gap_message says so).
    """
    return store.frame(
        """
        SELECT provider, resource, last_synced_at, last_rows,
               CASE WHEN event_cursor IS NOT NULL
                    THEN ROUND((EXTRACT(EPOCH FROM CAST(:now AS TIMESTAMP)) - event_cursor) / 3600.0, 1)
               END AS cursor_age_hours,
               ROUND(EXTRACT(EPOCH FROM (CAST(:now AS TIMESTAMP) - last_synced_at)) / 3600.0, 1) AS synced_hours_ago,
               backfill_done, last_error, gap_detected_at, gap_message
        FROM sync_state
        WHERE CAST(:provider AS VARCHAR) IS NULL OR provider = :provider
        ORDER BY provider, resource
        """,
        {"now": now, "provider": provider},
    )


def gap_warnings(store: Store, provider: str | None = None) -> pd.DataFrame:
    """Event-window gaps the runner detected and has not cleared."""
    return store.frame(
        """
        SELECT provider, resource, gap_detected_at, gap_message FROM sync_state
        WHERE gap_message IS NOT NULL AND gap_message <> ''
          AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
        ORDER BY gap_detected_at DESC NULLS LAST, provider, resource
        """,
        {"provider": provider},
    )


def recent_runs(store: Store, provider: str | None = None, limit: int = RUNS_LIMIT) -> pd.DataFrame:
    """The newest sync runs with their duration in seconds."""
    return store.frame(
        """
        SELECT run_id, provider, mode, status, started_at, finished_at,
               EXTRACT(EPOCH FROM (finished_at - started_at)) AS seconds, rows, error
        FROM sync_runs
        WHERE CAST(:provider AS VARCHAR) IS NULL OR provider = :provider
        ORDER BY started_at DESC
        LIMIT :limit
        """,
        {"provider": provider, "limit": limit},
    )


def table_counts(store: Store, provider: str | None = None) -> pd.DataFrame:
    """Rows per provider and table with the provider's last successful sync (Store.table_counts)."""
    counts = store.table_counts()
    if provider is not None:
        counts = counts[counts["provider"] == provider].reset_index(drop=True)
    return counts
