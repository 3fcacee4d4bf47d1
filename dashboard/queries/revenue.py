"""Revenue queries: gross volume, refunds, dispute losses, fees and net per period and currency, never summed across
currencies."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.errors import PayOpsError
from sync.store import Store

GRAINS = ("day", "week", "month")
AMOUNTS = ("gross", "refunds", "dispute_losses", "fees", "net")

# Each source lands in the same columns so one GROUP BY merges them. Gross volume: captured amounts of
# succeeded payments, by payment date, in the charge's currency. Refunds: succeeded or pending refunds, by
# refund date. Dispute losses: lost disputes' amounts, by dispute opening date. Fees and net: the balance
# transactions of those payments, refunds and disputes, by their own date, in the SETTLEMENT currency (a
# balance transaction's currency), which may differ from the charge's.
_SQL = """
WITH src AS (
    SELECT date_trunc(:grain, p.created) AS period, p.currency,
           COALESCE(p.amount_captured, p.amount) AS gross, 0 AS refunds, 0 AS dispute_losses, 0 AS fees, 0 AS net,
           1 AS payments
    FROM payments AS p
    WHERE p.status = 'succeeded' AND p.created >= :start AND p.created < :end
      AND (:currency IS NULL OR p.currency = :currency) AND (:provider IS NULL OR p.provider = :provider)
    UNION ALL
    SELECT date_trunc(:grain, r.created), r.currency, 0, r.amount, 0, 0, 0, 0
    FROM refunds AS r
    WHERE r.status IN ('succeeded', 'pending') AND r.created >= :start AND r.created < :end
      AND (:currency IS NULL OR r.currency = :currency) AND (:provider IS NULL OR r.provider = :provider)
    UNION ALL
    SELECT date_trunc(:grain, d.created), d.currency, 0, 0, d.amount, 0, 0, 0
    FROM disputes AS d
    WHERE d.status = 'lost' AND d.created >= :start AND d.created < :end
      AND (:currency IS NULL OR d.currency = :currency) AND (:provider IS NULL OR d.provider = :provider)
    UNION ALL
    SELECT date_trunc(:grain, b.created), b.currency, 0, 0, 0, b.fee, b.net, 0
    FROM balance_transactions AS b
    WHERE b.created >= :start AND b.created < :end
      AND (:currency IS NULL OR b.currency = :currency) AND (:provider IS NULL OR b.provider = :provider)
      AND (
        EXISTS (SELECT 1 FROM payments AS p WHERE p.provider = b.provider AND p.balance_transaction_id = b.id)
        OR EXISTS (SELECT 1 FROM refunds AS r WHERE r.provider = b.provider AND r.balance_transaction_id = b.id)
        OR EXISTS (SELECT 1 FROM payments AS p WHERE p.provider = b.provider AND p.id = b.source_id)
        OR EXISTS (SELECT 1 FROM refunds AS r WHERE r.provider = b.provider AND r.id = b.source_id)
        OR EXISTS (SELECT 1 FROM disputes AS d WHERE d.provider = b.provider AND d.id = b.source_id)
      )
)
SELECT period, currency,
       CAST(SUM(gross) AS BIGINT) AS gross, CAST(SUM(refunds) AS BIGINT) AS refunds,
       CAST(SUM(dispute_losses) AS BIGINT) AS dispute_losses, CAST(SUM(fees) AS BIGINT) AS fees,
       CAST(SUM(net) AS BIGINT) AS net, CAST(SUM(payments) AS BIGINT) AS payments
FROM src
GROUP BY period, currency
ORDER BY period, currency
"""


def _check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise PayOpsError(f"Unknown grain {grain!r}: choose one of {', '.join(GRAINS)}.")
    return grain


def revenue_by_period(store: Store, start: dt.datetime, end: dt.datetime, currency: str | None = None,
                      provider: str | None = None, grain: str = "day") -> pd.DataFrame:
    """One row per period and currency: gross, refunds, dispute_losses, fees, net (minor units), payments."""
    params = {"start": start, "end": end, "currency": currency, "provider": provider, "grain": _check_grain(grain)}
    df = store.query(_SQL, params)
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
    now = store.query(_SQL, {"start": start, "end": end, "currency": currency, "provider": provider,
                             "grain": "month"})
    before = store.query(_SQL, {"start": start - span, "end": start, "currency": currency, "provider": provider,
                                "grain": "month"})
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
    df = store.query(
        "SELECT DISTINCT currency FROM payments WHERE currency IS NOT NULL "
        "AND (:provider IS NULL OR provider = :provider) ORDER BY currency",
        {"provider": provider},
    )
    return df["currency"].tolist()
