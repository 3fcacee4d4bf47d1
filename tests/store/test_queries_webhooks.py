"""Webhook queries on the hand-written data set: events by type and pending delivery, the delivery log (outcomes
over time, failure reasons, totals, detail), undelivered vs received, and replay candidates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pandas as pd
import pytest
from sqlalchemy import insert

from dashboard.filters import Filters
from dashboard.queries import webhooks as q
from sync.store import Store
from sync.webhook_schema import webhook_deliveries
from tests.conftest import seed_store

DEFAULT = Filters(start=dt.date(2026, 8, 23), end=dt.date(2026, 11, 20))
WIDE = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 11, 20))

EVT_11 = {"id": "evt_11", "object": "event", "type": "customer.updated", "created": 1795078740,  # 11-19 08:59 UTC
          "data": {"object": {"id": "cus_a", "object": "customer", "email": "alice@new.example"}}}


def _delivery(n: int, at: str, verdict: str, outcome: str, status: int, ms: float, event_id: str | None = None,
              event_type: str | None = None, error: str | None = None, signature_ok: bool | None = None,
              body: str = "{}", livemode: bool | None = False) -> dict[str, Any]:
    when = dt.datetime.fromisoformat(at)
    return {"id": f"whd_{n:02d}", "provider": "stripe", "received_at": when, "remote_addr": "127.0.0.1",
            "event_id": event_id, "event_type": event_type,
            "event_created": when - dt.timedelta(minutes=1) if event_id else None, "livemode": livemode,
            "signature_ok": verdict in ("ok", "stale_timestamp", "future_timestamp") if signature_ok is None
            else signature_ok, "verdict": verdict, "status_code": status, "outcome": outcome, "error": error,
            "duration_ms": ms, "headers": orjson.dumps({"x-n": str(n)}).decode(), "body": body, "body_bytes": len(body),
            "body_truncated": False, "trace": orjson.dumps([{"step": "verify", "ms": 0.1}]).decode()}


DELIVERIES = [
    _delivery(1, "2026-11-18 10:00", "ok", "applied", 200, 5.0, "evt_2", "charge.refunded"),
    _delivery(2, "2026-11-18 10:05", "ok", "duplicate", 200, 3.0, "evt_2", "charge.refunded"),
    _delivery(3, "2026-11-19 09:00", "ok", "apply_error", 500, 7.0, "evt_11", "customer.updated",
              error="StoreError: boom", body=orjson.dumps(EVT_11).decode()),
    _delivery(4, "2026-11-19 09:30", "ok", "apply_error", 500, 9.0, "evt_11", "customer.updated",
              error="StoreError: boom", body=orjson.dumps(EVT_11).decode()),
    _delivery(5, "2026-11-19 11:00", "bad_signature", "rejected", 400, 1.0),
    _delivery(6, "2026-11-20 08:00", "stale_timestamp", "rejected", 400, 2.0),
    _delivery(7, "2026-11-20 08:10", "future_timestamp", "rejected", 400, 2.0),
    _delivery(8, "2026-11-20 09:00", "ok", "ignored_type", 200, 4.0, "evt_10", "product.created", livemode=True),
    _delivery(9, "2026-08-01 12:00", "ok", "applied", 200, 6.0, "evt_0", "charge.succeeded"),  # before the range
    _delivery(10, "2026-11-20 10:00", "wrong_content_type", "rejected", 415, 0.5, livemode=None),
]


# Both backends (tests/postgres.py): overrides tests/conftest.py's DuckDB-only fixture in this module.
@pytest.fixture
def seeded_store(any_store: Store) -> Store:
    seed_store(any_store)
    return any_store


def add_deliveries(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(webhook_deliveries), DELIVERIES)


@pytest.fixture
def log_store(seeded_store: Store) -> Store:
    add_deliveries(seeded_store)
    return seeded_store


def test_events_by_type_per_day_and_month(seeded_store) -> None:
    # In range: evt_8 (11-01 invoice.paid), evt_1 (11-01 charge.succeeded), evt_2 + evt_7 (11-02), evt_3 (11-03),
    # evt_4 + evt_5 (11-10) = 7 events of 7 types; evt_6 (06-01) is out of range.
    daily = q.events_by_type(seeded_store, DEFAULT, "day")
    assert int(daily["events"].sum()) == 7
    assert int(daily[daily["period"] == dt.datetime(2026, 11, 2)]["events"].sum()) == 2
    monthly = q.events_by_type(seeded_store, DEFAULT, "month")
    assert list(monthly["period"].unique()) == [dt.datetime(2026, 11, 1)]
    wide = q.events_by_type(seeded_store, WIDE, "month")
    assert int(wide["events"].sum()) == 8


def test_bad_grain_is_refused(seeded_store) -> None:
    with pytest.raises(ValueError, match="grain"):
        q.events_by_type(seeded_store, DEFAULT, "hour; DROP TABLE events")
    with pytest.raises(ValueError, match="grain"):
        q.deliveries_over_time(seeded_store, DEFAULT, "minute")


def test_pending_events(seeded_store) -> None:
    # pending_webhooks > 0: evt_2 (1), evt_4 (2) in range, evt_6 (1) in June.
    pending = q.pending_events(seeded_store, DEFAULT)
    assert list(pending["id"]) == ["evt_2", "evt_4"]
    assert list(pending["pending_webhooks"]) == [1, 2]
    wide = q.pending_events(seeded_store, WIDE)
    assert list(wide["id"]) == ["evt_6", "evt_2", "evt_4"]
    assert q.pending_events(seeded_store, Filters(DEFAULT.start, DEFAULT.end, provider="braintree")).empty


def test_event_type_totals(seeded_store) -> None:
    totals = q.event_type_totals(seeded_store, DEFAULT).set_index("type")
    assert totals.loc["charge.failed", "pending"] == 1 and totals.loc["charge.succeeded", "pending"] == 0
    assert int(totals["events"].sum()) == 7


def test_delivery_totals(log_store) -> None:
    # In range: deliveries 1-8 and 10 = 9 (9 is 08-01). Events: evt_2, evt_11, evt_10 = 3. applied 1 (d1),
    # duplicate 1 (d2), ignored 1 (d8), failed = d3, d4 (apply_error) + d5, d6, d7, d10 (rejected) = 6.
    # Durations sorted 0.5, 1, 2, 2, 3, 4, 5, 7, 9: the median is the 5th, 3.0.
    [row] = q.delivery_totals(log_store, DEFAULT).to_dict("records")
    assert {k: row[k] for k in ("deliveries", "events", "applied", "duplicates", "ignored", "failed")} == {
        "deliveries": 9, "events": 3, "applied": 1, "duplicates": 1, "ignored": 1, "failed": 6}
    assert row["p50_ms"] == pytest.approx(3.0)
    # charge.refunded only: d1 + d2; since 11-20 00:00: d6, d7, d8, d10.
    assert int(q.delivery_totals(log_store, DEFAULT, "charge.refunded").iloc[0]["deliveries"]) == 2
    assert int(q.delivery_totals(log_store, DEFAULT, since=dt.datetime(2026, 11, 20)).iloc[0]["deliveries"]) == 4
    assert int(q.delivery_totals(log_store, Filters(DEFAULT.start, DEFAULT.end, provider="braintree"))
               .iloc[0]["deliveries"]) == 0


def test_deliveries_over_time_by_outcome(log_store) -> None:
    # 11-18: applied 1, duplicate 1; 11-19: apply_error 2, rejected 1; 11-20: ignored_type 1, rejected 3.
    daily = q.deliveries_over_time(log_store, DEFAULT, "day")
    got = {(r["period"].date().isoformat(), r["outcome"]): r["deliveries"] for r in daily.to_dict("records")}
    assert got == {("2026-11-18", "applied"): 1, ("2026-11-18", "duplicate"): 1, ("2026-11-19", "apply_error"): 2,
                   ("2026-11-19", "rejected"): 1, ("2026-11-20", "ignored_type"): 1, ("2026-11-20", "rejected"): 3}


def test_failure_reasons(log_store) -> None:
    # apply error "StoreError: boom" x2 (one event), then one each, ties by reason then detail.
    reasons = q.failure_reasons(log_store, DEFAULT)
    assert [(r["reason"], r["detail"], r["deliveries"]) for r in reasons.to_dict("records")] == [
        ("apply error", "StoreError: boom", 2),
        ("bad signature", "bad_signature", 1),
        ("malformed request", "wrong_content_type", 1),
        ("stale or future timestamp", "future_timestamp", 1),
        ("stale or future timestamp", "stale_timestamp", 1),
    ]
    assert int(reasons.iloc[0]["events"]) == 1
    assert q.failure_reasons(log_store, DEFAULT, "charge.refunded").empty


def test_delivery_log_and_detail(log_store) -> None:
    log = q.delivery_log(log_store, DEFAULT)
    assert list(log["id"])[:3] == ["whd_10", "whd_08", "whd_07"]  # newest first
    assert len(log) == 9
    assert list(q.delivery_log(log_store, DEFAULT, outcome="apply_error")["id"]) == ["whd_04", "whd_03"]
    [detail] = q.delivery_detail(log_store, "whd_03").to_dict("records")
    assert orjson.loads(detail["body"])["id"] == "evt_11" and detail["error"] == "StoreError: boom"
    assert orjson.loads(detail["trace"])[0]["step"] == "verify"


def test_log_and_undelivered_say_each_event_ids_provider_and_mode(log_store) -> None:
    """Issue 20.6: ids link to the provider's dashboard in the object's own mode, so the rows carry both; a delivery
    refused unread (whd_10) knows no mode and links nowhere."""
    log = q.delivery_log(log_store, DEFAULT).set_index("id")
    assert set(log["provider"]) == {"stripe"}
    assert log.loc["whd_08", "livemode"] == True and log.loc["whd_07", "livemode"] == False  # noqa: E712
    assert log.loc["whd_10", "livemode"] is None or pd.isna(log.loc["whd_10", "livemode"])
    side = q.undelivered_vs_received(log_store, DEFAULT)
    assert [(r["provider"], r["id"], r["livemode"]) for r in side.to_dict("records")] == [
        ("stripe", "evt_2", False), ("stripe", "evt_4", False)]
    pending = q.pending_events(log_store, DEFAULT)
    assert list(pending["livemode"]) == [False, False]


def test_undelivered_vs_received(log_store) -> None:
    # evt_2 pending 1: received twice, newest a duplicate; evt_4 pending 2: never received.
    side = q.undelivered_vs_received(log_store, DEFAULT)
    assert [(r["id"], r["pending_webhooks"], r["received"], r["last_outcome"]) for r in side.to_dict("records")] == [
        ("evt_2", 1, 2, "duplicate"), ("evt_4", 2, 0, "not_received")]


def test_replay_candidates(log_store) -> None:
    # Stored events in range: evt_1, 2, 3, 4, 5, 7, 8 (7); received only: evt_11 (11-19), evt_10 (11-20) -> 9.
    # evt_0 was received (08-01) before the range.
    found = q.replay_candidates(log_store, DEFAULT).set_index("event_id")
    assert len(found) == 9
    assert bool(found.loc["evt_2", "processed"]) and found.loc["evt_2", "last_outcome"] == "duplicate"
    assert not bool(found.loc["evt_11", "processed"]) and bool(found.loc["evt_11", "has_copy"])
    assert found.loc["evt_11", "last_outcome"] == "apply_error" and found.loc["evt_11", "deliveries"] == 2
    failed = q.replay_candidates(log_store, DEFAULT, outcome="apply_error")
    assert list(failed["event_id"]) == ["evt_11"]
    never = q.replay_candidates(log_store, DEFAULT, outcome="not_received")
    assert sorted(never["event_id"]) == ["evt_1", "evt_3", "evt_4", "evt_5", "evt_7", "evt_8"]
    assert list(q.replay_candidates(log_store, DEFAULT, event_type="charge.refunded")["event_id"]) == ["evt_2"]
