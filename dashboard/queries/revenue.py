"""Revenue queries: gross volume, refunds, dispute losses, fees and net per period and currency, never summed across
currencies."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.derived import ensure_revenue_bts
from sync.errors import PayOpsError
from sync.store import Store

GRAINS = ("day", "week", "month")
AMOUNTS = ("gross", "refunds", "dispute_losses", "fees", "net")

# Each source lands in the same columns so one GROUP BY merges them. Gross volume: captured amounts of
# succeeded payments, by payment date, in the charge's currency. Refunds: succeeded or pending refunds, by
# refund date. Dispute losses: lost disputes' amounts, by dispute opening date. Fees and net: the balance
# transactions of those payments, refunds and disputes (`revenue_bts`, derived in sync/derived.py: linking them
# by id at query time costs seconds at millions of rows), by their own date, in the SETTLEMENT currency (a
# balance transaction's currency), which may differ from the charge's. {bucket_*} is the grouping key of a row
# dated `created` (a date_trunc for periods, or which window it falls in).
_SRC = """
WITH src AS (
    SELECT {bucket_p} AS bucket, p.currency,
           COALESCE(p.amount_captured, p.amount) AS gross, 0 AS refunds, 0 AS dispute_losses, 0 AS fees, 0 AS net,
           1 AS payments
    FROM payments AS p
    WHERE p.status = 'succeeded' AND p.created >= :start AND p.created < :end
      AND (CAST(:currency AS VARCHAR) IS NULL OR p.currency = :currency)
        AND (CAST(:provider AS VARCHAR) IS NULL OR p.provider = :provider)
    UNION ALL
    SELECT {bucket_r}, r.currency, 0, r.amount, 0, 0, 0, 0
    FROM refunds AS r
    WHERE r.status IN ('succeeded', 'pending') AND r.created >= :start AND r.created < :end
      AND (CAST(:currency AS VARCHAR) IS NULL OR r.currency = :currency)
        AND (CAST(:provider AS VARCHAR) IS NULL OR r.provider = :provider)
    UNION ALL
    SELECT {bucket_d}, d.currency, 0, 0, d.amount, 0, 0, 0
    FROM disputes AS d
    WHERE d.status = 'lost' AND d.created >= :start AND d.created < :end
      AND (CAST(:currency AS VARCHAR) IS NULL OR d.currency = :currency)
        AND (CAST(:provider AS VARCHAR) IS NULL OR d.provider = :provider)
    UNION ALL
    SELECT {bucket_b}, b.currency, 0, 0, 0, b.fee, b.net, 0
    FROM revenue_bts AS b
    WHERE b.created >= :start AND b.created < :end
      AND (CAST(:currency AS VARCHAR) IS NULL OR b.currency = :currency)
        AND (CAST(:provider AS VARCHAR) IS NULL OR b.provider = :provider)
)
SELECT bucket AS {bucket_name}, currency,
       CAST(SUM(gross) AS BIGINT) AS gross, CAST(SUM(refunds) AS BIGINT) AS refunds,
       CAST(SUM(dispute_losses) AS BIGINT) AS dispute_losses, CAST(SUM(fees) AS BIGINT) AS fees,
       CAST(SUM(net) AS BIGINT) AS net, CAST(SUM(payments) AS BIGINT) AS payments
FROM src
GROUP BY bucket, currency
ORDER BY bucket, currency
"""


def _src_sql(bucket: str, name: str) -> str:
    return (_SRC.replace("{bucket_name}", name)
            .replace("{bucket_p}", bucket.format(t="p")).replace("{bucket_r}", bucket.format(t="r"))
            .replace("{bucket_d}", bucket.format(t="d")).replace("{bucket_b}", bucket.format(t="b")))


_SQL = _src_sql("date_trunc(:grain, {t}.created)", "period")
# Totals over [start - span, end) in one pass: bucket 1 is [start, end), bucket 0 the window before it.
_TOTALS_SQL = _src_sql("CAST({t}.created >= :mid AS INTEGER)", "current")


def _check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise PayOpsError(f"Unknown grain {grain!r}: choose one of {', '.join(GRAINS)}.")
    return grain


def revenue_by_period(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                      provider: str | None = None, grain: str = "day") -> pd.DataFrame:
    """One row per period and currency: gross, refunds, dispute_losses, fees, net (minor units), payments."""
    params = {"start": start, "end": end, "currency": currency, "provider": provider, "grain": _check_grain(grain)}
    ensure_revenue_bts(store)
    df = store.frame(_SQL, params)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object" if c in ("period", "currency") else "int64")
                             for c in ("period", "currency", *AMOUNTS, "payments")})
    df["period"] = pd.to_datetime(df["period"])
    return df


def revenue_totals(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                   provider: str | None = None) -> pd.DataFrame:
    """Per currency: each amount over [start, end), the same over the previous window of equal length, and the
    change in percent (None when the previous figure is 0)."""
    span = end - start
    ensure_revenue_bts(store)
    both = store.frame(_TOTALS_SQL, {"start": start - span, "mid": start, "end": end, "currency": currency,
                                     "provider": provider})
    now, before = both[both["current"] == 1], both[both["current"] == 0]
    cols = [*AMOUNTS, "payments"]
    cur = now.groupby("currency")[cols].sum() if not now.empty else pd.DataFrame(columns=cols)
    prev = before.groupby("currency")[cols].sum() if not before.empty else pd.DataFrame(columns=cols)
    out = cur.join(prev.add_suffix("_prev"), how="outer").fillna(0)
    for c in cols:
        out[c] = out[c].astype("int64")
        out[f"{c}_prev"] = out[f"{c}_prev"].astype("int64")
        out[f"{c}_change_pct"] = [
            None if p == 0 else round((v - p) * 100.0 / abs(p), 1) for v, p in zip(out[c], out[f"{c}_prev"],
                                                                                     strict=True)
        ]
    return out.reset_index().rename(columns={"index": "currency"}).sort_values("currency", ignore_index=True)


def known_currencies(store: Store, provider: str | None = None) -> list[str]:
    """Currencies present in payments, for widgets."""
    df = store.frame(
        "SELECT DISTINCT currency FROM payments WHERE currency IS NOT NULL "
        "AND (CAST(:provider AS VARCHAR) IS NULL OR provider = :provider) ORDER BY currency",
        {"provider": provider},
    )
    return df["currency"].tolist()
