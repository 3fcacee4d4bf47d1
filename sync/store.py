"""The store API: open (with lock detection), idempotent versioned upserts, sync state and run records."""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, DateTime, Engine, Integer, Text, create_engine, delete, insert, select
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import QueuePool
from sqlalchemy.schema import CreateColumn

from sync import action_schema, schema, webhook_schema  # noqa: F401  (they register their tables on metadata)
from sync.errors import StoreError, StoreLockedError
from sync.ids import new_id
from sync.json_docs import JsonDocs
from sync.normalise import TableColumns, is_delete_event, normalise, normalise_columns
from sync.redact import redact_secrets
from sync.stored_keys import StoredKeys, StoredKeysRegistry

_ARROW_TYPES = {BigInteger: pa.int64(), Integer: pa.int32(), Boolean: pa.bool_(), DateTime: pa.timestamp("s"),
                Text: pa.large_string()}
_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

# Objects normalised per pipeline step: the main thread normalises one chunk while DuckDB (which releases the
# GIL) writes the previous ones on the writer thread. Bounds memory whatever the size of one call. Measured on
# 200,000 charges: 4,096 beat 8,192 (shorter waits at a call's start and end) and 2,048 (per-statement costs).
CHUNK_OBJECTS = 4096
# Chunks the main thread may stage ahead of the writer: 2 absorbs chunk-to-chunk variation (+3-5% here).
PIPELINE_DEPTH = 2
# DuckDB writes a transaction's appends straight into the file, compressed, once they fill a row group; with
# its default of 122,880 rows a 20,000-object call instead went through the WAL uncompressed and was then
# re-compressed by a checkpoint: 3-5x slower. A smaller row group keeps bulk loads on the direct path, and the
# partial last row group, which COMMIT compresses on the caller's thread, small: 2,048 beat 4,096 by ~8%.
DUCKDB_ROW_GROUP_SIZE = 2048
# A checkpoint after every ~this many staged bytes keeps each one (and its memory, re-loads' in-memory updates
# included) bounded; one checkpoint over a million fresh rows peaked at +2 GB RSS.
CHECKPOINT_BYTES = 256 * 1024 * 1024
SHED_TO_BYTES = 64 * 1024 * 1024
# A shared store sheds DuckDB's cached blocks at every this many cache drops (see Store._drop_caches): after every
# checkpoint it cost ~5% of a load, as the shed's heap trim made the next chunks re-fault ~150 MB.
SHARED_DROPS_PER_SHED = 4
_DUCKDB_CATALOG = "payops"
# While a bulk load runs, the main thread holds the GIL normalising the next chunk and the writer thread needs it
# for a moment after each DuckDB statement; at CPython's default 5 ms switch interval it waited up to that long
# every time. 0.5 ms took a 300,000-charge load from ~62,000 to ~80,000 objects/s here, 0.1 ms another ~5%.
# The cyclic GC is paused too: a load allocates millions of short-lived containers and no cycles (67k -> 78k/s).
BULK_SWITCH_INTERVAL = 0.0001
_switch_lock = threading.Lock()
_switch_users = [0, 0.0]  # bulk loads running, the interval to restore after the last
_gc_was_enabled = [True]
# glibc hands freed heap back to the kernel once 128 KB sit free at its top, so every chunk's ~25 MB of JSON
# bytes came back as fresh pages the kernel had to zero: ~1 page fault and ~2 us per object (a fifth of a load's
# CPU). During the first bulk load the process starts keeping up to this much freed heap for reuse.
RETAINED_HEAP_BYTES = 256 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
_heap_retained = [False]


def _retain_freed_heap() -> None:
    """Once per process, on glibc only (elsewhere the allocator is left as it is)."""
    if _heap_retained[0]:
        return
    _heap_retained[0] = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, RETAINED_HEAP_BYTES)
    mallopt(_M_TOP_PAD, 16 * 1024 * 1024)
    mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's largest: a chunk's joined JSON comes from the heap too


@contextmanager
def _bulk_load_mode() -> Iterator[None]:
    """While any bulk load runs: short GIL switches and no cyclic GC (restored after the last); freed heap kept."""
    with _switch_lock:
        if _switch_users[0] == 0:
            _retain_freed_heap()
            _switch_users[1] = sys.getswitchinterval()
            sys.setswitchinterval(min(BULK_SWITCH_INTERVAL, _switch_users[1]))
            _gc_was_enabled[0] = gc.isenabled()
            gc.disable()
        _switch_users[0] += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users[0] -= 1
            if _switch_users[0] == 0:
                sys.setswitchinterval(_switch_users[1])
                if _gc_was_enabled[0]:
                    gc.enable()


@compiles(CreateColumn, "duckdb")
def _duckdb_column(element: CreateColumn, compiler: Any, **kw: Any) -> str:
    """DuckDB-only DDL: a column may ask for a compression method (`info={"duckdb_compression": ...}`)."""
    text = compiler.visit_create_column(element, **kw)
    method = element.element.info.get("duckdb_compression")
    return f"{text} USING COMPRESSION {method}" if text and method else text


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


class _DuckDBFiles:
    """Process-wide DuckDB handles, one per file, shared by every Store on it (as duckdb.connect would)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, list[Any]] = {}  # real path -> [root connection, users]
        self._keys: dict[int, StoredKeysRegistry] = {}  # id(root connection) -> its tables' stored keys

    def acquire(self, path: str) -> Any:
        import duckdb

        key = path if path == ":memory:" else os.path.realpath(path)
        with self._lock:
            if key != ":memory:" and key in self._open:
                self._open[key][1] += 1
                return self._open[key][0]
            root = duckdb.connect(":memory:")
            if key != ":memory:":
                try:
                    _attach(root, key)
                    # Write each row group of a bulk INSERT as soon as it is full, on the writer thread, instead of
                    # buffering five and compressing them inside COMMIT on the caller's (busiest) thread.
                    root.execute("SET write_buffer_row_group_count = 1")
                except BaseException:
                    root.close()
                    raise
                self._open[key] = [root, 1]
            self._keys[id(root)] = StoredKeysRegistry()
            return root

    def stored_keys(self, root: Any) -> StoredKeysRegistry:
        with self._lock:
            return self._keys[id(root)]

    def _sole_user_paths(self, root: Any) -> list[str]:
        return [path for path, entry in self._open.items() if entry[0] is root and entry[1] == 1]

    def reattach_if_sole_user(self, root: Any) -> bool:
        """Close and re-open the database under the same name (every cursor on `root` finds it again), if exactly
        one Store has it open; under the lock, so no other Store opens it in between. Returns whether it did."""
        with self._lock:
            paths = self._sole_user_paths(root)
            if not paths:
                return False
            root.execute("USE memory")
            root.execute(f"DETACH {_DUCKDB_CATALOG}")
            try:
                _attach(root, paths[0])
            except Exception as exc:
                raise StoreError(f"Could not re-open the store {paths[0]} after a bulk load: {exc}. Nothing "
                                 "written was lost; check the file and run the sync again.") from exc
            _drain_after_a_load(root)  # under the lock: no other Store can open the file meanwhile
            return True

    def drain_if_sole_user(self, root: Any) -> bool:
        """_drain_eviction_queue, if exactly one Store has the database open (under the lock, as above)."""
        with self._lock:
            if not self._sole_user_paths(root):
                return False
            _drain_after_a_load(root)
            return True

    def release(self, root: Any) -> None:
        with self._lock:
            for key, entry in list(self._open.items()):
                if entry[0] is root:
                    entry[1] -= 1
                    if entry[1] > 0:
                        return
                    del self._open[key]
                    break
            self._keys.pop(id(root), None)
        root.close()


def _attach(root: Any, path: str) -> None:
    # ATTACH, not connect(path): only ATTACH takes a row group size.
    root.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS {_DUCKDB_CATALOG} "
                 f"(ROW_GROUP_SIZE {DUCKDB_ROW_GROUP_SIZE})")
    root.execute(f"USE {_DUCKDB_CATALOG}")


_FILES = _DuckDBFiles()

# PostgreSQL type OIDs (pg_type) that Store.frame types like DuckDB's DataFrames: BIGINT int64, INTEGER int32...
_PG_INTEGERS = {20: "int64", 23: "int32", 21: "int16"}
_PG_FLOATS, _PG_BOOL, _PG_TIMESTAMP = frozenset({700, 701, 1700}), 16, 1114


def _typed_frame(names: Sequence[str], oids: Sequence[int], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    columns = []
    for i, oid in enumerate(oids):
        values = [row[i] for row in rows]
        nulls = any(v is None for v in values)
        if oid in _PG_INTEGERS:
            width = _PG_INTEGERS[oid]
            columns.append(pd.Series(values, dtype=width.capitalize() if nulls else width))
        elif oid in _PG_FLOATS:
            columns.append(pd.Series([None if v is None else float(v) for v in values], dtype="float64"))
        elif oid == _PG_BOOL:
            columns.append(pd.Series(values, dtype="boolean" if nulls else "bool"))
        elif oid == _PG_TIMESTAMP:
            columns.append(pd.Series(pd.to_datetime(values), dtype="datetime64[us]"))
        else:
            columns.append(pd.Series(values, dtype=None if values else object))
    frame = pd.DataFrame(dict(enumerate(columns)))
    frame.columns = list(names)
    return frame


_MESSAGE_FIELDS = frozenset({"last_error", "gap_message"})  # sync_state text shown as is: secrets redacted


class Store:
    """One store per process. DuckDB files get a native fast path for bulk loads and queries.

    `exclusive`: the caller promises that no other thread uses this store while it writes (the sync command);
    bulk loads may then re-attach the DuckDB file, and drain DuckDB after a load that updated, to drop what DuckDB
    keeps of it (see _drop_caches, _upsert_duckdb).
    """

    def __init__(self, url: str, *, exclusive: bool = False) -> None:
        self.url = url
        self.exclusive = exclusive
        self.is_duckdb = url.startswith("duckdb://")
        self._local = threading.local()
        self._write_lock = threading.Lock()
        # Bumped on every write: the pages key their caches on it, so a sync invalidates them.
        self.generation = 0
        self.path: str | None = None
        self._duck: Any = None
        self._writer: ThreadPoolExecutor | None = None
        self._write_cursor: Any = None
        self._staged_bytes = 0
        self._drops = 0
        try:
            if self.is_duckdb:
                self.path = url.removeprefix("duckdb:///") or ":memory:"
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._duck = _FILES.acquire(self.path)
                # The engine's connections are cursors of the one shared connection: DuckDB refuses a
                # second connection to the file with a different configuration, even in-process. Wrapped,
                # because SQLAlchemy runs each statement on `dbapi_connection.cursor()`, which for a bare
                # DuckDB connection is a NEW connection: engine.begin() was then not one transaction.
                from duckdb_sqlalchemy import ConnectionWrapper

                # A QueuePool that grows as needed: the default keeps 5 per-thread connections and a 6th thread
                # (a 6th browser session) closed another thread's connection mid-query.
                self.engine: Engine = create_engine(
                    "duckdb://", creator=lambda: ConnectionWrapper(self._new_cursor()),
                    poolclass=QueuePool, pool_size=5, max_overflow=-1)
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

    def stored_key_bytes(self) -> int:
        """Memory held for this store's DuckDB file by the stored-key hashes (sync/stored_keys.py); 0 elsewhere."""
        if self._duck is None:
            return 0
        return _FILES.stored_keys(self._duck).nbytes()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        self.engine.dispose()
        if self.is_duckdb and self._duck is not None:
            _FILES.release(self._duck)
            self._duck = None

    # -- connections -------------------------------------------------------------------------------

    def _new_cursor(self) -> Any:
        cur = self._duck.cursor()
        if self.path != ":memory:":
            cur.execute(f"USE {_DUCKDB_CATALOG}")
        return cur

    def cursor(self) -> Any:
        """This thread's DuckDB cursor on the shared connection (DuckDB's in-process MVCC)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._new_cursor()
        return cur

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a read query with `:name` parameters and return a DataFrame."""
        params = dict(params or {})
        if self.is_duckdb:
            import duckdb

            used = set(_NAMED_PARAM.findall(sql))
            native = _NAMED_PARAM.sub(lambda m: "$" + m.group(1), sql)
            try:
                return self.cursor().execute(native, {k: v for k, v in params.items() if k in used}).df()
            except duckdb.OutOfMemoryException:
                # Also possible for a moment while a large sync sheds DuckDB's cache (_shed_cached_blocks).
                raise StoreError("The store ran out of memory for this view. Reload the page; if it happens "
                                 "again, narrow the date range or filters.") from None
        from sqlalchemy import text

        with self.engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """`query`, with the same column dtypes on every backend: on DuckDB it is `query`; on PostgreSQL each column
        is typed from the driver's result type (BIGINT int64, INTEGER int32, Int64/Int32 with NULLs; NUMERIC and
        floats float64; booleans bool, or boolean with NULLs; timestamps datetime64[us]), as DuckDB's DataFrames
        are, where `query` there hands back Decimals and objects."""
        if self.is_duckdb:
            return self.query(sql, params)
        from sqlalchemy import text

        with self.engine.connect() as conn:
            result = conn.execute(text(sql), dict(params or {}))
            oids = [column.type_code for column in result.cursor.description or ()]
            names, rows = list(result.keys()), result.fetchall()
        return _typed_frame(names, oids, rows)

    # -- object upserts ----------------------------------------------------------------------------

    def upsert_rows(self, table_rows: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, int]:
        """Upsert rows (each with provider, id, version) into their tables in one transaction.

        A row replaces a stored one only when its version is at least as new; within the batch the
        newest version of each key wins (the later one on a tie). Returns the rows offered per table.
        """
        staged = {name: _to_arrow(schema.OBJECT_TABLES[name], _latest_per_key(rows))
                  for name, rows in table_rows.items() if rows}
        return self._upsert_stream(lambda: iter([staged]))

    def apply_objects(self, provider: str, objects: Iterable[dict[str, Any]], version: int) -> dict[str, int]:
        """Normalise provider objects seen as of `version` (epoch seconds) and upsert them (one transaction)."""

        def staged(chunk: list[dict[str, Any]]) -> dict[str, pa.Table]:
            return _stage(provider, normalise_columns(chunk), version,
                          [bool(o.get("deleted")) if o.__class__ is dict else False for o in chunk])

        return self._upsert_stream(lambda: map(staged, _chunks(objects, CHUNK_OBJECTS)),
                                   replayable=isinstance(objects, Sequence))

    def apply_events(self, provider: str, events: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Store events and apply each one's object snapshot, versioned by the event's `created`."""

        stubs: list[tuple[str, str, int]] = []

        def staged(chunk: list[dict[str, Any]]) -> dict[str, pa.Table]:
            # The events themselves, then each one's snapshot: sources index this one list.
            items: list[Any] = list(chunk)
            event_versions = [int(event.get("created") or 0) for event in chunk]
            versions = list(event_versions)
            deleted = [False] * len(chunk)
            for event, version in zip(chunk, event_versions, strict=True):
                snapshot = (event.get("data") or {}).get("object")
                if not isinstance(snapshot, dict):
                    continue
                is_deleted = is_delete_event(event)
                if is_deleted and set(snapshot) <= _STUB_KEYS:
                    # A bare {id, object, deleted} stub must not blank the stored row: only mark it deleted.
                    table = normalise({**snapshot, "deleted": False})
                    if table:
                        stubs.append((table[0][0], snapshot["id"], version))
                    continue
                items.append(snapshot)
                versions.append(version)
                deleted.append(is_deleted)
            return _stage(provider, normalise_columns(items), versions, deleted)

        ordered = sorted(events, key=lambda e: (e.get("created") or 0, e.get("id") or ""))

        def batches() -> Iterator[dict[str, pa.Table]]:
            stubs.clear()
            return map(staged, _chunks(ordered, CHUNK_OBJECTS))

        counts = self._upsert_stream(batches)
        if stubs:
            self._mark_deleted(provider, stubs)
        return counts

    def _mark_deleted(self, provider: str, stubs: Sequence[tuple[str, str, int]]) -> None:
        """Mark stored rows deleted as of each stub's version; a row never seen is kept as a deleted stub."""
        missing: dict[str, list[dict[str, Any]]] = {}
        with self._write_lock, self.engine.begin() as conn:
            for name, object_id, version in stubs:
                table = schema.OBJECT_TABLES[name]
                result = conn.execute(
                    table.update()
                    .where(table.c.provider == provider, table.c.id == object_id, table.c.version <= version)
                    .values(deleted=True, version=version)
                )
                exists = conn.execute(
                    select(table.c.id).where(table.c.provider == provider, table.c.id == object_id)).first()
                if not result.rowcount and exists is None:
                    missing.setdefault(name, []).append(
                        {"provider": provider, "id": object_id, "version": version, "deleted": True})
            self.generation += 1
        if missing:
            self.upsert_rows(missing)

    def _upsert_stream(self, batches: Callable[[], Iterator[Mapping[str, pa.Table]]], *,
                       replayable: bool = True) -> dict[str, int]:
        """Upsert every batch (Arrow tables per table name, one row per key) in one transaction. Batches are
        applied in order, so across batches too the later of two equal versions wins and an older one never
        replaces a newer one. `batches()` yields them, once more if `replayable` and DuckDB's load must retry."""
        counts: dict[str, int] = {}
        with self._write_lock:
            if self.is_duckdb:
                with _bulk_load_mode():
                    # Ends: each retry leaves one more table checking its keys by hash, which never raises this.
                    while True:
                        try:
                            self._upsert_duckdb(batches(), counts)
                            break
                        except _CreatedMoved as moved:
                            if not replayable:
                                raise StoreError(
                                    f"A stored {moved.table} object came back with another `created` time, so "
                                    "this load was rolled back and nothing was written. Run it again: its keys are "
                                    "now checked one by one.") from moved
                            counts.clear()
            else:
                with self.engine.begin() as conn:
                    for batch in batches():
                        rows = {name: table.to_pylist() for name, table in batch.items() if table.num_rows}
                        self._upsert_sql(conn, rows)
                        _add_counts(counts, rows)
            if counts:
                self.generation += 1
        return counts

    def _upsert_duckdb(self, batches: Iterator[Mapping[str, pa.Table]], counts: dict[str, int]) -> None:
        """Pipelined: this thread normalises and builds Arrow for chunk k+1 while the writer thread has
        DuckDB upsert chunk k, all in one transaction on the writer's own cursor."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="payops-store-writer")
            self._write_cursor = self._new_cursor()
        cur = self._write_cursor
        pending: deque[Future[None]] = deque()
        staged_bytes = 0
        txn = _BulkWrite(_FILES.stored_keys(self._duck))
        cur.execute("BEGIN TRANSACTION")
        try:
            for batch in batches:
                staged = {name: table for name, table in batch.items() if table.num_rows}
                while len(pending) >= PIPELINE_DEPTH:
                    pending.popleft().result()
                if staged:
                    pending.append(self._writer.submit(_write_staged, cur, staged, txn))
                for name, table in staged.items():
                    counts[name] = counts.get(name, 0) + table.num_rows
                    staged_bytes += table.nbytes
            while pending:
                pending.popleft().result()
            cur.execute("COMMIT")
            txn.registry.committed(txn.inserted)
        except BaseException:
            for future in pending:
                future.exception()  # wait: the writer must be idle before the rollback
            cur.execute("ROLLBACK")
            raise
        self._staged_bytes += staged_bytes
        checkpoint = self._staged_bytes >= CHECKPOINT_BYTES
        if checkpoint:
            self._staged_bytes = 0
            # Best effort: if it cannot run now, DuckDB checkpoints by itself later; the data is durable.
            with contextlib.suppress(Exception):
                cur.execute("CHECKPOINT")
        if checkpoint or txn.scanned:
            self._drop_caches(cur)
        elif txn.ran_update and self.exclusive:
            # What an UPDATE read stays cached (every column of the row groups it touched, the table's metadata
            # blocks), and the allocators keep what it freed: a re-load's memory climbed ~20 MB from one checkpoint's
            # re-attach to the next, and the longer the load, the more of those highs its peak met. Flushing the
            # allocators is what flattens it (evicting alone did not), and what it costs: ~15 ms, and the next call
            # re-faults the pages handed back. 20,000-object re-loads ran ~10% slower at 1M stored rows, ~17% at 3M.
            _FILES.drain_if_sole_user(self._duck)

    def _drop_caches(self, cur: Any) -> None:
        """Bound what DuckDB keeps of a table it wrote or read, so a load's memory does not grow with the table.

        DuckDB holds every row group's metadata once a statement visited it (~7 bytes per stored row here after an
        UPDATE: half heap, half cached metadata blocks) and the blocks it wrote or read for as long as the database
        stays attached. An exclusive store (the sync command's) re-attaches the file (~15 ms) and hands back what
        DuckDB still keeps after that (_drain_eviction_queue). A shared store may have queries running on other
        threads, so it only sheds the blocks, every SHARED_DROPS_PER_SHED-th time: a shed also trims the process's
        heap, which the next chunks re-fault.
        """
        if self.exclusive and _FILES.reattach_if_sole_user(self._duck):
            return
        if self._drops % SHARED_DROPS_PER_SHED == 0:
            _shed_cached_blocks(cur)
        self._drops += 1

    def _upsert_sql(self, conn: Connection, batches: Mapping[str, list[dict[str, Any]]]) -> None:
        """Portable path (PostgreSQL): INSERT ... ON CONFLICT DO UPDATE only when the new version is newer."""
        from sqlalchemy.dialects.postgresql import insert as pg_insert

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

    # -- sync state and runs -----------------------------------------------------------------------

    def get_state(self, provider: str, resource: str) -> dict[str, Any]:
        t = schema.sync_state
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.provider == provider, t.c.resource == resource)).first()
        return dict(row._mapping) if row else {}

    def save_state(self, provider: str, resource: str, **fields: Any) -> None:
        """Merge `fields` into the stored state of (provider, resource); fields not named are kept."""
        t = schema.sync_state
        with self._write_lock, self.engine.begin() as conn:
            current = conn.execute(select(t).where(t.c.provider == provider, t.c.resource == resource)).first()
            merged = (dict(current._mapping) if current else {"provider": provider, "resource": resource})
            merged.update({k: redact_secrets(v) if k in _MESSAGE_FIELDS else v for k, v in fields.items()})
            conn.execute(delete(t).where(t.c.provider == provider, t.c.resource == resource))
            conn.execute(insert(t).values(**merged))
            self.generation += 1

    def reset_state(self, provider: str) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(delete(schema.sync_state).where(schema.sync_state.c.provider == provider))
            self.generation += 1

    def start_run(self, provider: str, mode: str) -> str:
        run_id = new_id()
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(insert(schema.sync_runs).values(
                run_id=run_id, provider=provider, mode=mode, started_at=utcnow(), status="running",
                rows=0, pid=os.getpid(),
            ))
            self.generation += 1
        return run_id

    def finish_run(self, run_id: str, status: str, counts: Mapping[str, int], error: str | None = None) -> None:
        t = schema.sync_runs
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.run_id == run_id).values(
                finished_at=utcnow(), status=status, rows=sum(counts.values()),
                counts=orjson.dumps(dict(counts)).decode(), error=redact_secrets(error),
            ))
            self.generation += 1

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


def _shed_cached_blocks(cur: Any) -> None:
    """Let DuckDB drop the table blocks it keeps cached after writing or reading them (~30 ms).

    DuckDB evicts cached blocks only when it needs the memory under `memory_limit` (80% of RAM by default), so a
    shared store's memory grew with the table. A permanently lower limit made every load evict and re-fault pages
    (25% slower); briefly lowering it evicts the clean blocks (they are on disk).
    """
    _lower_memory_limit_for_a_moment(cur, SHED_TO_BYTES)


def _drain_eviction_queue(cur: Any) -> None:
    """Hand back what DuckDB keeps after a re-attach or an UPDATE; only while nobody else uses the database (~15 ms).

    A memory limit below what is in use makes DuckDB evict every cached block (an UPDATE's reads: ~4 MB per
    20,000-object call), walk its whole eviction queue and return its allocators' free pages to the system (they kept
    40-100 MB). The queue matters because a block that is gone (a statement's hash table, a re-attached file's
    blocks) leaves its entry holding ~200 bytes of heap until the queue reaches 32,768 entries: a re-load's heap grew
    ~0.1 MB per 20,000-object call.
    """
    _lower_memory_limit_for_a_moment(cur, 1)


def _drain_after_a_load(cur: Any) -> None:
    """Best effort: the load before it is committed, and if DuckDB refuses even this, its next statement says why."""
    import duckdb

    with contextlib.suppress(duckdb.Error):
        _drain_eviction_queue(cur)


def _lower_memory_limit_for_a_moment(cur: Any, limit_bytes: int) -> None:
    """DuckDB evicts what it can down to the limit and flushes its allocators; it refuses a limit it cannot reach
    (blocks in use cannot go) and keeps its own. Best effort: the load before it is committed. The default limit
    comes back either way, and setting it flushes the allocators too, so even a refused limit hands their free pages
    back (measured: RSS 419 -> 290 MB after a refused 1-byte limit)."""
    import duckdb

    try:
        with contextlib.suppress(duckdb.Error):
            cur.execute(f"SET memory_limit = '{int(limit_bytes)}B'")
    finally:
        cur.execute("RESET memory_limit")


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Pipeline steps of at most `size` objects; of equal sizes when the count is known. The writer's step k
    overlaps the main thread's step k+1, so a short step after a long one left the main thread waiting."""
    if isinstance(items, Sequence):
        steps = -(-len(items) // size)
        for k in range(steps):
            yield list(items[k * len(items) // steps:(k + 1) * len(items) // steps])
        return
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _add_counts(counts: dict[str, int], batches: Mapping[str, Sequence[Any]]) -> None:
    for name, rows in batches.items():
        counts[name] = counts.get(name, 0) + len(rows)


def _latest_per_key(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest row of each (provider, id); on equal versions the later row wins."""
    if len(set(map(itemgetter("id"), rows))) == len(rows):  # the common case: nothing to choose
        return list(rows)
    keys = list(map(itemgetter("provider", "id"), rows))
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for key, row in zip(keys, rows, strict=True):
        seen = latest.get(key)
        if seen is None or row["version"] >= seen["version"]:
            latest[key] = row
    return list(latest.values())


_MERGE_SQL: dict[str, str] = {}
_UPDATE_SQL: dict[str, str] = {}
_STUB_KEYS = frozenset({"id", "object", "deleted"})


def _duckdb_merge_sql(table: SATable) -> str:
    """The exact fallback (see _write_staged): replace a stored row only by a newer-or-equal version, insert
    unseen keys. It scans every stored key, so bulk loads take it only for chunks the cheaper paths cannot settle;
    DELETE + INSERT measured slower still (6.7-9.7 vs 3.6-4 us per re-loaded row at 400,000, and a growing file).
    """
    sql = _MERGE_SQL.get(table.name)
    if sql is None:
        cols = [f'"{c.name}"' for c in table.columns]
        sets = ", ".join(f"{c} = s.{c}" for c in cols if c not in ('"provider"', '"id"'))
        sql = _MERGE_SQL[table.name] = (
            f"MERGE INTO {table.name} AS t USING staging_{table.name} AS s "
            "ON (t.provider = s.provider AND t.id = s.id) "
            f"WHEN MATCHED AND t.version <= s.version THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)}) VALUES ({', '.join('s.' + c for c in cols)})"
        )
    return sql


class _BulkWrite:
    """One bulk-load transaction's view of the stored keys: which tables it has checked, rows it inserted."""

    def __init__(self, registry: StoredKeysRegistry) -> None:
        self.registry = registry
        self.inserted: dict[str, int] = {}
        self.scanned = False  # whether it read some table's stored keys (DuckDB caches what that scan read)
        self.ran_update = False  # whether it ran an UPDATE (DuckDB caches the blocks that read)

    def keys(self, cur: Any, table: str) -> StoredKeys:
        keys = self.registry.table(table)
        if table not in self.inserted:  # this transaction's first write to it
            with self.registry.lock:
                self.scanned |= keys.check(cur, table)
            self.inserted[table] = 0
        return keys


def _duckdb_update_sql(table: SATable) -> str:
    """Replace stored rows of staged keys by a newer-or-equal version, matching on `created` too (see below)."""
    sql = _UPDATE_SQL.get(table.name)
    if sql is None:
        sets = ", ".join(f'"{c.name}" = s."{c.name}"' for c in table.columns if c.name not in ("provider", "id"))
        sql = _UPDATE_SQL[table.name] = (
            f"UPDATE {table.name} AS t SET {sets} FROM staging_{table.name} AS s "
            "WHERE t.provider = s.provider AND t.id = s.id AND t.created = s.created AND t.version <= s.version"
        )
    return sql


def _write_staged(cur: Any, staged: Mapping[str, pa.Table], txn: _BulkWrite) -> None:
    """Runs on the writer thread: DuckDB releases the GIL while it scans the Arrow batches.

    Keys certainly not stored (sync/stored_keys.py) are appended with a plain INSERT (a backfill). The others
    are updated first by an UPDATE that also matches on `created`, which never changes for an object: its min/max
    over the chunk lets DuckDB skip every row group created outside it, where a join on the key alone scans every
    stored key (O(table) per chunk). When that UPDATE accounts for every maybe-stored key, the rest are new. When
    it does not (new keys created among stored ones, a stored newer version, a stub without `created`), the
    hashes of every stored key narrow the maybe-stored ones down, read once; if the UPDATE still does not account
    for them all, one MERGE decides the chunk.
    """
    for name, arrow in staged.items():
        view = f"staging_{name}"
        cur.register(view, arrow)
        try:
            keys = txn.keys(cur, name)
            column = arrow.column("created")
            created = column.cast(pa.int64()).fill_null(0).to_numpy()
            dated = column.is_valid().to_numpy()
            hashes = _StagedHashes(cur, view)
            with txn.registry.lock:
                if not keys.created_trusted and not keys.hashes_read:
                    keys.read_hashes(cur, name)
                    txn.scanned = True
                maybe = keys.maybe_stored(created, dated, hashes)
            inserted = arrow.num_rows
            if maybe.any():
                updated = cur.execute(_duckdb_update_sql(schema.OBJECT_TABLES[name])).fetchall()[0][0]
                txn.ran_update = True
                if updated != maybe.sum() and not keys.hashes_read:
                    with txn.registry.lock:
                        keys.read_hashes(cur, name)
                        maybe = keys.maybe_stored(created, dated, hashes)
                    txn.scanned = True
                if updated == maybe.sum():
                    inserted -= updated
                    if inserted:  # through a view of its own: `hashes` may still read the whole chunk's
                        cur.register(f"{view}_new", arrow.filter(pa.array(~maybe)))
                        _insert_new(cur, name, f"{view}_new", keys, txn)
                        cur.unregister(f"{view}_new")
                else:
                    before = cur.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                    cur.execute(_duckdb_merge_sql(schema.OBJECT_TABLES[name]))
                    inserted = cur.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] - before
            else:
                _insert_new(cur, name, view, keys, txn)
            with txn.registry.lock:
                keys.add(created, dated, hashes, ~maybe)
            txn.inserted[name] += inserted
        except BaseException:
            for registered in (view, f"{view}_new"):
                with contextlib.suppress(Exception):  # an aborted transaction refuses even this; the ROLLBACK follows
                    cur.unregister(registered)
            raise
        cur.unregister(view)


class _CreatedMoved(Exception):
    """A staged key the `created` range called new was stored after all: the object's `created` moved."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


def _insert_new(cur: Any, name: str, view: str, keys: StoredKeys, txn: _BulkWrite) -> None:
    """Append staged keys found certainly new. Only the `created` range can be wrong about that, when an object's
    `created` moved between snapshots (never for Stripe's; a test fixture did it): the key is stored after all
    and DuckDB refuses the duplicate, which aborts the transaction. The table then stops trusting its range for
    this process and the load is retried from its start (Store._upsert_stream)."""
    import duckdb

    try:
        cur.execute(f"INSERT INTO {name} SELECT * FROM {view}")
    except duckdb.ConstraintException as exc:
        # Only a duplicate key is the range's doing; read hashes do not help: they never see outside the range.
        if not keys.created_trusted or "Duplicate key" not in str(exc):
            raise
        with txn.registry.lock:
            keys.created_trusted = False
        raise _CreatedMoved(name) from exc


class _StagedHashes:
    """The staged keys' `hash(provider, id)`, computed by DuckDB on first use (most chunks never need them)."""

    def __init__(self, cur: Any, view: str) -> None:
        self._cur, self._view, self._hashes = cur, view, None

    def __call__(self) -> np.ndarray:
        if self._hashes is None:
            self._hashes = self._cur.execute(f"SELECT hash(provider, id) AS h FROM {self._view}").fetchnumpy()["h"]
        return self._hashes


def _stage(provider: str, tables: TableColumns, version: int | Sequence[int],
           deleted: Sequence[bool]) -> dict[str, pa.Table]:
    """Normalised columns -> one Arrow table per table, each key once (the newest; the later source on a tie)."""
    out = {}
    for name, (columns, sources) in tables.items():
        n = len(sources)
        # The columns every row of a call shares are laid out by Arrow, not through a Python list per row.
        versions = [version] * n if isinstance(version, int) else [version[i] for i in sources]
        columns = dict(
            columns, provider=pa.repeat(pa.scalar(provider, pa.string()), n),
            version=pa.repeat(pa.scalar(version, pa.int64()), n) if isinstance(version, int) else versions,
            deleted=[deleted[i] for i in sources] if any(deleted) else pa.repeat(pa.scalar(False), n))
        table = _columns_to_arrow(schema.OBJECT_TABLES[name], columns, n)
        ids = columns["id"]
        if len(set(ids)) != n:
            latest: dict[Any, int] = {}
            for i in sorted(range(n), key=lambda i: (versions[i], sources[i], i)):
                latest[ids[i]] = i
            table = table.take(sorted(latest.values()))
        out[name] = table
    return out


def _columns_to_arrow(table: SATable, columns: Mapping[str, list[Any] | pa.Array | JsonDocs],
                      n: int) -> pa.Table:
    names, types = _column_spec(table)
    arrays = []
    for name, typ in zip(names, types, strict=True):
        values = columns.get(name)
        if values is None:
            arrays.append(pa.nulls(n, typ))
        elif isinstance(values, pa.Array):
            arrays.append(values)
        elif isinstance(values, JsonDocs):
            arrays.append(values.arrow())
        else:
            arrays.append(pa.array(values, typ))
    return pa.Table.from_arrays(arrays, names=list(names))


_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[pa.DataType, ...]]] = {}


def _column_spec(table: SATable) -> tuple[tuple[str, ...], tuple[pa.DataType, ...]]:
    spec = _COLUMNS.get(table.name)
    if spec is None:
        spec = _COLUMNS[table.name] = (tuple(c.name for c in table.columns),
                                       tuple(_arrow_type(c) for c in table.columns))
    return spec


def _to_arrow(table: SATable, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows -> Arrow, column-wise: one C-level pass to tuples, a transpose, one pa.array per column."""
    names, types = _column_spec(table)
    try:
        tuples = list(map(itemgetter(*names), rows))
    except KeyError:  # a row without some column: that column is NULL
        tuples = [tuple(map(row.get, names)) for row in rows]
    columns = list(zip(*tuples, strict=True)) if tuples else [() for _ in names]
    arrays = [pa.array(col, type=typ) for col, typ in zip(columns, types, strict=True)]
    return pa.Table.from_arrays(arrays, names=list(names))


def _to_python(table: SATable, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for c in table.columns:
        value = row.get(c.name)
        if isinstance(c.type, DateTime) and isinstance(value, int | float):
            value = dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
        out[c.name] = value
    return out
