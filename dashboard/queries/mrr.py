"""MRR queries (Stripe's definition): current MRR and ARR, each subscription's MRR over time from subscription
events, monthly movements, 30-day subscriber and revenue churn, ARPU. Per currency, integer minor units.

Rounding, deliberately: a subscription's monthly amount is computed exactly in integers (unit amount x quantity
x the interval's months, as one fraction, less a forever coupon) and rounded ONCE to the nearest minor unit,
halves up. Totals are sums of those rounded per-subscription figures; ARR = 12 x MRR.

DuckDB-only SQL here (JSON arrows, list_reduce, lcm, ASOF JOIN, HUGEINT): this module is the place to port.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.store import Store

MRR_STATUSES = ("active", "past_due")

_RECURRING = '"interval": "VARCHAR", "interval_count": "INTEGER", "usage_type": "VARCHAR"'
# The parts of a subscription snapshot MRR needs (json_transform's structure; absent keys become NULL).
SNAPSHOT_SHAPE = (
    '{"status": "VARCHAR", "customer": "JSON", "currency": "VARCHAR", "discount": "JSON", "discounts": "JSON", '
    '"items": {"data": [{"quantity": "BIGINT", '
    '"price": {"unit_amount": "BIGINT", "recurring": {' + _RECURRING + '}}, '
    '"plan": {"amount": "BIGINT", ' + _RECURRING + '}}]}}'
)
SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted")

# MRR of each (provider, subscription_id, at) group of the `mrr_items` relation. An item's monthly amount is
# unit x qty x m / (12 x interval_count) with m = 12 (month), 1 (year), 52 (week), 365 (day); items are put over
# the least common denominator L so the sum stays an exact fraction. A forever coupon: percent_off (decimal text,
# kept as hundredths of a percent) scales it; amount_off is per invoice, i.e. per billing interval, so it is
# normalised by that interval too. (2N + D) // (2D) rounds N/D to the nearest integer, halves up, for N >= 0.
_MRR_CTES = """
mrr_terms AS (
    SELECT *,
           CASE "interval" WHEN 'month' THEN 12 WHEN 'year' THEN 1 WHEN 'week' THEN 52 WHEN 'day' THEN 365 END AS m,
           12 * GREATEST(COALESCE(interval_count, 1), 1) AS den
    FROM mrr_items
    WHERE status IN ('active', 'past_due') AND COALESCE(usage_type, 'licensed') <> 'metered'
      AND COALESCE(unit_amount, 0) > 0 AND COALESCE(quantity, 1) > 0
      AND "interval" IN ('month', 'year', 'week', 'day')
),
mrr_lcd AS (
    SELECT provider, subscription_id, valid_from, list_reduce(list(den), lambda a, b: lcm(a, b)) AS l
    FROM mrr_terms GROUP BY provider, subscription_id, valid_from
),
mrr_frac AS (
    SELECT t.provider, t.subscription_id, t.valid_from, d.l,
           SUM(CAST(t.unit_amount AS HUGEINT) * COALESCE(t.quantity, 1) * t.m * (d.l // t.den)) AS num,
           ANY_VALUE(t.m) AS m1, ANY_VALUE(t.den) AS den1,
           CASE WHEN ANY_VALUE(t.coupon_duration) = 'forever' THEN
               CAST(ROUND(CAST(COALESCE(ANY_VALUE(t.coupon_percent_off), '0') AS DECIMAL(18, 6)) * 100) AS BIGINT)
               ELSE 0 END AS pct_h,
           CASE WHEN ANY_VALUE(t.coupon_duration) = 'forever' THEN COALESCE(ANY_VALUE(t.coupon_amount_off), 0)
               ELSE 0 END AS amount_off
    FROM mrr_terms AS t JOIN mrr_lcd AS d USING (provider, subscription_id, valid_from)
    GROUP BY t.provider, t.subscription_id, t.valid_from, d.l
),
mrr_sub AS (
    SELECT provider, subscription_id, valid_from,
           num * (10000 - pct_h) * den1 - CAST(amount_off AS HUGEINT) * m1 * l * 10000 AS n,
           CAST(l AS HUGEINT) * 10000 * den1 AS d
    FROM mrr_frac
),
mrr_value AS (
    SELECT provider, subscription_id, valid_from,
           CAST(CASE WHEN n <= 0 THEN 0 ELSE (2 * n + d) // (2 * d) END AS BIGINT) AS mrr
    FROM mrr_sub
)
"""

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
    WHERE (:provider IS NULL OR s.provider = :provider)
)
"""

_CURRENT_SQL = (
    "WITH " + _CURRENT_ITEMS + "," + _MRR_CTES + """
SELECT s.provider, s.id AS subscription_id, s.customer_id, s.currency, s.status,
       COALESCE(v.mrr, 0) AS mrr
FROM subscriptions AS s
LEFT JOIN mrr_value AS v ON v.provider = s.provider AND v.subscription_id = s.id
WHERE (:provider IS NULL OR s.provider = :provider) AND (:currency IS NULL OR s.currency = :currency)
ORDER BY mrr DESC, s.id
"""
)

# History: one snapshot per subscription event (`data.object`), plus, where a subscription's first stored event
# is not its creation (Stripe keeps events 30 days), its state before that event at its start date
# (`data.object` patched with `data.previous_attributes`), and, for subscriptions with no events at all, two
# snapshots from the subscriptions table: its stored object from start (or trial end) and canceled at ended_at.
_SNAPSHOTS = """
ev AS (
    SELECT e.provider, e.object_id AS subscription_id, e.created AS valid_from, e.id AS event_id, e.type,
           CAST(e.raw AS JSON)->'data'->'object' AS obj,
           CAST(e.raw AS JSON)->'data'->'previous_attributes' AS prev
    FROM events AS e
    WHERE e.type IN ('customer.subscription.created', 'customer.subscription.updated',
                     'customer.subscription.deleted')
      AND e.object_id IS NOT NULL AND (:provider IS NULL OR e.provider = :provider)
),
ev_first AS (
    SELECT * FROM (
        SELECT ev.*, ROW_NUMBER() OVER (PARTITION BY provider, subscription_id ORDER BY valid_from, event_id) AS rn
        FROM ev
    ) WHERE rn = 1
),
snapshots AS (
    SELECT provider, subscription_id, valid_from, obj, CAST(NULL AS VARCHAR) AS status_override FROM ev
    UNION ALL
    SELECT f.provider, f.subscription_id, COALESCE(s.start_date, s.created),
           json_merge_patch(f.obj, COALESCE(f.prev, CAST('{}' AS JSON))), NULL
    FROM ev_first AS f JOIN subscriptions AS s ON s.provider = f.provider AND s.id = f.subscription_id
    WHERE f.type <> 'customer.subscription.created' AND COALESCE(s.start_date, s.created) < f.valid_from
    UNION ALL
    SELECT s.provider, s.id,
           CASE WHEN s.trial_end IS NOT NULL AND s.trial_end > COALESCE(s.start_date, s.created)
                THEN s.trial_end ELSE COALESCE(s.start_date, s.created) END,
           CAST(s.raw AS JSON),
           CASE WHEN s.status IN ('canceled', 'unpaid', 'incomplete_expired') THEN 'active' END
    FROM subscriptions AS s
    WHERE (:provider IS NULL OR s.provider = :provider)
      AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.provider = s.provider AND ev.subscription_id = s.id)
      AND NOT (s.status = 'canceled' AND s.trial_end IS NOT NULL AND s.ended_at IS NOT NULL
               AND s.ended_at <= s.trial_end)
    UNION ALL
    SELECT s.provider, s.id, s.ended_at, CAST(s.raw AS JSON), 'canceled'
    FROM subscriptions AS s
    WHERE (:provider IS NULL OR s.provider = :provider) AND s.ended_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.provider = s.provider AND ev.subscription_id = s.id)
),
snap AS (
    -- One parse per snapshot into a typed struct (repeated JSON arrows would re-parse the text each time);
    -- the structure is a constant of this module, inlined because json_transform needs a constant.
    SELECT provider, subscription_id, valid_from, status_override, json_transform(obj, '""" + SNAPSHOT_SHAPE + """')
           AS o
    FROM snapshots
    WHERE valid_from IS NOT NULL
),
snap_items AS (
    SELECT provider, subscription_id, valid_from, COALESCE(status_override, o.status) AS status,
           COALESCE(o.discount->'coupon',
                    CASE WHEN json_type(o.discounts->0) = 'OBJECT'
                         THEN COALESCE(o.discounts->0->'source'->'coupon', o.discounts->0->'coupon') END
           ) AS coupon,
           unnest(o.items.data) AS it
    FROM snap
),
mrr_items AS (
    SELECT provider, subscription_id, valid_from, status,
           COALESCE(it.price.unit_amount, it.plan.amount) AS unit_amount,
           COALESCE(it.quantity, 1) AS quantity,
           COALESCE(it.price.recurring."interval", it.plan."interval") AS "interval",
           COALESCE(it.price.recurring.interval_count, it.plan.interval_count) AS interval_count,
           COALESCE(it.price.recurring.usage_type, it.plan.usage_type) AS usage_type,
           coupon->>'duration' AS coupon_duration,
           coupon->>'percent_off' AS coupon_percent_off,
           CAST(coupon->>'amount_off' AS BIGINT) AS coupon_amount_off
    FROM snap_items
),
""" + _MRR_CTES + """,
timeline AS (
    SELECT sn.provider, sn.subscription_id, sn.valid_from,
           COALESCE(sn.o.customer->>'id', sn.o.customer->>'$') AS customer_id, upper(sn.o.currency) AS currency,
           COALESCE(sn.status_override, sn.o.status) AS status, COALESCE(v.mrr, 0) AS mrr
    FROM snap AS sn
    LEFT JOIN mrr_value AS v
           ON v.provider = sn.provider AND v.subscription_id = sn.subscription_id AND v.valid_from = sn.valid_from
    WHERE (:currency IS NULL OR upper(sn.o.currency) = :currency)
)
"""

_TIMELINE_SQL = "WITH " + _SNAPSHOTS + "SELECT * FROM timeline ORDER BY provider, subscription_id, valid_from"

# Customer-level state at each month's start and end; `first_paid` is when the customer first had MRR, so a
# customer back from zero who had paid before is a reactivation, not new.
_MOVEMENTS_SQL = "WITH " + _SNAPSHOTS + """,
months AS (
    SELECT m AS month_start, LEAST(m + INTERVAL 1 MONTH, :as_of) AS month_end
    FROM (SELECT unnest(generate_series(date_trunc('month', :start), date_trunc('month', :last), INTERVAL 1 MONTH))
          AS m)
    WHERE m < :as_of
),
subs AS (SELECT DISTINCT provider, subscription_id FROM timeline),
grid AS (
    SELECT s.provider, s.subscription_id, m.month_start, m.month_end FROM subs AS s CROSS JOIN months AS m
),
at_start AS (
    SELECT g.*, t.customer_id, t.currency, t.mrr FROM grid AS g
    ASOF JOIN timeline AS t ON t.provider = g.provider AND t.subscription_id = g.subscription_id
        AND g.month_start > t.valid_from
),
at_end AS (
    SELECT g.*, t.customer_id, t.currency, t.mrr FROM grid AS g
    ASOF JOIN timeline AS t ON t.provider = g.provider AND t.subscription_id = g.subscription_id
        AND g.month_end > t.valid_from
),
cust AS (
    SELECT provider, customer_id, currency, month_start, SUM(mrr_start) AS mrr_start, SUM(mrr_end) AS mrr_end
    FROM (
        SELECT provider, customer_id, currency, month_start, mrr AS mrr_start, 0 AS mrr_end FROM at_start
        UNION ALL
        SELECT provider, customer_id, currency, month_start, 0, mrr FROM at_end
    ) GROUP BY ALL
),
first_paid AS (
    SELECT provider, customer_id, currency, MIN(valid_from) AS first_paid FROM timeline WHERE mrr > 0 GROUP BY ALL
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

# Customers' MRR at t0 = as_of - 30 days and at as_of (the state at an instant is the last snapshot strictly
# before it); a customer "subscribed during the window" had MRR at t0 or at any snapshot in [t0, as_of).
_CHURN_SQL = "WITH " + _SNAPSHOTS + """,
subs AS (SELECT DISTINCT provider, subscription_id FROM timeline),
pts AS (
    SELECT provider, subscription_id, CAST(:t0 AS TIMESTAMP) AS t, 0 AS which FROM subs
    UNION ALL
    SELECT provider, subscription_id, CAST(:as_of AS TIMESTAMP), 1 FROM subs
),
state AS (
    SELECT p.which, t.provider, t.customer_id, t.currency, t.mrr FROM pts AS p
    ASOF JOIN timeline AS t ON t.provider = p.provider AND t.subscription_id = p.subscription_id AND p.t > t.valid_from
),
cust AS (
    SELECT provider, customer_id, currency,
           SUM(CASE WHEN which = 0 THEN mrr ELSE 0 END) AS mrr_t0,
           SUM(CASE WHEN which = 1 THEN mrr ELSE 0 END) AS mrr_t1
    FROM state GROUP BY ALL
),
paid_in_window AS (
    SELECT DISTINCT provider, customer_id, currency FROM timeline
    WHERE mrr > 0 AND valid_from >= :t0 AND valid_from < :as_of
),
c AS (
    SELECT cust.*, (cust.mrr_t0 > 0 OR w.customer_id IS NOT NULL) AS subscribed
    FROM cust LEFT JOIN paid_in_window AS w USING (provider, customer_id, currency)
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
    return store.query(_CURRENT_SQL, {"currency": currency, "provider": provider})


def _round_div(num: int, den: int) -> int:
    """num / den to the nearest integer, halves up (num, den >= 0)."""
    return (2 * num + den) // (2 * den)


def current_mrr(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Per currency: mrr, arr (12 x mrr), active subscribers (customers with MRR > 0), arpu (mrr / subscribers,
    rounded to the nearest minor unit), subscriptions counted."""
    subs = subscription_mrr(store, currency, provider)
    paying = subs[subs["mrr"] > 0]
    rows = []
    for cur, group in paying.groupby("currency", sort=True):
        mrr = int(group["mrr"].sum())
        subscribers = int(group[["provider", "customer_id"]].drop_duplicates().shape[0])
        rows.append({"currency": cur, "mrr": mrr, "arr": 12 * mrr, "subscribers": subscribers,
                     "subscriptions": len(group), "arpu": _round_div(mrr, subscribers) if subscribers else 0})
    return pd.DataFrame(rows, columns=["currency", "mrr", "arr", "subscribers", "subscriptions", "arpu"])


def mrr_timeline(store: Store, currency: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """Each subscription's MRR after each snapshot (events, or the table's dates where events are missing)."""
    return store.query(_TIMELINE_SQL, {"currency": currency, "provider": provider})


def mrr_movements(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                  provider: str | None = None) -> pd.DataFrame:
    """Per month overlapping [start, end) and currency: start_mrr, new, expansion, reactivation, contraction,
    churn (all positive amounts), end_mrr, with start + new + expansion + reactivation - contraction - churn = end.
    Movements are per customer (all of a customer's subscriptions in that currency): churn only when the customer
    ends the month with no MRR; a lower but non-zero MRR is contraction. The last month ends at `end`."""
    last = end - dt.timedelta(microseconds=1)
    df = store.query(_MOVEMENTS_SQL, {"start": start, "last": last, "as_of": end, "currency": currency,
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
    df = store.query(_CHURN_SQL, {"t0": t0, "as_of": as_of, "currency": currency, "provider": provider})
    df["subscriber_churn"] = [
        None if (s + n) == 0 else c / (s + n)
        for s, n, c in zip(df["subscribers_start"], df["new_subscribers"], df["churned_subscribers"], strict=True)
    ]
    df["revenue_churn"] = [None if m == 0 else lost / m
                           for m, lost in zip(df["mrr_start"], df["mrr_lost"], strict=True)]
    return df
