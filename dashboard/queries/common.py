"""Queries every page shares: filter choices and the store's freshness (last sync or demo load per provider)."""

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
    """Per provider: the last successful run (and its mode: 'demo' for a demo load, which is not a sync), the last
    run's status, mode and start. The sidebar and the Sync health page both read this one query."""
    return store.frame(
        """
        WITH ranked AS (
            SELECT provider, mode, status, started_at, finished_at, error,
                   ROW_NUMBER() OVER (PARTITION BY provider ORDER BY started_at DESC, run_id DESC) AS rn
            FROM sync_runs WHERE provider IS NOT NULL
        ), ok AS (
            SELECT provider, mode, finished_at,
                   ROW_NUMBER() OVER (PARTITION BY provider ORDER BY finished_at DESC, run_id DESC) AS rn
            FROM sync_runs WHERE provider IS NOT NULL AND status = 'succeeded'
        )
        SELECT r.provider, ok.finished_at AS last_success, ok.mode AS last_success_mode, r.status AS last_status,
               r.mode AS last_mode, r.started_at AS last_started, r.error AS last_error
        FROM ranked AS r LEFT JOIN ok ON ok.provider = r.provider AND ok.rn = 1
        WHERE r.rn = 1
        ORDER BY r.provider
        """
    )
