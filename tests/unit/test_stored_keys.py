"""The stored-key hashes: never a false "not stored", runs merged, rebuilt from the table when it changed."""

from __future__ import annotations

import duckdb
import numpy as np

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


def test_runs_are_merged_without_losing_any(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stored_keys, "_MAX_RUNS", 2)
    keys = StoredKeys()
    for start in range(0, 50, 5):
        keys.add(hashes(*range(start, start + 5)))
    assert len(keys._runs) <= 3
    assert keys.maybe_stored(hashes(*range(60))).tolist() == [True] * 50 + [False] * 10


def test_check_rebuilds_from_the_table_only_when_its_row_count_moved() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE payments (provider VARCHAR, id VARCHAR)")
    con.execute("INSERT INTO payments VALUES ('stripe', 'ch_1'), ('stripe', 'ch_2')")
    probe = con.execute("SELECT hash('stripe', 'ch_1'), hash('stripe', 'ch_3')").fetchall()[0]
    registry = StoredKeysRegistry()
    keys = registry.table("payments")
    keys.check(con, "payments")
    assert keys.rows == 2 and keys.maybe_stored(hashes(*probe)).tolist() == [True, False]
    con.execute("INSERT INTO payments VALUES ('stripe', 'ch_3')")  # behind its back
    keys.check(con, "payments")
    assert keys.rows == 3 and keys.maybe_stored(hashes(*probe)).tolist() == [True, True]
    registry.committed({"payments": 2})
    assert keys.rows == 5  # the next check sees 3 rows and rebuilds
    keys.check(con, "payments")
    assert keys.rows == 3
