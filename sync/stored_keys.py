"""What a DuckDB object table holds, as far as a bulk load must tell staged keys that are new from stored ones.

New keys are appended with a plain INSERT; the others are updated. DuckDB 2.0 answers "is this key stored?" only
by joining against a scan of every stored key, so asking per chunk made a 1,000,000-object load quadratic. The
store answers it in memory instead, from three facts about the table, each kept only as long as its row count
shows that every write went through the Store (`StoredKeys.check` re-reads them when it moved):

- the range of `created` over its rows. An object's `created` never changes, so a staged key created outside the
  range is certainly new. Syncs and backfills arrive in `created` order (either way), so most new keys fall
  outside it, and the range costs 16 bytes however big the table grows;
- the hashes of its rows stored without `created` (deleted stubs), which the range cannot place;
- only once a load needs them, the sorted 64-bit `hash(provider, id)` of every key (8 bytes per stored key):
  when new and stored keys fall inside the range together, a hash's absence says "certainly new".

Should a provider ever move an object's `created`, the range would call a stored key new: the primary key refuses
the duplicate, and the Store retries the load with that table's keys checked by hash (sync/store.py, _insert_new).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_READ_ROWS = 1 << 17  # hashes per streamed batch while reading every key (1 MB)

Hashes = Callable[[], np.ndarray]  # the staged keys' hashes, computed only when some test needs them


def _read_hashes(cur: Any, table: str, where: str = "") -> np.ndarray:
    """The sorted key hashes of the table's rows (matching `where`), streamed into one array sorted in place: a
    fetched result and a sorted copy of it tripled the peak."""
    rows = cur.execute(f"SELECT count(*) FROM {table} {where}").fetchall()[0][0]
    into = np.empty(rows, dtype=np.uint64)
    filled = 0
    for batch in cur.sql(f"SELECT hash(provider, id) AS h FROM {table} {where}").to_arrow_reader(_READ_ROWS):
        into[filled:filled + batch.num_rows] = batch.column(0).to_numpy()
        filled += batch.num_rows
    into = into[:filled]
    into.sort()
    return into


def _found(runs: Sequence[np.ndarray], hashes: np.ndarray) -> np.ndarray:
    found = np.zeros(len(hashes), dtype=bool)
    for run in runs:
        if len(run):
            at = np.searchsorted(run, hashes)
            found |= run[np.minimum(at, len(run) - 1)] == hashes
    return found


class StoredKeys:
    """One table's stored keys, as ranges and hashes that may cover more keys than it holds, never fewer."""

    def __init__(self) -> None:
        self.rows: int | None = None  # the committed row count the facts were last known to cover
        self.created: tuple[int, int] | None = None  # min and max `created` (epoch seconds) of the dated rows
        self._undated = np.empty(0, dtype=np.uint64)  # sorted hashes of the rows stored without `created`
        self._runs: list[np.ndarray] | None = None  # every key's hash, once a load needed them
        # False once a stored object came back with another `created`: every key is then checked by its hash.
        self.created_trusted = True

    def check(self, cur: Any, table: str) -> bool:
        """Before the first write to `table` in a transaction: re-read the range unless the row count matches.
        Returns whether it read the table."""
        rows = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        if rows == self.rows:
            return False
        self._runs = None  # read again only if a load needs them
        lo, hi, undated = cur.execute(
            f"SELECT CAST(floor(epoch_us(min(created)) / 1e6) AS BIGINT), "
            f"CAST(ceil(epoch_us(max(created)) / 1e6) AS BIGINT), count(*) - count(created) FROM {table}"
        ).fetchall()[0]
        self.created = None if lo is None else (lo, hi)
        self._undated = _read_hashes(cur, table, "WHERE created IS NULL") if undated else self._undated[:0]
        self.rows = rows
        return rows > 0

    @property
    def hashes_read(self) -> bool:
        return self._runs is not None

    def read_hashes(self, cur: Any, table: str) -> None:
        """Read every stored key's hash (inside a load's transaction: its own inserts so far included)."""
        self._runs = [_read_hashes(cur, table)]

    @property
    def nbytes(self) -> int:
        return self._undated.nbytes + sum(run.nbytes for run in self._runs or ())

    def maybe_stored(self, created: np.ndarray, dated: np.ndarray, hashes: Hashes) -> np.ndarray:
        """A boolean mask over staged keys (their `created` in epoch seconds, valid where `dated`): False means
        that key is certainly not stored."""
        if not self.created_trusted:
            maybe = np.ones(len(created), dtype=bool)
        elif self.created is None:
            maybe = ~dated
        else:
            maybe = ((created >= self.created[0]) & (created <= self.created[1])) | ~dated
        if len(self._undated):
            maybe |= _found([self._undated], hashes())
        if self._runs is not None and maybe.any():
            maybe &= _found(self._runs, hashes())
        return maybe

    def add(self, created: np.ndarray, dated: np.ndarray, hashes: Hashes, new: np.ndarray) -> None:
        """After a chunk was written: `new` marks its keys that were certainly not stored (now they are). A key
        that was maybe stored lies inside the range already, or among the undated keys (where it stays even once a
        stub gets its `created`), or is undated and added to them here."""
        new_dated = new & dated  # an undated key is new only when the hashes say so, and has no `created` to add
        if new_dated.any():
            lo, hi = int(created[new_dated].min()), int(created[new_dated].max())
            self.created = (lo, hi) if self.created is None else (
                min(lo, self.created[0]), max(hi, self.created[1]))
        if not dated.all():
            self._undated = np.union1d(self._undated, hashes()[~dated])
        # Undated keys join the hashes too, whichever path stored them: a duplicate hash costs a lookup, a missing one
        # a wrong "new".
        if self._runs is not None and (new.any() or not dated.all()):
            self._add_run(hashes()[new | ~dated])

    def _add_run(self, hashes: np.ndarray) -> None:
        """Hashes of newly stored keys arrive in runs (one per chunk), merged like a binary counter: a run absorbs
        the one before it while that one is no bigger, so lookups search O(log n) runs and each hash is merged
        O(log n) times."""
        assert self._runs is not None
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
        """Memory the hashes of every table hold: undated rows' keys, and every key of a table a load needed."""
        with self.lock:
            return sum(keys.nbytes for keys in self._tables.values())

    def committed(self, inserted: dict[str, int]) -> None:
        """After a commit: the tables grew by these many rows (their keys were added as they were written)."""
        with self.lock:
            for name, rows in inserted.items():
                keys = self._tables[name]
                if keys.rows is not None:
                    keys.rows += rows
