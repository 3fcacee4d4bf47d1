"""Which (provider, id) keys a DuckDB object table holds, kept in memory as sorted 64-bit hashes.

A bulk load must tell staged keys that are new (appended with a plain INSERT) from stored ones (updated). DuckDB
2.0 answers "is this key stored?" only by joining against a scan of every stored key, so asking per 8,192-object
chunk made a 1,000,000-object load quadratic (~2 us per object at 1M, growing with the table). The hashes answer
it in memory at 8 bytes per stored key. A hash says "maybe stored" (another key can share it); its absence says
"certainly not stored" as long as every write to the table goes through the Store, and `StoredKeys.check`
rebuilds the set whenever the table's row count shows otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

_READ_ROWS = 1 << 17  # hashes per streamed batch while rebuilding (1 MB)
SLICE_ROWS = 1 << 19  # rows per slice when the caller drops DuckDB's caches between slices


def _read_hashes(cur: Any, table: str, start: int, stop: int, into: np.ndarray, filled: int) -> int:
    """The key hashes of rows start <= rowid < stop, appended to `into` from `filled`; the new fill.
    Its own function so the scan's reader is gone (and DuckDB free to detach the file) when it returns."""
    reader = cur.sql(f"SELECT hash(provider, id) AS h FROM {table} WHERE rowid >= {int(start)} "
                     f"AND rowid < {int(stop)}").to_arrow_reader(_READ_ROWS)
    for batch in reader:
        into[filled:filled + batch.num_rows] = batch.column(0).to_numpy()
        filled += batch.num_rows
    return filled


class StoredKeys:
    """The hashes of every key stored in one table (possibly more after a rolled-back load, never fewer)."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self.rows: int | None = None  # the committed row count the hashes were last known to cover

    def check(self, cur: Any, table: str, between_slices: Callable[[], None] | None = None) -> bool:
        """Before the first write to `table` in a transaction (or, for an exclusive store, just before that
        transaction): rebuild unless the row count matches. Returns whether it read any stored key.

        With `between_slices`, the keys are read SLICE_ROWS at a time and it is called after each slice: DuckDB
        keeps every block a scan read cached (~65 MB per 1,000,000 payments here), which the caller may drop."""
        rows = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        if rows == self.rows:
            return False
        self._runs = []  # before reading: the old and the new set are never held together
        # Streamed into one array, sorted in place: a fetched result and a sorted copy of it tripled the peak.
        run = np.empty(rows, dtype=np.uint64)
        filled = 0
        last = cur.execute(f"SELECT max(rowid) FROM {table}").fetchall()[0][0]
        end = 0 if last is None else last + 1
        step = SLICE_ROWS if between_slices is not None else max(end, 1)
        for start in range(0, end, step):
            filled = _read_hashes(cur, table, start, start + step, run, filled)
            if between_slices is not None:
                between_slices()
        run = run[:filled]
        run.sort()
        self._runs = [run]
        self.rows = rows
        return rows > 0

    @property
    def nbytes(self) -> int:
        return sum(run.nbytes for run in self._runs)

    def maybe_stored(self, hashes: np.ndarray) -> np.ndarray:
        """A boolean mask over `hashes`: False means that key is certainly not stored."""
        found = np.zeros(len(hashes), dtype=bool)
        for run in self._runs:
            if len(run):
                at = np.searchsorted(run, hashes)
                found |= run[np.minimum(at, len(run) - 1)] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        """Hashes of newly stored keys arrive in runs (one per chunk), merged like a binary counter: a run absorbs
        the one before it while that one is no bigger, so lookups search O(log n) runs and each hash is merged
        O(log n) times (the first version re-sorted everything every 16 chunks: work that grew with the table)."""
        if not len(hashes):
            return
        run = np.sort(hashes)
        while self._runs and len(self._runs[-1]) <= len(run):
            run = np.concatenate((self._runs.pop(), run))
            # Two sorted runs: the stable sort (timsort for 64-bit keys) merges them in one linear pass, in place.
            run.sort(kind="stable")
        self._runs.append(run)


class StoredKeysRegistry:
    """One StoredKeys per table of one DuckDB database, shared by every Store open on it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._tables: dict[str, StoredKeys] = {}

    def table(self, name: str) -> StoredKeys:
        with self.lock:
            keys = self._tables.get(name)
            if keys is None:
                keys = self._tables[name] = StoredKeys()
            return keys

    def nbytes(self) -> int:
        """Memory the hashes of every table hold: 8 bytes per stored key of each table a load has written to."""
        with self.lock:
            return sum(keys.nbytes for keys in self._tables.values())

    def committed(self, inserted: dict[str, int]) -> None:
        """After a commit: the tables grew by these many rows (their hashes were added as they were written)."""
        with self.lock:
            for name, rows in inserted.items():
                keys = self._tables[name]
                if keys.rows is not None:
                    keys.rows += rows
