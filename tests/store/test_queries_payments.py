"""Payment search and detail queries on the hand-written data set (tests/conftest.py seed_store)."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.amounts import search_amounts
from dashboard.filters import Filters
from dashboard.queries import payments as q
from sync.money import to_minor

# The default 90-day range as of SEED_NOW (2026-11-20): 2026-08-23 .. 2026-11-20 inclusive.
DEFAULT = Filters(start=dt.date(2026, 8, 23), end=dt.date(2026, 11, 20))


@pytest.mark.parametrize(("text", "kind"), [
    ("", ""), ("ch_usd1", "id"), ("pi_3Nk2", "id"), ("alice@example.com", "email"), ("4242", "last4"),
    ("Order", "text"), (" 0005 ", "last4"),
])
def test_search_kind(text: str, kind: str) -> None:
    assert q.search_kind(text) == kind


def test_search_by_last4_respects_range_and_provider(seeded_store) -> None:
    # last4 4242 in range: ch_usd1 (11-01), ch_usd3 (11-10), bt_txn1 (11-15, braintree); ch_old (06-01) is out.
    found = q.search_payments(seeded_store, DEFAULT, "4242")
    assert list(found["id"]) == ["bt_txn1", "ch_usd3", "ch_usd1"]  # newest first
    stripe_only = q.search_payments(seeded_store, Filters(DEFAULT.start, DEFAULT.end, provider="stripe"), "4242")
    assert list(stripe_only["id"]) == ["ch_usd3", "ch_usd1"]
    wide = q.search_payments(seeded_store, Filters(dt.date(2026, 1, 1), DEFAULT.end), "4242")
    assert set(wide["id"]) == {"bt_txn1", "ch_usd3", "ch_usd1", "ch_old"}


def test_search_by_email_uses_customer_email(seeded_store) -> None:
    # alice is cus_a; her charges carry no billing email: ch_usd1 and ch_usd3 in range (ch_old is older).
    found = q.search_payments(seeded_store, DEFAULT, "ALICE@example")
    assert sorted(found["id"]) == ["ch_usd1", "ch_usd3"]
    assert set(found["email"]) == {"alice@example.com"}
    # carol has no customer object: her receipt email is on the charge itself.
    assert list(q.search_payments(seeded_store, DEFAULT, "carol@")["id"]) == ["ch_usd4"]


def test_search_by_id_ignores_the_date_range(seeded_store) -> None:
    assert list(q.search_payments(seeded_store, DEFAULT, "ch_old")["id"]) == ["ch_old"]
    assert list(q.search_payments(seeded_store, DEFAULT, "pi_1")["id"]) == ["ch_usd1"]  # by PaymentIntent


@pytest.mark.parametrize(("major", "currency", "expected"), [
    ("50.00", "USD", "ch_usd1"),  # $50.00 = 5000 cents
    ("1200", "JPY", "ch_jpy1"),  # ¥1,200 = 1200 (JPY has no minor unit)
    ("1.234", "KWD", "ch_kwd1"),  # KWD 1.234 = 1234 fils
])
def test_search_by_amount_in_major_units(seeded_store, major: str, currency: str, expected: str) -> None:
    found = q.search_payments(seeded_store, DEFAULT, "", to_minor(major, currency), currency)
    assert list(found["id"]) == [expected]


def test_amount_search_is_per_currency(seeded_store) -> None:
    # 1200 minor units exist only as JPY; as USD ($12.00) nothing matches.
    assert q.search_payments(seeded_store, DEFAULT, "", 1200, "USD").empty


def test_payment_detail_and_related_objects(seeded_store) -> None:
    p = q.payment(seeded_store, "ch_usd1")
    assert p.iloc[0]["amount"] == 5000 and p.iloc[0]["amount_refunded"] == 1500 and p.iloc[0]["currency"] == "USD"
    assert q.payment(seeded_store, "pi_1").iloc[0]["id"] == "ch_usd1"
    assert q.payment(seeded_store, "ch_nope").empty
    assert list(q.payment_refunds(seeded_store, "stripe", "ch_usd1")["amount"]) == [1500]
    disputes = q.payment_disputes(seeded_store, "stripe", "ch_usd1")
    assert list(disputes["id"]) == ["dp_5"] and disputes.iloc[0]["status"] == "under_review"
    assert list(q.payment_invoice(seeded_store, "stripe", "ch_usd1")["id"]) == ["in_1"]
    customer = q.payment_customer(seeded_store, "stripe", "cus_a")
    assert customer.iloc[0]["email"] == "alice@example.com"
    assert customer.iloc[0]["payments"] == 3  # ch_usd1, ch_usd3, ch_old


def test_timeline_collects_events_of_related_objects(seeded_store) -> None:
    # ch_usd1: evt_8 invoice.paid (in_1, 11-01 09:00), evt_1 charge.succeeded (10:00), evt_2 charge.refunded and
    # evt_7 refund.created (re_1) both 11-02 10:00 (tie broken by id), evt_3 dispute created (dp_5, 11-03).
    timeline = q.payment_timeline(seeded_store, "stripe", "ch_usd1")
    assert list(timeline["event_id"]) == ["evt_8", "evt_1", "evt_2", "evt_7", "evt_3"]
    assert q.payment_timeline(seeded_store, "braintree", "ch_usd1").empty


def test_invoice_found_through_the_payment_intent_on_new_api_versions(tmp_path) -> None:
    """API 2025-03-31+: a charge has no `invoice` and an invoice no `charge`; both name the PaymentIntent."""
    from sync.store import Store

    store = Store(f"duckdb:///{tmp_path / 'pi.duckdb'}")
    charge = {"id": "ch_new", "object": "charge", "amount": 900, "currency": "usd", "status": "succeeded",
              "payment_intent": "pi_new", "created": 1_790_000_000}
    invoice = {"id": "in_new", "object": "invoice", "currency": "usd", "amount_due": 900, "status": "paid",
               "payments": {"data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_new"}}]},
               "created": 1_790_000_000}
    other = {**invoice, "id": "in_other", "payments": {"data": [{"payment": {"payment_intent": "pi_x"}}]}}
    event = {"id": "evt_paid", "object": "event", "type": "invoice.paid", "created": 1_790_000_100,
             "data": {"object": invoice}}
    store.apply_objects("stripe", [charge, invoice, other], version=1_790_000_050)
    store.apply_events("stripe", [event])
    assert list(q.payment_invoice(store, "stripe", "ch_new")["id"]) == ["in_new"]
    assert "evt_paid" in list(q.payment_timeline(store, "stripe", "ch_new")["event_id"])
    store.close()


# -- amounts as typed, id prefixes, literal % and _, customers and subscriptions (tests/store/conftest.py
# seed_search on top of seed_store) --

STORE_CURRENCIES = ["EUR", "JPY", "KWD", "USD"]


def test_a_decimal_comma_amount_finds_the_payment_of_that_amount(search_store) -> None:
    # "32,99" EUR is 32.99 EUR = 3299 cents (ch_xeur1), not 3,299.00 EUR (ch_xeur2, what it was read as before).
    wanted = search_amounts("32,99", "EUR", STORE_CURRENCIES)
    found = q.search_payments(search_store, DEFAULT, "", amounts=wanted.pairs)
    assert list(found["id"]) == ["ch_xeur1"]


def test_an_amount_with_no_currency_chosen_is_searched_in_every_currency_it_reads_in(search_store) -> None:
    # "1,200": EUR 1,200.00, JPY 1,200, USD 1,200.00 (KWD ambiguous, left out) -> ch_xusd1200 (11-15) and ch_jpy1
    # (11-12), newest first; ch_xusd12 ($12.00 = 1200 cents) is not $1,200.00.
    wanted = search_amounts("1,200", None, STORE_CURRENCIES)
    assert list(q.search_payments(search_store, DEFAULT, "", amounts=wanted.pairs)["id"]) == ["ch_xusd1200", "ch_jpy1"]
    # "12": EUR 12.00, JPY 12, KWD 12.000, USD 12.00 -> only ch_xusd12.
    wanted = search_amounts("12", None, STORE_CURRENCIES)
    assert list(q.search_payments(search_store, DEFAULT, "", amounts=wanted.pairs)["id"]) == ["ch_xusd12"]
    # The sidebar's currency still applies: JPY only keeps ch_jpy1.
    jpy = Filters(DEFAULT.start, DEFAULT.end, currency="JPY")
    assert list(q.search_payments(search_store, jpy, "", amounts=search_amounts("1,200", None, STORE_CURRENCIES)
                                  .pairs)["id"]) == ["ch_jpy1"]


def test_an_id_prefix_finds_ids_starting_with_it_in_any_date(search_store) -> None:
    # ch_usd1 11-01, ch_usd2 11-05, ch_usd3 11-10, ch_usd4 09-20; newest first. ch_xusd12 does not start so.
    assert list(q.search_payments(search_store, DEFAULT, "ch_usd")["id"]) == ["ch_usd3", "ch_usd2", "ch_usd1",
                                                                             "ch_usd4"]
    # "_" in a prefix is an underscore, not any character: no id starts with "ch_usd_".
    assert q.search_payments(search_store, DEFAULT, "ch_usd_").empty
    assert list(q.search_payments(search_store, DEFAULT, "bt_tx")["id"]) == ["bt_txn1"]


@pytest.mark.parametrize(("text", "expected"), [
    ("50%", ["ch_xpct"]),  # not "Order of 500 units": % is a percent sign, not "anything"
    ("%", ["ch_xpct"]),
    ("a_b", ["ch_xab"]),  # not "gift axb": _ is an underscore, not "any one character"
    ("x\\y", ["ch_xbs"]),  # a backslash is searched as itself too
])
def test_percent_underscore_and_backslash_match_literally(search_store, text: str, expected: list[str]) -> None:
    assert list(q.search_payments(search_store, DEFAULT, text)["id"]) == expected


def test_customer_search_by_email_name_and_id(search_store) -> None:
    found = q.search_customers(search_store, DEFAULT, "alice")
    assert list(found["id"]) == ["cus_a"] and list(found["email"]) == ["alice@example.com"]
    assert list(q.search_customers(search_store, DEFAULT, "kuwait")["id"]) == ["cus_k"]  # by name, any case
    # cus_x2 created 07-02, cus_x1 07-01: newest first.
    assert list(q.search_customers(search_store, DEFAULT, "ANN")["id"]) == ["cus_x2", "cus_x1"]
    assert list(q.search_customers(search_store, DEFAULT, "ann_")["id"]) == ["cus_x1"]  # literal underscore
    assert list(q.search_customers(search_store, DEFAULT, "cus_x")["id"]) == ["cus_x2", "cus_x1"]  # id prefix
    assert list(q.search_customers(search_store, DEFAULT, "cus_k")["id"]) == ["cus_k"]
    nothing = q.search_customers(search_store, DEFAULT, "")
    assert nothing.empty and {"id", "email", "name"} <= set(nothing.columns)
    assert q.search_customers(search_store, Filters(DEFAULT.start, DEFAULT.end, provider="braintree"),
                              "alice").empty


def test_subscription_search_by_id_customer_email_and_name(search_store) -> None:
    found = q.search_subscriptions(search_store, DEFAULT, "alice@")
    assert list(found["id"]) == ["sub_x1"] and list(found["customer_id"]) == ["cus_a"]
    assert list(found["email"]) == ["alice@example.com"] and list(found["status"]) == ["active"]
    # sub_x2 created 10-05, sub_x1 10-01: newest first.
    assert list(q.search_subscriptions(search_store, DEFAULT, "sub_x")["id"]) == ["sub_x2", "sub_x1"]
    assert list(q.search_subscriptions(search_store, DEFAULT, "cus_k")["id"]) == ["sub_x2"]  # the customer's id
    assert list(q.search_subscriptions(search_store, DEFAULT, "Kuwait")["id"]) == ["sub_x2"]  # the customer's name
    kwd = Filters(DEFAULT.start, DEFAULT.end, currency="KWD")
    assert list(q.search_subscriptions(search_store, kwd, "sub_x")["id"]) == ["sub_x2"]
    assert q.search_subscriptions(search_store, DEFAULT, "sub_x_").empty
    assert q.search_subscriptions(search_store, DEFAULT, "").empty
