"""Replay a stored event through the receiver's own handler (dedupe -> apply -> record), and the 30-day rule.

The stored copy is the event as the API sync stored it (`events.raw`), else the newest delivery whose signature
verified and whose body was kept whole; an unverified body is never replayed. The apply logic lives in
`sync.webhooks.WebhookIntake` only: this module finds the copy, hands it to the process's running intake (or a
short-lived one when no server runs), and explains the answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from sync.normalise import normalise
from sync.store import Store, epoch_now
from sync.webhooks import WebhookIntake, running_intake

# Stripe keeps events (and resends them) for 30 days.
STRIPE_EVENT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class ReplayResult:
    """What one replay did: applied, ignored_type, skipped, newer_kept, resent (Stripe), refused, failed, not_found."""

    event_id: str
    status: str
    message: str
    delivery_outcome: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "ignored_type", "skipped", "newer_kept", "resent")


def too_old_to_resend(created: dt.datetime | int | None, now: int | None = None) -> bool:
    """True when Stripe no longer keeps (or resends) an event created then."""
    if created is None:
        return False
    epoch = created if isinstance(created, int) else int(created.replace(tzinfo=dt.UTC).timestamp())
    return epoch < (epoch_now() if now is None else now) - STRIPE_EVENT_RETENTION_DAYS * 86400


def stored_event(store: Store, event_id: str, provider: str = "stripe") -> dict[str, Any] | None:
    """The stored copy of an event: the synced/applied event row, else the newest verified, whole delivery body."""
    found = store.query("SELECT raw FROM events WHERE provider = :provider AND id = :id",
                        {"provider": provider, "id": event_id})
    if not found.empty and found.iloc[0]["raw"]:
        return orjson.loads(found.iloc[0]["raw"])
    found = store.query(
        """
        SELECT body FROM webhook_deliveries
        WHERE provider = :provider AND event_id = :id AND (signature_ok OR verdict = 'replay')
          AND NOT COALESCE(body_truncated, FALSE)
        ORDER BY received_at DESC
        LIMIT 1
        """,
        {"provider": provider, "id": event_id},
    )
    if found.empty:
        return None
    try:
        event = orjson.loads(found.iloc[0]["body"])
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and event.get("id") == event_id else None


def newer_version(store: Store, event: dict[str, Any], provider: str = "stripe") -> int | None:
    """The stored version of the event's object when it is newer than the event (a re-apply then keeps it)."""
    snapshot = (event.get("data") or {}).get("object")
    rows = normalise(snapshot) if isinstance(snapshot, dict) else []
    if not rows:
        return None
    table, row = rows[0]  # the object's own table (normalise yields it first); a trusted name, not input
    found = store.query(f"SELECT version FROM {table} WHERE provider = :provider AND id = :id",
                        {"provider": provider, "id": row["id"]})
    if found.empty:
        return None
    version = int(found.iloc[0]["version"])
    return version if version > int(event.get("created") or 0) else None


def replay_event(store: Store, event_id: str, *, force: bool = False, actor: str | None = None,
                 provider: str = "stripe", intake: WebhookIntake | None = None) -> ReplayResult:
    """Re-run a stored event through the receiver's handler; skipped when already processed unless `force`."""
    event = stored_event(store, event_id, provider)
    if event is None:
        return ReplayResult(event_id, "not_found", f"No verified stored copy of {event_id}: sync events first, or "
                            "ask Stripe to resend it (within 30 days).")
    newer = newer_version(store, event, provider)
    own = intake or running_intake(store)
    temporary = own is None or own.provider != provider
    handler = WebhookIntake(store, (), provider=provider) if temporary else own
    assert handler is not None
    try:
        status, answer = handler.replay(event, force=force, actor=actor)
    finally:
        if temporary:
            handler.close()
    outcome = answer.get("outcome") or answer.get("error")
    if status >= 300:
        return ReplayResult(event_id, "failed", f"Replay of {event_id} failed: {answer.get('message')} "
                            "(see the delivery log for the error).", outcome)
    if outcome == "duplicate":
        return ReplayResult(event_id, "skipped", f"{event_id} was already processed; skipped (force to re-apply).",
                            outcome)
    if outcome == "ignored_type":
        return ReplayResult(event_id, "ignored_type", f"{event_id} ({event.get('type')}) is a type PayOps does "
                            "not keep; recorded.", outcome)
    if newer is not None:
        when = dt.datetime.fromtimestamp(newer, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return ReplayResult(event_id, "newer_kept", f"{event_id} re-applied; the store already held a newer version "
                            f"of its object (as of {when} UTC), which was kept.", outcome)
    return ReplayResult(event_id, "applied", f"{event_id} ({event.get('type')}) re-applied.", outcome)
