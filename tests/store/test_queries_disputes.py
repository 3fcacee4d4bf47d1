"""Dispute queue and ratio queries on the hand-written data sets (tests/conftest.py seed_store, and
tests/store/conftest.py seed_dispute_queue for the queue's order over every state)."""

from __future__ import annotations

import datetime as dt

from dashboard.filters import Filters
from dashboard.queries import disputes as q
from tests.conftest import SEED_NOW

DEFAULT = Filters(start=dt.date(2026, 8, 23), end=dt.date(2026, 11, 20))


def test_queue_puts_what_needs_a_response_first_by_deadline(seeded_store) -> None:
    queue = q.dispute_queue(seeded_store, DEFAULT, SEED_NOW)
    # Needing a response: dp_3 (due 11-19 00:00, passed), dp_2 (11-22 00:00), dp_4 (12-01 00:00); then dp_5 under
    # review (its 11-13 deadline no longer matters) and dp_1 lost (opened 11-06, inside the range).
    assert list(queue["id"]) == ["dp_3", "dp_2", "dp_4", "dp_5", "dp_1"]
    # From 2026-11-20 12:00: 11-19 00:00 is -1.5 days, 11-22 00:00 is +1.5, 12-01 00:00 is +10.5; none once
    # the evidence is in or the dispute is decided.
    assert list(queue["days_left"].iloc[:3]) == [-1.5, 1.5, 10.5]
    assert queue["days_left"].iloc[3:].isna().all()
    assert list(queue["bucket"]) == ["Overdue", "Due within 72 h", "Needs response", "Under review", "Lost"]
    assert list(queue["is_open"]) == [True, True, True, True, False]
    # dp_2 carries no card details: its brand comes from the charge (ch_jpy1, visa).
    assert queue.set_index("id").loc["dp_2", "card_brand"] == "visa"
    dp_3 = queue.set_index("id").loc["dp_3"]
    assert (dp_3["amount"], dp_3["currency"]) == (1234, "KWD")


def test_queue_order_over_every_state(dispute_store) -> None:
    """tests/store/conftest.py seed_dispute_queue, as of 2026-11-20 12:00; the order and days written by hand."""
    queue = q.dispute_queue(dispute_store, DEFAULT, SEED_NOW)
    expected = [
        # needs_response, overdue first then soonest: 11-18 12:00 (-2.0 days), 11-20 00:00 (-0.5)
        ("q_nr_over2", "Overdue", -2.0), ("q_nr_over1", "Overdue", -0.5),
        # 11-21 00:00 (+0.5), 11-22 12:00 (+2.0)
        ("q_nr_soon1", "Due within 72 h", 0.5), ("q_nr_soon2", "Due within 72 h", 2.0),
        # 11-23 13:00 (+3 d 1 h = 3.04 -> 3.0), 12-05 00:00 (+14.5); no deadline last
        ("q_nr_edge", "Needs response", 3.0), ("q_nr_far", "Needs response", 14.5),
        ("q_nr_nodue", "Needs response", None),
        # inquiries, by deadline: 11-19 12:00 (-1.0), 11-21 12:00 (+1.0)
        ("q_inq_over", "Inquiry", -1.0), ("q_inq_soon", "Inquiry", 1.0),
        # under review, waiting longest first: opened 10-20, 11-01
        ("q_ur_old", "Under review", None), ("q_ur_new", "Under review", None),
        # closed inside the range, newest first: 11-08, 11-05, 11-02 (q_lost_old, opened 05-01, is outside)
        ("q_lost", "Lost", None), ("q_won", "Won", None), ("q_wclosed", "Inquiry closed", None),
    ]
    got = [(i, b, None if d != d else d) for i, b, d in zip(queue["id"], queue["bucket"], queue["days_left"],
                                                               strict=True)]
    assert got == expected
    assert int(queue["is_open"].sum()) == 11


def test_queue_filters_by_currency(seeded_store, dispute_store) -> None:
    usd = q.dispute_queue(seeded_store, Filters(DEFAULT.start, DEFAULT.end, currency="USD"), SEED_NOW)
    assert list(usd["id"]) == ["dp_4", "dp_5", "dp_1"]
    eur = q.dispute_queue(dispute_store, Filters(DEFAULT.start, DEFAULT.end, currency="EUR"), SEED_NOW)
    assert list(eur["id"]) == ["q_nr_soon2", "q_ur_new"]


def test_closed_disputes_follow_the_date_range_open_ones_do_not(dispute_store) -> None:
    november = q.dispute_queue(dispute_store, Filters(dt.date(2026, 11, 6), dt.date(2026, 11, 20)), SEED_NOW)
    closed = november.loc[~november["is_open"], "id"]
    assert list(closed) == ["q_lost"]  # opened 11-08; q_won 11-05 and q_wclosed 11-02 are before the range
    assert int(november["is_open"].sum()) == 11  # every open one, whenever it was opened (q_ur_old: 10-20)


def test_due_soon_boundary_is_72_hours(seeded_store) -> None:
    # dp_4 is due 2026-12-01 00:00; 72 h before that is 11-28 00:00.
    just_outside = q.dispute_queue(seeded_store, DEFAULT, dt.datetime(2026, 11, 27, 23, 59))
    assert just_outside.set_index("id").loc["dp_4", "bucket"] == "Needs response"
    inside = q.dispute_queue(seeded_store, DEFAULT, dt.datetime(2026, 11, 28, 0, 1))
    assert inside.set_index("id").loc["dp_4", "bucket"] == "Due within 72 h"


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
