"""The stored-key hashes: never a false "not stored", runs merged, rebuilt from the table when it changed."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from sync import stored_keys
from sync.stored_keys import StoredKeys, StoredKeysRegistry


def hashes(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def test_added_hashes_are_maybe_stored_and_others_are_not() -> None:
    keys = StoredKeys()
    assert keys.maybe_stored(hashes(1, 2)).tolist() == [False, False]
    keys.add(hashes(30, 10))
    keys.add(hashes(20))
    assert keys.maybe_stored(hashes(10, 15, 20, 30, 40, 0)).tolist() == [True, False, True, True, False, False]


def test_the_hashes_cost_eight_bytes_per_key_of_every_table() -> None:
    registry = StoredKeysRegistry()
    assert registry.nbytes() == 0
    registry.table("payments").add(hashes(1, 2, 3))
    registry.table("payments").add(hashes(4))  # two runs (3 keys, then 1): 4 * 8 bytes
    registry.table("refunds").add(hashes(9, 8))  # 2 * 8 bytes
    assert registry.table("payments").nbytes == 32
    assert registry.nbytes() == 48


def test_runs_are_merged_without_losing_any() -> None:
    keys = StoredKeys()
    for start in range(0, 500, 5):
        keys.add(hashes(*range(start + 4, start - 1, -1)))  # unsorted within a run too
    assert len(keys._runs) <= 7  # one per set bit of 100 runs, give or take
    assert all((np.diff(run.astype(np.int64)) > 0).all() for run in keys._runs)
    assert keys.maybe_stored(hashes(*range(600))).tolist() == [True] * 500 + [False] * 100


def test_check_rebuilds_from_the_table_only_when_its_row_count_moved() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE payments (provider VARCHAR, id VARCHAR)")
    con.execute("INSERT INTO payments VALUES ('stripe', 'ch_1'), ('stripe', 'ch_2')")
    probe = con.execute("SELECT hash('stripe', 'ch_1'), hash('stripe', 'ch_3')").fetchall()[0]
    registry = StoredKeysRegistry()
    keys = registry.table("payments")
    assert keys.check(con, "payments") is True  # read every stored key
    assert keys.check(con, "payments") is False  # same row count: nothing read
    assert keys.rows == 2 and keys.maybe_stored(hashes(*probe)).tolist() == [True, False]
    con.execute("INSERT INTO payments VALUES ('stripe', 'ch_3')")  # behind its back
    assert keys.check(con, "payments") is True
    assert keys.rows == 3 and keys.maybe_stored(hashes(*probe)).tolist() == [True, True]
    registry.committed({"payments": 2})
    assert keys.rows == 5  # the next check sees 3 rows and rebuilds
    keys.check(con, "payments")
    assert keys.rows == 3


def test_an_empty_table_or_an_empty_add_leaves_no_run() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE payments (provider VARCHAR, id VARCHAR)")
    keys = StoredKeys()
    assert keys.check(con, "payments") is False  # nothing stored: nothing worth dropping caches for
    keys.add(hashes())
    assert keys._runs == [] or all(len(run) == 0 for run in keys._runs)
    keys.add(hashes(5))
    assert keys.maybe_stored(hashes(5, 6)).tolist() == [True, False]


def test_a_rebuild_in_slices_calls_back_after_each_and_reads_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored_keys, "SLICE_ROWS", 4)
    con = duckdb.connect()
    con.execute("CREATE TABLE payments (provider VARCHAR, id VARCHAR)")
    con.execute("INSERT INTO payments SELECT 'stripe', 'ch_' || i FROM range(10) AS t(i)")
    probe = con.execute("SELECT hash('stripe', 'ch_' || i) FROM range(11) AS t(i) ORDER BY i").fetchnumpy()
    slices: list[int] = []
    keys = StoredKeys()
    assert keys.check(con, "payments", between_slices=lambda: slices.append(1)) is True
    assert len(slices) == 3  # rowids 0-3, 4-7 and 8-9
    assert keys.rows == 10
    assert keys.maybe_stored(next(iter(probe.values())).astype(np.uint64)).tolist() == [True] * 10 + [False]


def test_a_table_of_one_row_is_read() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE payments (provider VARCHAR, id VARCHAR)")
    con.execute("INSERT INTO payments VALUES ('stripe', 'ch_1')")  # its rowid is 0
    probe = con.execute("SELECT hash('stripe', 'ch_1')").fetchall()[0]
    keys = StoredKeys()
    assert keys.check(con, "payments") is True
    assert keys.maybe_stored(hashes(*probe)).tolist() == [True]
