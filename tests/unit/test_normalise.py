"""The normaliser on Stripe's own fixture objects, mutated copies of them, and localstripe's older shapes."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from sync.normalise import is_delete_event, normalise, normalise_columns
from tests.builders import stripe as stripe_builders

KINDS = {
    "charge": ["payments"],
    "refund": ["refunds"],
    "dispute": ["disputes"],
    "customer": ["customers"],
    "subscription": ["subscriptions", "subscription_items"],
    "invoice": ["invoices"],
    "balance_transaction": ["balance_transactions"],
    "event": ["events"],
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return stripe_builders.resources()


def fixture(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return copy.deepcopy(resources[kind])


def rows(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(normalise(obj))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_fixture_object_gives_its_tables_with_raw_json(resources: dict[str, Any], kind: str) -> None:
    obj = fixture(resources, kind)
    out = normalise(obj)
    assert [table for table, _ in out] == KINDS[kind]
    table, row = out[0]
    assert row["id"] == obj["id"] and row["created"] == 1234567890
    assert orjson.loads(row["raw"])["id"] == obj["id"]


def test_charge_fields_from_the_fixture(resources: dict[str, Any]) -> None:
    row = rows(fixture(resources, "charge"))["payments"]
    assert (row["amount"], row["currency"], row["status"]) == (100, "USD", "succeeded")
    assert (row["card_brand"], row["card_last4"], row["card_exp_year"]) == ("visa", "4242", 2030)
    assert row["balance_transaction_id"] == "txn_1PgaxNB7WZ01zgkWEV3TLf40"
    assert row["decline_code"] is None  # only a failed charge has one


def test_a_card_number_never_reaches_the_row(resources: dict[str, Any]) -> None:
    charge = fixture(resources, "charge")
    charge["payment_method_details"]["card"].update(number="4242424242424242", cvc="314")
    raw = rows(charge)["payments"]["raw"]
    assert "4242424242424242" not in raw and '"cvc"' not in raw and '"last4":"4242"' in raw


def test_zero_decimal_currency_keeps_minor_units(resources: dict[str, Any]) -> None:
    charge = fixture(resources, "charge")
    charge.update(amount=5000, amount_captured=5000, amount_refunded=1200, currency="jpy")
    row = rows(charge)["payments"]
    # JPY has no minor unit: 5000 yen is stored as 5000, not 500000 or 50.00.
    assert (row["amount"], row["amount_refunded"], row["currency"]) == (5000, 1200, "JPY")
    bt = fixture(resources, "balance_transaction")
    bt.update(amount=5000, fee=180, net=4820, currency="jpy", exchange_rate=0.0067)
    row = rows(bt)["balance_transactions"]
    assert (row["amount"], row["fee"], row["net"], row["currency"]) == (5000, 180, 4820, "JPY")
    assert row["exchange_rate"] == "0.0067"  # a rate, kept as exact text


def test_three_decimal_currency_and_a_failed_charge(resources: dict[str, Any]) -> None:
    charge = fixture(resources, "charge")
    charge.update(amount=1234, currency="kwd", status="failed", failure_code="card_declined",
                  outcome={"type": "issuer_declined", "reason": "insufficient_funds", "advice_code": "try_again_later",
                           "network_status": "declined_by_network"})
    row = rows(charge)["payments"]
    assert (row["amount"], row["currency"], row["status"]) == (1234, "KWD", "failed")
    assert (row["failure_code"], row["decline_code"], row["advice_code"]) == (
        "card_declined", "insufficient_funds", "try_again_later")


@pytest.mark.parametrize("kind", sorted(KINDS) + ["payment_intent"])
def test_nulls_everywhere_are_accepted(resources: dict[str, Any], kind: str) -> None:
    obj = {k: (v if k in ("id", "object") else None) for k, v in fixture(resources, kind).items()}
    out = normalise(obj)
    for _, row in out:
        assert row["id"] == obj["id"] and row["created"] is None
    assert [t for t, _ in out] == ([] if kind == "payment_intent" else KINDS[kind][:1])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_extra_fields_are_kept_raw_and_ignored(resources: dict[str, Any], kind: str) -> None:
    obj = fixture(resources, kind)
    expected = rows(copy.deepcopy(obj))
    obj["field_from_a_newer_api"] = {"nested": [1, 2, {"x": None}]}
    got = rows(obj)
    first = KINDS[kind][0]
    assert orjson.loads(got[first]["raw"])["field_from_a_newer_api"] == {"nested": [1, 2, {"x": None}]}
    got[first].pop("raw"), expected[first].pop("raw")
    assert got[first] == expected[first]


def test_subscription_items_prices_and_period_from_items(resources: dict[str, Any]) -> None:
    sub = fixture(resources, "subscription")
    assert "current_period_start" not in sub  # API 2025-03-31+: the period lives on the items
    out = rows(sub)
    item = out["subscription_items"]
    assert (item["price_id"], item["unit_amount"], item["currency"], item["interval"]) == (
        "price_1PgafmB7WZ01zgkW6dKueIc5", 2000, "USD", "month")
    assert out["subscriptions"]["current_period_start"] == sub["items"]["data"][0]["current_period_start"]


def test_new_and_old_coupon_shapes(resources: dict[str, Any]) -> None:
    sub = fixture(resources, "subscription")
    discount = fixture(resources, "discount")
    discount["source"]["coupon"] = {"id": "FOREVER25", "percent_off": 25.5, "amount_off": None, "currency": None,
                                    "duration": "forever", "object": "coupon"}
    sub["discounts"] = [discount]
    row = rows(sub)["subscriptions"]
    assert (row["coupon_id"], row["coupon_percent_off"], row["coupon_duration"]) == ("FOREVER25", "25.5", "forever")
    old = fixture(resources, "subscription")
    old["discount"] = {"coupon": {"id": "TENOFF", "amount_off": 1000, "currency": "eur", "duration": "once"}}
    row = rows(old)["subscriptions"]
    assert (row["coupon_id"], row["coupon_amount_off"], row["coupon_currency"]) == ("TENOFF", 1000, "EUR")
    sub["discounts"] = ["di_only_an_id"]  # not expanded: no coupon to read, and no crash
    assert rows(sub)["subscriptions"]["coupon_id"] is None


def test_event_row_and_delete_detection(resources: dict[str, Any]) -> None:
    event = fixture(resources, "event")
    row = rows(event)["events"]
    assert (row["type"], row["object_type"], row["object_id"]) == ("plan.created", "plan",
                                                                   "price_1PgafmB7WZ01zgkW6dKueIc5")
    event["request"] = {"id": "req_123", "idempotency_key": "k"}
    assert rows(event)["events"]["request_id"] == "req_123"
    customer = fixture(resources, "customer")
    assert is_delete_event({"type": "customer.deleted", "data": {"object": customer}})
    assert not is_delete_event({"type": "customer.subscription.deleted",
                                "data": {"object": fixture(resources, "subscription")}})
    assert is_delete_event({"type": "whatever", "data": {"object": {"id": "x", "object": "customer", "deleted": True}}})


def test_payment_intent_contributes_only_an_expanded_charge(resources: dict[str, Any]) -> None:
    pi = fixture(resources, "payment_intent")
    assert normalise(pi) == []  # latest_charge is an id (or null): charges are synced as charges
    pi["latest_charge"] = fixture(resources, "charge")
    assert [t for t, _ in normalise(pi)] == ["payments"]


def test_charge_with_embedded_refunds_and_expanded_balance_transaction(resources: dict[str, Any]) -> None:
    charge = fixture(resources, "charge")
    charge["refunds"]["data"] = [fixture(resources, "refund")]
    charge["balance_transaction"] = fixture(resources, "balance_transaction")
    assert sorted(t for t, _ in normalise(charge)) == ["balance_transactions", "payments", "refunds"]
    assert rows(charge)["payments"]["balance_transaction_id"] == "txn_1PgaxNB7WZ01zgkWEV3TLf40"


def test_localstripe_shapes() -> None:
    """Older API shapes as localstripe (API 2017-08-15) answers them, copied from its responses."""
    charge = {"id": "ch_1", "object": "charge", "amount": 1000, "currency": "usd", "status": "succeeded",
              "captured": True, "created": 1795755608, "payment_method": "pm_1", "failure_code": None}
    assert rows(charge)["payments"]["amount_captured"] == 1000  # no amount_captured field before 2019
    failed = charge | {"id": "ch_2", "status": "failed", "failure_code": "card_declined"}
    row = rows(failed)["payments"]
    assert (row["amount_captured"], row["decline_code"]) == (None, "card_declined")
    sub = {"id": "sub_1", "object": "subscription", "status": "incomplete", "customer": "cus_1",
           "current_period_start": 1, "current_period_end": 2, "discount": None,
           "items": {"data": [{"id": "si_1", "object": "subscription_item", "quantity": 2,
                               "plan": {"id": "plan_1", "amount": 12000, "currency": "eur", "interval": "year",
                                        "interval_count": 1, "product": "prod_1", "usage_type": "licensed",
                                        "billing_scheme": "per_unit"}}]}}
    out = rows(sub)
    assert out["subscriptions"]["currency"] == "EUR"  # from the plan: old subscriptions carry none
    assert (out["subscription_items"]["unit_amount"], out["subscription_items"]["quantity"],
            out["subscription_items"]["subscription_id"]) == (12000, 2, "sub_1")
    invoice = {"id": "in_1", "object": "invoice", "status": "open", "amount_due": 24000, "currency": "eur",
               "subscription": "sub_1", "charge": failed | {"amount": 24000}}
    row = rows(invoice)["invoices"]
    assert (row["charge_id"], row["last_error_code"], row["subscription_id"]) == ("ch_2", "card_declined", "sub_1")
    customer = {"id": "cus_1", "object": "customer", "account_balance": -500, "currency": "eur"}
    assert rows(customer)["customers"]["balance"] == -500


def test_objects_payops_does_not_keep() -> None:
    assert normalise({"id": "plan_1", "object": "plan"}) == []
    assert normalise({"object": "charge"}) == []  # no id
    assert normalise("not an object") == []  # type: ignore[arg-type]


def test_a_batch_gives_the_same_rows_as_each_object_alone(resources: dict[str, Any]) -> None:
    """The store's column-wise path and `normalise` read one spec: a mixed batch (every kind, embedded children,
    objects PayOps does not keep) must give exactly the per-object rows, each pointing at its source object."""
    charge = fixture(resources, "charge")
    charge["refunds"]["data"] = [fixture(resources, "refund")]
    charge["balance_transaction"] = fixture(resources, "balance_transaction")
    pi = fixture(resources, "payment_intent")
    pi["latest_charge"] = dict(fixture(resources, "charge"), id="ch_expanded", currency="jpy")
    nulls = {k: None for k in resources["invoice"]} | {"id": "in_nulls", "object": "invoice"}
    batch = [fixture(resources, kind) for kind in sorted(KINDS)] + [charge, pi, {"id": "plan_1", "object": "plan"},
                                                                      "not an object", nulls]
    expected: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, obj in enumerate(copy.deepcopy(batch)):
        for table, row in normalise(obj):
            expected.setdefault(table, []).append((i, row))
    got = normalise_columns(batch)
    assert set(got) == set(expected)
    for table, (columns, sources) in got.items():
        rows_ = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        for row in rows_:
            row["raw"] = row["raw"].decode()
        pairs = sorted(zip(sources, rows_, strict=True), key=lambda p: (p[0], p[1]["id"]))
        assert pairs == sorted(expected[table], key=lambda p: (p[0], p[1]["id"])), table
    assert [s for s, r in zip(got["payments"][1], got["payments"][0]["id"], strict=True) if r == "ch_expanded"] == [
        batch.index(pi)]


def test_a_card_number_in_an_event_snapshot_is_scrubbed(resources: dict[str, Any]) -> None:
    charge = fixture(resources, "charge")
    charge["payment_method_details"]["card"]["number"] = "4242424242424242"
    event = dict(fixture(resources, "event"), data={"object": charge})
    raw = rows(event)["events"]["raw"]
    assert "4242424242424242" not in raw and '"last4":"4242"' in raw
