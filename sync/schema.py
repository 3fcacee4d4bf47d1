"""The store's tables (SQLAlchemy Core): typed columns beside the provider's raw JSON, keyed (provider, id)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Every provider object table starts with these; `version` is the snapshot's as-of time (event `created`
# for event payloads, the fetch time for list results), so only a newer snapshot replaces an older one.
# Time columns hold naive UTC timestamps.


def _object_table(name: str, *columns: Column) -> Table:
    return Table(
        name,
        metadata,
        Column("provider", String, primary_key=True),
        Column("id", String, primary_key=True),
        Column("created", DateTime),
        Column("livemode", Boolean),
        Column("version", BigInteger, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        *columns,
        # The provider's JSON, kept whole so a new column can be derived without a re-sync. DuckDB stores it
        # zstd-compressed (see sync/store.py): ~3 KB objects shrink ~10x and bulk loads spend far less CPU
        # than with DuckDB's default string compression analysis.
        Column("raw", Text, info={"duckdb_compression": "zstd"}),
    )


payments = _object_table(
    "payments",
    Column("amount", BigInteger),
    Column("amount_captured", BigInteger),
    Column("amount_refunded", BigInteger),
    Column("currency", String(3)),
    Column("status", String),  # unified: succeeded, pending, failed, canceled
    Column("provider_status", String),
    Column("captured", Boolean),
    Column("refunded", Boolean),
    Column("disputed", Boolean),
    Column("failure_code", String),
    Column("failure_message", String),
    Column("decline_code", String),
    Column("outcome_type", String),
    Column("outcome_reason", String),
    Column("network_status", String),
    Column("advice_code", String),
    Column("risk_level", String),
    Column("customer_id", String),
    Column("email", String),
    Column("description", String),
    Column("payment_intent_id", String),
    Column("invoice_id", String),
    Column("balance_transaction_id", String),
    Column("payment_method_type", String),
    Column("card_brand", String),
    Column("card_country", String),
    Column("card_last4", String(4)),
    Column("card_exp_month", Integer),
    Column("card_exp_year", Integer),
    Column("card_fingerprint", String),
)

refunds = _object_table(
    "refunds",
    Column("charge_id", String),
    Column("payment_intent_id", String),
    Column("amount", BigInteger),
    Column("currency", String(3)),
    Column("status", String),
    Column("reason", String),
    Column("failure_reason", String),
    Column("balance_transaction_id", String),
)

disputes = _object_table(
    "disputes",
    Column("charge_id", String),
    Column("payment_intent_id", String),
    Column("amount", BigInteger),
    Column("currency", String(3)),
    Column("status", String),
    Column("reason", String),
    Column("evidence_due_by", DateTime),
    Column("has_evidence", Boolean),
    Column("past_due", Boolean),
    Column("submission_count", Integer),
    Column("is_charge_refundable", Boolean),
    Column("network_reason_code", String),
    Column("card_brand", String),
)

customers = _object_table(
    "customers",
    Column("email", String),
    Column("name", String),
    Column("currency", String(3)),
    Column("delinquent", Boolean),
    Column("balance", BigInteger),
)

subscriptions = _object_table(
    "subscriptions",
    Column("customer_id", String),
    Column("status", String),
    Column("currency", String(3)),
    Column("start_date", DateTime),
    Column("current_period_start", DateTime),
    Column("current_period_end", DateTime),
    Column("trial_start", DateTime),
    Column("trial_end", DateTime),
    Column("cancel_at_period_end", Boolean),
    Column("cancel_at", DateTime),
    Column("canceled_at", DateTime),
    Column("ended_at", DateTime),
    Column("latest_invoice_id", String),
    Column("collection_method", String),
    Column("coupon_id", String),
    Column("coupon_percent_off", String),  # decimal text, e.g. "25.5": a rate, kept exact
    Column("coupon_amount_off", BigInteger),
    Column("coupon_currency", String(3)),
    Column("coupon_duration", String),
    Column("item_count", Integer),
)

subscription_items = _object_table(
    "subscription_items",
    Column("subscription_id", String),
    Column("price_id", String),
    Column("product_id", String),
    Column("unit_amount", BigInteger),
    Column("currency", String(3)),
    Column("interval", String),
    Column("interval_count", Integer),
    Column("usage_type", String),
    Column("billing_scheme", String),
    Column("quantity", BigInteger),
)

invoices = _object_table(
    "invoices",
    Column("customer_id", String),
    Column("subscription_id", String),
    Column("status", String),
    Column("billing_reason", String),
    Column("collection_method", String),
    Column("currency", String(3)),
    Column("amount_due", BigInteger),
    Column("amount_paid", BigInteger),
    Column("amount_remaining", BigInteger),
    Column("total", BigInteger),
    Column("attempt_count", Integer),
    Column("attempted", Boolean),
    Column("next_payment_attempt", DateTime),
    Column("period_start", DateTime),
    Column("period_end", DateTime),
    Column("due_date", DateTime),
    Column("paid_at", DateTime),
    Column("charge_id", String),
    Column("payment_intent_id", String),
    Column("last_error_code", String),
)

balance_transactions = _object_table(
    "balance_transactions",
    Column("amount", BigInteger),
    Column("fee", BigInteger),
    Column("net", BigInteger),
    Column("currency", String(3)),
    Column("type", String),
    Column("reporting_category", String),
    Column("status", String),
    Column("source_id", String),
    Column("available_on", DateTime),
    Column("exchange_rate", String),  # decimal text: a rate, not money
)

events = _object_table(
    "events",
    Column("type", String),
    Column("api_version", String),
    Column("object_type", String),
    Column("object_id", String),
    Column("pending_webhooks", Integer),
    Column("request_id", String),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("provider", String, primary_key=True),
    Column("resource", String, primary_key=True),
    Column("backfill_from", BigInteger),  # epoch seconds the backfill started at
    Column("backfill_through", BigInteger),  # epoch seconds reached (exclusive upper bound done)
    Column("backfill_done", Boolean, default=False),
    Column("event_cursor", BigInteger),  # created of the newest applied event (resource 'events')
    Column("event_cursor_id", String),
    Column("last_synced_at", DateTime),
    Column("last_rows", BigInteger),
    Column("last_error", Text),
    Column("gap_detected_at", DateTime),
    Column("gap_message", Text),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", String, primary_key=True),
    Column("provider", String),
    Column("mode", String),  # full, incremental, demo, since
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("status", String),  # running, succeeded, failed
    Column("rows", BigInteger),
    Column("counts", Text),  # JSON {resource: rows}
    Column("error", Text),
    Column("pid", Integer),
)

OBJECT_TABLES: dict[str, Table] = {
    t.name: t
    for t in (payments, refunds, disputes, customers, subscriptions, subscription_items, invoices,
              balance_transactions, events)
}
