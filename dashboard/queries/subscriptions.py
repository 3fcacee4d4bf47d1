"""Subscription queries: counts by status, past_due subscriptions with their failed invoice and last decline code,
upcoming renewals, cancellations."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.declines import advise
from sync.store import Store

_FILTER = ("(CAST(:currency AS VARCHAR) IS NULL OR s.currency = :currency) "
           "AND (CAST(:provider AS VARCHAR) IS NULL OR s.provider = :provider)")


def status_counts(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Subscriptions per status, now."""
    return store.frame(
        f"SELECT s.status, CAST(COUNT(*) AS BIGINT) AS subscriptions FROM subscriptions AS s WHERE {_FILTER} "
        "GROUP BY s.status ORDER BY subscriptions DESC, s.status",
        {"currency": currency, "provider": provider},
    )


# The failed invoice of a past_due subscription: its latest invoice when still unpaid, else its newest open or
# uncollectible one. Its last decline: the newest failed payment linked to it by invoice id or payment intent.
_PAST_DUE_SQL = f"""
WITH unpaid AS (
    SELECT * FROM (
        SELECT i.*, ROW_NUMBER() OVER (
            PARTITION BY i.provider, i.subscription_id
            ORDER BY (i.id = s.latest_invoice_id) DESC NULLS LAST, i.created DESC, i.id DESC) AS rn
        FROM invoices AS i JOIN subscriptions AS s ON s.provider = i.provider AND s.id = i.subscription_id
        WHERE s.status = 'past_due' AND i.status IN ('open', 'uncollectible') AND {_FILTER}
    ) AS ranked WHERE rn = 1
),
last_fail AS (
    SELECT * FROM (
        SELECT f.provider, f.invoice_id, f.payment_id, f.failed_at, f.decline_code, f.advice_code,
               ROW_NUMBER() OVER (PARTITION BY f.provider, f.invoice_id ORDER BY f.failed_at DESC, f.payment_id DESC)
                   AS rn
        FROM (
            -- Two equi-joins rather than one OR join, so both stay hash joins; a payment linked both ways
            -- appears twice, which ROW_NUMBER makes harmless.
            SELECT u.provider, u.id AS invoice_id, p.id AS payment_id, p.created AS failed_at,
                   COALESCE(p.decline_code, p.failure_code) AS decline_code, p.advice_code
            FROM unpaid AS u JOIN payments AS p ON p.provider = u.provider AND p.invoice_id = u.id
            WHERE p.status = 'failed'
            UNION ALL
            SELECT u.provider, u.id, p.id, p.created, COALESCE(p.decline_code, p.failure_code), p.advice_code
            FROM unpaid AS u JOIN payments AS p ON p.provider = u.provider AND p.payment_intent_id = u.payment_intent_id
            WHERE p.status = 'failed'
        ) AS f
    ) AS ranked WHERE rn = 1
)
SELECT s.provider, s.id AS subscription_id, s.customer_id, c.email, s.currency,
       u.id AS invoice_id, u.amount_due, u.attempt_count, u.next_payment_attempt,
       f.payment_id, f.failed_at, f.decline_code, f.advice_code
FROM subscriptions AS s
LEFT JOIN unpaid AS u ON u.provider = s.provider AND u.subscription_id = s.id
LEFT JOIN last_fail AS f ON f.provider = u.provider AND f.invoice_id = u.id
LEFT JOIN customers AS c ON c.provider = s.provider AND c.id = s.customer_id
WHERE s.status = 'past_due' AND {_FILTER}
ORDER BY u.amount_due DESC NULLS LAST, s.id
"""


def past_due(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """past_due subscriptions with their failed invoice, its last decline code, meaning and recommended action."""
    df = store.frame(_PAST_DUE_SQL, {"currency": currency, "provider": provider})
    advice = [advise(code, adv) if code else None
              for code, adv in zip(df["decline_code"], df["advice_code"], strict=True)]
    df["meaning"] = [a.meaning if a else None for a in advice]
    df["action"] = [a.action if a else None for a in advice]
    return df


def upcoming_renewals(store: Store, now: dt.datetime, days: int = 30, currency: str | None = None,
                      provider: str | None = None) -> pd.DataFrame:
    """Subscriptions renewing in [now, now + days) that are not set to cancel, with the list-price amount of the
    next period (sum of licensed items' unit amount x quantity, before discounts and tax)."""
    return store.frame(
        f"""
        SELECT s.provider, s.id AS subscription_id, s.customer_id, s.status, s.currency,
               s.current_period_end AS renews_at,
               CAST(COALESCE(SUM(i.unit_amount * COALESCE(i.quantity, 1))
                    FILTER (WHERE COALESCE(i.usage_type, 'licensed') <> 'metered'), 0) AS BIGINT) AS amount
        FROM subscriptions AS s
        LEFT JOIN subscription_items AS i
               ON i.provider = s.provider AND i.subscription_id = s.id AND i.version >= s.version AND NOT i.deleted
        WHERE s.status IN ('active', 'past_due', 'trialing') AND NOT COALESCE(s.cancel_at_period_end, FALSE)
          AND s.current_period_end >= :now AND s.current_period_end < :until AND {_FILTER}
        GROUP BY s.provider, s.id, s.customer_id, s.status, s.currency, s.current_period_end
        ORDER BY renews_at, s.id
        """,
        {"now": now, "until": now + dt.timedelta(days=days), "currency": currency, "provider": provider},
    )


def cancellations(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                  provider: str | None = None) -> pd.DataFrame:
    """Subscriptions canceled in [start, end) (by canceled_at), and those scheduled to cancel (kind 'scheduled'),
    with Stripe's cancellation reason and feedback when present."""
    return store.frame(
        f"""
        SELECT s.provider, s.id AS subscription_id, s.customer_id, s.status, s.currency,
               CASE WHEN s.status = 'canceled' THEN 'canceled' ELSE 'scheduled' END AS kind,
               s.canceled_at, COALESCE(s.ended_at, s.cancel_at,
                   CASE WHEN s.cancel_at_period_end THEN s.current_period_end END) AS ends_at,
               CAST(s.raw AS JSON)->'cancellation_details'->>'reason' AS reason,
               CAST(s.raw AS JSON)->'cancellation_details'->>'feedback' AS feedback
        FROM subscriptions AS s
        WHERE {_FILTER} AND (
            (s.status = 'canceled' AND COALESCE(s.canceled_at, s.ended_at) >= :start
             AND COALESCE(s.canceled_at, s.ended_at) < :end)
            OR (s.status <> 'canceled' AND (COALESCE(s.cancel_at_period_end, FALSE) OR s.cancel_at IS NOT NULL))
        )
        ORDER BY kind, COALESCE(s.canceled_at, s.ended_at, s.cancel_at) DESC NULLS LAST, s.id
        """,
        {"start": start, "end": end, "currency": currency, "provider": provider},
    )
