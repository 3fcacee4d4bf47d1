"""Full Stripe objects for tests and benchmarks, in the shapes API 2026-10-28 gives them (as stripe-python 16.1
declares them), built fresh on every call; the one source of Stripe-shaped examples in the repository.

Import it as `from tests.builders import stripe as stripe_builders`: the name `stripe` stays the SDK's.
Each builder takes keyword overrides of top-level fields, applied last and as given (a dict override replaces the
whole sub-object). Fields derived from the id (list urls, a child's parent id) follow an `id` override. The
defaults describe one story: Jenny Rosen's 1.00 USD card charge, its balance transaction, refund and dispute, and
her 20.00 USD monthly subscription with its paid first invoice, all created at 1234567890 (2009-02-13 23:31:30 UTC).
tests/unit/test_builders.py checks every key, at every level, against the SDK's own classes.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

API_VERSION = "2026-10-28.endive"  # stripe.api_version of stripe-python 16.1
CREATED = 1234567890
DAY = 86_400
PERIOD_END = CREATED + 28 * DAY  # one monthly period from 2009-02-13: February 2009 had 28 days

# One test account's ids (Stripe ids embed the account's segment, here B7WZ01zgkW), linked across the objects.
BALANCE_TRANSACTION_ID = "txn_1PgaxNB7WZ01zgkWEV3TLf40"
CHARGE_ID = "ch_3PgaxNB7WZ01zgkW0Ak6Hm2S"
COUPON_ID = "Z4OV52SU"
CUSTOMER_ID = "cus_QXg1o8vcGmoR32"
DISCOUNT_ID = "di_1PgafnB7WZ01zgkW8zQ1bR2c"
DISPUTE_ID = "du_1PgaySB7WZ01zgkWvLBTh7Zy"
EVENT_ID = "evt_1PgafmB7WZ01zgkWnEFdmzZ4"
INVOICE_ID = "in_1PgafnB7WZ01zgkWpcQ6Nsf1"
INVOICE_LINE_ID = "il_1PgafnB7WZ01zgkWJxE4rR3a"
INVOICE_PAYMENT_ID = "inpay_1PgafoB7WZ01zgkW3Fh6o4Dx"
INVOICE_PAYMENT_INTENT_ID = "pi_3PgafoB7WZ01zgkW1c8LbRtK"
PAYMENT_INTENT_ID = "pi_3PgaxNB7WZ01zgkW0sX2Ldq1"
PAYMENT_METHOD_ID = "pm_1PgaxMB7WZ01zgkWq7mDKd8e"
PRICE_ID = "price_1PgafmB7WZ01zgkW6dKueIc5"
PRODUCT_ID = "prod_QXfzJcdd3tUMhx"
REFUND_BALANCE_TRANSACTION_ID = "txn_3PgaxNB7WZ01zgkW1yJ3Qm7v"
REFUND_ID = "re_3PgaxNB7WZ01zgkW1ZJxTh2p"
SUBSCRIPTION_ID = "sub_1PgafnB7WZ01zgkWZq1Sb0T8"
SUBSCRIPTION_ITEM_ID = "si_QXfzK6jNQ0ZvLr"

EMAIL = "jenny.rosen@example.com"
NAME = "Jenny Rosen"


def _apply(obj: Obj, overrides: dict[str, Any]) -> Obj:
    obj.update(overrides)
    return obj


def _list(url: str, data: list[Obj] | None = None) -> Obj:
    return {"object": "list", "data": data or [], "has_more": False, "url": url}


def _address(**overrides: Any) -> Obj:
    return _apply({"city": None, "country": "US", "line1": None, "line2": None, "postal_code": "42424",
                   "state": None}, overrides)


# -- payments ---------------------------------------------------------------------------------------------------


def card_details(**overrides: Any) -> Obj:
    """A charge's `payment_method_details.card` (Stripe's test Visa 4242; no card number, as Stripe sends none)."""
    amount = overrides.pop("amount_authorized", 100)
    return _apply({
        "amount_authorized": amount,
        "authorization_code": "472184",
        "brand": "visa",
        "capture_before": CREATED + 7 * DAY,
        "checks": {"address_line1_check": None, "address_postal_code_check": "pass", "cvc_check": "pass"},
        "country": "US",
        "exp_month": 12,
        "exp_year": 2030,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": "Xt5EWLLDS7FJjR1c",
        "funding": "credit",
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": "4242",
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": "visa",
        "network_token": {"used": False},
        "network_transaction_id": "104557651805572",
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "wallet": None,
    }, overrides)


def outcome(**overrides: Any) -> Obj:
    """A charge's `outcome`: authorised by the network, normal risk."""
    return _apply({"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                   "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                   "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized"}, overrides)


def charge(**overrides: Any) -> Obj:
    """A succeeded, captured 1.00 USD card charge of a PaymentIntent, with its balance transaction as an id and
    its (includable) refunds list empty."""
    charge_id = overrides.get("id", CHARGE_ID)
    amount = overrides.get("amount", 100)
    return _apply({
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": BALANCE_TRANSACTION_ID,
        "billing_details": {"address": _address(), "email": EMAIL, "name": NAME, "phone": None, "tax_id": None},
        "calculated_statement_descriptor": "PAYOPS",
        "captured": True,
        "created": CREATED,
        "currency": "usd",
        "customer": CUSTOMER_ID,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": outcome(),
        "paid": True,
        "payment_intent": PAYMENT_INTENT_ID,
        "payment_method": PAYMENT_METHOD_ID,
        "payment_method_details": {"card": card_details(amount_authorized=amount), "type": "card"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/test_{charge_id}",
        "refunded": False,
        "refunds": _list(f"/v1/charges/{charge_id}/refunds"),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }, overrides)


def payment_intent(**overrides: Any) -> Obj:
    """The succeeded PaymentIntent of `charge()`, its latest charge as an id (not expanded)."""
    intent_id = overrides.get("id", PAYMENT_INTENT_ID)
    return _apply({
        "id": intent_id,
        "object": "payment_intent",
        "amount": 100,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 100,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "never", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_builder",
        "confirmation_method": "automatic",
        "created": CREATED,
        "currency": "usd",
        "customer": CUSTOMER_ID,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": CHARGE_ID,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": PAYMENT_METHOD_ID,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }, overrides)


def balance_transaction(**overrides: Any) -> Obj:
    """`charge()`'s balance transaction: 100 - Stripe's fee (2.9% + 30 = 32.9, rounded to 33) = 67 net."""
    return _apply({
        "id": BALANCE_TRANSACTION_ID,
        "object": "balance_transaction",
        "amount": 100,
        "available_on": CREATED + 2 * DAY,
        "balance_type": "payments",
        "created": CREATED,
        "currency": "usd",
        "description": None,
        "exchange_rate": None,
        "fee": 33,
        "fee_details": [{"amount": 33, "application": None, "currency": "usd",
                         "description": "Stripe processing fees", "type": "stripe_fee"}],
        "net": 67,
        "reporting_category": "charge",
        "source": CHARGE_ID,
        "status": "available",
        "type": "charge",
    }, overrides)


def refund(**overrides: Any) -> Obj:
    """A succeeded full refund of `charge()` (a refund has no `livemode` field)."""
    return _apply({
        "id": REFUND_ID,
        "object": "refund",
        "amount": 100,
        "balance_transaction": REFUND_BALANCE_TRANSACTION_ID,
        "charge": CHARGE_ID,
        "created": CREATED,
        "currency": "usd",
        "destination_details": {"card": {"reference": "74273814283000000000004", "reference_status": "available",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "metadata": {},
        "payment_intent": PAYMENT_INTENT_ID,
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }, overrides)


def dispute(**overrides: Any) -> Obj:
    """A fraud chargeback on `charge()` that needs a response within 7 days, no evidence given yet."""
    evidence_fields = (
        "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
        "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
        "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation", "duplicate_charge_explanation",
        "duplicate_charge_id", "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
        "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address", "shipping_carrier",
        "shipping_date", "shipping_documentation", "shipping_tracking_number", "uncategorized_file",
        "uncategorized_text",
    )
    return _apply({
        "id": DISPUTE_ID,
        "object": "dispute",
        "amount": 100,
        "balance_transactions": [],
        "charge": CHARGE_ID,
        "created": CREATED,
        "currency": "usd",
        "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(evidence_fields), "enhanced_evidence": {}},
        "evidence_details": {"due_by": CREATED + 7 * DAY, "enhanced_eligibility": {}, "has_evidence": False,
                             "past_due": False, "submission_count": 0, "submission_method": "not_submitted"},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": PAYMENT_INTENT_ID,
        "payment_method_details": {"card": {"brand": "visa", "case_type": "chargeback", "network": "visa",
                                            "network_reason_code": "10.4"}, "type": "card"},
        "reason": "fraudulent",
        "status": "needs_response",
    }, overrides)


# -- customers and billing ---------------------------------------------------------------------------------------


def customer(**overrides: Any) -> Obj:
    return _apply({
        "id": CUSTOMER_ID,
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": CREATED,
        "currency": "usd",
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": EMAIL,
        "individual_name": None,
        "invoice_prefix": "7D3F9A21",
        "invoice_settings": {"custom_fields": None, "default_payment_method": PAYMENT_METHOD_ID, "footer": None,
                             "rendering_options": None},
        "livemode": False,
        "metadata": {},
        "name": NAME,
        "next_invoice_sequence": 2,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }, overrides)


def price(**overrides: Any) -> Obj:
    """20.00 USD a month, per unit, licensed."""
    return _apply({
        "id": PRICE_ID,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": CREATED,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": PRODUCT_ID,
        "recurring": {"interval": "month", "interval_count": 1, "meter": None, "trial_period_days": None,
                      "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": 2000,
        "unit_amount_decimal": "2000",
    }, overrides)


def plan(**overrides: Any) -> Obj:
    """`price()` seen through the older Plans API (same id, as Stripe gives a price's plan)."""
    return _apply({
        "id": PRICE_ID,
        "object": "plan",
        "active": True,
        "amount": 2000,
        "amount_decimal": "2000",
        "billing_scheme": "per_unit",
        "created": CREATED,
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": PRODUCT_ID,
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }, overrides)


def coupon(**overrides: Any) -> Obj:
    return _apply({
        "id": COUPON_ID,
        "object": "coupon",
        "amount_off": None,
        "created": CREATED,
        "currency": None,
        "duration": "forever",
        "duration_in_months": None,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "name": "25% off",
        "percent_off": 25.0,
        "redeem_by": None,
        "times_redeemed": 1,
        "valid": True,
    }, overrides)


def discount(**overrides: Any) -> Obj:
    """A discount in the 2025-09-30+ shape: the coupon under `source` (an id unless expanded)."""
    return _apply({
        "id": DISCOUNT_ID,
        "object": "discount",
        "checkout_session": None,
        "customer": CUSTOMER_ID,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": COUPON_ID, "type": "coupon"},
        "start": CREATED,
        "subscription": SUBSCRIPTION_ID,
        "subscription_item": None,
    }, overrides)


def subscription_item(**overrides: Any) -> Obj:
    """One unit of `price()`; since API 2025-03-31 the billing period lives here, not on the subscription."""
    return _apply({
        "id": SUBSCRIPTION_ITEM_ID,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": CREATED,
        "current_period_end": PERIOD_END,
        "current_period_start": CREATED,
        "discounts": [],
        "metadata": {},
        "plan": plan(),
        "price": price(),
        "quantity": 1,
        "subscription": SUBSCRIPTION_ID,
        "tax_rates": [],
    }, overrides)


def subscription(**overrides: Any) -> Obj:
    """Jenny Rosen's active monthly subscription to `price()`, no discount (see `discount()`)."""
    subscription_id = overrides.get("id", SUBSCRIPTION_ID)
    return _apply({
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": CREATED,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": CREATED,
        "currency": "usd",
        "customer": CUSTOMER_ID,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": PAYMENT_METHOD_ID,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": _list(f"/v1/subscription_items?subscription={subscription_id}",
                       [subscription_item(subscription=subscription_id)]),
        "latest_invoice": INVOICE_ID,
        "livemode": False,
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": CREATED,
        "status": "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }, overrides)


def invoice_line_item(**overrides: Any) -> Obj:
    """The subscription item's line on `invoice()` (2025-03-31+: `parent` and `pricing`, not `plan`/`price`)."""
    return _apply({
        "id": INVOICE_LINE_ID,
        "object": "line_item",
        "amount": 2000,
        "currency": "usd",
        "description": "1 × PayOps Pro (at $20.00 / month)",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": INVOICE_ID,
        "livemode": False,
        "metadata": {},
        "parent": {"invoice_item_details": None, "type": "subscription_item_details",
                   "subscription_item_details": {"invoice_item": None, "proration": False,
                                                 "proration_details": {"credited_items": None},
                                                 "subscription": SUBSCRIPTION_ID,
                                                 "subscription_item": SUBSCRIPTION_ITEM_ID}},
        "period": {"end": PERIOD_END, "start": CREATED},
        "pretax_credit_amounts": [],
        "pricing": {"price_details": {"price": PRICE_ID, "product": PRODUCT_ID}, "type": "price_details",
                    "unit_amount_decimal": "2000"},
        "quantity": 1,
        "subscription": SUBSCRIPTION_ID,
        "subtotal": 2000,
        "taxes": [],
    }, overrides)


def invoice_payment(**overrides: Any) -> Obj:
    """How `invoice()` was paid: its default payment, a PaymentIntent (2025-03-31+ replaced `invoice.charge`)."""
    return _apply({
        "id": INVOICE_PAYMENT_ID,
        "object": "invoice_payment",
        "amount_paid": 2000,
        "amount_requested": 2000,
        "created": CREATED,
        "currency": "usd",
        "invoice": INVOICE_ID,
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": INVOICE_PAYMENT_INTENT_ID, "type": "payment_intent"},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": CREATED},
    }, overrides)


def invoice(**overrides: Any) -> Obj:
    """The subscription's first invoice, 20.00 USD, paid at once; `payments` included, as `expand` gives it."""
    invoice_id = overrides.get("id", INVOICE_ID)
    return _apply({
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "PayOps Test",
        "account_tax_ids": None,
        "amount_due": 2000,
        "amount_overpaid": 0,
        "amount_paid": 2000,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                          "status": None},
        "automatically_finalizes_at": None,
        "billing_reason": "subscription_create",
        "collection_method": "charge_automatically",
        "created": CREATED,
        "currency": "usd",
        "custom_fields": None,
        "customer": CUSTOMER_ID,
        "customer_account": None,
        "customer_address": None,
        "customer_email": EMAIL,
        "customer_name": NAME,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": CREATED,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/test_{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": _list(f"/v1/invoices/{invoice_id}/lines", [invoice_line_item(invoice=invoice_id)]),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": "7D3F9A21-0001",
        "on_behalf_of": None,
        "parent": {"quote_details": None, "type": "subscription_details",
                   "subscription_details": {"metadata": {}, "subscription": SUBSCRIPTION_ID}},
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "payments": _list(f"/v1/invoice_payments?invoice={invoice_id}", [invoice_payment(invoice=invoice_id)]),
        "period_end": CREATED,
        "period_start": CREATED,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {"finalized_at": CREATED, "marked_uncollectible_at": None, "paid_at": CREATED,
                               "voided_at": None},
        "subtotal": 2000,
        "subtotal_excluding_tax": 2000,
        "test_clock": None,
        "total": 2000,
        "total_discount_amounts": [],
        "total_excluding_tax": 2000,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": CREATED,
    }, overrides)


# -- events ------------------------------------------------------------------------------------------------------


def event(**overrides: Any) -> Obj:
    """`plan.created` for `plan()`; pass `type=` and `data={"object": ...}` for any other snapshot."""
    return _apply({
        "id": EVENT_ID,
        "object": "event",
        "api_version": API_VERSION,
        "created": CREATED,
        "data": {"object": plan()},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": "plan.created",
    }, overrides)


BUILDERS = {
    "balance_transaction": balance_transaction,
    "charge": charge,
    "coupon": coupon,
    "customer": customer,
    "discount": discount,
    "dispute": dispute,
    "event": event,
    "invoice": invoice,
    "invoice_payment": invoice_payment,
    "line_item": invoice_line_item,
    "payment_intent": payment_intent,
    "plan": plan,
    "price": price,
    "refund": refund,
    "subscription": subscription,
    "subscription_item": subscription_item,
}


def resources() -> dict[str, Obj]:
    """Every kind's default object, keyed by its `object` name (fresh: callers may mutate them)."""
    return {kind: build() for kind, build in BUILDERS.items()}
