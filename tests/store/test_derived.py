"""Derived MRR snapshots stay current: a new subscription event after a first read shows in the next read."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.queries import mrr as q
from sync import derived
from sync.store import Store

T0 = 1_780_000_000  # 2026-05-28


def _sub(quantity: int, status: str = "active") -> dict[str, Any]:
    item = {"id": "si_1", "object": "subscription_item", "quantity": quantity,
            "price": {"id": "price_1", "object": "price", "currency": "usd", "unit_amount": 2500,
                      "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}}
    return {"id": "sub_1", "object": "subscription", "customer": "cus_1", "currency": "usd", "status": status,
            "created": T0, "start_date": T0, "items": {"object": "list", "data": [item]}}


# Both backends (tests/postgres.py): overrides tests/conftest.py's DuckDB-only `store` in this module.
@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


def _event(id: str, type_: str, created: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": id, "object": "event", "type": type_, "created": created, "data": {"object": obj}}


def _timeline(store: Store) -> list[int]:
    return [int(v) for v in q.mrr_timeline(store)["mrr"]]


def test_reads_see_events_written_after_the_first_read(store: Store) -> None:
    store.apply_events("stripe", [_event("evt_1", "customer.subscription.created", T0, _sub(2))])
    assert _timeline(store) == [5000]  # 2 seats x $25.00 a month
    store.apply_events("stripe", [_event("evt_2", "customer.subscription.updated", T0 + 86400, _sub(3))])
    assert _timeline(store) == [5000, 7500]  # expansion to 3 seats
    store.apply_events("stripe", [_event("evt_3", "customer.subscription.deleted", T0 + 2 * 86400,
                                         _sub(3, status="canceled"))])
    assert _timeline(store) == [5000, 7500, 0]
    assert int(q.current_mrr(store)["mrr"].sum()) == 0


def test_after_upsert_hook_and_full_refresh_agree(store: Store) -> None:
    events = [_event("evt_1", "customer.subscription.created", T0, _sub(1)),
              _event("evt_2", "customer.subscription.updated", T0 + 60, _sub(4))]
    store.apply_events("stripe", events)
    derived.refresh_all(store)
    full = _timeline(store)
    assert full == [2500, 10000]
    store.apply_events("stripe", [_event("evt_4", "customer.subscription.updated", T0 + 120, _sub(2))])
    derived.after_upsert(store, {"events": [{"provider": "stripe", "id": "evt_4", "object_id": "sub_1"}],
                                 "subscriptions": [{"provider": "stripe", "id": "sub_1"}]})
    assert _timeline(store) == [2500, 10000, 5000]  # contraction 4 -> 2 seats


def test_after_upsert_alone_brings_both_derived_tables_current(store: Store) -> None:
    """Read the derived tables themselves, so no reader's own refresh can hide a hook that did nothing."""
    store.apply_events("stripe", [_event("evt_1", "customer.subscription.created", T0, _sub(1))])
    derived.refresh_all(store)
    store.apply_events("stripe", [_event("evt_2", "customer.subscription.updated", T0 + 60, _sub(4))])
    store.apply_objects("stripe", [
        {"id": "ch_1", "object": "charge", "created": T0, "amount": 1000, "amount_captured": 1000, "currency": "usd",
         "status": "succeeded", "balance_transaction": "txn_1"},
        {"id": "txn_1", "object": "balance_transaction", "created": T0, "amount": 1000, "fee": 59, "net": 941,
         "currency": "usd", "type": "charge", "source": "ch_1"}], T0)
    derived.after_upsert(store, {
        "events": [{"provider": "stripe", "id": "evt_2", "object_id": "sub_1",
                    "type": "customer.subscription.updated"}],
        "payments": [{"provider": "stripe", "id": "ch_1", "balance_transaction_id": "txn_1"}],
        "balance_transactions": [{"provider": "stripe", "id": "txn_1"}]})
    assert list(store.frame("SELECT mrr FROM mrr_snapshots ORDER BY seq")["mrr"]) == [2500, 10000]  # 1 -> 4 seats
    assert store.frame("SELECT id, fee, net FROM revenue_bts").to_dict("records") == [
        {"id": "txn_1", "fee": 59, "net": 941}]


def test_freshness_marks_die_with_their_store(tmp_path) -> None:
    """Marks were keyed by id(store): a new Store born at a closed one's address skipped creating its tables."""
    import gc

    gc.collect()  # earlier tests' closed stores, so only this one's marks go below
    first = Store(f"duckdb:///{tmp_path / 'first.duckdb'}")
    derived.ensure_revenue_bts(first)
    assert derived._is_fresh(first, "revenue_bts", first.generation)
    marked = len(derived._fresh)
    first.close()
    del first
    gc.collect()
    assert len(derived._fresh) == marked - 1
    second = Store(f"duckdb:///{tmp_path / 'second.duckdb'}")
    try:
        assert not derived._is_fresh(second, "revenue_bts", second.generation)
        derived.ensure_revenue_bts(second)
        assert second.query("SELECT count(*) AS n FROM revenue_bts").n[0] == 0
    finally:
        second.close()
