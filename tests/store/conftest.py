"""A small hand-written Stripe-shaped finance data set (USD, JPY, KWD; refunds, disputes, fees in a settlement
currency, subscriptions with their events) in a real DuckDB file, for the finance query and page tests.

Timeline (UTC, 2026), the figures each test derives by hand:
- cus_a USD: sub_a1 yearly $1,200.00 x 3 with a forever 20% coupon, started 01-10; NO events (table fallback).
- cus_b USD: sub_b1 monthly $50.00 (+ a metered item) and sub_b2 monthly $30.00, both created 02-05; sub_b2 canceled
  04-10 (contraction, cus_b keeps sub_b1); sub_b1 quantity 1 -> 2 on 05-20 (expansion).
- cus_c JPY: sub_c1 ¥1,200 monthly created 02-01, canceled 03-15 (churn); sub_c2 ¥1,500 created 05-03 (reactivation).
- cus_d KWD: sub_d1 weekly KWD 1.000 created 03-01, past_due from 06-10; invoice in_d1 failed twice.
- cus_e USD: sub_e1 $99.00 monthly, trialing until 07-01 (not MRR).
- cus_g USD: sub_g1 $20.00 monthly created 03-20, canceled 06-01 (churn inside the 30 days before 06-15).
- Payments 06-01..06-14 plus ch_u0 on 05-20 (previous period), see `payments()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.store import Store

NOW = dt.datetime(2026, 6, 15)
WINDOW = (dt.datetime(2026, 6, 1), dt.datetime(2026, 6, 15))  # [start, end)


def ts(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())


def _charge(id: str, created: str, amount: int, currency: str, *, status: str = "succeeded", brand: str = "visa",
            country: str = "US", decline: str | None = None, outcome_type: str | None = None,
            advice: str | None = None, bt: str | None = None, refunded: int = 0, disputed: bool = False,
            customer: str | None = None, invoice: str | None = None, payment_intent: str | None = None
            ) -> dict[str, Any]:
    failed = status == "failed"
    return {
        "id": id, "object": "charge", "created": ts(created), "livemode": False, "amount": amount,
        "amount_captured": 0 if failed else amount, "amount_refunded": refunded, "currency": currency,
        "status": status, "captured": not failed, "refunded": False, "disputed": disputed,
        "failure_code": "card_declined" if failed else None,
        "outcome": {"type": outcome_type or ("issuer_declined" if failed else "authorized"),
                    "reason": decline, "advice_code": advice, "risk_level": "normal",
                    "network_status": "declined_by_network" if failed else "approved_by_network"},
        "balance_transaction": bt, "customer": customer, "invoice": invoice, "payment_intent": payment_intent,
        "payment_method_details": {"type": "card", "card": {"brand": brand, "country": country, "last4": "4242",
                                                            "exp_month": 12, "exp_year": 2030}},
    }


def _bt(id: str, created: str, amount: int, fee: int, currency: str, source: str, type_: str = "charge",
        exchange_rate: float | None = None) -> dict[str, Any]:
    return {"id": id, "object": "balance_transaction", "created": ts(created), "amount": amount, "fee": fee,
            "net": amount - fee, "currency": currency, "type": type_, "reporting_category": type_,
            "status": "available", "source": source, "available_on": ts(created), "exchange_rate": exchange_rate}


def payments() -> list[dict[str, Any]]:
    """Charges, a partial refund, a lost dispute, balance transactions (one JPY charge settled in USD), invoices."""
    return [
        _charge("ch_u0", "2026-05-20T10:00", 8000, "usd", bt="txn_u0"),
        _charge("ch_u1", "2026-06-02T10:00", 10000, "usd", bt="txn_u1", refunded=2500),
        _charge("ch_u2", "2026-06-04T10:00", 5000, "usd", brand="amex", bt="txn_u2", disputed=True),
        _charge("ch_u3", "2026-06-05T10:00", 3000, "usd", status="failed", decline="insufficient_funds"),
        _charge("ch_u4", "2026-06-05T11:00", 4000, "usd", status="failed", brand="mastercard", country="GB",
                decline="stolen_card"),
        _charge("ch_u5", "2026-06-06T10:00", 2000, "usd", status="failed", decline="highest_risk_level",
                outcome_type="blocked"),
        _charge("ch_u6", "2026-06-07T10:00", 5000, "usd", status="failed", decline="expired_card",
                customer="cus_b", payment_intent="pi_b1"),
        _charge("ch_u7", "2026-06-09T10:00", 5000, "usd", bt="txn_u7", customer="cus_b", payment_intent="pi_b1"),
        _charge("ch_j1", "2026-06-02T12:00", 1200, "jpy", brand="jcb", country="JP", bt="txn_j1"),
        _charge("ch_j2", "2026-06-03T12:00", 1500, "jpy", status="failed", brand="jcb", country="JP",
                decline="generic_decline", advice="do_not_try_again"),
        _charge("ch_k1", "2026-06-03T09:00", 12345, "kwd", country="KW", bt="txn_k1"),
        _charge("ch_k2", "2026-06-08T09:00", 1000, "kwd", status="failed", country="KW", decline="insufficient_funds",
                customer="cus_d", invoice="in_d1"),
        _charge("ch_k3", "2026-06-10T09:00", 1000, "kwd", status="failed", country="KW", decline="do_not_honor",
                customer="cus_d", invoice="in_d1"),
        {"id": "re_u1", "object": "refund", "created": ts("2026-06-03T10:00"), "charge": "ch_u1", "amount": 2500,
         "currency": "usd", "status": "succeeded", "balance_transaction": "txn_ru1"},
        {"id": "dp_u2", "object": "dispute", "created": ts("2026-06-06T10:00"), "charge": "ch_u2", "amount": 5000,
         "currency": "usd", "status": "lost", "reason": "fraudulent",
         "evidence_details": {"due_by": ts("2026-06-16T00:00")}},
        _bt("txn_u0", "2026-05-20T10:00", 8000, 262, "usd", "ch_u0"),
        _bt("txn_u1", "2026-06-02T10:00", 10000, 320, "usd", "ch_u1"),
        _bt("txn_ru1", "2026-06-03T10:00", -2500, 0, "usd", "re_u1", "refund"),
        _bt("txn_u2", "2026-06-04T10:00", 5000, 175, "usd", "ch_u2"),
        _bt("txn_du2", "2026-06-06T10:00", -5000, 1500, "usd", "dp_u2", "adjustment"),
        _bt("txn_u7", "2026-06-09T10:00", 5000, 175, "usd", "ch_u7"),
        _bt("txn_j1", "2026-06-02T12:00", 1100, 62, "usd", "ch_j1", exchange_rate=0.0091667),
        _bt("txn_k1", "2026-06-03T09:00", 12345, 400, "kwd", "ch_k1"),
        _bt("txn_po", "2026-06-05T00:00", -50000, 0, "usd", "po_1", "payout"),  # a payout: not revenue
        {"id": "in_d1", "object": "invoice", "created": ts("2026-06-08T08:00"), "customer": "cus_d",
         "subscription": "sub_d1", "status": "open", "currency": "kwd", "amount_due": 1000, "amount_paid": 0,
         "amount_remaining": 1000, "attempt_count": 2, "attempted": True,
         "next_payment_attempt": ts("2026-06-13T09:00"), "billing_reason": "subscription_cycle"},
        # New API shape: the subscription under parent, the payment intent under payments.
        {"id": "in_b1", "object": "invoice", "created": ts("2026-06-05T08:00"), "customer": "cus_b",
         "parent": {"subscription_details": {"subscription": "sub_b1"}},
         "payments": {"data": [{"payment": {"payment_intent": "pi_b1"}}]},
         "status": "paid", "currency": "usd", "amount_due": 5000, "amount_paid": 5000, "amount_remaining": 0,
         "attempt_count": 2, "attempted": True, "status_transitions": {"paid_at": ts("2026-06-09T10:00")},
         "billing_reason": "subscription_cycle"},
    ]


def _item(id: str, unit: int, currency: str, interval: str, quantity: int = 1, usage: str = "licensed",
          interval_count: int = 1) -> dict[str, Any]:
    return {"id": id, "object": "subscription_item", "quantity": quantity,
            "price": {"id": f"price_{id}", "object": "price", "currency": currency, "unit_amount": unit,
                      "billing_scheme": "per_unit", "product": f"prod_{id}",
                      "recurring": {"interval": interval, "interval_count": interval_count, "usage_type": usage}}}


def _sub(id: str, customer: str, currency: str, status: str, start: str, items: list[dict[str, Any]], *,
         period: tuple[str, str], coupon: dict[str, Any] | None = None, trial_end: str | None = None,
         ended: str | None = None) -> dict[str, Any]:
    return {
        "id": id, "object": "subscription", "customer": customer, "currency": currency, "status": status,
        "created": ts(start), "start_date": ts(start), "livemode": False,
        "current_period_start": ts(period[0]), "current_period_end": ts(period[1]),
        "trial_start": ts(start) if trial_end else None, "trial_end": ts(trial_end) if trial_end else None,
        "canceled_at": ts(ended) if ended else None, "ended_at": ts(ended) if ended else None,
        "cancel_at_period_end": False, "collection_method": "charge_automatically",
        "cancellation_details": {"reason": "cancellation_requested" if ended else None},
        "discount": {"object": "discount", "coupon": coupon} if coupon else None,
        "items": {"object": "list", "data": items},
    }


def _event(id: str, type_: str, created: str, obj: dict[str, Any], prev: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if prev is not None:
        data["previous_attributes"] = prev
    return {"id": id, "object": "event", "type": type_, "created": ts(created), "livemode": False,
            "api_version": "2026-10-28", "pending_webhooks": 0, "data": data}


FOREVER_20 = {"id": "SAVE20", "object": "coupon", "duration": "forever", "percent_off": 20}


def subscriptions() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(objects applied directly, events applied in order)."""
    b1_items = [_item("si_b1", 5000, "usd", "month"), _item("si_b1m", 10, "usd", "month", usage="metered")]
    b1_items_2 = [_item("si_b1", 5000, "usd", "month", quantity=2), b1_items[1]]
    b1 = _sub("sub_b1", "cus_b", "usd", "active", "2026-02-05T00:00", b1_items,
              period=("2026-02-05T00:00", "2026-03-05T00:00"))
    b1_up = _sub("sub_b1", "cus_b", "usd", "active", "2026-02-05T00:00", b1_items_2,
                 period=("2026-06-05T00:00", "2026-07-05T00:00"))
    b2_items = [_item("si_b2", 3000, "usd", "month")]
    b2 = _sub("sub_b2", "cus_b", "usd", "active", "2026-02-05T00:00", b2_items,
              period=("2026-02-05T00:00", "2026-03-05T00:00"))
    b2_end = _sub("sub_b2", "cus_b", "usd", "canceled", "2026-02-05T00:00", b2_items,
                  period=("2026-04-05T00:00", "2026-05-05T00:00"), ended="2026-04-10T00:00")
    c1_items = [_item("si_c1", 1200, "jpy", "month")]
    c1 = _sub("sub_c1", "cus_c", "jpy", "active", "2026-02-01T00:00", c1_items,
              period=("2026-02-01T00:00", "2026-03-01T00:00"))
    c1_end = _sub("sub_c1", "cus_c", "jpy", "canceled", "2026-02-01T00:00", c1_items,
                  period=("2026-03-01T00:00", "2026-04-01T00:00"), ended="2026-03-15T00:00")
    c2 = _sub("sub_c2", "cus_c", "jpy", "active", "2026-05-03T00:00", [_item("si_c2", 1500, "jpy", "month")],
              period=("2026-06-03T00:00", "2026-07-03T00:00"))
    d1_items = [_item("si_d1", 1000, "kwd", "week")]
    d1 = _sub("sub_d1", "cus_d", "kwd", "active", "2026-03-01T00:00", d1_items,
              period=("2026-03-01T00:00", "2026-03-08T00:00"))
    d1_pd = _sub("sub_d1", "cus_d", "kwd", "past_due", "2026-03-01T00:00", d1_items,
                 period=("2026-06-08T00:00", "2026-06-15T00:00"))
    e1 = _sub("sub_e1", "cus_e", "usd", "trialing", "2026-06-01T00:00", [_item("si_e1", 9900, "usd", "month")],
              period=("2026-06-01T00:00", "2026-07-01T00:00"), trial_end="2026-07-01T00:00")
    g1_items = [_item("si_g1", 2000, "usd", "month")]
    g1 = _sub("sub_g1", "cus_g", "usd", "active", "2026-03-20T00:00", g1_items,
              period=("2026-03-20T00:00", "2026-04-20T00:00"))
    g1_end = _sub("sub_g1", "cus_g", "usd", "canceled", "2026-03-20T00:00", g1_items,
                  period=("2026-05-20T00:00", "2026-06-20T00:00"), ended="2026-06-01T00:00")
    a1 = _sub("sub_a1", "cus_a", "usd", "active", "2026-01-10T00:00", [_item("si_a1", 120000, "usd", "year", 3)],
              period=("2026-01-10T00:00", "2027-01-10T00:00"), coupon=FOREVER_20)
    customers = [{"id": f"cus_{k}", "object": "customer", "created": ts("2026-01-01T00:00"),
                  "email": f"{k}@example.com", "name": k.upper()} for k in "abcdeg"]
    created, updated, deleted = ("customer.subscription.created", "customer.subscription.updated",
                                 "customer.subscription.deleted")
    events = [
        _event("evt_b1", created, "2026-02-05T00:00", b1),
        _event("evt_b2", created, "2026-02-05T00:01", b2),
        _event("evt_c1", created, "2026-02-01T00:00", c1),
        _event("evt_c1x", deleted, "2026-03-15T00:00", c1_end),
        _event("evt_d1", created, "2026-03-01T00:00", d1),
        _event("evt_g1", created, "2026-03-20T00:00", g1),
        _event("evt_b2x", deleted, "2026-04-10T00:00", b2_end),
        _event("evt_c2", created, "2026-05-03T00:00", c2),
        _event("evt_b1u", updated, "2026-05-20T00:00", b1_up, prev={"items": {"data": b1_items}}),
        _event("evt_e1", created, "2026-06-01T00:00", e1),
        _event("evt_g1x", deleted, "2026-06-01T00:00", g1_end),
        _event("evt_d1u", updated, "2026-06-10T00:00", d1_pd, prev={"status": "active"}),
    ]
    return [*customers, a1], events


def seed_finance(store: Store) -> None:
    objects, events = subscriptions()
    store.apply_objects("stripe", [*objects, *payments()], ts("2026-06-14T23:00"))
    store.apply_events("stripe", events)


@pytest.fixture
def finance_store(tmp_path: Path) -> Iterator[Store]:
    """The hand-written finance data set in a DuckDB file."""
    store = Store(f"duckdb:///{tmp_path / 'finance.duckdb'}")
    seed_finance(store)
    yield store
    store.close()


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    yield store
    store.close()


def make_finance_db(directory: Path) -> Path:
    """The data set in a closed DuckDB file, for an app (AppTest) to open."""
    path = directory / "finance.duckdb"
    store = Store(f"duckdb:///{path}")
    seed_finance(store)
    store.close()
    return path


# -- search and dispute-queue additions to tests/conftest.py's seed_store (dates as of SEED_NOW, 2026-11-20 12:00) --


def _search_charge(id: str, created: str, amount: int, currency: str, description: str,
                   customer: str | None = None) -> dict[str, Any]:
    from tests.conftest import charge

    return {**charge(ts, id, created, amount, currency, last4="9999", customer=customer),
            "description": description}


def seed_search(store: Store) -> None:
    """Search additions, all stripe, all inside the default range (08-23..11-20):

    ch_xeur1 11-18 EUR 32.99 and ch_xeur2 11-17 EUR 3,299.00 (what "32,99" was read as);
    ch_xusd12 11-16 $12.00 and ch_xusd1200 11-15 $1,200.00 (beside ch_jpy1's ¥1,200);
    descriptions "50% off launch" (ch_xpct), "Order of 500 units" (ch_x500), "gift a_b" (ch_xab), "gift axb"
    (ch_xaxb), "dir x\\y" (ch_xbs), all 11-14 and earlier, one a minute;
    customers cus_x1 "Ann_Lee" ann_lee@example.com and cus_x2 "Annxlee" annxlee@example.com;
    subscriptions sub_x1 (cus_a alice, USD active, created 10-01) and sub_x2 (cus_k Kuwait Co, KWD past_due, 10-05).
    """
    objects = [
        _search_charge("ch_xeur1", "2026-11-18T10:00", 3299, "eur", "Order EUR small"),
        _search_charge("ch_xeur2", "2026-11-17T10:00", 329900, "eur", "Order EUR large"),
        _search_charge("ch_xusd12", "2026-11-16T10:00", 1200, "usd", "Order USD 12"),
        _search_charge("ch_xusd1200", "2026-11-15T10:00", 120000, "usd", "Order USD 1200"),
        _search_charge("ch_xpct", "2026-11-14T10:05", 100, "usd", "50% off launch"),
        _search_charge("ch_x500", "2026-11-14T10:04", 100, "usd", "Order of 500 units"),
        _search_charge("ch_xab", "2026-11-14T10:03", 100, "usd", "gift a_b"),
        _search_charge("ch_xaxb", "2026-11-14T10:02", 100, "usd", "gift axb"),
        _search_charge("ch_xbs", "2026-11-14T10:01", 100, "usd", "dir x\\y"),
        {"id": "cus_x1", "object": "customer", "created": ts("2026-07-01T00:00"), "email": "ann_lee@example.com",
         "name": "Ann_Lee", "livemode": False},
        {"id": "cus_x2", "object": "customer", "created": ts("2026-07-02T00:00"), "email": "annxlee@example.com",
         "name": "Annxlee", "livemode": False},
        _sub("sub_x1", "cus_a", "usd", "active", "2026-10-01T00:00", [_item("si_x1", 2000, "usd", "month")],
             period=("2026-11-01T00:00", "2026-12-01T00:00")),
        _sub("sub_x2", "cus_k", "kwd", "past_due", "2026-10-05T00:00", [_item("si_x2", 5000, "kwd", "month")],
             period=("2026-11-05T00:00", "2026-12-05T00:00")),
    ]
    store.apply_objects("stripe", objects, ts("2026-11-20T12:00"))


@pytest.fixture
def search_store(seeded_store: Store) -> Store:
    """tests/conftest.py's seeded store plus `seed_search`."""
    seed_search(seeded_store)
    return seeded_store


def seed_dispute_queue(store: Store) -> None:
    """Stripe disputes in every state, for the queue's order as of SEED_NOW (2026-11-20 12:00):

    needs_response: q_nr_over2 due 11-18 12:00, q_nr_over1 11-20 00:00 (both passed), q_nr_soon1 11-21 00:00,
    q_nr_soon2 11-22 12:00 (within 72 h), q_nr_edge 11-23 13:00 (72 h + 1 h), q_nr_far 12-05 00:00, q_nr_nodue none;
    warning_needs_response (inquiries): q_inq_over 11-19 12:00, q_inq_soon 11-21 12:00;
    under_review q_ur_old (created 10-20, due 10-30), warning_under_review q_ur_new (created 11-01, due 11-10);
    closed: q_lost (created 11-08), q_won (11-05), q_wclosed warning_closed (11-02), q_lost_old lost (05-01, before
    the default range 08-23..11-20). Every one is USD except q_nr_soon2 (EUR) and q_ur_new (EUR).
    """
    from tests.conftest import dispute

    def d(id: str, status: str, created: str, due: str | None, currency: str = "usd") -> dict[str, Any]:
        obj = dispute(ts, id, f"ch_{id}", created, due or created, 1000, currency, status)
        if due is None:
            obj["evidence_details"]["due_by"] = None
        return obj

    store.apply_objects("stripe", [
        d("q_nr_far", "needs_response", "2026-11-15T00:00", "2026-12-05T00:00"),
        d("q_nr_over1", "needs_response", "2026-11-01T00:00", "2026-11-20T00:00"),
        d("q_ur_old", "under_review", "2026-10-20T00:00", "2026-10-30T00:00"),
        d("q_nr_soon2", "needs_response", "2026-11-10T00:00", "2026-11-22T12:00", "eur"),
        d("q_won", "won", "2026-11-05T00:00", "2026-11-15T00:00"),
        d("q_inq_soon", "warning_needs_response", "2026-11-12T00:00", "2026-11-21T12:00"),
        d("q_nr_edge", "needs_response", "2026-11-11T00:00", "2026-11-23T13:00"),
        d("q_lost", "lost", "2026-11-08T00:00", "2026-11-18T00:00"),
        d("q_nr_over2", "needs_response", "2026-10-28T00:00", "2026-11-18T12:00"),
        d("q_ur_new", "warning_under_review", "2026-11-01T00:00", "2026-11-10T00:00", "eur"),
        d("q_nr_nodue", "needs_response", "2026-11-19T00:00", None),
        d("q_inq_over", "warning_needs_response", "2026-11-09T00:00", "2026-11-19T12:00"),
        d("q_wclosed", "warning_closed", "2026-11-02T00:00", "2026-11-12T00:00"),
        d("q_nr_soon1", "needs_response", "2026-11-14T00:00", "2026-11-21T00:00"),
        d("q_lost_old", "lost", "2026-05-01T00:00", "2026-05-11T00:00"),
    ], ts("2026-11-20T12:00"))


@pytest.fixture
def dispute_store(empty_store: Store) -> Store:
    """An otherwise empty store holding `seed_dispute_queue`'s disputes."""
    seed_dispute_queue(empty_store)
    return empty_store
