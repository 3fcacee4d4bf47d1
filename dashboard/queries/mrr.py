"""MRR queries (Stripe's definition): current MRR and ARR, each subscription's MRR over time from subscription
events, monthly movements, 30-day subscriber and revenue churn, ARPU. Per currency, integer minor units.

Rounding, deliberately: a subscription's monthly amount is computed exactly in integers (unit amount x quantity
x the interval's months, as one fraction, less a forever coupon) and rounded ONCE to the nearest minor unit,
halves up. Totals are sums of those rounded per-subscription figures; ARR = 12 x MRR.

History reads `mrr_snapshots` (sync/derived.py: each subscription's MRR after each event, derived from the events'
JSON once and refreshed incrementally), never the JSON itself. The SQL is portable but for the MRR arithmetic,
which `mrr_ctes(store)` hands over in the store's dialect (DuckDB or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.derived import SNAPSHOT_SHAPE, SUBSCRIPTION_EVENTS, ensure_mrr_snapshots, ensure_sql_functions, mrr_ctes
from sync.store import Store

__all__ = ["MRR_STATUSES", "SNAPSHOT_SHAPE", "SUBSCRIPTION_EVENTS", "churn_30d", "current_mrr", "mrr_movements",
           "mrr_timeline", "subscription_mrr"]

MRR_STATUSES = ("active", "past_due")

# Current state: typed subscriptions + their items. An item row older than its subscription's snapshot is an
# item since removed from it (the normaliser only writes items still present), so it is ignored.
_CURRENT_ITEMS = """
mrr_items AS (
    SELECT s.provider, s.id AS subscription_id, TIMESTAMP '1970-01-01' AS valid_from, s.status,
           i.unit_amount, i.quantity, i."interval", i.interval_count, i.usage_type,
           s.coupon_duration, s.coupon_percent_off, s.coupon_amount_off
    FROM subscriptions AS s
    JOIN subscription_items AS i
      ON i.provider = s.provider AND i.subscription_id = s.id AND i.version >= s.version AND NOT i.deleted
    WHERE (CAST(:provider AS VARCHAR) IS NULL OR s.provider = :provider)
)
"""

_CURRENT_SELECT = """
SELECT s.provider, s.id AS subscription_id, s.customer_id, s.currency, s.status,
       COALESCE(v.mrr, 0) AS mrr
FROM subscriptions AS s
LEFT JOIN mrr_value AS v ON v.provider = s.provider AND v.subscription_id = s.id
WHERE (CAST(:provider AS VARCHAR) IS NULL OR s.provider = :provider)
  AND (CAST(:currency AS VARCHAR) IS NULL OR s.currency = :currency)
ORDER BY mrr DESC, s.id
"""


def _current_sql(store: Store) -> str:
    return "WITH " + _CURRENT_ITEMS + "," + mrr_ctes(store) + _CURRENT_SELECT

# History. The state of a subscription at instant t is its last snapshot strictly before t: the row with
# valid_from < t <= valid_to (valid_to NULL: still current). Only snapshots with MRR > 0 can move a figure, so
# movements and churn read those alone.
_POSITIVE = """
pos AS (
    SELECT provider, subscription_id, valid_from, valid_to, customer_id, currency, mrr FROM mrr_snapshots
    WHERE mrr > 0 AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
      AND (CAST(:currency AS VARCHAR) IS NULL OR currency = :currency)
)
"""

_TIMELINE_SQL = """
SELECT provider, subscription_id, valid_from, customer_id, currency, status, mrr FROM mrr_snapshots
WHERE (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider)
  AND (CAST(:currency AS VARCHAR) IS NULL OR currency = :currency)
ORDER BY provider, subscription_id, valid_from, seq
"""

# Customer-level state at each month's start and end; `first_paid` is when the customer first had MRR, so a
# customer back from zero who had paid before is a reactivation, not new. Months are few, so each boundary is a
# range condition over the positive snapshots rather than a join per subscription.
_MOVEMENTS_SQL = "WITH " + _POSITIVE + """,
months AS (
    SELECT m AS month_start, LEAST(m + INTERVAL '1 month', CAST(:as_of AS TIMESTAMP)) AS month_end
    FROM generate_series(date_trunc('month', CAST(:start AS TIMESTAMP)), date_trunc('month', CAST(:last AS TIMESTAMP)),
                         INTERVAL '1 month') AS g(m)
    WHERE m < :as_of
),
states AS (
    SELECT p.provider, p.customer_id, p.currency, m.month_start, p.mrr AS mrr_start, 0 AS mrr_end
    FROM pos AS p JOIN months AS m
      ON p.valid_from < m.month_start AND (p.valid_to IS NULL OR p.valid_to >= m.month_start)
    UNION ALL
    SELECT p.provider, p.customer_id, p.currency, m.month_start, 0, p.mrr
    FROM pos AS p JOIN months AS m
      ON p.valid_from < m.month_end AND (p.valid_to IS NULL OR p.valid_to >= m.month_end)
),
cust AS (
    SELECT provider, customer_id, currency, month_start, SUM(mrr_start) AS mrr_start, SUM(mrr_end) AS mrr_end
    FROM states GROUP BY provider, customer_id, currency, month_start
),
first_paid AS (
    SELECT provider, customer_id, currency, MIN(valid_from) AS first_paid FROM pos
    GROUP BY provider, customer_id, currency
),
moves AS (
    SELECT c.*, f.first_paid,
           CASE WHEN c.mrr_start = 0 AND c.mrr_end > 0 AND f.first_paid < c.month_start THEN 'reactivation'
                WHEN c.mrr_start = 0 AND c.mrr_end > 0 THEN 'new'
                WHEN c.mrr_start > 0 AND c.mrr_end = 0 THEN 'churn'
                WHEN c.mrr_end > c.mrr_start THEN 'expansion'
                WHEN c.mrr_end < c.mrr_start THEN 'contraction' END AS kind
    FROM cust AS c LEFT JOIN first_paid AS f USING (provider, customer_id, currency)
)
SELECT month_start AS month, currency,
       CAST(SUM(mrr_start) AS BIGINT) AS start_mrr,
       CAST(SUM(CASE WHEN kind = 'new' THEN mrr_end - mrr_start ELSE 0 END) AS BIGINT) AS new,
       CAST(SUM(CASE WHEN kind = 'expansion' THEN mrr_end - mrr_start ELSE 0 END) AS BIGINT) AS expansion,
       CAST(SUM(CASE WHEN kind = 'reactivation' THEN mrr_end - mrr_start ELSE 0 END) AS BIGINT) AS reactivation,
       CAST(SUM(CASE WHEN kind = 'contraction' THEN mrr_start - mrr_end ELSE 0 END) AS BIGINT) AS contraction,
       CAST(SUM(CASE WHEN kind = 'churn' THEN mrr_start - mrr_end ELSE 0 END) AS BIGINT) AS churn,
       CAST(SUM(mrr_end) AS BIGINT) AS end_mrr,
       CAST(COUNT(DISTINCT CASE WHEN kind = 'new' THEN customer_id END) AS BIGINT) AS new_customers,
       CAST(COUNT(DISTINCT CASE WHEN kind = 'churn' THEN customer_id END) AS BIGINT) AS churned_customers,
       CAST(COUNT(DISTINCT CASE WHEN kind = 'reactivation' THEN customer_id END) AS BIGINT) AS reactivated_customers
FROM moves
WHERE currency IS NOT NULL
GROUP BY month_start, currency
HAVING SUM(mrr_start) > 0 OR SUM(mrr_end) > 0
ORDER BY month_start, currency
"""

# Customers' MRR at t0 = as_of - 30 days and at as_of; a customer "subscribed during the window" had MRR at t0 or
# at any snapshot in [t0, as_of).
_CHURN_SQL = "WITH " + _POSITIVE + """,
state AS (
    SELECT provider, customer_id, currency, mrr AS mrr_t0, 0 AS mrr_t1, FALSE AS paid_in_window FROM pos
    WHERE valid_from < :t0 AND (valid_to IS NULL OR valid_to >= :t0)
    UNION ALL
    SELECT provider, customer_id, currency, 0, mrr, FALSE FROM pos
    WHERE valid_from < :as_of AND (valid_to IS NULL OR valid_to >= :as_of)
    UNION ALL
    SELECT provider, customer_id, currency, 0, 0, TRUE FROM pos WHERE valid_from >= :t0 AND valid_from < :as_of
),
c AS (
    SELECT provider, customer_id, currency, SUM(mrr_t0) AS mrr_t0, SUM(mrr_t1) AS mrr_t1,
           SUM(mrr_t0) > 0 OR bool_or(paid_in_window) AS subscribed
    FROM state GROUP BY provider, customer_id, currency
)
SELECT currency,
       CAST(COUNT(*) FILTER (WHERE mrr_t0 > 0) AS BIGINT) AS subscribers_start,
       CAST(COUNT(*) FILTER (WHERE mrr_t0 = 0 AND subscribed) AS BIGINT) AS new_subscribers,
       CAST(COUNT(*) FILTER (WHERE subscribed AND mrr_t1 = 0) AS BIGINT) AS churned_subscribers,
       CAST(COUNT(*) FILTER (WHERE mrr_t1 > 0) AS BIGINT) AS subscribers_end,
       CAST(SUM(mrr_t0) AS BIGINT) AS mrr_start,
       CAST(SUM(CASE WHEN mrr_t0 > mrr_t1 THEN mrr_t0 - mrr_t1 ELSE 0 END) AS BIGINT) AS mrr_lost,
       CAST(SUM(mrr_t1) AS BIGINT) AS mrr_end
FROM c
WHERE currency IS NOT NULL
GROUP BY currency
HAVING COUNT(*) FILTER (WHERE subscribed) > 0
ORDER BY currency
"""


def subscription_mrr(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Every stored subscription with its current MRR (0 when not active/past_due, trialing, free or metered)."""
    ensure_sql_functions(store)
    return store.frame(_current_sql(store), {"currency": currency, "provider": provider})


def _round_div(num: int, den: int) -> int:
    """num / den to the nearest integer, halves up (num, den >= 0)."""
    return (2 * num + den) // (2 * den)


def current_mrr(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Per currency: mrr, arr (12 x mrr), active subscribers (customers with MRR > 0), arpu (mrr / subscribers,
    rounded to the nearest minor unit), subscriptions counted. Aggregated in SQL: only one row per currency
    leaves the store."""
    ensure_sql_functions(store)
    df = store.frame(
        "SELECT currency, CAST(SUM(mrr) AS BIGINT) AS mrr, "
        "CAST(COUNT(DISTINCT (provider, customer_id)) AS BIGINT) AS subscribers, "
        "CAST(COUNT(*) AS BIGINT) AS subscriptions "
        f"FROM ({_current_sql(store)}) AS s WHERE mrr > 0 GROUP BY currency ORDER BY currency",
        {"currency": currency, "provider": provider},
    )
    rows = [{"currency": r.currency, "mrr": int(r.mrr), "arr": 12 * int(r.mrr), "subscribers": int(r.subscribers),
             "subscriptions": int(r.subscriptions),
             "arpu": _round_div(int(r.mrr), int(r.subscribers)) if r.subscribers else 0}
            for r in df.itertuples()]
    return pd.DataFrame(rows, columns=["currency", "mrr", "arr", "subscribers", "subscriptions", "arpu"])


def mrr_timeline(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Each subscription's MRR after each snapshot (events, or the table's dates where events are missing)."""
    ensure_mrr_snapshots(store)
    return store.frame(_TIMELINE_SQL, {"currency": currency, "provider": provider})


def mrr_movements(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                  provider: str | None = None) -> pd.DataFrame:
    """Per month overlapping [start, end) and currency: start_mrr, new, expansion, reactivation, contraction,
    churn (all positive amounts), end_mrr, with start + new + expansion + reactivation - contraction - churn = end.
    Movements are per customer (all of a customer's subscriptions in that currency): churn only when the customer
    ends the month with no MRR; a lower but non-zero MRR is contraction. The last month ends at `end`."""
    last = end - dt.timedelta(microseconds=1)
    ensure_mrr_snapshots(store)
    df = store.frame(_MOVEMENTS_SQL, {"start": start, "last": last, "as_of": end, "currency": currency,
                                      "provider": provider})
    if not df.empty:
        df["month"] = pd.to_datetime(df["month"])
    return df


def churn_30d(store: Store, as_of: dt.datetime, currency: str | None = None,
              provider: str | None = None) -> pd.DataFrame:
    """Per currency over the 30 days before `as_of`: subscriber churn = churned / (subscribers 30 days ago + new in
    the 30 days); revenue churn = MRR lost to contraction and churn / MRR 30 days ago (fractions, None when the
    denominator is 0)."""
    t0 = as_of - dt.timedelta(days=30)
    ensure_mrr_snapshots(store)
    df = store.frame(_CHURN_SQL, {"t0": t0, "as_of": as_of, "currency": currency, "provider": provider})
    df["subscriber_churn"] = [
        None if (s + n) == 0 else c / (s + n)
        for s, n, c in zip(df["subscribers_start"], df["new_subscribers"], df["churned_subscribers"], strict=True)
    ]
    df["revenue_churn"] = [None if m == 0 else lost / m
                           for m, lost in zip(df["mrr_start"], df["mrr_lost"], strict=True)]
    return df
