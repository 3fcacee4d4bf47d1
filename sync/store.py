"""The store API: open (with lock detection), idempotent versioned upserts, sync state and run records."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, DateTime, Engine, Integer, create_engine, delete, insert, select
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Connection

from sync import schema
from sync.errors import StoreError, StoreLockedError
from sync.normalise import is_delete_event, normalise

_ARROW_TYPES = {BigInteger: pa.int64(), Integer: pa.int32(), Boolean: pa.bool_(), DateTime: pa.timestamp("s")}
_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def epoch_now() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


def _arrow_type(column: Any) -> pa.DataType:
    for sa_type, arrow_type in _ARROW_TYPES.items():
        if isinstance(column.type, sa_type):
            return arrow_type
    return pa.string()


def _lock_message(path: str, exc: Exception) -> str:
    pid_match = re.search(r"PID (\d+)", str(exc))
    holder = "another process"
    if pid_match:
        pid = pid_match.group(1)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            cmdline = ""
        holder = f"process {pid}" + (f" ({cmdline})" if cmdline else "")
    return (
        f"The store {path} is held by {holder}. DuckDB lets one process open it: if that is the PayOps "
        "server, sync through it instead (Sync health page -> 'Sync now', or set PAYOPS_SYNC_INTERVAL), "
        "or stop that process and run this again."
    )


class Store:
    """One store per process. DuckDB files get a native fast path for bulk loads and queries."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_duckdb = url.startswith("duckdb://")
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # Bumped on every write: the pages key their caches on it, so a sync invalidates them.
        self.generation = 0
        self.path: str | None = None
        try:
            if self.is_duckdb:
                import duckdb

                self.path = url.removeprefix("duckdb:///") or ":memory:"
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._duck = duckdb.connect(self.path)
                # The engine's connections are cursors of the one shared connection: DuckDB refuses a
                # second connection to the file with a different configuration, even in-process.
                self.engine: Engine = create_engine("duckdb://", creator=self._duck.cursor)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
            schema.metadata.create_all(self.engine)
        except Exception as exc:
            if "Conflicting lock" in str(exc) or "Could not set lock" in str(exc):
                raise StoreLockedError(_lock_message(self.path or url, exc)) from None
            raise StoreError(f"Could not open the store {url}: {exc}. Check PAYOPS_DATABASE_URL.") from exc

    def checkpoint(self) -> None:
        """Flush DuckDB's write-ahead log into the database file (a no-op elsewhere)."""
        if self.is_duckdb:
            with self._write_lock:
                self.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        self.engine.dispose()
        if self.is_duckdb:
            self._duck.close()

    # -- connections -------------------------------------------------------------------------------

    def cursor(self) -> Any:
        """This thread's DuckDB cursor on the shared connection (DuckDB's in-process MVCC)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._duck.cursor()
        return cur

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a read query with `:name` parameters and return a DataFrame."""
        params = dict(params or {})
        if self.is_duckdb:
            used = set(_NAMED_PARAM.findall(sql))
            native = _NAMED_PARAM.sub(lambda m: "$" + m.group(1), sql)
            return self.cursor().execute(native, {k: v for k, v in params.items() if k in used}).df()
        from sqlalchemy import text

        with self.engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    # -- object upserts ----------------------------------------------------------------------------

    def upsert_rows(self, table_rows: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, int]:
        """Upsert rows (each with provider, id, version) into their tables in one transaction.

        A row replaces a stored one only when its version is at least as new; within the batch the
        newest version of each key wins. Returns the rows offered per table.
        """
        batches = {name: _latest_per_key(rows) for name, rows in table_rows.items() if rows}
        if not batches:
            return {}
        with self._write_lock:
            if self.is_duckdb:
                self._upsert_duckdb(batches)
            else:
                self._upsert_sql(batches)
            self.generation += 1
        return {name: len(rows) for name, rows in batches.items()}

    def _upsert_duckdb(self, batches: Mapping[str, list[dict[str, Any]]]) -> None:
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            for name, rows in batches.items():
                table = schema.OBJECT_TABLES[name]
                staging = _to_arrow(table, rows)
                view = f"staging_{name}"
                cur.register(view, staging)
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                cur.execute(
                    f"DELETE FROM {name} AS t USING {view} AS s "
                    "WHERE t.provider = s.provider AND t.id = s.id AND t.version <= s.version"
                )
                cur.execute(
                    f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {view} AS s WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {name} AS t WHERE t.provider = s.provider AND t.id = s.id)"
                )
                cur.unregister(view)
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise

    def _upsert_sql(self, batches: Mapping[str, list[dict[str, Any]]]) -> None:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        with self.engine.begin() as conn:
            for name, rows in batches.items():
                table = schema.OBJECT_TABLES[name]
                values = [_to_python(table, row) for row in rows]
                stmt = pg_insert(table)
                update = {c.name: stmt.excluded[c.name] for c in table.columns if not c.primary_key}
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["provider", "id"], set_=update,
                        where=table.c.version <= stmt.excluded.version,
                    ),
                    values,
                )

    def apply_objects(self, provider: str, objects: Iterable[dict[str, Any]], version: int) -> dict[str, int]:
        """Normalise provider objects seen as of `version` (epoch seconds) and upsert them."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for obj in objects:
            for name, row in normalise(obj):
                row["provider"] = provider
                row["version"] = version
                row["deleted"] = bool(obj.get("deleted"))
                grouped.setdefault(name, []).append(row)
        return self.upsert_rows(grouped)

    def apply_events(self, provider: str, events: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Store events and apply each one's object snapshot, versioned by the event's `created`."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for event in sorted(events, key=lambda e: (e.get("created") or 0, e.get("id") or "")):
            version = int(event.get("created") or 0)
            deleted = is_delete_event(event)
            for name, row in normalise(event):
                row.update(provider=provider, version=version, deleted=False)
                grouped.setdefault(name, []).append(row)
            snapshot = (event.get("data") or {}).get("object")
            for name, row in normalise(snapshot) if isinstance(snapshot, dict) else ():
                row.update(provider=provider, version=version, deleted=deleted)
                grouped.setdefault(name, []).append(row)
        return self.upsert_rows(grouped)

    # -- sync state and runs -----------------------------------------------------------------------

    def get_state(self, provider: str, resource: str) -> dict[str, Any]:
        t = schema.sync_state
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.provider == provider, t.c.resource == resource)).first()
        return dict(row._mapping) if row else {}

    def save_state(self, provider: str, resource: str, **fields: Any) -> None:
        t = schema.sync_state
        with self._write_lock, self.engine.begin() as conn:
            current = conn.execute(select(t).where(t.c.provider == provider, t.c.resource == resource)).first()
            merged = (dict(current._mapping) if current else {"provider": provider, "resource": resource})
            merged.update(fields)
            conn.execute(delete(t).where(t.c.provider == provider, t.c.resource == resource))
            conn.execute(insert(t).values(**merged))

    def reset_state(self, provider: str) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(delete(schema.sync_state).where(schema.sync_state.c.provider == provider))

    def start_run(self, provider: str, mode: str) -> str:
        import os

        run_id = uuid.uuid4().hex
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(insert(schema.sync_runs).values(
                run_id=run_id, provider=provider, mode=mode, started_at=utcnow(), status="running",
                rows=0, pid=os.getpid(),
            ))
        return run_id

    def finish_run(self, run_id: str, status: str, counts: Mapping[str, int], error: str | None = None) -> None:
        t = schema.sync_runs
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.run_id == run_id).values(
                finished_at=utcnow(), status=status, rows=sum(counts.values()),
                counts=orjson.dumps(dict(counts)).decode(), error=error,
            ))

    def is_empty(self) -> bool:
        """True when no provider object of any kind is stored yet."""
        with self.engine.connect() as conn:
            return all(
                conn.execute(select(t.c.id).limit(1)).first() is None for t in schema.OBJECT_TABLES.values()
            )

    def table_counts(self) -> pd.DataFrame:
        """Rows per provider and table, with the last successful sync of that provider."""
        parts = " UNION ALL ".join(
            f"SELECT provider, '{name}' AS table_name, COUNT(*) AS row_count FROM {name} GROUP BY provider"
            for name in schema.OBJECT_TABLES
        )
        return self.query(
            f"SELECT c.provider, c.table_name, c.row_count, r.last_sync "
            f"FROM ({parts}) AS c LEFT JOIN (SELECT provider, MAX(finished_at) AS last_sync FROM sync_runs "
            f"WHERE status = 'succeeded' GROUP BY provider) AS r ON r.provider = c.provider "
            f"ORDER BY c.provider, c.table_name"
        )


def _latest_per_key(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["provider"], row["id"])
        seen = latest.get(key)
        if seen is None or row["version"] >= seen["version"]:
            latest[key] = row
    return list(latest.values())


def _to_arrow(table: SATable, rows: Sequence[dict[str, Any]]) -> pa.Table:
    arrays = [pa.array([row.get(c.name) for row in rows], type=_arrow_type(c)) for c in table.columns]
    return pa.Table.from_arrays(arrays, names=[c.name for c in table.columns])


def _to_python(table: SATable, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for c in table.columns:
        value = row.get(c.name)
        if isinstance(c.type, DateTime) and isinstance(value, int | float):
            value = dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
        out[c.name] = value
    return out
