"""MRR queries on the hand-written finance store (tests/store/conftest.py); expectations computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.queries import mrr as q
from sync.store import Store
from tests.store.conftest import NOW, _item, _sub, seed_finance, ts


# Both backends (tests/postgres.py): these override tests/store/conftest.py's DuckDB-only fixtures in this module.
@pytest.fixture
def finance_store(any_store: Store) -> Store:
    seed_finance(any_store)
    return any_store


@pytest.fixture
def empty_store(any_store: Store) -> Store:
    return any_store


def test_subscription_mrr(finance_store):
    m = q.subscription_mrr(finance_store).set_index("subscription_id")["mrr"].to_dict()
    # Yearly $1,200.00 x 3 with a forever 20% coupon: 120000 * 3 / 12 * 0.8 = 24000.
    assert m["sub_a1"] == 24000
    # $50.00 x 2 after the upgrade; the metered item does not count: 5000 * 2 = 10000.
    assert m["sub_b1"] == 10000
    # Weekly KWD 1.000, past_due still counts: 1000 * 52 / 12 = 4333.33 -> 4333 (nearest fils).
    assert m["sub_d1"] == 4333
    assert m["sub_c2"] == 1500
    # Trial, canceled: 0.
    assert (m["sub_e1"], m["sub_b2"], m["sub_c1"], m["sub_g1"]) == (0, 0, 0, 0)


def test_current_mrr_arr_arpu(finance_store):
    cur = q.current_mrr(finance_store).set_index("currency")
    # USD: 24000 + 10000 = 34000; ARR 12 x 34000 = 408000; 2 subscribers (cus_a, cus_b); ARPU 17000.
    assert cur.loc["USD"].to_dict() == {"mrr": 34000, "arr": 408000, "subscribers": 2, "subscriptions": 2,
                                        "arpu": 17000}
    assert cur.loc["JPY", "mrr"] == 1500
    # KWD ARR: 4333 * 12 = 51996.
    assert cur.loc["KWD", "arr"] == 51996
    assert list(q.current_mrr(finance_store, currency="JPY")["currency"]) == ["JPY"]


def test_coupon_rounding_and_durations(store_url):
    store = Store(store_url)
    once = {"id": "ONCE50", "duration": "once", "percent_off": 50}
    repeating = {"id": "REP", "duration": "repeating", "percent_off": 50, "duration_in_months": 3}
    forever_amount = {"id": "OFF", "duration": "forever", "amount_off": 1000, "currency": "usd"}
    forever_odd = {"id": "ODD", "duration": "forever", "percent_off": 12.5}
    subs = [
        _sub("s_once", "c1", "usd", "active", "2026-01-01T00:00", [_item("i1", 3000, "usd", "month")],
             period=("2026-06-01T00:00", "2026-07-01T00:00"), coupon=once),
        _sub("s_rep", "c2", "usd", "active", "2026-01-01T00:00", [_item("i2", 3000, "usd", "month")],
             period=("2026-06-01T00:00", "2026-07-01T00:00"), coupon=repeating),
        # $100.00 per quarter (month x 3) less $10.00 per invoice forever: (10000 - 1000) / 3 = 3000.
        _sub("s_amt", "c3", "usd", "active", "2026-01-01T00:00",
             [_item("i3", 10000, "usd", "month", interval_count=3)],
             period=("2026-06-01T00:00", "2026-09-01T00:00"), coupon=forever_amount),
        # ¥1,000 yearly x 1, 12.5% off: 1000 / 12 * 0.875 = 72.916.. -> 73.
        _sub("s_odd", "c4", "jpy", "active", "2026-01-01T00:00", [_item("i4", 1000, "jpy", "year")],
             period=("2026-01-01T00:00", "2027-01-01T00:00"), coupon=forever_odd),
        # Daily $1.00: 100 * 365 / 12 = 3041.66.. -> 3042. Free plan: 0.
        _sub("s_day", "c5", "usd", "active", "2026-01-01T00:00", [_item("i5", 100, "usd", "day")],
             period=("2026-06-14T00:00", "2026-06-15T00:00")),
        _sub("s_free", "c6", "usd", "active", "2026-01-01T00:00", [_item("i6", 0, "usd", "month")],
             period=("2026-06-01T00:00", "2026-07-01T00:00")),
        # Two weekly items: (600 + 6 x 2) x 52 / 12 = 612 x 52 / 12 = 2652 exactly.
        _sub("s_two", "c7", "usd", "active", "2026-01-01T00:00",
             [_item("i7", 600, "usd", "week"), _item("i8", 6, "usd", "week", quantity=2)],
             period=("2026-06-14T00:00", "2026-06-21T00:00")),
    ]
    store.apply_objects("stripe", subs, ts("2026-06-14T00:00"))
    m = q.subscription_mrr(store).set_index("subscription_id")["mrr"].to_dict()
    store.close()
    assert m == {"s_once": 3000, "s_rep": 3000, "s_amt": 3000, "s_odd": 73, "s_day": 3042, "s_free": 0,
                 "s_two": 2652}


def test_movements_per_month(finance_store):
    moves = q.mrr_movements(finance_store, dt.datetime(2026, 1, 1), NOW)
    moves["ym"] = moves["month"].dt.strftime("%Y-%m")
    usd = moves[moves["currency"] == "USD"].set_index("ym")
    # January: sub_a1 starts 01-10 (no events: the table's start date) -> new 24000.
    assert usd.loc["2026-01", ["start_mrr", "new", "end_mrr"]].tolist() == [0, 24000, 24000]
    # February: cus_b's two subscriptions, 5000 + 3000 = 8000 new.
    assert usd.loc["2026-02", "new"] == 8000
    # April: sub_b2 canceled but cus_b keeps sub_b1 -> contraction 3000, not churn.
    assert usd.loc["2026-04", ["contraction", "churn", "end_mrr"]].tolist() == [3000, 0, 31000]
    # May: sub_b1 quantity 1 -> 2: expansion 5000; 31000 + 5000 = 36000.
    assert usd.loc["2026-05", ["expansion", "end_mrr"]].tolist() == [5000, 36000]
    # June (to 06-15): cus_g's only subscription canceled 06-01 -> churn 2000; the trial adds nothing.
    assert usd.loc["2026-06", ["churn", "new", "end_mrr"]].tolist() == [2000, 0, 34000]
    jpy = moves[moves["currency"] == "JPY"].set_index("ym")
    # cus_c: ¥1,200 new in Feb, churned in March, back in May with ¥1,500 -> reactivation, not new.
    assert jpy.loc["2026-03", "churn"] == 1200
    assert jpy.loc["2026-05", ["reactivation", "new", "reactivated_customers"]].tolist() == [1500, 0, 1]
    assert "2026-04" not in jpy.index  # no JPY MRR at all that month
    # Every row balances.
    balance = moves["start_mrr"] + moves["new"] + moves["expansion"] + moves["reactivation"] \
        - moves["contraction"] - moves["churn"]
    assert (balance == moves["end_mrr"]).all()


def test_timeline_uses_previous_attributes_and_fallback(finance_store):
    t = q.mrr_timeline(finance_store)
    b1 = t[t["subscription_id"] == "sub_b1"]["mrr"].tolist()
    assert b1 == [5000, 10000]
    a1 = t[t["subscription_id"] == "sub_a1"]
    assert a1["valid_from"].tolist() == [dt.datetime(2026, 1, 10)] and a1["mrr"].tolist() == [24000]


def test_churn_30d(finance_store):
    c = q.churn_30d(finance_store, NOW).set_index("currency")
    # USD on 05-16: cus_a 24000, cus_b 5000, cus_g 2000 = 3 subscribers, 31000 MRR; nobody new (the trial is
    # not paid). cus_g churned: subscriber churn = 1 / (3 + 0).
    assert c.loc["USD", ["subscribers_start", "new_subscribers", "churned_subscribers"]].tolist() == [3, 0, 1]
    assert c.loc["USD", "subscriber_churn"] == pytest.approx(1 / 3)
    # Revenue churn: cus_g's 2000 lost (cus_b expanded, not a loss) / 31000.
    assert c.loc["USD", "mrr_lost"] == 2000
    assert c.loc["USD", "revenue_churn"] == pytest.approx(2000 / 31000)
    assert c.loc["JPY", "subscriber_churn"] == 0


def test_empty_store(empty_store):
    assert q.current_mrr(empty_store).empty
    assert q.mrr_movements(empty_store, dt.datetime(2026, 1, 1), NOW).empty
    assert q.churn_30d(empty_store, NOW).empty
