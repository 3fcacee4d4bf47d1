"""The Stripe builders against the official SDK's own classes: converted by stripe-python, every key at every
typed level is a field its class declares, every field the class declares non-optional is present, and the
nested objects become the SDK's nested classes (so the check reaches them)."""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

import pytest
import stripe
from stripe import ListObject, StripeObject

from tests.builders import stripe as stripe_builders

KEY = "sk_test_x"  # construct_from needs a key; nothing is sent

SDK_CLASSES: dict[str, type[StripeObject]] = {
    "balance_transaction": stripe.BalanceTransaction,
    "charge": stripe.Charge,
    "coupon": stripe.Coupon,
    "customer": stripe.Customer,
    "discount": stripe.Discount,
    "dispute": stripe.Dispute,
    "event": stripe.Event,
    "invoice": stripe.Invoice,
    "invoice_payment": stripe.InvoicePayment,
    "line_item": stripe.InvoiceLineItem,
    "payment_intent": stripe.PaymentIntent,
    "plan": stripe.Plan,
    "price": stripe.Price,
    "refund": stripe.Refund,
    "subscription": stripe.Subscription,
    "subscription_item": stripe.SubscriptionItem,
}

# (kind, path into the built object, the SDK class stripe-python must make of it)
NESTED: list[tuple[str, tuple[str | int, ...], type[StripeObject]]] = [
    ("charge", ("billing_details",), stripe.Charge.BillingDetails),
    ("charge", ("billing_details", "address"), stripe.Charge.BillingDetails.Address),
    ("charge", ("outcome",), stripe.Charge.Outcome),
    ("charge", ("payment_method_details",), stripe.Charge.PaymentMethodDetails),
    ("charge", ("payment_method_details", "card"), stripe.Charge.PaymentMethodDetails.Card),
    ("charge", ("payment_method_details", "card", "checks"), stripe.Charge.PaymentMethodDetails.Card.Checks),
    ("charge", ("refunds",), ListObject),
    ("refund", ("destination_details",), stripe.Refund.DestinationDetails),
    ("dispute", ("evidence",), stripe.Dispute.Evidence),
    ("dispute", ("evidence_details",), stripe.Dispute.EvidenceDetails),
    ("dispute", ("payment_method_details", "card"), stripe.Dispute.PaymentMethodDetails.Card),
    ("customer", ("invoice_settings",), stripe.Customer.InvoiceSettings),
    ("subscription", ("items", "data", 0), stripe.SubscriptionItem),
    ("subscription", ("items", "data", 0, "price"), stripe.Price),
    ("subscription", ("items", "data", 0, "price", "recurring"), stripe.Price.Recurring),
    ("subscription", ("items", "data", 0, "plan"), stripe.Plan),
    ("subscription", ("automatic_tax",), stripe.Subscription.AutomaticTax),
    ("discount", ("source",), stripe.Discount.Source),
    ("invoice", ("parent",), stripe.Invoice.Parent),
    ("invoice", ("parent", "subscription_details"), stripe.Invoice.Parent.SubscriptionDetails),
    ("invoice", ("status_transitions",), stripe.Invoice.StatusTransitions),
    ("invoice", ("lines", "data", 0), stripe.InvoiceLineItem),
    ("invoice", ("lines", "data", 0, "pricing", "price_details"), stripe.InvoiceLineItem.Pricing.PriceDetails),
    ("invoice", ("payments", "data", 0), stripe.InvoicePayment),
    ("invoice", ("payments", "data", 0, "payment"), stripe.InvoicePayment.Payment),
    ("balance_transaction", ("fee_details", 0), stripe.BalanceTransaction.FeeDetail),
    ("event", ("data",), stripe.Event.Data),
    ("event", ("data", "object"), stripe.Plan),
    ("event", ("request",), stripe.Event.Request),
    ("payment_intent", ("automatic_payment_methods",), stripe.PaymentIntent.AutomaticPaymentMethods),
]


def _annotations(cls: type) -> dict[str, Any]:
    """The fields a stripe-python class declares, its bases' included (ClassVars such as OBJECT_NAME are not)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, hint in vars(klass).get("__annotations__", {}).items():
            if not name.startswith("_") and typing.get_origin(hint) is not typing.ClassVar:
                out[name] = hint
    return out


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def problems(node: Any, path: str = "") -> list[str]:
    """Every key the SDK does not declare and every non-optional field missing, at each typed level of `node`.
    An untyped map (metadata, a plain StripeObject) declares nothing, so only its children are visited."""
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in problems(item, f"{path}[{i}]")]
    if not isinstance(node, StripeObject):
        return []
    values = node.to_dict(recursive=False)  # shallow: the nested values stay the SDK's objects
    out: list[str] = []
    cls = type(node)
    if cls is not StripeObject:
        fields = _annotations(cls)
        if "object" in values and values["object"] == getattr(cls, "OBJECT_NAME", None):
            fields.setdefault("object", str)  # ListObject names itself only in its ClassVar
        out += [f"{path}.{key}: not a field of {cls.__qualname__}" for key in values if key not in fields]
        out += [f"{path}.{name}: missing, {cls.__qualname__} requires it" for name, hint in fields.items()
                if name not in values and not _optional(hint)]
    for key, value in values.items():
        out += problems(value, f"{path}.{key}")
    return out


def construct(kind: str, obj: dict[str, Any]) -> StripeObject:
    return SDK_CLASSES[kind].construct_from(obj, KEY)


def at(node: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def test_every_kind_has_its_sdk_class() -> None:
    assert set(stripe_builders.resources()) == set(SDK_CLASSES)
    for kind, cls in SDK_CLASSES.items():
        assert kind == cls.OBJECT_NAME  # the builder's key is the object name the SDK converts by


@pytest.mark.parametrize("kind", sorted(SDK_CLASSES))
def test_every_key_is_a_field_the_sdk_declares(kind: str) -> None:
    obj = stripe_builders.resources()[kind]
    assert obj["object"] == kind
    sdk = construct(kind, obj)
    assert type(sdk) is SDK_CLASSES[kind]
    assert problems(sdk) == []


@pytest.mark.parametrize(("kind", "path", "cls"), NESTED, ids=[f"{k}.{'.'.join(map(str, p))}" for k, p, _ in NESTED])
def test_nested_objects_become_the_sdk_nested_classes(kind: str, path: tuple[str | int, ...], cls: type) -> None:
    # Without this, a dict the SDK left untyped would pass `problems` unchecked.
    assert type(at(construct(kind, stripe_builders.resources()[kind]), path)) is cls


def test_an_event_snapshot_of_a_charge_becomes_a_charge() -> None:
    charge = stripe_builders.charge(id="ch_snapshot", amount=2500, currency="eur")
    event = stripe.Event.construct_from(stripe_builders.event(type="charge.succeeded", data={"object": charge}), KEY)
    snapshot = event.data.object
    assert type(snapshot) is stripe.Charge
    assert type(snapshot.payment_method_details.card) is stripe.Charge.PaymentMethodDetails.Card
    assert (snapshot.id, snapshot.amount, snapshot.payment_method_details.card.amount_authorized) == (
        "ch_snapshot", 2500, 2500)
    assert problems(event) == []


def test_a_misspelled_or_missing_field_is_reported_at_every_level() -> None:
    charge = stripe_builders.charge(amout=5)
    charge["payment_method_details"]["card"]["last_4"] = charge["payment_method_details"]["card"].pop("last4")
    del charge["captured"]  # Charge.captured is a bool, never absent
    charge["metadata"]["any_key"] = "kept"  # metadata is free-form: not a problem
    assert sorted(problems(construct("charge", charge))) == [
        ".amout: not a field of Charge",
        ".captured: missing, Charge requires it",
        ".payment_method_details.card.last_4: not a field of Charge.PaymentMethodDetails.Card",
    ]
    sub = stripe_builders.subscription()
    sub["items"]["data"][0]["price"]["recurring"]["intervall"] = "month"
    sub["current_period_start"] = 1  # moved to the items in API 2025-03-31: the SDK no longer declares it
    assert sorted(problems(construct("subscription", sub))) == [
        ".current_period_start: not a field of Subscription",
        ".items.data[0].price.recurring.intervall: not a field of Price.Recurring",
    ]


def test_the_builders_speak_the_sdks_api_version_and_the_sdk_keeps_its_name() -> None:
    assert stripe.api_version == stripe_builders.API_VERSION
    assert sys.modules["stripe"] is stripe and hasattr(stripe, "Charge")
    assert stripe_builders.__name__ == "tests.builders.stripe"


def test_every_call_builds_a_fresh_object_and_overrides_follow_the_id() -> None:
    first = stripe_builders.charge()
    first["outcome"]["type"] = "issuer_declined"
    first["refunds"]["data"].append(stripe_builders.refund())
    again = stripe_builders.resources()["charge"]
    assert (again["outcome"]["type"], again["refunds"]["data"]) == ("authorized", [])
    assert stripe_builders.charge(id="ch_x")["refunds"]["url"] == "/v1/charges/ch_x/refunds"
    sub = stripe_builders.subscription(id="sub_x")
    assert sub["items"]["data"][0]["subscription"] == "sub_x"
    # The defaults link into one story: the charge's balance transaction, refund, dispute and PaymentIntent.
    charge = stripe_builders.charge()
    assert charge["balance_transaction"] == stripe_builders.balance_transaction()["id"]
    assert stripe_builders.balance_transaction()["source"] == charge["id"]
    assert stripe_builders.refund()["charge"] == stripe_builders.dispute()["charge"] == charge["id"]
    assert stripe_builders.payment_intent()["latest_charge"] == charge["id"]
    assert charge["customer"] == stripe_builders.customer()["id"] == stripe_builders.subscription()["customer"]
