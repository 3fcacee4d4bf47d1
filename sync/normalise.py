"""Stripe object (dict, any API version) -> typed store rows; no I/O, no card numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

Row = dict[str, Any]
Obj = dict[str, Any]

# Keys a card container could carry that PayOps must never keep, even if a source ever sent them.
_PAN_KEYS = ("number", "cvc")


def _id(value: Any) -> str | None:
    """An expandable field is either an id string or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _get(obj: Obj | None, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _currency(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and value else None


def _decimal_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _scrub_card(card: Any) -> None:
    if isinstance(card, dict):
        for key in _PAN_KEYS:
            card.pop(key, None)


def raw_json(obj: Obj) -> str:
    return orjson.dumps(obj).decode()


def _base(obj: Obj) -> Row:
    return {
        "id": obj["id"],
        "created": obj.get("created"),
        "livemode": obj.get("livemode"),
        "raw": raw_json(obj),
    }


def _charge(obj: Obj) -> Iterator[tuple[str, Row]]:
    pmd = obj.get("payment_method_details") or {}
    card = pmd.get("card")
    source = obj.get("source") if isinstance(obj.get("source"), dict) else None
    _scrub_card(card)
    _scrub_card(source)
    if card is None and source and source.get("object") == "card":
        card = source
    card = card or {}
    outcome = obj.get("outcome") or {}
    status = obj.get("status")
    failed = status == "failed"
    billing_email = _get(obj, "billing_details", "email")
    brand = card.get("brand")
    amount_captured = obj.get("amount_captured")
    if amount_captured is None and obj.get("captured") and status == "succeeded":
        # Older API versions (and localstripe) have no amount_captured: a captured charge captured it all.
        amount_captured = obj.get("amount")
    row = _base(obj) | {
        "amount": obj.get("amount"),
        "amount_captured": amount_captured,
        "amount_refunded": obj.get("amount_refunded"),
        "currency": _currency(obj.get("currency")),
        "status": status,
        "provider_status": status,
        "captured": obj.get("captured"),
        "refunded": obj.get("refunded"),
        "disputed": obj.get("disputed"),
        "failure_code": obj.get("failure_code"),
        "failure_message": obj.get("failure_message"),
        "decline_code": (outcome.get("reason") or obj.get("failure_code")) if failed else None,
        "outcome_type": outcome.get("type"),
        "outcome_reason": outcome.get("reason"),
        "network_status": outcome.get("network_status"),
        "advice_code": outcome.get("advice_code"),
        "risk_level": outcome.get("risk_level"),
        "customer_id": _id(obj.get("customer")),
        "email": billing_email or obj.get("receipt_email"),
        "description": obj.get("description"),
        "payment_intent_id": _id(obj.get("payment_intent")),
        "invoice_id": _id(obj.get("invoice")),
        "balance_transaction_id": _id(obj.get("balance_transaction")),
        "payment_method_type": pmd.get("type") or ("card" if card else None),
        "card_brand": brand.lower().replace(" ", "_") if isinstance(brand, str) else None,
        "card_country": card.get("country"),
        "card_last4": card.get("last4"),
        "card_exp_month": card.get("exp_month"),
        "card_exp_year": card.get("exp_year"),
        "card_fingerprint": card.get("fingerprint"),
    }
    yield "payments", row
    if isinstance(obj.get("balance_transaction"), dict):
        yield from _balance_transaction(obj["balance_transaction"])
    for refund in _get(obj, "refunds", "data") or ():
        if isinstance(refund, dict) and refund.get("id"):
            yield from _refund(refund)


def _refund(obj: Obj) -> Iterator[tuple[str, Row]]:
    yield "refunds", _base(obj) | {
        "charge_id": _id(obj.get("charge")),
        "payment_intent_id": _id(obj.get("payment_intent")),
        "amount": obj.get("amount"),
        "currency": _currency(obj.get("currency")),
        "status": obj.get("status"),
        "reason": obj.get("reason"),
        "failure_reason": obj.get("failure_reason"),
        "balance_transaction_id": _id(obj.get("balance_transaction")),
    }


def _dispute(obj: Obj) -> Iterator[tuple[str, Row]]:
    details = obj.get("evidence_details") or {}
    card = _get(obj, "payment_method_details", "card") or {}
    yield "disputes", _base(obj) | {
        "charge_id": _id(obj.get("charge")),
        "payment_intent_id": _id(obj.get("payment_intent")),
        "amount": obj.get("amount"),
        "currency": _currency(obj.get("currency")),
        "status": obj.get("status"),
        "reason": obj.get("reason"),
        "evidence_due_by": details.get("due_by"),
        "has_evidence": details.get("has_evidence"),
        "past_due": details.get("past_due"),
        "submission_count": details.get("submission_count"),
        "is_charge_refundable": obj.get("is_charge_refundable"),
        "network_reason_code": card.get("network_reason_code"),
        "card_brand": card.get("brand"),
    }


def _customer(obj: Obj) -> Iterator[tuple[str, Row]]:
    yield "customers", _base(obj) | {
        "email": obj.get("email"),
        "name": obj.get("name"),
        "currency": _currency(obj.get("currency")),
        "delinquent": obj.get("delinquent"),
        "balance": obj["balance"] if obj.get("balance") is not None else obj.get("account_balance"),
    }


def _coupon_of(sub: Obj) -> Obj | None:
    """The subscription's coupon: old API `discount.coupon`, new API `discounts[].source.coupon`."""
    candidates = [sub.get("discount")] + list(sub.get("discounts") or [])
    for discount in candidates:
        if not isinstance(discount, dict):
            continue
        coupon = discount.get("coupon") or _get(discount, "source", "coupon")
        if isinstance(coupon, dict):
            return coupon
        if isinstance(coupon, str):
            return {"id": coupon}
    return None


def _subscription_item(item: Obj, subscription_id: str) -> Row:
    price = item.get("price") if isinstance(item.get("price"), dict) else None
    plan = item.get("plan") if isinstance(item.get("plan"), dict) else None
    recurring = (price or {}).get("recurring") or {}
    source = price or plan or {}
    unit_amount = price.get("unit_amount") if price else None
    if unit_amount is None and plan:
        unit_amount = plan.get("amount")
    return _base(item) | {
        "subscription_id": item.get("subscription") or subscription_id,
        "price_id": source.get("id"),
        "product_id": _id(source.get("product")),
        "unit_amount": unit_amount,
        "currency": _currency(source.get("currency")),
        "interval": recurring.get("interval") or (plan or {}).get("interval"),
        "interval_count": recurring.get("interval_count") or (plan or {}).get("interval_count"),
        "usage_type": recurring.get("usage_type") or (plan or {}).get("usage_type"),
        "billing_scheme": source.get("billing_scheme"),
        "quantity": item.get("quantity"),
    }


def _subscription(obj: Obj) -> Iterator[tuple[str, Row]]:
    items = [i for i in (_get(obj, "items", "data") or []) if isinstance(i, dict) and i.get("id")]
    coupon = _coupon_of(obj) or {}
    # API 2025-03-31 moved the billing period from the subscription onto its items.
    period_start = obj.get("current_period_start")
    period_end = obj.get("current_period_end")
    if period_start is None and items:
        starts = [i["current_period_start"] for i in items if i.get("current_period_start") is not None]
        ends = [i["current_period_end"] for i in items if i.get("current_period_end") is not None]
        period_start = min(starts) if starts else None
        period_end = max(ends) if ends else None
    currency = obj.get("currency")
    if currency is None and items:
        # Older API versions have no subscription currency: it is its items' price (or plan) currency.
        first = items[0]
        currency = _get(first, "price", "currency") or _get(first, "plan", "currency")
    yield "subscriptions", _base(obj) | {
        "customer_id": _id(obj.get("customer")),
        "status": obj.get("status"),
        "currency": _currency(currency),
        "start_date": obj.get("start_date"),
        "current_period_start": period_start,
        "current_period_end": period_end,
        "trial_start": obj.get("trial_start"),
        "trial_end": obj.get("trial_end"),
        "cancel_at_period_end": obj.get("cancel_at_period_end"),
        "cancel_at": obj.get("cancel_at"),
        "canceled_at": obj.get("canceled_at"),
        "ended_at": obj.get("ended_at"),
        "latest_invoice_id": _id(obj.get("latest_invoice")),
        "collection_method": obj.get("collection_method"),
        "coupon_id": coupon.get("id"),
        "coupon_percent_off": _decimal_text(coupon.get("percent_off")),
        "coupon_amount_off": coupon.get("amount_off"),
        "coupon_currency": _currency(coupon.get("currency")),
        "coupon_duration": coupon.get("duration"),
        "item_count": len(items),
    }
    for item in items:
        yield "subscription_items", _subscription_item(item, obj["id"])


def _payment_error_code(invoice: Obj) -> str | None:
    """Why the invoice's last payment failed, when its charge or PaymentIntent came expanded."""
    charge = invoice.get("charge")
    if isinstance(charge, dict) and charge.get("status") == "failed":
        return charge.get("failure_code")
    return _get(invoice, "payment_intent", "last_payment_error", "code")


def _invoice(obj: Obj) -> Iterator[tuple[str, Row]]:
    subscription = obj.get("subscription") or _get(obj, "parent", "subscription_details", "subscription")
    payment_intent = obj.get("payment_intent")
    if payment_intent is None:
        for payment in _get(obj, "payments", "data") or ():
            payment_intent = _get(payment, "payment", "payment_intent") or payment_intent
    yield "invoices", _base(obj) | {
        "customer_id": _id(obj.get("customer")),
        "subscription_id": _id(subscription),
        "status": obj.get("status"),
        "billing_reason": obj.get("billing_reason"),
        "collection_method": obj.get("collection_method"),
        "currency": _currency(obj.get("currency")),
        "amount_due": obj.get("amount_due"),
        "amount_paid": obj.get("amount_paid"),
        "amount_remaining": obj.get("amount_remaining"),
        "total": obj.get("total"),
        "attempt_count": obj.get("attempt_count"),
        "attempted": obj.get("attempted"),
        "next_payment_attempt": obj.get("next_payment_attempt"),
        "period_start": obj.get("period_start"),
        "period_end": obj.get("period_end"),
        "due_date": obj.get("due_date"),
        "paid_at": _get(obj, "status_transitions", "paid_at"),
        "charge_id": _id(obj.get("charge")),
        "payment_intent_id": _id(payment_intent),
        "last_error_code": _get(obj, "last_finalization_error", "code") or _payment_error_code(obj),
    }


def _balance_transaction(obj: Obj) -> Iterator[tuple[str, Row]]:
    yield "balance_transactions", _base(obj) | {
        "amount": obj.get("amount"),
        "fee": obj.get("fee"),
        "net": obj.get("net"),
        "currency": _currency(obj.get("currency")),
        "type": obj.get("type"),
        "reporting_category": obj.get("reporting_category"),
        "status": obj.get("status"),
        "source_id": _id(obj.get("source")),
        "available_on": obj.get("available_on"),
        "exchange_rate": _decimal_text(obj.get("exchange_rate")),
    }


def _event(obj: Obj) -> Iterator[tuple[str, Row]]:
    data_object = _get(obj, "data", "object") or {}
    request = obj.get("request")
    yield "events", _base(obj) | {
        "type": obj.get("type"),
        "api_version": obj.get("api_version"),
        "object_type": data_object.get("object"),
        "object_id": data_object.get("id"),
        "pending_webhooks": obj.get("pending_webhooks"),
        "request_id": _id(request) if request else None,
    }


def _payment_intent(obj: Obj) -> Iterator[tuple[str, Row]]:
    # Charges are synced as charges; a PaymentIntent only contributes its charge when it was expanded.
    if isinstance(obj.get("latest_charge"), dict):
        yield from _charge(obj["latest_charge"])


NORMALISERS: dict[str, Callable[[Obj], Iterator[tuple[str, Row]]]] = {
    "charge": _charge,
    "refund": _refund,
    "dispute": _dispute,
    "customer": _customer,
    "subscription": _subscription,
    "subscription_item": lambda obj: iter([("subscription_items", _subscription_item(obj, ""))]),
    "invoice": _invoice,
    "balance_transaction": _balance_transaction,
    "event": _event,
    "payment_intent": _payment_intent,
}


def normalise(obj: Obj) -> list[tuple[str, Row]]:
    """Rows for every table an object feeds; [] for an object type PayOps does not keep."""
    if not isinstance(obj, dict) or not obj.get("id"):
        return []
    fn = NORMALISERS.get(obj.get("object", ""))
    return list(fn(obj)) if fn else []


def is_delete_event(event: Obj) -> bool:
    """`customer.deleted` deletes a customer; `customer.subscription.deleted` only cancels a subscription."""
    obj = _get(event, "data", "object") or {}
    return bool(obj.get("deleted")) or event.get("type") == f"{obj.get('object')}.deleted"
