"""The `webhook_deliveries` table: every request the webhook receiver saw, valid or not, and what it answered."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Float, Index, Integer, String, Table, Text

from sync.schema import metadata

# One row per HTTP delivery (a retried event gets one row per attempt). Nothing secret is kept: the
# Stripe-Signature header keeps its timestamp only, Authorization/Cookie are dropped, and the webhook
# secret that matched is identified by its position in the configured list, never by value.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String, primary_key=True),  # whd_<uuid hex>
    Column("provider", String, nullable=False),
    Column("received_at", DateTime, nullable=False),  # naive UTC, microseconds
    Column("remote_addr", String),
    Column("event_id", String),
    Column("event_type", String),
    Column("event_created", DateTime),
    Column("livemode", Boolean),
    Column("signature_ok", Boolean, nullable=False),
    Column("signature_timestamp", BigInteger),  # the header's t=, epoch seconds
    Column("secret_index", Integer),  # which configured secret verified it (0 = first)
    # ok, bad_signature, stale_timestamp, future_timestamp, missing_header, malformed_header, duplicate_timestamp,
    # no_v1_signature, empty_body, not_json, not_an_event, too_large, wrong_content_type
    Column("verdict", String, nullable=False),
    Column("status_code", Integer, nullable=False),
    # applied, duplicate, ignored_type, apply_error, rejected, store_error
    Column("outcome", String, nullable=False),
    Column("error", Text),  # one-line summary, no stack trace
    Column("duration_ms", Float),  # received -> decided (the durable write of this row is not included)
    Column("headers", Text),  # JSON object, secrets removed
    Column("body", Text),  # bounded prefix of the raw body
    Column("body_bytes", BigInteger),  # size received (or announced, when refused unread)
    Column("body_truncated", Boolean),
    Column("trace", Text),  # JSON list of processing steps with timings
)

Index("ix_webhook_deliveries_event", webhook_deliveries.c.provider, webhook_deliveries.c.event_id)
Index("ix_webhook_deliveries_received", webhook_deliveries.c.received_at)
