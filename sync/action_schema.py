"""The guarded-action tables: `actions` (the journal of provider writes) and `audit_log` (append-only, HMAC-chained;
its key and head record live outside the store, see sync/audit.py)."""

from __future__ import annotations

import weakref

from sqlalchemy import BigInteger, Column, DateTime, Engine, Integer, String, Table, Text

from sync.schema import metadata

# One row per action identity; `id` and `idempotency_key` derive from that identity (kind, target, parameters,
# generation), so a double click, a rerun or a retry after a timeout finds the same row and the same key.
actions = Table(
    "actions",
    metadata,
    Column("id", String, primary_key=True),
    Column("provider", String, nullable=False),
    Column("kind", String, nullable=False),  # refund, invoice_retry, dispute_update, dispute_close, event_retry
    Column("target_id", String, nullable=False),
    Column("params", Text),  # canonical JSON
    Column("identity", String, nullable=False),  # hash of (provider, kind, target, params) without generation
    Column("generation", Integer, nullable=False, default=0),
    Column("idempotency_key", String, nullable=False),
    # proposed, pending_approval, approved, running, succeeded, failed, reconciled, expired
    Column("status", String, nullable=False),
    Column("amount", BigInteger),  # minor units, when the action moves money
    Column("currency", String(3)),
    Column("requested_by", String),
    Column("role", String),
    Column("approved_by", String),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    Column("expires_at", DateTime),  # for pending approvals
    Column("attempts", Integer, nullable=False, default=0),
    Column("provider_request_id", String),
    Column("result", Text),  # JSON summary of the provider's answer
    Column("error", Text),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("at", DateTime, nullable=False),  # naive UTC
    Column("actor", String),
    Column("role", String),
    Column("action", String),  # e.g. refund.executed, refund.refused, invoice_retry.approval_requested
    Column("target", String),
    Column("params", Text),  # canonical JSON
    Column("provider_request_id", String),
    Column("result", Text),
    Column("error", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

ACTION_TABLES = (actions, audit_log)


_created: weakref.WeakSet[Engine] = weakref.WeakSet()


def create_tables(engine: Engine) -> None:
    """Create the action tables if missing (cheap to call before every use: once per engine)."""
    if engine in _created:
        return
    for table in ACTION_TABLES:
        table.create(engine, checkfirst=True)
    _created.add(engine)
