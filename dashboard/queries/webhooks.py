"""Webhook queries: provider events by type and pending delivery; the delivery log; replay candidates."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.filters import Filters
from sync.store import Store

GRAINS = ("day", "week", "month")
PENDING_LIMIT = 500


def events_by_type(store: Store, filters: Filters, grain: str = "day") -> pd.DataFrame:
    """Events per period and type in the date range (provider filter applies; events carry no currency)."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    return store.frame(
        """
        SELECT date_trunc(:grain, created) AS period, type, COUNT(*) AS events
        FROM events
        WHERE created >= :start AND created < :end AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        filters.params() | {"grain": grain},
    )


def event_type_totals(store: Store, filters: Filters) -> pd.DataFrame:
    """Per type in the date range: events, of which still pending delivery, and the newest one's time."""
    return store.frame(
        """
        SELECT type, COUNT(*) AS events,
               CAST(SUM(CASE WHEN pending_webhooks > 0 THEN 1 ELSE 0 END) AS BIGINT) AS pending,
               MAX(created) AS last_seen
        FROM events
        WHERE created >= :start AND created < :end AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
        GROUP BY type
        ORDER BY events DESC, type
        """,
        filters.params(),
    )


def pending_events(store: Store, filters: Filters, limit: int = PENDING_LIMIT) -> pd.DataFrame:
    """Events with pending_webhooks > 0 (some endpoint has not acknowledged them yet), oldest first.

    Stripe's pending_webhooks is as of the snapshot PayOps stored; a later sync refreshes it.
    """
    return store.frame(
        """
        SELECT provider, id, livemode, created, type, object_type, object_id, pending_webhooks, api_version
        FROM events
        WHERE pending_webhooks > 0 AND created >= :start AND created < :end
          AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
        ORDER BY created, id
        LIMIT :limit
        """,
        filters.params() | {"limit": limit},
    )


# -- the delivery log (webhook_deliveries: what the receiver saw) ---------------------------------------------
# Every log query takes the sidebar filters (date range on received_at, provider), an optional event type, and an
# optional `since` (a later start, for "last hour" views).

OUTCOMES = ("applied", "duplicate", "ignored_type", "apply_error", "rejected", "store_error")
FAILED_OUTCOMES = ("apply_error", "rejected", "store_error")
LOG_LIMIT = 500

_LOG_WHERE = """
    received_at >= :start AND received_at < :end AND (CAST(:since AS TIMESTAMP) IS NULL OR received_at >= :since)
    AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
      AND (CAST(:event_type AS VARCHAR) IS NULL OR event_type = :event_type)
"""

# Failure reasons as an engineer reads them; the verdict (or the apply exception) is the detail.
_REASON = """
    CASE WHEN outcome = 'apply_error' THEN 'apply error'
         WHEN outcome = 'store_error' THEN 'store error'
         WHEN verdict IN ('bad_signature', 'missing_header', 'malformed_header', 'no_v1_signature',
                          'no_secret_configured', 'duplicate_timestamp') THEN 'bad signature'
         WHEN verdict IN ('stale_timestamp', 'future_timestamp') THEN 'stale or future timestamp'
         ELSE 'malformed request' END
"""


def _log_params(filters: Filters, event_type: str | None, since: dt.datetime | None) -> dict[str, object]:
    return filters.params() | {"event_type": event_type or None, "since": since}


def delivery_totals(store: Store, filters: Filters, event_type: str | None = None,
                    since: dt.datetime | None = None) -> pd.DataFrame:
    """One row: deliveries, distinct events, applied, duplicates, ignored types, failed, p50/p99 processing ms."""
    return store.frame(
        f"""
        SELECT COUNT(*) AS deliveries, COUNT(DISTINCT event_id) AS events,
               CAST(COALESCE(SUM(CASE WHEN outcome = 'applied' THEN 1 ELSE 0 END), 0) AS BIGINT) AS applied,
               CAST(COALESCE(SUM(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END), 0) AS BIGINT) AS duplicates,
               CAST(COALESCE(SUM(CASE WHEN outcome = 'ignored_type' THEN 1 ELSE 0 END), 0) AS BIGINT) AS ignored,
               CAST(COALESCE(SUM(CASE WHEN outcome IN ('apply_error', 'rejected', 'store_error') THEN 1 ELSE 0 END),
                             0) AS BIGINT) AS failed,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99_ms
        FROM webhook_deliveries
        WHERE {_LOG_WHERE}
        """,
        _log_params(filters, event_type, since),
    )


def deliveries_over_time(store: Store, filters: Filters, grain: str = "day", event_type: str | None = None,
                         since: dt.datetime | None = None) -> pd.DataFrame:
    """Deliveries per period and outcome."""
    if grain not in (*GRAINS, "hour"):
        raise ValueError(f"grain must be one of {('hour', *GRAINS)}")
    return store.frame(
        f"""
        SELECT date_trunc(:grain, received_at) AS period, outcome, COUNT(*) AS deliveries
        FROM webhook_deliveries
        WHERE {_LOG_WHERE}
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        _log_params(filters, event_type, since) | {"grain": grain},
    )


def failure_reasons(store: Store, filters: Filters, event_type: str | None = None,
                    since: dt.datetime | None = None) -> pd.DataFrame:
    """Failed deliveries grouped by reason and detail (verdict, or the apply error's one-line summary)."""
    return store.frame(
        f"""
        SELECT reason, detail, COUNT(*) AS deliveries, COUNT(DISTINCT event_id) AS events, MAX(received_at) AS last_seen
        FROM (
            SELECT {_REASON} AS reason,
                   CASE WHEN outcome IN ('apply_error', 'store_error') THEN COALESCE(error, outcome)
                        ELSE verdict END AS detail,
                   event_id, received_at
            FROM webhook_deliveries
            WHERE outcome IN ('apply_error', 'rejected', 'store_error') AND {_LOG_WHERE}
        ) AS failed
        GROUP BY reason, detail
        ORDER BY deliveries DESC, reason, detail
        """,
        _log_params(filters, event_type, since),
    )


def delivery_log(store: Store, filters: Filters, event_type: str | None = None, outcome: str | None = None,
                 since: dt.datetime | None = None, limit: int = LOG_LIMIT) -> pd.DataFrame:
    """The newest deliveries first (one row per HTTP delivery or replay); provider and livemode say which dashboard
    (test or live) an event id opens."""
    return store.frame(
        f"""
        SELECT id, provider, livemode, received_at, event_id, event_type, verdict, outcome, status_code, duration_ms,
               remote_addr, error
        FROM webhook_deliveries
        WHERE (CAST(:outcome AS VARCHAR) IS NULL OR outcome = :outcome) AND {_LOG_WHERE}
        ORDER BY received_at DESC, id
        LIMIT :limit
        """,
        _log_params(filters, event_type, since) | {"outcome": outcome or None, "limit": limit},
    )


def delivery_detail(store: Store, delivery_id: str) -> pd.DataFrame:
    """One delivery with its headers, body (bounded prefix), verdict and processing trace."""
    return store.frame("SELECT * FROM webhook_deliveries WHERE id = :id", {"id": delivery_id})


def delivery_event_types(store: Store, filters: Filters) -> pd.DataFrame:
    """Event types seen in deliveries or stored events in the range, for the type filter."""
    return store.frame(
        """
        SELECT DISTINCT type FROM (
            SELECT event_type AS type FROM webhook_deliveries
            WHERE received_at >= :start AND received_at < :end
              AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
            UNION
            SELECT type FROM events
            WHERE created >= :start AND created < :end AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
        ) AS t
        WHERE type IS NOT NULL
        ORDER BY type
        """,
        filters.params(),
    )


def undelivered_vs_received(store: Store, filters: Filters, limit: int = PENDING_LIMIT) -> pd.DataFrame:
    """Events Stripe reports undelivered (pending_webhooks > 0) beside what PayOps received for each.

    received = deliveries recorded for the event (replays excluded); last_outcome 'not_received' when none;
    provider and livemode say which dashboard (test or live) the event id opens.
    """
    return store.frame(
        """
        WITH d AS (
            SELECT provider, event_id, outcome, received_at,
                   ROW_NUMBER() OVER (PARTITION BY provider, event_id ORDER BY received_at DESC, id DESC) AS rn
            FROM webhook_deliveries WHERE event_id IS NOT NULL AND verdict <> 'replay'
        )
        SELECT e.provider, e.id, e.livemode, e.type, e.created, e.pending_webhooks,
               COUNT(d.event_id) AS received,
               COALESCE(MAX(CASE WHEN d.rn = 1 THEN d.outcome END), 'not_received') AS last_outcome,
               MAX(d.received_at) AS last_received_at
        FROM events AS e LEFT JOIN d ON d.provider = e.provider AND d.event_id = e.id
        WHERE e.pending_webhooks > 0 AND e.created >= :start AND e.created < :end
          AND (CAST(:provider AS VARCHAR) IS NULL OR e.provider = :provider)
        GROUP BY e.provider, e.id, e.livemode, e.type, e.created, e.pending_webhooks
        ORDER BY e.created, e.id
        LIMIT :limit
        """,
        filters.params() | {"limit": limit},
    )


def replay_candidates(store: Store, filters: Filters, event_type: str | None = None, outcome: str | None = None,
                      limit: int = 5000) -> pd.DataFrame:
    """Events to consider for replay: stored events and received ones, by event time, with their delivery history.

    last_outcome is the newest delivery's outcome ('not_received' when none); processed means some delivery or
    replay applied it (the receiver's dedupe rule); has_copy means a verified copy is stored to re-run.
    """
    return store.frame(
        """
        WITH ranked AS (
            SELECT provider, event_id, event_type, event_created, outcome, received_at, signature_ok, verdict,
                   body_truncated,
                   ROW_NUMBER() OVER (PARTITION BY provider, event_id ORDER BY received_at DESC, id DESC) AS rn
            FROM webhook_deliveries WHERE event_id IS NOT NULL
        ), d AS (
            SELECT provider, event_id, MAX(event_type) AS event_type, MAX(event_created) AS event_created,
                   COUNT(*) AS deliveries, MAX(CASE WHEN rn = 1 THEN outcome END) AS last_outcome,
                   MAX(received_at) AS last_received_at,
                   MAX(CASE WHEN outcome IN ('applied', 'ignored_type') THEN 1 ELSE 0 END) AS processed,
                   MAX(CASE WHEN (signature_ok OR verdict = 'replay') AND NOT COALESCE(body_truncated, FALSE)
                            THEN 1 ELSE 0 END) AS verified_copy
            FROM ranked GROUP BY provider, event_id
        ), c AS (
            SELECT COALESCE(e.provider, d.provider) AS provider, COALESCE(e.id, d.event_id) AS event_id,
                   COALESCE(e.type, d.event_type) AS type, COALESCE(e.created, d.event_created) AS created,
                   COALESCE(d.deliveries, 0) AS deliveries, COALESCE(d.last_outcome, 'not_received') AS last_outcome,
                   d.last_received_at, COALESCE(d.processed, 0) = 1 AS processed,
                   (e.id IS NOT NULL OR COALESCE(d.verified_copy, 0) = 1) AS has_copy
            FROM events AS e FULL OUTER JOIN d ON d.provider = e.provider AND d.event_id = e.id
        )
        SELECT * FROM c
        WHERE created >= :start AND created < :end AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
          AND (CAST(:event_type AS VARCHAR) IS NULL OR type = :event_type)
            AND (CAST(:outcome AS VARCHAR) IS NULL OR last_outcome = :outcome)
        ORDER BY created, event_id
        LIMIT :limit
        """,
        filters.params() | {"event_type": event_type or None, "outcome": outcome or None, "limit": limit},
    )
