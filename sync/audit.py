"""The append-only audit log: hash-chained append, verification that names the first bad entry, and export."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from sync.action_schema import audit_log, create_tables
from sync.errors import StoreError
from sync.store import Store, utcnow

GENESIS = "0" * 64
_FIELDS = ("seq", "at", "actor", "role", "action", "target", "params", "provider_request_id", "result", "error")
_append_lock = threading.Lock()


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: the one serialisation hashed and compared."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return canonical_json(value)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical JSON of the entry's fields); `at` as ISO text with microseconds."""
    body = {name: entry.get(name) for name in _FIELDS}
    at = body["at"]
    if isinstance(at, dt.datetime):
        body["at"] = at.replace(tzinfo=None).isoformat(timespec="microseconds")
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def append(store: Store, *, actor: str | None, role: str | None, action: str, target: str | None = None,
           params: Any = None, provider_request_id: str | None = None, result: Any = None,
           error: str | None = None) -> int:
    """Append one entry chained to the previous one; returns its seq.

    Appends are serialised in-process by a lock and across processes by the seq primary key (a conflicting
    writer retries on the new head).
    """
    create_tables(store.engine)
    entry: dict[str, Any] = {
        "actor": actor, "role": role, "action": action, "target": target, "params": _text(params),
        "provider_request_id": provider_request_id, "result": _text(result), "error": error,
    }
    for _ in range(5):
        with _append_lock:
            try:
                with store.begin() as conn:
                    head = conn.execute(
                        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
                    ).first()
                    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
                    row = entry | {"seq": seq, "at": utcnow()}
                    row["prev_hash"] = prev
                    row["hash"] = entry_hash(prev, row)
                    conn.execute(insert(audit_log).values(**row))
                store.generation += 1  # pages key their caches on it: the Audit page shows the entry at once
                return seq
            except (IntegrityError, DBAPIError) as exc:
                if "constraint" not in str(exc).lower() and "conflict" not in str(exc).lower():
                    raise StoreError(f"Could not write the audit log: {exc}. Check the store.") from exc
    raise StoreError("Could not append to the audit log: other writers kept winning. Try again.")


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    checked: int
    bad_seq: int | None
    message: str


def verify(store: Store) -> AuditCheck:
    """Walk the chain from seq 1; the first altered, deleted or reordered entry is named by its seq.

    Removing entries from the end leaves a valid shorter chain: compare `head()` with a copy kept elsewhere
    (an export, a ticket) to catch that.
    """
    create_tables(store.engine)
    prev, expected, checked = GENESIS, 1, 0
    with store.engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    for row in rows:
        entry = dict(row)
        if entry["seq"] != expected:
            bad = expected if entry["seq"] > expected else entry["seq"]
            return AuditCheck(False, checked, bad, f"Audit entry {bad} is missing or out of order: the log was "
                              "edited (an entry deleted or moved).")
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            return AuditCheck(False, checked, entry["seq"], f"Audit entry {entry['seq']} was altered after it was "
                              "written (its contents no longer match its hash).")
        if entry["prev_hash"] != prev:
            return AuditCheck(False, checked, entry["seq"], f"Audit entry {entry['seq']} does not follow entry "
                              f"{entry['seq'] - 1}: an entry before it was altered, deleted or reordered.")
        prev, expected, checked = entry["hash"], expected + 1, checked + 1
    return AuditCheck(True, checked, None, f"All {checked} audit entries are intact.")


def head(store: Store) -> tuple[int, str]:
    """(seq, hash) of the newest entry: keep it outside the store to detect a truncated log later."""
    create_tables(store.engine)
    with store.engine.connect() as conn:
        row = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def count(store: Store) -> int:
    create_tables(store.engine)
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def export(store: Store, *, since: dt.datetime | None = None, actor: str | None = None) -> pd.DataFrame:
    """The log (oldest first) as a DataFrame, hashes included so an exported CSV can be re-verified."""
    create_tables(store.engine)
    query = select(audit_log).order_by(audit_log.c.seq)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    with store.engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
