"""The dispute queue (what needs a response first, by evidence due date) and monthly dispute ratios against the
Visa and Mastercard programmes."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.filters import Filters
from sync.store import Store

OPEN_STATUSES = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")
DUE_SOON_HOURS = 72

# Visa VAMP: excessive at 2.2% until March 2026, 1.5% from April 2026, once the count passes 1,500 a month.
VISA_COUNT_FLOOR = 1500
VISA_THRESHOLD_BEFORE = 0.022
VISA_THRESHOLD_FROM = 0.015
VISA_THRESHOLD_CHANGE = dt.date(2026, 4, 1)
# Mastercard: monitored at >= 1.0%, ECM at >= 1.5%, HECM at >= 3.0%, each with >= 100 chargebacks a month.
MASTERCARD_COUNT_FLOOR = 100
MASTERCARD_LEVELS = ((0.03, "HECM (excessive, >= 3.0%)"), (0.015, "ECM (excessive, >= 1.5%)"),
                     (0.01, "monitored (>= 1.0%)"))


# The queue's buckets, in the order they are worked: a response is due (passed, within 72 h, later), then card
# network inquiries, then disputes waiting on the network's decision, then decided ones.
OVERDUE, DUE_SOON, NEEDS_RESPONSE, INQUIRY, UNDER_REVIEW = (
    "Overdue", "Due within 72 h", "Needs response", "Inquiry", "Under review")
OPEN_BUCKETS = (OVERDUE, DUE_SOON, NEEDS_RESPONSE, INQUIRY, UNDER_REVIEW)
CLOSED_BUCKETS = {"won": "Won", "lost": "Lost", "warning_closed": "Inquiry closed", "prevented": "Prevented",
                  "charge_refunded": "Charge refunded"}  # any other closed status: "Closed"
_RESPONDING = ("needs_response", "warning_needs_response")


def dispute_queue(store: Store, filters: Filters, now: dt.datetime) -> pd.DataFrame:
    """Disputes in the order they need action, with a bucket, days left and whether each is still open.

    Order: needing a response (bucket 'Overdue', then 'Due within 72 h', then 'Needs response'), soonest deadline
    first and none last; inquiries ('Inquiry', warning_needs_response) by deadline; 'Under review' (both kinds),
    waiting longest first; then closed ones ('Won', 'Lost', 'Inquiry closed', ...), newest first. days_left is
    NULL once nothing can be sent (under review, closed). Open disputes are listed whenever they were opened;
    closed ones only when opened inside the date range.
    """
    closed = " ".join(f"WHEN '{status}' THEN '{label}'" for status, label in CLOSED_BUCKETS.items())
    rank = " ".join(f"WHEN '{bucket}' THEN {n}" for n, bucket in enumerate(OPEN_BUCKETS))
    return store.query(
        f"""
        WITH q AS (
            SELECT d.*,
                   CASE
                       WHEN d.status = 'needs_response' AND (d.evidence_due_by < :now OR d.past_due)
                           THEN '{OVERDUE}'
                       WHEN d.status = 'needs_response' AND d.evidence_due_by < :now + INTERVAL '{DUE_SOON_HOURS} hours'
                           THEN '{DUE_SOON}'
                       WHEN d.status = 'needs_response' THEN '{NEEDS_RESPONSE}'
                       WHEN d.status = 'warning_needs_response' THEN '{INQUIRY}'
                       WHEN d.status IN ('under_review', 'warning_under_review') THEN '{UNDER_REVIEW}'
                       ELSE CASE d.status {closed} ELSE 'Closed' END
                   END AS bucket
            FROM disputes AS d
            WHERE NOT d.deleted
              AND (d.status IN {OPEN_STATUSES} OR (d.created >= :start AND d.created < :end))
              AND (:provider IS NULL OR d.provider = :provider) AND (:currency IS NULL OR d.currency = :currency)
        )
        SELECT d.provider, d.id, d.charge_id, d.created, d.status, d.bucket, d.status IN {OPEN_STATUSES} AS is_open,
               d.reason, d.amount, d.currency, d.evidence_due_by,
               CASE WHEN d.status IN {_RESPONDING}
                    THEN ROUND(EXTRACT(EPOCH FROM (d.evidence_due_by - :now)) / 86400.0, 1) END AS days_left,
               d.has_evidence, COALESCE(LOWER(d.card_brand), p.card_brand) AS card_brand,
               COALESCE(p.email, c.email) AS email
        FROM q AS d
        LEFT JOIN payments AS p ON p.provider = d.provider AND p.id = d.charge_id
        LEFT JOIN customers AS c ON c.provider = p.provider AND c.id = p.customer_id
        ORDER BY CASE d.bucket {rank} ELSE {len(OPEN_BUCKETS)} END,
                 CASE WHEN d.status IN {_RESPONDING} THEN d.evidence_due_by END ASC NULLS LAST,
                 CASE WHEN d.bucket = '{UNDER_REVIEW}' THEN d.created END ASC NULLS LAST,
                 d.created DESC, d.id
        """,
        filters.params() | {"now": now},
    )


def _month(value: dt.date) -> dt.date:
    return value.replace(day=1)


def _previous_month(value: dt.date) -> dt.date:
    return (_month(value) - dt.timedelta(days=1)).replace(day=1)


def visa_status(month: dt.date, disputes: int, ratio: float | None) -> tuple[float, str]:
    threshold = VISA_THRESHOLD_FROM if month >= VISA_THRESHOLD_CHANGE else VISA_THRESHOLD_BEFORE
    if ratio is None or ratio < threshold:
        return threshold, "ok"
    if disputes > VISA_COUNT_FLOOR:
        return threshold, f"excessive (>= {threshold:.1%})"
    return threshold, f"ratio above {threshold:.1%}, count under {VISA_COUNT_FLOOR:,}"


def mastercard_status(disputes: int, ratio: float | None) -> tuple[float, str]:
    if ratio is not None and disputes >= MASTERCARD_COUNT_FLOOR:
        for level, label in MASTERCARD_LEVELS:
            if ratio >= level:
                return MASTERCARD_LEVELS[1][0], label
    if ratio is not None and ratio >= MASTERCARD_LEVELS[-1][0]:
        return MASTERCARD_LEVELS[1][0], f"ratio above 1.0%, count under {MASTERCARD_COUNT_FLOOR}"
    return MASTERCARD_LEVELS[1][0], "ok"


def dispute_ratios(store: Store, filters: Filters) -> pd.DataFrame:
    """Per month in the range and network (visa, mastercard): disputes, transactions, ratio, threshold, status.

    Visa (VAMP, disputes only: fraud reports are not synced) = the month's disputes / the month's settled
    card-not-present transactions. Mastercard = the month's chargebacks / the previous month's transactions.
    Disputes are counted in the month they were opened; counts, not amounts, so currencies may mix.
    """
    first = _previous_month(filters.start)
    params = filters.params() | {"from": dt.datetime.combine(first, dt.time.min)}
    disputes = store.query(
        """
        SELECT date_trunc('month', d.created) AS month, COALESCE(LOWER(d.card_brand), p.card_brand) AS network,
               COUNT(*) AS n
        FROM disputes AS d LEFT JOIN payments AS p ON p.provider = d.provider AND p.id = d.charge_id
        WHERE NOT d.deleted AND d.created >= :from AND d.created < :end
          AND (:provider IS NULL OR d.provider = :provider) AND (:currency IS NULL OR d.currency = :currency)
        GROUP BY 1, 2
        """,
        params,
    )
    payments = store.query(
        """
        SELECT date_trunc('month', created) AS month, card_brand AS network, COUNT(*) AS n
        FROM payments
        WHERE NOT deleted AND status = 'succeeded' AND created >= :from AND created < :end
          AND (:provider IS NULL OR provider = :provider) AND (:currency IS NULL OR currency = :currency)
        GROUP BY 1, 2
        """,
        params,
    )

    def counts(df: pd.DataFrame) -> dict[tuple[dt.date, str], int]:
        return {(pd.Timestamp(m).date(), str(n)): int(c) for m, n, c in zip(df["month"], df["network"], df["n"],
                                                                             strict=True)}

    d_counts, p_counts = counts(disputes), counts(payments)
    rows = []
    month = _month(filters.start)
    while month <= filters.end:
        for network in ("visa", "mastercard"):
            n = d_counts.get((month, network), 0)
            base_month = month if network == "visa" else _previous_month(month)
            base = p_counts.get((base_month, network), 0)
            ratio = n / base if base else None
            threshold, status = (visa_status(month, n, ratio) if network == "visa"
                                 else mastercard_status(n, ratio))
            rows.append({"month": month, "network": network, "disputes": n, "transactions": base,
                         "ratio": ratio, "threshold": threshold, "status": status})
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return pd.DataFrame(rows, columns=["month", "network", "disputes", "transactions", "ratio", "threshold",
                                       "status"])
