"""The store on real DuckDB files: versioned idempotent upserts, deletes, money, raw JSON, state, runs, locking."""

from __future__ import annotations

import copy
import gc
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from sync import schema
from sync import store as store_module
from sync.errors import StoreError, StoreLockedError
from sync.store import Store
from tests.builders import stripe as stripe_builders

RESOURCES = stripe_builders.resources()


def charge(id: str, amount: int = 1000, currency: str = "usd", status: str = "succeeded") -> dict[str, Any]:
    obj = copy.deepcopy(RESOURCES["charge"])
    obj.update(id=id, amount=amount, currency=currency, status=status)
    return obj


def event(id: str, type_: str, created: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": id, "object": "event", "type": type_, "created": created, "livemode": False,
            "api_version": "2026-10-28", "pending_webhooks": 0, "request": None, "data": {"object": obj}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"duckdb:///{tmp_path / 'payops.duckdb'}")
    yield s
    s.close()


def rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in store.query(f"SELECT * FROM {table} ORDER BY provider, id").itertuples(index=False)]


def test_upsert_twice_changes_nothing(store: Store) -> None:
    objs = [charge("ch_1"), charge("ch_2", 2500, "jpy")]
    assert store.apply_objects("stripe", objs, version=100) == {"payments": 2}
    first = rows(store, "payments")
    store.apply_objects("stripe", [charge("ch_1"), charge("ch_2", 2500, "jpy")], version=100)
    assert rows(store, "payments") == first
    assert store.query("SELECT COUNT(*) AS n FROM payments").n[0] == 2


def test_older_event_never_replaces_newer_object(store: Store) -> None:
    store.apply_objects("stripe", [charge("ch_1", 1000)], version=200)
    store.apply_events("stripe", [event("evt_old", "charge.updated", 100, charge("ch_1", 999))])
    got = store.query("SELECT amount, version FROM payments WHERE id = :id", {"id": "ch_1"})
    assert (got.amount[0], got.version[0]) == (1000, 200)
    # The event itself is still recorded.
    assert store.query("SELECT COUNT(*) AS n FROM events WHERE id = 'evt_old'").n[0] == 1


def test_older_listing_never_replaces_newer_event(store: Store) -> None:
    store.apply_events("stripe", [event("evt_new", "charge.updated", 200, charge("ch_1", 1500))])
    store.apply_objects("stripe", [charge("ch_1", 1000)], version=100)
    got = store.query("SELECT amount, version FROM payments WHERE id = 'ch_1'")
    assert (got.amount[0], got.version[0]) == (1500, 200)
    # A newer listing does replace it.
    store.apply_objects("stripe", [charge("ch_1", 1700)], version=300)
    assert store.query("SELECT amount FROM payments WHERE id = 'ch_1'").amount[0] == 1700


def test_newest_in_a_batch_wins(store: Store) -> None:
    # Events arrive out of order in one call: the one created last wins whatever the input order.
    store.apply_events("stripe", [
        event("evt_3", "charge.updated", 300, charge("ch_1", 3000)),
        event("evt_1", "charge.updated", 100, charge("ch_1", 1000)),
        event("evt_2", "charge.updated", 200, charge("ch_1", 2000)),
    ])
    assert store.query("SELECT amount, version FROM payments").values.tolist() == [[3000, 300]]
    # Same version twice in one call: the later one wins.
    store.apply_objects("stripe", [charge("ch_2", 1), charge("ch_2", 2)], version=400)
    assert store.query("SELECT amount FROM payments WHERE id = 'ch_2'").amount[0] == 2


def test_newest_wins_across_pipeline_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One call larger than a chunk is still one transaction with the same rules."""
    monkeypatch.setattr(store_module, "CHUNK_OBJECTS", 2)
    objs = [charge("ch_a", 1), charge("ch_b", 1), charge("ch_a", 2), charge("ch_c", 1), charge("ch_a", 3)]
    assert store.apply_objects("stripe", objs, version=10)["payments"] == 5  # rows offered, chunk by chunk
    assert store.query("SELECT id, amount FROM payments ORDER BY id").values.tolist() == [
        ["ch_a", 3], ["ch_b", 1], ["ch_c", 1]]
    events = [event(f"evt_{i}", "charge.updated", created, charge("ch_a", created))
              for i, created in enumerate([50, 40, 60, 20, 30])]
    store.apply_events("stripe", events)
    assert store.query("SELECT amount, version FROM payments WHERE id = 'ch_a'").values.tolist() == [[60, 60]]


def test_a_failed_call_writes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CHUNK_OBJECTS", 1)
    bad = charge("ch_bad")
    bad["amount"] = "not a number"  # Arrow refuses it in the second chunk, after the first was written
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type; what matters is the rollback
        store.apply_objects("stripe", [charge("ch_ok"), bad], version=1)
    assert store.query("SELECT COUNT(*) AS n FROM payments").n[0] == 0
    assert store.apply_objects("stripe", [charge("ch_ok")], version=1) == {"payments": 1}


def test_delete_events_mark_deleted_but_subscription_cancel_does_not(store: Store) -> None:
    customer = dict(RESOURCES["customer"], id="cus_1")
    subscription = dict(RESOURCES["subscription"], id="sub_1", status="canceled")
    subscription["items"] = {"object": "list", "data": []}
    store.apply_objects("stripe", [customer, dict(subscription, status="active")], version=100)
    store.apply_events("stripe", [
        event("evt_c", "customer.deleted", 200, customer),
        event("evt_s", "customer.subscription.deleted", 200, subscription),
    ])
    assert store.query("SELECT deleted FROM customers WHERE id = 'cus_1'").deleted[0]
    sub = store.query("SELECT deleted, status FROM subscriptions WHERE id = 'sub_1'")
    assert (bool(sub.deleted[0]), sub.status[0]) == (False, "canceled")
    # An older snapshot of the deleted customer does not bring it back.
    store.apply_objects("stripe", [customer], version=150)
    assert store.query("SELECT deleted FROM customers WHERE id = 'cus_1'").deleted[0]


def test_money_is_integer_minor_units_with_currency(store: Store) -> None:
    store.apply_objects("stripe", [charge("ch_usd", 1999, "usd"), charge("ch_jpy", 1999, "jpy")], version=1)
    types = dict(store.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'payments'"
    ).values.tolist())
    assert types["amount"] == "BIGINT" and types["amount_refunded"] == "BIGINT"
    got = store.query("SELECT id, amount, currency FROM payments ORDER BY id").values.tolist()
    # JPY has no minor unit: 1999 means ¥1,999, stored as given; USD 1999 means $19.99.
    assert got == [["ch_jpy", 1999, "JPY"], ["ch_usd", 1999, "USD"]]


def test_raw_json_round_trips(store: Store) -> None:
    obj = charge("ch_raw")
    obj["metadata"] = {"note": "naïve \"quoted\" ✓", "n": "1"}
    store.apply_objects("stripe", [obj], version=1)
    raw = store.query("SELECT raw FROM payments WHERE id = 'ch_raw'").raw[0]
    assert orjson.loads(raw) == obj
    assert store.query("SELECT CAST(raw AS JSON)->'metadata'->>'note' AS v FROM payments").v[0] == obj[
        "metadata"]["note"]


def test_raw_is_zstd_compressed_in_duckdb(store: Store) -> None:
    ddl = store.query("SELECT sql FROM duckdb_tables() WHERE table_name = 'payments'").sql[0]
    assert "raw VARCHAR USING COMPRESSION ZSTD" in ddl.replace('"', "")


def test_sync_state_save_get_merge(store: Store) -> None:
    assert store.get_state("stripe", "charges") == {}
    store.save_state("stripe", "charges", backfill_from=100, backfill_through=200)
    store.save_state("stripe", "charges", backfill_through=300, last_rows=7)
    state = store.get_state("stripe", "charges")
    assert (state["backfill_from"], state["backfill_through"], state["last_rows"]) == (100, 300, 7)
    store.save_state("stripe", "refunds", backfill_from=1)
    store.reset_state("stripe")
    assert store.get_state("stripe", "charges") == {} and store.get_state("stripe", "refunds") == {}


def test_runs_recorded_and_table_counts(store: Store) -> None:
    run_id = store.start_run("stripe", "full")
    store.apply_objects("stripe", [charge("ch_1"), charge("ch_2")], version=1)
    store.apply_objects("stripe", [dict(RESOURCES["customer"], id="cus_1")], version=1)
    store.finish_run(run_id, "succeeded", {"charges": 2, "customers": 1})
    run = store.query("SELECT * FROM sync_runs WHERE run_id = :r", {"r": run_id}).iloc[0]
    assert (run.status, run["rows"], orjson.loads(run.counts)) == ("succeeded", 3, {"charges": 2, "customers": 1})
    assert run.finished_at >= run.started_at
    counts = store.table_counts()
    assert counts[["table_name", "row_count"]].values.tolist() == [["customers", 1], ["payments", 2]]
    assert counts.last_sync.notna().all()
    assert not store.is_empty()


def test_generation_bumps_on_writes_only(store: Store) -> None:
    before = store.generation
    store.apply_objects("stripe", [], version=1)
    assert store.generation == before
    store.apply_objects("stripe", [charge("ch_1")], version=1)
    assert store.generation == before + 1


def test_query_binds_parameters(store: Store) -> None:
    store.apply_objects("stripe", [dict(RESOURCES["customer"], id="cus_1", name="O'Brien")], version=1)
    hostile = "x' OR '1'='1"
    assert store.query("SELECT COUNT(*) AS n FROM customers WHERE name = :v", {"v": hostile}).n[0] == 0
    assert store.query("SELECT id FROM customers WHERE name = :v", {"v": "O'Brien"}).id.tolist() == ["cus_1"]


def test_engine_begin_is_one_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(text("INSERT INTO sync_state (provider, resource) VALUES ('stripe', 'x')"))
        raise RuntimeError("abort")
    assert store.get_state("stripe", "x") == {}


def test_two_stores_in_one_process_share_the_file(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    a, b = Store(url), Store(url)
    a.apply_objects("stripe", [charge("ch_1")], version=1)
    assert b.query("SELECT COUNT(*) AS n FROM payments").n[0] == 1
    a.close()
    assert b.query("SELECT COUNT(*) AS n FROM payments").n[0] == 1
    b.close()


def test_a_second_process_gets_store_locked_error(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'locked.duckdb'}"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from sync.store import Store; s = Store(sys.argv[1]); print('ready', flush=True); "
         "sys.stdin.read()", url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as info:
            Store(url)
        message = str(info.value)
        assert f"process {holder.pid}" in message
        assert "sync through it" in message and "\n" not in message
    finally:
        holder.communicate("", timeout=30)
    Store(url).close()  # free again once the holder is gone


def test_postgresql_upsert_only_replaces_with_newer_versions() -> None:
    """No PostgreSQL server here: check the statement the portable branch sends, compiled for PostgreSQL."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    captured: list[Any] = []

    class Conn:
        def execute(self, stmt: Any, values: Any) -> None:
            captured.append((stmt, values))

    store = Store.__new__(Store)
    store._upsert_sql(Conn(), {"payments": [{"provider": "stripe", "id": "ch_1", "version": 5, "created": 0,
                                             "amount": 100, "currency": "USD", "deleted": False}]})
    stmt, values = captured[0]
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (provider, id) DO UPDATE SET" in sql
    assert "WHERE payments.version <= excluded.version" in sql
    assert values[0]["created"].year == 1970 and values[0]["raw"] is None
    assert isinstance(pg_insert(schema.payments), type(stmt))


def test_a_stub_delete_event_marks_deleted_without_blanking_the_row(store: Store) -> None:
    """localstripe sends `customer.deleted` with only {id, object, deleted}: the stored email must survive."""
    store.apply_objects("stripe", [{"id": "cus_1", "object": "customer", "email": "a@example.com", "created": 5}],
                        version=10)
    stub = {"id": "cus_1", "object": "customer", "deleted": True}
    never_seen = {"id": "cus_2", "object": "customer", "deleted": True}
    store.apply_events("stripe", [event("evt_1", "customer.deleted", 20, stub),
                                  event("evt_2", "customer.deleted", 20, never_seen)])
    found = store.query("SELECT id, coalesce(email, '-') AS email, deleted, version FROM customers ORDER BY id")
    assert found.to_dict("records") == [
        {"id": "cus_1", "email": "a@example.com", "deleted": True, "version": 20},
        {"id": "cus_2", "email": "-", "deleted": True, "version": 20},
    ]
    # An older stub never wins over a newer snapshot.
    store.apply_objects("stripe", [{"id": "cus_1", "object": "customer", "email": "b@example.com", "created": 5}],
                        version=30)
    store.apply_events("stripe", [event("evt_3", "customer.deleted", 25, stub)])
    assert store.query("SELECT email, deleted FROM customers WHERE id = 'cus_1'").to_dict("records") == [
        {"email": "b@example.com", "deleted": False}]


def test_an_embedded_copy_and_a_later_standalone_copy_in_one_call(store: Store) -> None:
    """Rows are grouped per object kind for the batch path; on equal versions the later object still wins."""
    embedded = dict(RESOURCES["refund"], id="re_1", amount=100)
    parent = charge("ch_1")
    parent["refunds"] = {"object": "list", "data": [embedded]}
    standalone = dict(RESOURCES["refund"], id="re_1", amount=250)
    assert store.apply_objects("stripe", [parent, standalone], version=5) == {"payments": 1, "refunds": 1}
    assert store.query("SELECT amount FROM refunds").amount.tolist() == [250]
    store.apply_objects("stripe", [standalone, parent], version=5)
    assert store.query("SELECT amount FROM refunds").amount.tolist() == [100]


def test_new_and_stored_keys_in_one_chunk(store: Store) -> None:
    """A chunk of only new keys is appended; one that mixes stored and new keys goes through MERGE."""
    store.apply_objects("stripe", [charge("ch_1", 100), charge("ch_2", 200)], version=10)
    store.apply_objects("stripe", [charge("ch_1", 111), charge("ch_2", 222), charge("ch_3", 300)], version=9)
    store.apply_objects("stripe", [charge("ch_2", 2222), charge("ch_4", 400)], version=11)
    # ch_1 and ch_2 keep version 10 against the older 9; ch_2 then takes 11; ch_3 and ch_4 are new.
    assert store.query("SELECT id, amount, version FROM payments ORDER BY id").values.tolist() == [
        ["ch_1", 100, 10], ["ch_2", 2222, 11], ["ch_3", 300, 9], ["ch_4", 400, 11]]


def test_the_store_says_what_its_stored_key_hashes_hold(store: Store, tmp_path: Path) -> None:
    assert store.stored_key_bytes() == 0  # nothing loaded yet
    store.apply_objects("stripe", [charge("ch_1"), charge("ch_2"), charge("ch_3")], version=1)
    assert store.stored_key_bytes() == 0  # every key was new to an empty table: no hash needed
    # All four share the fixture's `created`, so the range cannot tell new ch_4 from stored ch_3: the hashes can.
    store.apply_objects("stripe", [charge("ch_3"), charge("ch_4")], version=2)
    assert store.stored_key_bytes() == 4 * 8  # ch_1..ch_4 in payments, 8 bytes each; ch_3 once
    other = Store(f"duckdb:///{tmp_path / 'other.duckdb'}")
    try:
        assert other.stored_key_bytes() == 0  # per file
    finally:
        other.close()


def dated_charge(id: str, created: int, amount: int = 1000) -> dict[str, Any]:
    return dict(charge(id, amount), created=created)


def payments(store: Store) -> list[list[Any]]:
    return store.query("SELECT id, epoch(created)::BIGINT AS created, amount, version FROM payments "
                       "ORDER BY id").values.tolist()


def test_keys_created_before_or_after_every_stored_one_need_no_hashes(store: Store) -> None:
    store.apply_objects("stripe", [dated_charge(f"ch_{i}", 1000 + i) for i in range(3)], version=1)
    # ch_3 is newer than every stored charge, ch_old older (a backfill); ch_1 is stored and updated.
    store.apply_objects("stripe", [dated_charge("ch_3", 2000, 3), dated_charge("ch_1", 1001, 111)], version=2)
    store.apply_objects("stripe", [dated_charge("ch_old", 10, 9)], version=3)
    assert store.stored_key_bytes() == 0
    assert payments(store) == [["ch_0", 1000, 1000, 1], ["ch_1", 1001, 111, 2], ["ch_2", 1002, 1000, 1],
                               ["ch_3", 2000, 3, 2], ["ch_old", 10, 9, 3]]


def test_a_deleted_stub_takes_its_object_created_outside_the_stored_range(store: Store) -> None:
    customer = dict(RESOURCES["customer"], id="cus_1", created=5)
    store.apply_objects("stripe", [customer], version=10)
    store.apply_events("stripe", [event("evt_1", "customer.deleted", 20, {"id": "cus_2", "object": "customer",
                                                                          "deleted": True})])
    store.apply_objects("stripe", [dict(customer, id="cus_2", created=900, email="late@example.com")], version=30)
    found = store.query("SELECT id, epoch(created)::BIGINT AS created, email, deleted, version FROM customers "
                        "ORDER BY id").values.tolist()
    assert found[1] == ["cus_2", 900, "late@example.com", False, 30]
    assert len(found) == 2


def test_an_object_whose_created_moved_is_upserted_all_the_same(store: Store) -> None:
    """Stripe never moves `created`; if a provider did, the range would call the stored key new (see
    sync/stored_keys.py): the load is rolled back and retried, or, from a one-shot iterator, refused whole."""
    store.apply_objects("stripe", [dated_charge("ch_1", 5), dated_charge("ch_2", 6)], version=1)
    moved = [dated_charge("ch_3", 900, 3), dated_charge("ch_1", 900, 7)]
    with pytest.raises(StoreError, match="nothing was written. Run it again"):
        store.apply_objects("stripe", iter(moved), version=2)
    assert payments(store) == [["ch_1", 5, 1000, 1], ["ch_2", 6, 1000, 1]]
    store.apply_objects("stripe", iter(moved), version=2)  # this process now checks payments' keys by hash
    assert payments(store) == [["ch_1", 900, 7, 2], ["ch_2", 6, 1000, 1], ["ch_3", 900, 3, 2]]
    customer = dict(RESOURCES["customer"], id="cus_1", created=5, email="a@example.com")
    store.apply_objects("stripe", [customer], version=1)
    assert store.apply_objects("stripe", [dict(customer, created=700, email="b@example.com")], version=2) == {
        "customers": 1}  # a list is simply loaded again
    assert store.query("SELECT email, version FROM customers").values.tolist() == [["b@example.com", 2]]


def test_created_moved_after_the_hashes_were_read(store: Store) -> None:
    """The hashes never see keys outside the range, so a moved key there is still the range's mistake: retried."""
    store.apply_objects("stripe", [dated_charge("ch_1", 100), dated_charge("ch_2", 200)], version=1)
    # ch_mid is new inside the range (the hashes get read); ch_1 moved outside it.
    store.apply_objects("stripe", [dated_charge("ch_mid", 150, 5), dated_charge("ch_1", 300, 7)], version=2)
    assert payments(store) == [["ch_1", 300, 7, 2], ["ch_2", 200, 1000, 1], ["ch_mid", 150, 5, 2]]


def test_only_a_duplicate_key_is_blamed_on_a_moved_created(store: Store) -> None:
    store.apply_objects("stripe", [dated_charge("ch_1", 100)], version=1)
    with pytest.raises(Exception, match="NOT NULL"):
        store.upsert_rows({"payments": [{"provider": "stripe", "id": "ch_2", "created": 500, "version": None}]})
    assert store_module._FILES.stored_keys(store._duck).table("payments").created_trusted


def test_created_moved_in_two_tables_of_one_load(store: Store) -> None:
    def with_refund(created: int, amount: int) -> dict[str, Any]:
        parent = dated_charge("ch_1", created, amount)
        parent["refunds"] = {"object": "list", "data": [dict(RESOURCES["refund"], id="re_1", created=created,
                                                              amount=amount)]}
        return parent

    store.apply_objects("stripe", [with_refund(5, 100)], version=1)
    # Both the charge and its refund moved: two retries, one table distrusted each time.
    assert store.apply_objects("stripe", [with_refund(900, 50)], version=2) == {"payments": 1, "refunds": 1}
    assert payments(store) == [["ch_1", 900, 50, 2]]
    assert store.query("SELECT amount, version FROM refunds").values.tolist() == [[50, 2]]
    registry = store_module._FILES.stored_keys(store._duck)
    assert [registry.table(name).created_trusted for name in ("payments", "refunds")] == [False, False]


def test_a_bulk_load_restores_the_gil_switch_interval_and_gc(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sys.getswitchinterval()
    assert gc.isenabled()
    seen: list[float] = []
    gc_during: list[bool] = []
    real = store_module._write_staged
    monkeypatch.setattr(store_module, "_write_staged", lambda *args: (
        seen.append(sys.getswitchinterval()), gc_during.append(gc.isenabled()), real(*args))[2])
    store.apply_objects("stripe", [charge("ch_1")], version=1)
    bad = charge("ch_bad")
    bad["amount"] = "not a number"
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type; what matters is the restore
        store.apply_objects("stripe", [bad], version=1)
    assert seen == [pytest.approx(store_module.BULK_SWITCH_INTERVAL)] and sys.getswitchinterval() == before
    assert gc_during == [False] and gc.isenabled()  # the cyclic GC pauses during a bulk load only


def test_a_stub_without_created_is_replaced_by_the_full_object(store: Store) -> None:
    """The stub row has no `created`: the UPDATE that matches on `created` misses it, and the MERGE takes over."""
    store.apply_events("stripe", [event("evt_1", "customer.deleted", 20, {"id": "cus_9", "object": "customer",
                                                                           "deleted": True})])
    customer = dict(RESOURCES["customer"], id="cus_9", email="late@example.com")
    store.apply_objects("stripe", [customer, dict(customer, id="cus_10", email="new@example.com")], version=30)
    found = store.query("SELECT id, email, deleted, version FROM customers ORDER BY id")
    assert found.to_dict("records") == [
        {"id": "cus_10", "email": "new@example.com", "deleted": False, "version": 30},
        {"id": "cus_9", "email": "late@example.com", "deleted": False, "version": 30},
    ]


def test_keys_written_around_the_store_are_seen_before_the_next_load(store: Store) -> None:
    """The stored-key hashes are rebuilt when the table's row count says a write bypassed them."""
    store.apply_objects("stripe", [charge("ch_1", 100)], version=10)
    store.cursor().execute("INSERT INTO payments (provider, id, version, deleted, amount) "
                           "VALUES ('stripe', 'ch_outside', 5, false, 1)")
    store.apply_objects("stripe", [charge("ch_outside", 700), charge("ch_2", 200)], version=10)
    assert store.query("SELECT id, amount FROM payments ORDER BY id").values.tolist() == [
        ["ch_1", 100], ["ch_2", 200], ["ch_outside", 700]]


def test_two_stores_on_one_file_share_what_is_stored(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'payops.duckdb'}"
    first, second = Store(url), Store(url)
    try:
        first.apply_objects("stripe", [charge("ch_1", 100)], version=10)
        second.apply_objects("stripe", [charge("ch_1", 150), charge("ch_2", 200)], version=11)
        first.apply_objects("stripe", [charge("ch_2", 250)], version=12)
        assert first.query("SELECT id, amount, version FROM payments ORDER BY id").values.tolist() == [
            ["ch_1", 150, 11], ["ch_2", 250, 12]]
    finally:
        first.close()
        second.close()


def test_a_reload_in_a_new_process_updates_in_place(tmp_path: Path) -> None:
    """A fresh process reads the stored keys from the file: a re-load updates every row, appends none."""
    path = tmp_path / "payops.duckdb"
    objs = [charge(f"ch_{i}", i) for i in range(50)]
    with_store = Store(f"duckdb:///{path}")
    with_store.apply_objects("stripe", objs, version=1)
    with_store.close()
    again = Store(f"duckdb:///{path}")
    try:
        again.apply_objects("stripe", [dict(o, amount=o["amount"] + 1000) for o in objs] + [charge("ch_new", 7)],
                            version=2)
        found = again.query("SELECT count(*) AS n, sum(amount) AS total, min(version) AS v FROM payments")
        assert found.to_dict("records") == [{"n": 51, "total": sum(range(50)) + 50 * 1000 + 7, "v": 2}]
    finally:
        again.close()


@pytest.mark.parametrize(("count", "size", "steps"), [
    (0, 4, []), (3, 4, [3]), (4, 4, [4]), (5, 4, [2, 3]), (9, 4, [3, 3, 3]), (20_000, 4096, [4000] * 5)])
def test_known_length_loads_split_into_equal_steps(count: int, size: int, steps: list[int]) -> None:
    chunks = list(store_module._chunks(list(range(count)), size))
    assert [len(c) for c in chunks] == steps
    assert [x for c in chunks for x in c] == list(range(count))


def _spy_shed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sheds that happened (the real ones), with a shared store shedding at every cache drop."""
    monkeypatch.setattr(store_module, "SHARED_DROPS_PER_SHED", 1)
    shed: list[str] = []
    real = store_module._shed_cached_blocks
    monkeypatch.setattr(store_module, "_shed_cached_blocks", lambda cur: (shed.append("shed"), real(cur)))
    return shed


def test_a_shed_after_a_checkpoint_keeps_the_data_and_restores_the_memory_limit(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = store.query("SELECT current_setting('memory_limit') AS v").v[0]
    monkeypatch.setattr(store_module, "CHECKPOINT_BYTES", 1)
    shed = _spy_shed(monkeypatch)
    store.apply_objects("stripe", [charge(f"ch_{i}", i) for i in range(20)], version=1)
    store.apply_objects("stripe", [charge(f"ch_{i}", i + 1) for i in range(20)], version=2)
    assert shed == ["shed", "shed"]
    assert store.query("SELECT current_setting('memory_limit') AS v").v[0] == limit
    assert store.query("SELECT count(*) AS n, sum(amount) AS total FROM payments").values.tolist() == [[20, 210]]


def test_a_query_out_of_memory_is_a_store_error_that_says_what_to_do(store: Store) -> None:
    store.cursor().execute("SET memory_limit = '2MB'")
    try:
        with pytest.raises(StoreError, match="Reload the page"):
            store.query("SELECT i % 100000 AS k, list(i) FROM range(3000000) AS t(i) GROUP BY k")
    finally:
        store.cursor().execute("RESET memory_limit")


def _spy_reattach(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The re-attaches that happened (the real ones: this only records them)."""
    done: list[Any] = []
    real = store_module._FILES.reattach_if_sole_user

    def spy(root: Any) -> bool:
        if real(root):
            done.append(root)
            return True
        return False

    monkeypatch.setattr(store_module._FILES, "reattach_if_sole_user", spy)
    return done


def test_an_exclusive_store_reattaches_its_file_after_a_checkpoint_and_every_way_in_still_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CHECKPOINT_BYTES", 1)
    reattached = _spy_reattach(monkeypatch)
    store = Store(f"duckdb:///{tmp_path / 'payops.duckdb'}", exclusive=True)
    try:
        # A cursor another thread opened before the re-attach (the engine's pooled ones are the same kind).
        other = ThreadPoolExecutor(1)
        count = "SELECT count(*) AS n, sum(amount) AS total, min(version) AS v FROM payments"
        assert other.submit(store.query, count).result().n[0] == 0
        store.apply_objects("stripe", [charge(f"ch_{i}", i) for i in range(20)], version=1)
        assert len(reattached) == 1
        # 0 + 1 + ... + 19 = 190
        assert store.query(count).to_dict("records") == [{"n": 20, "total": 190, "v": 1}]
        assert other.submit(store.query, count).result().to_dict("records") == [{"n": 20, "total": 190, "v": 1}]
        store.save_state("stripe", "charges", backfill_done=True)
        assert store.get_state("stripe", "charges")["backfill_done"] is True
        # The stored-key hashes outlive the re-attach: 20 updates and 1 insert, no duplicate, no lost row.
        store.apply_objects("stripe", [charge(f"ch_{i}", i + 1) for i in range(20)] + [charge("ch_new", 5)],
                            version=2)
        assert len(reattached) == 2
        # (1 + 2 + ... + 20) + 5 = 210 + 5
        assert store.query(count).to_dict("records") == [{"n": 21, "total": 215, "v": 2}]
        other.shutdown()
    finally:
        store.close()
    again = Store(f"duckdb:///{tmp_path / 'payops.duckdb'}")
    try:
        assert again.query("SELECT count(*) AS n FROM payments").n[0] == 21
    finally:
        again.close()


def test_after_a_reattach_an_exclusive_store_hands_back_duckdbs_leftovers_and_keeps_its_memory_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CHECKPOINT_BYTES", 1)
    drained: list[str] = []
    real = store_module._drain_eviction_queue

    def spy(cur: Any) -> None:
        real(cur)
        drained.append(cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    monkeypatch.setattr(store_module, "_drain_eviction_queue", spy)
    reattached = _spy_reattach(monkeypatch)
    store = Store(f"duckdb:///{tmp_path / 'payops.duckdb'}", exclusive=True)
    try:
        limit = store.query("SELECT current_setting('memory_limit') AS v").v[0]
        for version in (1, 2):
            store.apply_objects("stripe", [charge(f"ch_{i}", i + version) for i in range(20)], version=version)
        assert len(reattached) == 2 and drained == [limit, limit]
        # (2 + 3 + ... + 21) = 230
        assert store.query("SELECT count(*) AS n, sum(amount) AS total FROM payments").values.tolist() == [[20, 230]]
    finally:
        store.close()


def _spy_drain(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """DuckDB's cached table blocks (bytes) right before and right after each real drain."""
    sizes: list[tuple[int, int]] = []
    real = store_module._drain_eviction_queue
    cached = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"

    def spy(cur: Any) -> None:
        before = cur.execute(cached).fetchall()[0][0]
        real(cur)
        sizes.append((before, cur.execute(cached).fetchall()[0][0]))

    monkeypatch.setattr(store_module, "_drain_eviction_queue", spy)
    return sizes


def test_an_exclusive_store_drains_after_every_load_that_updated_and_only_then(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drained = _spy_drain(monkeypatch)
    reattached = _spy_reattach(monkeypatch)
    store = Store(f"duckdb:///{tmp_path / 'payops.duckdb'}", exclusive=True)
    try:
        limit = store.query("SELECT current_setting('memory_limit') AS v").v[0]
        store.apply_objects("stripe", [charge(f"ch_{i}", i) for i in range(20)], version=1)
        assert drained == []  # inserts into an empty table: nothing read, no checkpoint due
        store.checkpoint()  # so the re-load reads its rows from the file's blocks, which DuckDB then caches
        # A re-load: no checkpoint is due and nothing re-attaches, but what its UPDATE read is let go.
        store.apply_objects("stripe", [charge(f"ch_{i}", i + 1) for i in range(20)], version=2)
        assert reattached == [] and len(drained) == 1 and drained[0][0] > 0 and drained[0][1] == 0
        # New keys only (created before every stored one): an INSERT, nothing to drain.
        earlier = [dict(charge(f"ch_early{i}", 7), created=10**9 + i) for i in range(3)]
        store.apply_objects("stripe", earlier, version=3)
        assert len(drained) == 1
        # Those 3 rows are not checkpointed yet, so their block stays; the UPDATE's cached reads go.
        store.apply_objects("stripe", [charge(f"ch_{i}", i + 2) for i in range(20)], version=4)
        assert reattached == [] and len(drained) == 2 and drained[1][1] < drained[1][0]
        assert store.query("SELECT current_setting('memory_limit') AS v").v[0] == limit
        # (2 + 3 + ... + 21) + 3 * 7 = 230 + 21
        assert store.query("SELECT count(*) AS n, sum(amount) AS total FROM payments").values.tolist() == [[23, 251]]
    finally:
        store.close()


@pytest.mark.parametrize("after_a_checkpoint", [False, True], ids=["after-an-update", "after-a-reattach"])
def test_a_drain_that_duckdb_refuses_does_not_fail_the_load_it_follows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after_a_checkpoint: bool) -> None:
    import duckdb

    store = Store(f"duckdb:///{tmp_path / 'payops.duckdb'}", exclusive=True)
    try:
        store.apply_objects("stripe", [charge(f"ch_{i}", i) for i in range(5)], version=1)

        refused: list[Any] = []

        def refuse(cur: Any) -> None:
            refused.append(cur)
            raise duckdb.OutOfMemoryException("refused")

        monkeypatch.setattr(store_module, "_drain_eviction_queue", refuse)
        if after_a_checkpoint:
            monkeypatch.setattr(store_module, "CHECKPOINT_BYTES", 1)
        generation = store.generation
        assert store.apply_objects("stripe", [charge(f"ch_{i}", i + 1) for i in range(5)], version=2) == {
            "payments": 5}
        assert len(refused) == 1 and store.generation == generation + 1
        # 1 + 2 + 3 + 4 + 5 = 15
        assert store.query("SELECT sum(amount) AS total FROM payments").total[0] == 15
    finally:
        store.close()


def test_an_exclusive_store_that_shares_its_file_does_not_drain_after_a_reload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drained = _spy_drain(monkeypatch)
    path = f"duckdb:///{tmp_path / 'payops.duckdb'}"
    first, second = Store(path, exclusive=True), Store(path)  # a page's store too: a drain could starve its queries
    try:
        first.apply_objects("stripe", [charge(f"ch_{i}", i) for i in range(5)], version=1)
        first.apply_objects("stripe", [charge(f"ch_{i}", i + 1) for i in range(5)], version=2)
        assert drained == []
        # 1 + 2 + 3 + 4 + 5 = 15
        assert second.query("SELECT sum(amount) AS total FROM payments").total[0] == 15
    finally:
        second.close()
        first.close()


def test_a_drain_unloads_what_duckdb_cached_and_restores_the_memory_limit(store: Store) -> None:
    cur = store.cursor()
    limit = cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    cur.execute("CREATE TABLE cached AS SELECT range AS k, repeat('x', 100) AS v FROM range(300000)")
    cur.execute("CHECKPOINT")
    assert cur.execute("SELECT sum(length(v)) FROM cached").fetchall() == [(30_000_000,)]
    cached = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
    assert cur.execute(cached).fetchall()[0][0] > 0
    store_module._drain_eviction_queue(cur)
    assert cur.execute(cached).fetchall()[0][0] == 0
    assert cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == limit


def test_a_shared_store_sheds_instead_of_reattaching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CHECKPOINT_BYTES", 1)
    reattached = _spy_reattach(monkeypatch)
    shed = _spy_shed(monkeypatch)
    path = f"duckdb:///{tmp_path / 'payops.duckdb'}"
    first, second = Store(path, exclusive=True), Store(path)  # exclusive, but not the file's only user
    try:
        first.apply_objects("stripe", [charge(f"ch_{i}") for i in range(5)], version=1)
        assert (reattached, shed) == ([], ["shed"])
        assert second.query("SELECT count(*) AS n FROM payments").n[0] == 5
    finally:
        second.close()
        first.close()


@pytest.mark.parametrize("exclusive", [True, False])
def test_reading_the_stored_keys_drops_what_it_cached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exclusive: bool) -> None:
    path = f"duckdb:///{tmp_path / 'payops.duckdb'}"
    first = Store(path)
    first.apply_objects("stripe", [charge(f"ch_{i}") for i in range(5)], version=1)
    first.close()
    reattached = _spy_reattach(monkeypatch)
    shed = _spy_shed(monkeypatch)
    store = Store(path, exclusive=exclusive)  # a new process's first load reads the table's `created` range
    try:
        store.apply_objects("stripe", [charge("ch_0", 7)], version=2)
        store.apply_objects("stripe", [charge("ch_1", 9)], version=2)
        # The range is read inside the first load's transaction, and what that cached is dropped after it: an
        # exclusive store re-attaches the file, a shared one sheds the blocks. The second load reads nothing.
        assert (len(reattached), len(shed)) == ((1, 0) if exclusive else (0, 1))
        # 7 + 9 + 3 * 1000
        assert store.query("SELECT count(*) AS n, sum(amount) AS total FROM payments").values.tolist() == [[5, 3016]]
    finally:
        store.close()


def test_many_threads_share_the_duckdb_engine(tmp_path: Path) -> None:
    # SQLAlchemy's default pool for this engine kept 5 connections: a 6th thread closed another thread's connection
    # mid-query ("Connection already closed!"), as a server with 6 sessions would.
    import threading

    from sqlalchemy import text

    store = Store(f"duckdb:///{tmp_path / 'threads.duckdb'}")
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def work() -> None:
        try:
            start.wait()
            for _ in range(50):
                with store.engine.connect() as conn:
                    assert conn.execute(text("SELECT 1")).scalar() == 1
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert errors == []
