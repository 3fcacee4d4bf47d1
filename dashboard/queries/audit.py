"""Queries behind guarded actions: the audit log, the action journal, and the open invoices an action may retry."""

from __future__ import annotations

import pandas as pd

from sync.action_schema import create_tables
from sync.store import Store

AUDIT_LIMIT = 5000


def audit_entries(store: Store, actor: str | None = None, action: str | None = None,
                  limit: int = AUDIT_LIMIT) -> pd.DataFrame:
    """The audit log, newest first, hashes included so an exported CSV can be verified again elsewhere."""
    create_tables(store.engine)
    return store.query(
        """
        SELECT seq, "at", actor, role, action, target, params, provider_request_id, result, error, prev_hash, hash
        FROM audit_log
        WHERE (:actor IS NULL OR actor = :actor) AND (:action IS NULL OR action LIKE :action || '%')
        ORDER BY seq DESC
        LIMIT :limit
        """,
        {"actor": actor, "action": action, "limit": limit},
    )


def action_history(store: Store, status: str | None = None, limit: int = 500) -> pd.DataFrame:
    """The action journal (one row per action and generation), newest first."""
    create_tables(store.engine)
    return store.query(
        """
        SELECT id, created_at, updated_at, kind, target_id, status, amount, currency, requested_by, role,
               approved_by, expires_at, attempts, provider_request_id, error, idempotency_key
        FROM actions
        WHERE (:status IS NULL OR status = :status)
        ORDER BY created_at DESC, id
        LIMIT :limit
        """,
        {"status": status, "limit": limit},
    )


def retryable_invoices(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Open invoices whose payment failed at least once (any subscription status: past_due, incomplete, none),
    with the newest failed payment's decline code; the largest amount first."""
    return store.query(
        """
        WITH failed AS (
            SELECT * FROM (
                SELECT i.provider, i.id AS invoice_id, p.id AS payment_id, p.created AS failed_at,
                       COALESCE(p.decline_code, p.failure_code) AS decline_code, p.advice_code,
                       ROW_NUMBER() OVER (PARTITION BY i.provider, i.id ORDER BY p.created DESC, p.id DESC) AS rn
                FROM invoices AS i JOIN payments AS p ON p.provider = i.provider AND p.status = 'failed'
                     AND (p.invoice_id = i.id OR p.id = i.charge_id
                          OR (i.payment_intent_id IS NOT NULL AND p.payment_intent_id = i.payment_intent_id))
                WHERE i.status = 'open' AND NOT i.deleted
            ) WHERE rn = 1
        )
        SELECT i.provider, i.id AS invoice_id, i.subscription_id, s.status AS subscription_status, i.customer_id,
               c.email, i.currency,
               COALESCE(i.amount_remaining, i.amount_due) AS amount_due, i.attempt_count, i.next_payment_attempt,
               f.payment_id, f.failed_at, f.decline_code, f.advice_code
        FROM invoices AS i
        LEFT JOIN failed AS f ON f.provider = i.provider AND f.invoice_id = i.id
        LEFT JOIN subscriptions AS s ON s.provider = i.provider AND s.id = i.subscription_id
        LEFT JOIN customers AS c ON c.provider = i.provider AND c.id = i.customer_id
        WHERE i.status = 'open' AND NOT i.deleted AND (COALESCE(i.attempt_count, 0) > 0 OR f.payment_id IS NOT NULL)
          AND (:currency IS NULL OR i.currency = :currency) AND (:provider IS NULL OR i.provider = :provider)
        ORDER BY amount_due DESC NULLS LAST, i.id
        """,
        {"currency": currency, "provider": provider},
    )
