"""The append-only audit log: an HMAC-SHA256 chain under PAYOPS_AUDIT_KEY, anchored by a head record kept outside
the store (so deleting the newest entries is caught), verification that names the first bad entry, the one-time
re-anchoring of an older unkeyed chain, and export.

Where the key and the head live: for a DuckDB file `data/payops.duckdb`, `data/payops.duckdb.audit-key` (generated on
first use when PAYOPS_AUDIT_KEY is unset, mode 0600) and `data/payops.duckdb.audit-head`; for any other URL
(PostgreSQL), `data/payops-<16 hex of the URL without its password>.audit-key|.audit-head` under the working
directory; for an in-memory store, this process's memory. The key never reaches the store, a log line or the UI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
import tomllib
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from sync.action_schema import audit_log, create_tables
from sync.errors import StoreError
from sync.store import Store, utcnow

GENESIS = "0" * 64
KEY_ENV = "PAYOPS_AUDIT_KEY"
MIN_KEY_CHARS = 32
REKEY_ACTION = "audit.rekeyed"
_FIELDS = ("seq", "at", "actor", "role", "action", "target", "params", "provider_request_id", "result", "error")
# Serialises appends, head writes and verification in this process; across processes the seq primary key decides.
_append_lock = threading.RLock()


class AuditChainError(StoreError):
    """The audit chain does not verify (or its key cannot be read): nothing is appended to it."""


@dataclass(frozen=True)
class AuditCheck:
    """`state`: verified, edited (an entry no longer matches the chain) or missing (entries gone from the end)."""

    ok: bool
    checked: int
    bad_seq: int | None
    message: str
    state: str = "verified"


@dataclass(frozen=True)
class _Head:
    count: int
    hash: str
    keyed_from: int  # entries before this seq are an older PayOps's unkeyed sha256 chain


class _Place:
    """One store's key and head: files beside the store, or memory for an in-memory store."""

    def __init__(self, store: Store) -> None:
        self.base: Path | None = _base_path(store)
        self.key: bytes | None = None
        self.key_source = ""
        self.memory_head: _Head | None = None

    @property
    def head_path(self) -> Path | None:
        return None if self.base is None else self.base.with_name(self.base.name + ".audit-head")

    @property
    def key_path(self) -> Path | None:
        return None if self.base is None else self.base.with_name(self.base.name + ".audit-key")


_places: weakref.WeakKeyDictionary[Store, _Place] = weakref.WeakKeyDictionary()


def _base_path(store: Store) -> Path | None:
    if store.is_duckdb:
        return None if store.path in (None, ":memory:") else Path(str(store.path))
    url = make_url(store.url)
    # Hashed, not spelled out: a URL's parts are free text and must not become a path.
    ident = f"{url.drivername}://{url.username or ''}@{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return Path("data") / f"payops-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def _place(store: Store) -> _Place:
    place = _places.get(store)
    if place is None:
        place = _places[store] = _Place(store)
    return place


# -- the key -----------------------------------------------------------------------------------------------------

def _configured_key() -> tuple[str | None, str]:
    """PAYOPS_AUDIT_KEY from the environment, else from .streamlit/secrets.toml (the environment wins)."""
    value = os.environ.get(KEY_ENV)
    if value:
        return value, f"{KEY_ENV} (environment)"
    from sync.settings import SECRETS_PATH

    if SECRETS_PATH.exists():
        try:
            value = tomllib.loads(SECRETS_PATH.read_text()).get(KEY_ENV)
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise AuditChainError(f"Could not read {KEY_ENV} from {SECRETS_PATH}: {exc}.") from exc
        if value:
            return str(value), f"{KEY_ENV} ({SECRETS_PATH})"
    return None, ""


def _key(store: Store) -> bytes:
    place = _place(store)
    if place.key is not None:
        return place.key
    value, source = _configured_key()
    if value is not None:
        if len(value) < MIN_KEY_CHARS:
            raise AuditChainError(f"{KEY_ENV} must be at least {MIN_KEY_CHARS} characters (e.g. "
                                  "`python -c 'import secrets; print(secrets.token_hex(32))'`).")
        place.key, place.key_source = value.encode(), source
        return place.key
    path = place.key_path
    if path is None:
        place.key, place.key_source = secrets.token_hex(32).encode(), "this process's memory (in-memory store)"
        return place.key
    place.key, place.key_source = _key_file(path), f"the key file {path} (or set {KEY_ENV})"
    return place.key


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_hex(32).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(path.parent)
    mode = path.stat().st_mode
    if mode & 0o077:
        raise AuditChainError(f"The audit key file {path} is readable by other users: `chmod 600 {path}`.")
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_CHARS:
        raise AuditChainError(f"The audit key file {path} is damaged (shorter than {MIN_KEY_CHARS} characters).")
    return key


def forget_key(store: Store) -> None:
    """Read the key again on next use (after PAYOPS_AUDIT_KEY changed)."""
    place = _place(store)
    place.key, place.key_source = None, ""


# -- the head record ---------------------------------------------------------------------------------------------

def _head_mac(key: bytes, head: _Head) -> str:
    return hmac.new(key, f"head:{head.count}:{head.hash}:{head.keyed_from}".encode(), hashlib.sha256).hexdigest()


def _load_head(store: Store, key: bytes) -> _Head | None:
    place = _place(store)
    path = place.head_path
    if path is None:
        return place.memory_head
    try:
        raw = orjson.loads(path.read_bytes())
        head = _Head(int(raw["count"]), str(raw["hash"]), int(raw["keyed_from"]))
        mac = str(raw["mac"])
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise AuditChainError(f"The audit head record {path} is unreadable ({exc}): it was damaged or edited."
                              ) from exc
    if not hmac.compare_digest(mac, _head_mac(key, head)):
        raise AuditChainError(f"The audit head record {path} does not verify under the audit key: it was edited, or "
                              f"the key changed (the key is {place.key_source}).")
    return head


def _write_head(store: Store, key: bytes, head: _Head) -> None:
    """Replace the head record atomically: a crash leaves the old record or the new one, never half of one."""
    place = _place(store)
    path = place.head_path
    if path is None:
        place.memory_head = head
        return
    body = orjson.dumps({"count": head.count, "hash": head.hash, "keyed_from": head.keyed_from,
                         "mac": _head_mac(key, head)})
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- hashing -----------------------------------------------------------------------------------------------------

def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: the one serialisation hashed and compared."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return canonical_json(value)


def _body(prev_hash: str, entry: dict[str, Any]) -> bytes:
    body = {name: entry.get(name) for name in _FIELDS}
    at = body["at"]
    if isinstance(at, dt.datetime):
        body["at"] = at.replace(tzinfo=None).isoformat(timespec="microseconds")
    return (prev_hash + canonical_json(body)).encode()


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The old unkeyed rule, sha256(prev_hash + canonical JSON of the fields): verified only for entries an older
    PayOps wrote before the chain was re-anchored under a key."""
    return hashlib.sha256(_body(prev_hash, entry)).hexdigest()


def entry_mac(key: bytes, prev_hash: str, entry: dict[str, Any]) -> str:
    """HMAC-SHA256(key, prev_hash + canonical JSON of the fields); `at` as ISO text with microseconds."""
    return hmac.new(key, _body(prev_hash, entry), hashlib.sha256).hexdigest()


def _expected(key: bytes, keyed_from: int, entry: dict[str, Any]) -> str:
    if entry["seq"] < keyed_from:
        return entry_hash(entry["prev_hash"], entry)
    return entry_mac(key, entry["prev_hash"], entry)


# -- append ------------------------------------------------------------------------------------------------------

def append(store: Store, *, actor: str | None, role: str | None, action: str, target: str | None = None,
           params: Any = None, provider_request_id: str | None = None, result: Any = None,
           error: str | None = None) -> int:
    """Append one entry chained to the previous one, then move the head record; returns its seq.

    Refused (AuditChainError) when the table's end does not match the head record: chaining onto a truncated or
    edited log would hide it. Appends are serialised in-process by a lock and across processes by the seq
    primary key (a conflicting writer retries on the new head).
    """
    create_tables(store.engine)
    entry: dict[str, Any] = {
        "actor": actor, "role": role, "action": action, "target": target, "params": _text(params),
        "provider_request_id": provider_request_id, "result": _text(result), "error": error,
    }
    for _ in range(5):
        with _append_lock:
            key = _key(store)
            head = _load_head(store, key)
            if head is None:
                check = _verify_locked(store, key)  # creates the head, or re-anchors an older unkeyed chain
                if not check.ok:
                    raise AuditChainError(check.message)
                head = _load_head(store, key)
                assert head is not None
            try:
                seq, new_hash = _insert(store, key, head, entry)
            except (IntegrityError, DBAPIError) as exc:
                if "constraint" not in str(exc).lower() and "conflict" not in str(exc).lower():
                    raise StoreError(f"Could not write the audit log: {exc}. Check the store.") from exc
                continue
            store.generation += 1  # pages key their caches on it: the Audit page shows the entry at once
            # After the commit: a crash here leaves the head one entry behind, which verify accepts (that entry
            # verifies under the key) and brings up to date. Never before: a head ahead of the table is truncation.
            _write_head(store, key, _Head(seq, new_hash, head.keyed_from))
            return seq
    raise StoreError("Could not append to the audit log: other writers kept winning. Try again.")


def _insert(store: Store, key: bytes, head: _Head, entry: dict[str, Any]) -> tuple[int, str]:
    with store.begin() as conn:
        tail = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).mappings().first()
        tail_seq = int(tail["seq"]) if tail else 0
        if tail_seq < head.count:
            raise AuditChainError(_missing_message(tail_seq, head))
        if head.count:
            anchored = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == head.count)).scalar()
            if anchored != head.hash:
                raise AuditChainError(_edited_message(head.count, "it no longer matches the head record kept "
                                                      "outside the store"))
        if tail is not None and not hmac.compare_digest(_expected(key, head.keyed_from, dict(tail)), tail["hash"]):
            raise AuditChainError(_edited_message(tail_seq, "its contents no longer match its hash"))
        seq, prev = (tail_seq + 1, tail["hash"]) if tail else (1, GENESIS)
        row = entry | {"seq": seq, "at": utcnow(), "prev_hash": prev}
        row["hash"] = entry_mac(key, prev, row)
        conn.execute(insert(audit_log).values(**row))
    return seq, row["hash"]


# -- verify ------------------------------------------------------------------------------------------------------

def _edited_message(seq: int, why: str) -> str:
    return (f"Edited at entry {seq}: {why}. Entries before {seq} are intact; treat the log from entry {seq} on as "
            "untrustworthy and compare it with your last exported copy.")


def _missing_message(ends_at: int, head: _Head) -> str:
    return (f"Entries missing after {ends_at}: the head record kept outside the store says the log had "
            f"{head.count} entries, and the table ends at entry {ends_at}. Entries 1-{ends_at} are intact; compare "
            "with your last exported copy to see what was removed.")


def _walk(rows: list[dict[str, Any]], key: bytes, keyed_from: int) -> tuple[int, int | None, str]:
    """(entries that verify, first bad seq or None, why it is bad)."""
    prev, expected = GENESIS, 1
    for entry in rows:
        if entry["seq"] != expected:
            bad = min(expected, entry["seq"])
            return expected - 1, bad, f"entry {bad} is missing or out of order (an entry was deleted or moved)"
        if not hmac.compare_digest(_expected(key, keyed_from, entry), entry["hash"]):
            return expected - 1, expected, "its contents no longer match its hash"
        if entry["prev_hash"] != prev:
            return expected - 1, expected, f"it does not follow entry {expected - 1} (an entry before it was " \
                                           "altered, deleted or reordered)"
        prev, expected = entry["hash"], expected + 1
    return expected - 1, None, ""


def verify(store: Store) -> AuditCheck:
    """Walk the chain from seq 1 under the key, then compare its end with the head record kept outside the store.

    The first altered, deleted, reordered or forged entry is named ("edited at entry N"); a table that ends before
    the head record is truncation ("entries missing after N"). A head record BEHIND the table is not tampering when
    the entries after it verify under the key (a crash between a commit and its head write): it is brought up to
    date. The first run with a key re-anchors an older unkeyed chain once (see `_verify_locked`).
    """
    create_tables(store.engine)
    with _append_lock:
        return _verify_locked(store, _key(store))


def _rows(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()]


def _edited(checked: int, bad: int, why: str, keyed_from: int, place: _Place) -> AuditCheck:
    if bad == keyed_from:
        why += f" (or the audit key changed: it is {place.key_source})"
    return AuditCheck(False, checked, bad, _edited_message(bad, why), "edited")


def _verify_locked(store: Store, key: bytes) -> AuditCheck:
    place = _place(store)
    try:
        head = _load_head(store, key)  # before the rows: rows read later can only be ahead of it, never behind
    except AuditChainError as exc:
        return AuditCheck(False, 0, None, f"Edited at the head record: {exc}", "edited")
    rows = _rows(store)
    if head is None:
        return _anchor(store, key, rows)
    checked, bad, why = _walk(rows, key, head.keyed_from)
    if bad is not None:
        return _edited(checked, bad, why, head.keyed_from, place)
    ends_at = len(rows)
    if ends_at < head.count:
        return AuditCheck(False, ends_at, ends_at + 1, _missing_message(ends_at, head), "missing")
    if head.count and rows[head.count - 1]["hash"] != head.hash:
        return AuditCheck(False, head.count - 1, head.count, _edited_message(
            head.count, "it no longer matches the head record kept outside the store"), "edited")
    note = ""
    if ends_at > head.count:
        _write_head(store, key, _Head(ends_at, rows[-1]["hash"], head.keyed_from))
        note = (f" The head record was {ends_at - head.count} entr{'y' if ends_at - head.count == 1 else 'ies'} "
                "behind (a write interrupted before its head update); those entries verify under the key, and the "
                "head record is up to date again.")
    return AuditCheck(True, ends_at, None, f"Verified: all {ends_at} audit entries are intact and the log ends where "
                      f"its head record says (entry {ends_at}).{note}")


def _anchor(store: Store, key: bytes, rows: list[dict[str, Any]]) -> AuditCheck:
    """No head record yet. An empty log gets one. A log an older PayOps wrote (the unkeyed sha256 chain) is verified
    unkeyed ONCE and re-anchored: a keyed entry saying so (its hash covers the old chain's last hash), and a head
    record with `keyed_from` at that entry; the old entries stay checked by the unkeyed rule, and the keyed entry
    after them catches any edit to them. A keyed log whose head record went missing is reported, not re-anchored:
    entries removed from its end could no longer be detected."""
    place = _place(store)
    if not rows:
        _write_head(store, key, _Head(0, GENESIS, 1))
        return AuditCheck(True, 0, None, "Verified: the audit log is empty; its head record is kept beside the "
                          "store from now on.")
    walks = []
    for keyed_from in sorted({1, *(r["seq"] for r in rows if r["action"] == REKEY_ACTION)}):
        checked, bad, why = _walk(rows, key, keyed_from)
        if bad is None:
            return AuditCheck(False, checked, checked + 1, (
                f"Entries missing after {checked} cannot be ruled out: the head record kept outside the store "
                f"({place.head_path or 'memory'}) is missing, though entries 1-{checked} verify under the key. "
                "Restore the head record from a backup."), "missing")
        walks.append((checked, bad, why, keyed_from))
    legacy_from = len(rows) + 1
    checked, bad, why = _walk(rows, key, legacy_from)
    if bad is None:
        legacy_head = rows[-1]["hash"]
        seq, new_hash = _insert(store, key, _Head(0, GENESIS, legacy_from), {
            "actor": "payops", "role": "system", "action": REKEY_ACTION, "target": None,
            "params": canonical_json({"unkeyed_entries": len(rows), "unkeyed_head": legacy_head}),
            "provider_request_id": None, "result": None,
            "error": None})
        store.generation += 1
        _write_head(store, key, _Head(seq, new_hash, legacy_from))
        return AuditCheck(True, seq, None, f"Verified: all {seq} audit entries are intact. The {len(rows)} entries an "
                          f"older PayOps wrote without a key verified and were re-anchored under the key at entry "
                          f"{seq}.")
    walks.append((checked, bad, why, legacy_from))
    checked, bad, why, keyed_from = max(walks, key=lambda w: w[0])
    return _edited(checked, bad, why, keyed_from, place)


def head(store: Store) -> tuple[int, str]:
    """(seq, hash) of the newest entry in the table."""
    create_tables(store.engine)
    with store.engine.connect() as conn:
        row = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def head_record_location(store: Store) -> str:
    """Where the head record and the key live, for the Audit page (paths only, never the key)."""
    place = _place(store)
    _key(store)
    where = str(place.head_path) if place.head_path else "this process's memory"
    return f"head record: {where}; key: {place.key_source}"


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
