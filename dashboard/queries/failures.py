"""Payment-failure queries: failure rate over time, decline codes with advice, outcome types, card brand and country,
and the failed-invoice recovery rate."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.declines import advise
from dashboard.queries.revenue import GRAINS
from sync.errors import PayOpsError
from sync.store import Store

# Payments that reached a final answer; pending and canceled ones are neither a success nor a failure.
_ATTEMPTS = """
FROM payments AS p
WHERE p.status IN ('succeeded', 'failed') AND p.created >= :start AND p.created < :end
  AND (CAST(:currency AS VARCHAR) IS NULL OR p.currency = :currency)
    AND (CAST(:provider AS VARCHAR) IS NULL OR p.provider = :provider)
"""

DIMENSIONS = {"card_brand": "p.card_brand", "card_country": "p.card_country", "currency": "p.currency"}


def _params(start: dt.datetime, end: dt.datetime, currency: str | None, provider: str | None) -> dict[str, object]:
    return {"start": start, "end": end, "currency": currency, "provider": provider}


def _rate(df: pd.DataFrame) -> pd.DataFrame:
    df["failure_rate"] = [f / a if a else None for f, a in zip(df["failed"], df["attempts"], strict=True)]
    return df


def failure_rate(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                 provider: str | None = None, grain: str = "day") -> pd.DataFrame:
    """Per period: attempts (succeeded + failed payments), failed, failure_rate = failed / attempts."""
    if grain not in GRAINS:
        raise PayOpsError(f"Unknown grain {grain!r}: choose one of {', '.join(GRAINS)}.")
    df = store.frame(
        "SELECT date_trunc(:grain, p.created) AS period, CAST(COUNT(*) AS BIGINT) AS attempts, "
        "CAST(COUNT(*) FILTER (WHERE p.status = 'failed') AS BIGINT) AS failed " + _ATTEMPTS
        + " GROUP BY 1 ORDER BY 1",
        _params(start, end, currency, provider) | {"grain": grain},
    )
    df["period"] = pd.to_datetime(df["period"])
    return _rate(df)


def failures_by(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                provider: str | None = None, by: str = "card_brand") -> pd.DataFrame:
    """Per value of `by` (card_brand, card_country or currency): attempts, failed, failure_rate."""
    column = DIMENSIONS.get(by)
    if column is None:
        raise PayOpsError(f"Cannot group failures by {by!r}: choose one of {', '.join(DIMENSIONS)}.")
    df = store.frame(
        f"SELECT COALESCE({column}, 'unknown') AS {by}, CAST(COUNT(*) AS BIGINT) AS attempts, "
        "CAST(COUNT(*) FILTER (WHERE p.status = 'failed') AS BIGINT) AS failed " + _ATTEMPTS
        + " GROUP BY 1 ORDER BY failed DESC, attempts DESC, 1",
        _params(start, end, currency, provider),
    )
    return _rate(df)


def top_decline_codes(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                      provider: str | None = None, limit: int = 10) -> pd.DataFrame:
    """The most frequent (decline_code, advice_code) pairs of failed payments, with share of all failures,
    plain meaning and recommended action."""
    df = store.frame(
        "SELECT COALESCE(p.decline_code, p.failure_code, 'unknown') AS decline_code, p.advice_code, "
        "CAST(COUNT(*) AS BIGINT) AS failures " + _ATTEMPTS
        + " AND p.status = 'failed' GROUP BY 1, 2 ORDER BY failures DESC, 1, 2",
        _params(start, end, currency, provider),
    )
    total = int(df["failures"].sum()) if not df.empty else 0
    df = df.head(limit).copy()
    df["share"] = [f / total for f in df["failures"]] if total else []
    advice = [advise(code, adv) for code, adv in zip(df["decline_code"], df["advice_code"], strict=True)]
    df["meaning"] = [a.meaning for a in advice]
    df["action"] = [a.action for a in advice]
    return df


def outcome_types(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                  provider: str | None = None) -> pd.DataFrame:
    """Failed payments by Stripe outcome type (issuer_declined, blocked, invalid...), with share."""
    df = store.frame(
        "SELECT COALESCE(p.outcome_type, 'unknown') AS outcome_type, CAST(COUNT(*) AS BIGINT) AS failures "
        + _ATTEMPTS + " AND p.status = 'failed' GROUP BY 1 ORDER BY failures DESC, 1",
        _params(start, end, currency, provider),
    )
    total = int(df["failures"].sum()) if not df.empty else 0
    df["share"] = [f / total for f in df["failures"]] if total else []
    return df


# An invoice "failed in the window" when a failed payment for it (linked by invoice id or its payment intent) was
# created in the window; it is "recovered" when the invoice is paid now. Amounts: amount_due of those invoices and
# amount_paid of the recovered ones, in the invoice's currency.
_RECOVERY_SQL = """
WITH links AS (
    -- Two equi-joins rather than one OR join, so both stay hash joins.
    SELECT i.provider, i.id, p.created
    FROM invoices AS i JOIN payments AS p ON p.provider = i.provider AND p.invoice_id = i.id
    WHERE p.status = 'failed' AND p.created >= :start AND p.created < :end
    UNION ALL
    SELECT i.provider, i.id, p.created
    FROM invoices AS i JOIN payments AS p ON p.provider = i.provider AND p.payment_intent_id = i.payment_intent_id
    WHERE p.status = 'failed' AND p.created >= :start AND p.created < :end
),
failed AS (
    SELECT provider, id, MIN(created) AS first_failure FROM links GROUP BY provider, id
)
SELECT i.currency,
       CAST(COUNT(*) AS BIGINT) AS failed_invoices,
       CAST(COUNT(*) FILTER (WHERE i.status = 'paid') AS BIGINT) AS recovered_invoices,
       CAST(SUM(i.amount_due) AS BIGINT) AS failed_amount,
       CAST(COALESCE(SUM(i.amount_paid) FILTER (WHERE i.status = 'paid'), 0) AS BIGINT) AS recovered_amount
FROM failed AS f JOIN invoices AS i ON i.provider = f.provider AND i.id = f.id
WHERE (CAST(:provider AS VARCHAR) IS NULL OR i.provider = :provider)
  AND (CAST(:currency AS VARCHAR) IS NULL OR i.currency = :currency)
GROUP BY i.currency
ORDER BY i.currency
"""


def invoice_recovery(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                     provider: str | None = None) -> pd.DataFrame:
    """Per currency: invoices with a failed payment attempt in [start, end), how many were later paid, and the
    same in amounts; recovery_rate (count) and amount_recovery_rate as fractions."""
    df = store.frame(_RECOVERY_SQL, _params(start, end, currency, provider))
    df["recovery_rate"] = [r / f if f else None
                           for r, f in zip(df["recovered_invoices"], df["failed_invoices"], strict=True)]
    df["amount_recovery_rate"] = [r / f if f else None
                                  for r, f in zip(df["recovered_amount"], df["failed_amount"], strict=True)]
    return df
