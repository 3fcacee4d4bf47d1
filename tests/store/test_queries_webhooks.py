"""Event queries (by type over time, pending delivery) on the hand-written data set."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.filters import Filters
from dashboard.queries import webhooks as q

DEFAULT = Filters(start=dt.date(2026, 8, 23), end=dt.date(2026, 11, 20))


def test_events_by_type_per_day_and_month(seeded_store) -> None:
    # In range: evt_8 (11-01 invoice.paid), evt_1 (11-01 charge.succeeded), evt_2 + evt_7 (11-02), evt_3 (11-03),
    # evt_4 + evt_5 (11-10) = 7 events of 7 types; evt_6 (06-01) is out of range.
    daily = q.events_by_type(seeded_store, DEFAULT, "day")
    assert int(daily["events"].sum()) == 7
    assert int(daily[daily["period"] == dt.datetime(2026, 11, 2)]["events"].sum()) == 2
    monthly = q.events_by_type(seeded_store, DEFAULT, "month")
    assert list(monthly["period"].unique()) == [dt.datetime(2026, 11, 1)]
    wide = q.events_by_type(seeded_store, Filters(dt.date(2026, 1, 1), DEFAULT.end), "month")
    assert int(wide["events"].sum()) == 8


def test_bad_grain_is_refused(seeded_store) -> None:
    with pytest.raises(ValueError, match="grain"):
        q.events_by_type(seeded_store, DEFAULT, "hour; DROP TABLE events")


def test_pending_events(seeded_store) -> None:
    # pending_webhooks > 0: evt_2 (1), evt_4 (2) in range, evt_6 (1) in June.
    pending = q.pending_events(seeded_store, DEFAULT)
    assert list(pending["id"]) == ["evt_2", "evt_4"]
    assert list(pending["pending_webhooks"]) == [1, 2]
    wide = q.pending_events(seeded_store, Filters(dt.date(2026, 1, 1), DEFAULT.end))
    assert list(wide["id"]) == ["evt_6", "evt_2", "evt_4"]
    assert q.pending_events(seeded_store, Filters(DEFAULT.start, DEFAULT.end, provider="braintree")).empty


def test_event_type_totals(seeded_store) -> None:
    totals = q.event_type_totals(seeded_store, DEFAULT).set_index("type")
    assert totals.loc["charge.failed", "pending"] == 1 and totals.loc["charge.succeeded", "pending"] == 0
    assert int(totals["events"].sum()) == 7
