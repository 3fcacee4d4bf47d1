"""Queries every page shares: filter choices and the store's freshness (last sync per provider)."""

from __future__ import annotations

import pandas as pd

from sync.store import Store


def filter_options(store: Store) -> pd.DataFrame:
    """Distinct (kind, value) pairs for the sidebar: kind 'currency' or 'provider'."""
    return store.frame(
        """
        SELECT DISTINCT 'currency' AS kind, currency AS value FROM payments WHERE currency IS NOT NULL
        UNION SELECT DISTINCT 'currency', currency FROM subscriptions WHERE currency IS NOT NULL
        UNION SELECT DISTINCT 'provider', provider FROM payments
        UNION SELECT DISTINCT 'provider', provider FROM events
        UNION SELECT DISTINCT 'provider', provider FROM sync_runs WHERE provider IS NOT NULL
        ORDER BY kind, value
        """
    )


def freshness(store: Store) -> pd.DataFrame:
    """Per provider: the last successful sync, the last run's status and when it started."""
    return store.frame(
        """
        WITH ranked AS (
            SELECT provider, status, started_at, finished_at, error,
                   ROW_NUMBER() OVER (PARTITION BY provider ORDER BY started_at DESC) AS rn
            FROM sync_runs WHERE provider IS NOT NULL
        ), ok AS (
            SELECT provider, MAX(finished_at) AS last_success FROM sync_runs
            WHERE status = 'succeeded' GROUP BY provider
        )
        SELECT r.provider, ok.last_success, r.status AS last_status, r.started_at AS last_started,
               r.error AS last_error
        FROM ranked AS r LEFT JOIN ok ON ok.provider = r.provider
        WHERE r.rn = 1
        ORDER BY r.provider
        """
    )
