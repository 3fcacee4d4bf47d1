"""What a table's stored keys are known by: never a false "not stored"; read again when the table changed."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np

from sync.stored_keys import StoredKeys, StoredKeysRegistry


def hashes(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def seconds(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def dated(*flags: bool) -> np.ndarray:
    return np.array(flags, dtype=bool)


def unused() -> np.ndarray:
    raise AssertionError("the staged keys' hashes were not needed here")


def table(*rows: tuple[str, int | None]) -> duckdb.DuckDBPyConnection:
    """An in-memory `payments` table of (id, created in epoch seconds or None) rows, provider 'stripe'."""
    con = duckdb.connect()
    con.execute("CREATE TABLE payments (provider VARCHAR, id VARCHAR, created TIMESTAMP)")
    for id_, created in rows:
        con.execute("INSERT INTO payments VALUES ('stripe', ?, epoch_ms(? * 1000))", [id_, created])
    return con


def key_hashes(con: duckdb.DuckDBPyConnection, *ids: str) -> Callable[[], np.ndarray]:
    found = [con.execute("SELECT hash('stripe', ?)", [id_]).fetchall()[0][0] for id_ in ids]
    return lambda: np.array(found, dtype=np.uint64)


def test_a_key_created_outside_the_stored_range_is_certainly_new() -> None:
    con = table(("ch_1", 100), ("ch_2", 200))
    keys = StoredKeys()
    assert keys.check(con, "payments") is True
    assert keys.created == (100, 200) and keys.nbytes == 0  # no hash read
    probe = seconds(50, 100, 150, 200, 250)
    assert keys.maybe_stored(probe, dated(*[True] * 5), unused).tolist() == [False, True, True, True, False]


def test_an_undated_key_is_maybe_stored_and_a_stored_undated_key_is_found_by_its_hash() -> None:
    con = table(("cus_stub", None), ("cus_1", 100))  # a deleted stub, stored before its object was seen
    keys = StoredKeys()
    keys.check(con, "payments")
    assert keys.created == (100, 100) and keys.nbytes == 8  # the stub's hash
    staged = key_hashes(con, "cus_stub", "cus_new", "cus_2")
    # The stub's object arrives created at 500, outside the range; an undated staged key is never placed by it.
    assert keys.maybe_stored(seconds(500, 500, 0), dated(True, True, False), staged).tolist() == [True, False, True]


def test_once_read_the_hashes_narrow_down_keys_inside_the_range() -> None:
    con = table(("ch_1", 100), ("ch_2", 200))
    keys = StoredKeys()
    keys.check(con, "payments")
    staged = key_hashes(con, "ch_1", "ch_new", "ch_late")
    created, all_dated = seconds(100, 150, 300), dated(True, True, True)
    assert keys.maybe_stored(created, all_dated, staged).tolist() == [True, True, False]
    keys.read_hashes(con, "payments")
    assert keys.hashes_read and keys.nbytes == 16
    assert keys.maybe_stored(created, all_dated, staged).tolist() == [True, False, False]


def test_added_keys_widen_the_range_and_join_the_hashes() -> None:
    con = table()
    keys = StoredKeys()
    assert keys.check(con, "payments") is False  # nothing stored: nothing worth dropping caches for
    assert keys.maybe_stored(seconds(5, 0), dated(True, False), unused).tolist() == [False, True]
    keys.add(seconds(30, 10, 0), dated(True, True, False), lambda: hashes(3, 1, 7), dated(True, True, False))
    assert keys.created == (10, 30) and keys.nbytes == 8  # the undated key's hash
    keys.read_hashes(con, "payments")  # the table is still empty: nothing was committed
    keys.add(seconds(20, 0), dated(True, False), lambda: hashes(2, 9), dated(True, False))
    assert keys.created == (10, 30) and keys.nbytes == 4 * 8  # undated 7 and 9; hashes 2 and 9
    # 9, undated, reached the hashes too: a later stub of it is maybe stored, not certainly new.
    assert keys.maybe_stored(seconds(20, 25, 0), dated(True, True, False), lambda: hashes(2, 4, 9)).tolist() == [
        True, False, True]


def test_an_undated_new_key_leaves_the_range_as_it_was() -> None:
    con = table(("ch_1", 100), ("ch_2", 200))
    keys = StoredKeys()
    keys.check(con, "payments")
    keys.read_hashes(con, "payments")
    staged = key_hashes(con, "ch_stub")
    maybe = keys.maybe_stored(seconds(0), dated(False), staged)
    assert maybe.tolist() == [False]  # undated, but the hashes know it is not stored
    keys.add(seconds(0), dated(False), staged, ~maybe)
    assert keys.created == (100, 200)  # its filled-in 0 is no `created`
    assert keys.maybe_stored(seconds(0), dated(False), staged).tolist() == [True]


def test_runs_are_merged_without_losing_any() -> None:
    keys = StoredKeys()
    keys.read_hashes(table(), "payments")
    for start in range(0, 500, 5):
        run = hashes(*range(start + 4, start - 1, -1))  # unsorted within a run too
        keys.add(seconds(*[1] * 5), dated(*[True] * 5), lambda run=run: run, dated(*[True] * 5))
    assert keys._runs is not None and len(keys._runs) <= 8  # one per set bit of 100 runs, give or take
    assert all((np.diff(run.astype(np.int64)) > 0).all() for run in keys._runs)
    probe = hashes(*range(600))
    assert keys.maybe_stored(seconds(*[1] * 600), dated(*[True] * 600), lambda: probe).tolist() == (
        [True] * 500 + [False] * 100)


def test_check_rereads_only_when_the_row_count_moved() -> None:
    con = table(("ch_1", 100), ("ch_2", 200))
    registry = StoredKeysRegistry()
    keys = registry.table("payments")
    assert keys.check(con, "payments") is True
    keys.read_hashes(con, "payments")
    assert keys.check(con, "payments") is False and keys.hashes_read  # same row count: nothing read
    con.execute("INSERT INTO payments VALUES ('stripe', 'ch_3', epoch_ms(300000))")  # behind its back
    assert keys.check(con, "payments") is True
    assert keys.rows == 3 and keys.created == (100, 300) and not keys.hashes_read  # read again when needed
    registry.committed({"payments": 2})
    assert keys.rows == 5  # the next check sees 3 rows and reads again
    keys.check(con, "payments")
    assert keys.rows == 3


def test_a_distrusted_range_leaves_every_key_to_the_hashes() -> None:
    con = table(("ch_1", 100))
    keys = StoredKeys()
    keys.check(con, "payments")
    keys.created_trusted = False
    staged = key_hashes(con, "ch_1", "ch_2")
    assert keys.maybe_stored(seconds(900, 900), dated(True, True), staged).tolist() == [True, True]
    keys.read_hashes(con, "payments")
    assert keys.maybe_stored(seconds(900, 900), dated(True, True), staged).tolist() == [True, False]


def test_the_registry_counts_what_every_table_holds() -> None:
    registry = StoredKeysRegistry()
    assert registry.nbytes() == 0
    registry.table("payments").check(table(("ch_stub", None), ("ch_1", 5)), "payments")  # 1 undated key
    refunds = registry.table("refunds")
    refunds.read_hashes(table(("re_1", 5), ("re_2", 6)), "payments")  # 2 keys
    assert registry.nbytes() == 3 * 8
