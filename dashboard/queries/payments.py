"""Payment, customer and subscription search (id or id prefix, email, name, last4, amount) and one payment's
detail: refunds, dispute, invoice, customer, events."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from dashboard.filters import Filters
from sync.store import Store

SEARCH_LIMIT = 200

_ID = re.compile(r"^[A-Za-z]{2,6}_[A-Za-z0-9_]+$")
_LAST4 = re.compile(r"^\d{4}$")

_COLUMNS = """
    p.provider, p.id, p.created, p.status, p.amount, p.amount_refunded, p.currency,
    COALESCE(p.email, c.email) AS email, p.card_brand, p.card_last4, p.disputed, p.failure_code,
    p.description, p.customer_id
"""


def search_kind(text: str) -> str:
    """What a search box entry is: 'id', 'email', 'last4', 'text' or '' (nothing typed)."""
    text = text.strip()
    if not text:
        return ""
    if "@" in text:
        return "email"
    if _LAST4.match(text):
        return "last4"
    if _ID.match(text):
        return "id"
    return "text"


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, with its %, _ and backslash escaped so they match themselves
    (use with ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The escape character like_pattern() writes; a backslash, as PostgreSQL's LIKE assumes by default.
_ESCAPE = "ESCAPE '\\'"


def search_payments(store: Store, filters: Filters, text: str = "", amount_minor: int | None = None,
                    amount_currency: str | None = None, limit: int = SEARCH_LIMIT, *,
                    amounts: Sequence[tuple[int, str]] = ()) -> pd.DataFrame:
    """Newest payments matching the search; an id search ignores the date range (an id is unambiguous).

    An id-shaped text finds payments whose id or PaymentIntent id starts with it, or whose customer or invoice
    is it. `amounts` are (minor units, currency) pairs (dashboard/amounts.py reads them from what was typed), any
    of which matches; `amount_minor` with `amount_currency` is one more pair. Text is matched literally: %, _ and
    backslash are no wildcards.
    """
    kind = search_kind(text)
    q = text.strip()
    params: dict[str, Any] = filters.params() | {"q": q, "like": like_pattern(q), "limit": limit}
    where = ["(:provider IS NULL OR p.provider = :provider)", "(:currency IS NULL OR p.currency = :currency)"]
    if kind != "id":
        where.append("p.created >= :start AND p.created < :end")
    if kind == "id":
        # One condition per column, each pushed into its own scan, instead of an OR that reads every column of
        # every row; the outer scan then only matches (provider, id). starts_with, not LIKE: ids hold "_".
        where.append(
            "(p.provider, p.id) IN (SELECT provider, id FROM payments WHERE starts_with(id, :q) "
            "UNION SELECT provider, id FROM payments WHERE starts_with(payment_intent_id, :q) "
            "UNION SELECT provider, id FROM payments WHERE customer_id = :q "
            "UNION SELECT provider, id FROM payments WHERE invoice_id = :q)"
        )
    elif kind == "email":
        where.append(f"(p.email ILIKE :like {_ESCAPE} OR c.email ILIKE :like {_ESCAPE})")
    elif kind == "last4":
        where.append("p.card_last4 = :q")
    elif kind == "text":
        where.append(
            f"(starts_with(p.id, :q) OR p.description ILIKE :like {_ESCAPE} "
            f"OR COALESCE(p.email, c.email) ILIKE :like {_ESCAPE})"
        )
    pairs = [*amounts, *([(amount_minor, amount_currency or "")] if amount_minor is not None else [])]
    if pairs:
        where.append("(" + " OR ".join(f"(p.amount = :a{n} AND p.currency = :c{n})" for n in range(len(pairs)))
                     + ")")
        for n, (minor, currency) in enumerate(pairs):
            params |= {f"a{n}": int(minor), f"c{n}": str(currency).upper()}
    return store.query(
        f"""
        SELECT {_COLUMNS}
        FROM payments AS p
        LEFT JOIN customers AS c ON c.provider = p.provider AND c.id = p.customer_id
        WHERE NOT p.deleted AND {' AND '.join(where)}
        ORDER BY p.created DESC, p.id
        LIMIT :limit
        """,
        params,
    )


def search_customers(store: Store, filters: Filters, text: str, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """Newest customers whose id starts with the text, or whose email or name contains it (any case, literally);
    none for an empty text. Filtered by provider only: a customer is found whatever the dates or currency."""
    q = text.strip()
    return store.query(
        f"""
        SELECT c.provider, c.id, c.email, c.name, c.created, c.delinquent, c.balance, c.currency
        FROM customers AS c
        WHERE NOT c.deleted AND :q <> '' AND (:provider IS NULL OR c.provider = :provider)
          AND (starts_with(c.id, :q) OR c.email ILIKE :like {_ESCAPE} OR c.name ILIKE :like {_ESCAPE})
        ORDER BY c.created DESC, c.id
        LIMIT :limit
        """,
        {"q": q, "like": like_pattern(q), "provider": filters.provider, "limit": limit},
    )


def search_subscriptions(store: Store, filters: Filters, text: str, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """Newest subscriptions whose id starts with the text, whose customer is it, or whose customer's email or name
    contains it (any case, literally); none for an empty text. Filtered by provider and currency, not dates."""
    q = text.strip()
    return store.query(
        f"""
        SELECT s.provider, s.id, s.customer_id, c.email, c.name, s.status, s.currency, s.created,
               s.current_period_end, s.cancel_at_period_end, s.canceled_at
        FROM subscriptions AS s
        LEFT JOIN customers AS c ON c.provider = s.provider AND c.id = s.customer_id
        WHERE NOT s.deleted AND :q <> ''
          AND (:provider IS NULL OR s.provider = :provider) AND (:currency IS NULL OR s.currency = :currency)
          AND (starts_with(s.id, :q) OR s.customer_id = :q
               OR c.email ILIKE :like {_ESCAPE} OR c.name ILIKE :like {_ESCAPE})
        ORDER BY s.created DESC, s.id
        LIMIT :limit
        """,
        {"q": q, "like": like_pattern(q), "provider": filters.provider, "currency": filters.currency,
         "limit": limit},
    )


def payment(store: Store, payment_id: str, provider: str | None = None) -> pd.DataFrame:
    """One payment (by charge or PaymentIntent id) with its card and outcome; empty when unknown."""
    return store.query(
        f"""
        SELECT {_COLUMNS}, p.amount_captured, p.captured, p.refunded, p.failure_message, p.decline_code,
               p.outcome_type, p.outcome_reason, p.network_status, p.advice_code, p.risk_level,
               p.payment_intent_id, p.invoice_id, p.balance_transaction_id, p.payment_method_type,
               p.card_country, p.card_exp_month, p.card_exp_year
        FROM (
            -- Two single-column equalities (each pushed into its scan) rather than one OR over both columns.
            SELECT * FROM payments WHERE id = :id
            UNION ALL
            SELECT * FROM payments WHERE payment_intent_id = :id AND id <> :id
        ) AS p
        LEFT JOIN customers AS c ON c.provider = p.provider AND c.id = p.customer_id
        WHERE (:provider IS NULL OR p.provider = :provider)
        ORDER BY p.created DESC
        LIMIT 1
        """,
        {"id": payment_id, "provider": provider},
    )


def payment_refunds(store: Store, provider: str, payment_id: str) -> pd.DataFrame:
    return store.query(
        """
        SELECT id, created, amount, currency, status, reason, failure_reason FROM refunds
        WHERE provider = :provider AND charge_id = :id AND NOT deleted ORDER BY created, id
        """,
        {"provider": provider, "id": payment_id},
    )


def payment_disputes(store: Store, provider: str, payment_id: str) -> pd.DataFrame:
    return store.query(
        """
        SELECT id, created, amount, currency, status, reason, evidence_due_by, has_evidence
        FROM disputes WHERE provider = :provider AND charge_id = :id AND NOT deleted ORDER BY created, id
        """,
        {"provider": provider, "id": payment_id},
    )


def payment_invoice(store: Store, provider: str, payment_id: str) -> pd.DataFrame:
    """The invoice the payment paid: linked by the invoice's charge, the payment's invoice (older API versions)
    or, since API 2025-03-31 where charges and invoices no longer name each other, their PaymentIntent."""
    return store.query(
        """
        WITH p AS (SELECT invoice_id, payment_intent_id FROM payments WHERE provider = :provider AND id = :id)
        SELECT i.id, i.status, i.billing_reason, i.amount_due, i.amount_paid, i.currency, i.attempt_count,
               i.subscription_id, i.period_start, i.period_end
        FROM invoices AS i
        WHERE i.provider = :provider AND i.charge_id = :id
        UNION
        SELECT i.id, i.status, i.billing_reason, i.amount_due, i.amount_paid, i.currency, i.attempt_count,
               i.subscription_id, i.period_start, i.period_end
        FROM invoices AS i JOIN p ON i.id = p.invoice_id OR i.payment_intent_id = p.payment_intent_id
        WHERE i.provider = :provider
        ORDER BY period_start DESC
        """,
        {"provider": provider, "id": payment_id},
    )


def payment_customer(store: Store, provider: str, customer_id: str) -> pd.DataFrame:
    return store.query(
        """
        SELECT c.id, c.email, c.name, c.created, c.delinquent, c.balance, c.currency,
               (SELECT COUNT(*) FROM payments AS p WHERE p.provider = c.provider AND p.customer_id = c.id)
                   AS payments
        FROM customers AS c WHERE c.provider = :provider AND c.id = :id
        """,
        {"provider": provider, "id": customer_id},
    )


def payment_timeline(store: Store, provider: str, payment_id: str) -> pd.DataFrame:
    """Events about the payment, its PaymentIntent, refunds, disputes and invoice, oldest first."""
    related = store.query(
        """
        WITH p AS (SELECT id, payment_intent_id, invoice_id FROM payments WHERE provider = :provider AND id = :id)
        SELECT id AS object_id FROM p
        UNION SELECT payment_intent_id FROM p
        UNION SELECT invoice_id FROM p
        UNION SELECT id FROM refunds WHERE provider = :provider AND charge_id = :id
        UNION SELECT id FROM disputes WHERE provider = :provider AND charge_id = :id
        UNION SELECT id FROM invoices WHERE provider = :provider AND charge_id = :id
        UNION SELECT i.id FROM invoices AS i JOIN p ON i.payment_intent_id = p.payment_intent_id
              WHERE i.provider = :provider
        """,
        {"provider": provider, "id": payment_id},
    )
    ids = sorted(str(i) for i in related["object_id"].dropna()) or [None]  # IN (NULL): no rows, right columns
    # A list of bound parameters, so the events scan gets a constant IN filter it can push down (a join to the
    # related ids would probe every event).
    names = {f"o{n}": value for n, value in enumerate(ids)}
    return store.query(
        f"""
        SELECT e.created, e.type, e.object_type, e.object_id, e.id AS event_id, e.pending_webhooks, e.request_id
        FROM events AS e
        WHERE e.provider = :provider AND e.object_id IN ({", ".join(":" + n for n in names)})
        ORDER BY e.created, e.id
        """,
        {"provider": provider, **names},
    )
