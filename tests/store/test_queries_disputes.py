"""Dispute queue and ratio queries on the hand-written data set (tests/conftest.py seed_store)."""

from __future__ import annotations

import datetime as dt

from dashboard.filters import Filters
from dashboard.queries import disputes as q
from tests.conftest import SEED_NOW

DEFAULT = Filters(start=dt.date(2026, 8, 23), end=dt.date(2026, 11, 20))


def test_queue_orders_by_due_date_with_days_left_and_urgency(seeded_store) -> None:
    queue = q.dispute_queue(seeded_store, DEFAULT, SEED_NOW)
    # Open: dp_5 under review (due 11-13), dp_3 (due 11-19 00:00), dp_2 (11-22 00:00), dp_4 (12-01 00:00);
    # dp_1 is lost, so not in the queue.
    assert list(queue["id"]) == ["dp_5", "dp_3", "dp_2", "dp_4"]
    # From 2026-11-20 12:00: 11-19 00:00 is -1.5 days, 11-22 00:00 is +1.5, 12-01 00:00 is +10.5.
    assert list(queue["days_left"]) == [-7.5, -1.5, 1.5, 10.5]
    assert list(queue["urgency"]) == ["under review", "overdue", "due within 72 h", "open"]
    # dp_2 carries no card details: its brand comes from the charge (ch_jpy1, visa).
    assert queue.set_index("id").loc["dp_2", "card_brand"] == "visa"
    dp_3 = queue.set_index("id").loc["dp_3"]
    assert (dp_3["amount"], dp_3["currency"]) == (1234, "KWD")


def test_queue_filters_by_currency(seeded_store) -> None:
    usd = q.dispute_queue(seeded_store, Filters(DEFAULT.start, DEFAULT.end, currency="USD"), SEED_NOW)
    assert list(usd["id"]) == ["dp_5", "dp_4"]


def test_due_soon_boundary_is_72_hours(seeded_store) -> None:
    # dp_4 is due 2026-12-01 00:00; 72 h before that is 11-28 00:00.
    just_outside = q.dispute_queue(seeded_store, DEFAULT, dt.datetime(2026, 11, 27, 23, 59))
    assert just_outside.set_index("id").loc["dp_4", "urgency"] == "open"
    inside = q.dispute_queue(seeded_store, DEFAULT, dt.datetime(2026, 11, 28, 0, 1))
    assert inside.set_index("id").loc["dp_4", "urgency"] == "due within 72 h"


def test_monthly_ratios_per_network(seeded_store) -> None:
    ratios = q.dispute_ratios(seeded_store, Filters(dt.date(2026, 10, 1), dt.date(2026, 11, 20)))
    r = ratios.set_index(["month", "network"])
    nov, oct_ = dt.date(2026, 11, 1), dt.date(2026, 10, 1)
    # Visa Nov: disputes dp_5 (11-03) + dp_2 (11-13) = 2; settled visa charges in Nov: ch_usd1, ch_jpy1, bt_txn1
    # = 3 (ch_usd3 failed) -> 2/3.
    assert (r.loc[(nov, "visa"), "disputes"], r.loc[(nov, "visa"), "transactions"]) == (2, 3)
    assert abs(r.loc[(nov, "visa"), "ratio"] - 2 / 3) < 1e-12
    assert r.loc[(nov, "visa"), "threshold"] == 0.015  # April 2026 onward
    assert r.loc[(nov, "visa"), "status"] == "ratio above 1.5%, count under 1,500"
    # Mastercard Nov: dp_1 (11-06) = 1 over October's mastercard transactions (ch_kwd1) = 1 -> 1/1.
    assert (r.loc[(nov, "mastercard"), "disputes"], r.loc[(nov, "mastercard"), "transactions"]) == (1, 1)
    assert r.loc[(nov, "mastercard"), "ratio"] == 1.0
    # Oct: visa dp_4 but no visa charge settled in October -> no ratio; mastercard dp_3 over September's 0.
    assert r.loc[(oct_, "visa"), "disputes"] == 1 and r.loc[(oct_, "visa"), "transactions"] == 0
    assert r.loc[(oct_, "visa"), "status"] == "ok"
    # Stripe only: Visa Nov = 2 / 2 (bt_txn1 is braintree).
    stripe = q.dispute_ratios(seeded_store, Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 20), provider="stripe"))
    assert stripe.set_index(["month", "network"]).loc[(nov, "visa"), "ratio"] == 1.0


def test_programme_thresholds() -> None:
    # Visa: 2.2% before April 2026, 1.5% from then, excessive only above 1,500 a month.
    assert q.visa_status(dt.date(2026, 3, 1), 2000, 0.02) == (0.022, "ok")
    assert q.visa_status(dt.date(2026, 4, 1), 2000, 0.02) == (0.015, "excessive (>= 1.5%)")
    # Mastercard: 100+ chargebacks at 1.0% monitored, 1.5% ECM, 3.0% HECM.
    assert q.mastercard_status(100, 0.012)[1] == "monitored (>= 1.0%)"
    assert q.mastercard_status(150, 0.02)[1] == "ECM (excessive, >= 1.5%)"
    assert q.mastercard_status(300, 0.031)[1] == "HECM (excessive, >= 3.0%)"
    assert q.mastercard_status(99, 0.05)[1] == "ratio above 1.0%, count under 100"
    assert q.mastercard_status(500, 0.005)[1] == "ok"
