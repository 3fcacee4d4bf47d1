"""Fill a Stripe TEST-mode account with rehearsal scenarios (refunds, declines, disputes, failing subscriptions).

Uses Stripe's test PaymentMethod ids only (pm_card_visa, pm_card_chargeDeclined..., pm_card_createDispute);
never card numbers. Refuses live keys before sending anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import stripe

from sync.errors import ConfigError, PayOpsError, ProviderRequestError
from sync.providers.stripe_writes import client_key_mode, provider_call

SEED_KEY = "payops_seed"

# (scenario, amount, currency, test payment method): one-off payments through PaymentIntents.
PAYMENTS = (
    ("paid_usd", 2500, "usd", "pm_card_visa"),
    ("paid_eur", 4900, "eur", "pm_card_visa"),
    ("paid_jpy", 3000, "jpy", "pm_card_visa"),  # zero-decimal currency
    ("refund_partial", 8000, "usd", "pm_card_visa"),
    ("refund_full", 1200, "usd", "pm_card_visa"),
    ("declined_insufficient_funds", 1500, "usd", "pm_card_chargeDeclinedInsufficientFunds"),
    ("declined_stolen_card", 1500, "usd", "pm_card_chargeDeclinedStolenCard"),
    ("declined_fraudulent", 1500, "usd", "pm_card_chargeDeclinedFraudulent"),
    ("declined_expired_card", 1500, "usd", "pm_card_chargeDeclinedExpiredCard"),
    ("dispute_fraudulent", 6000, "usd", "pm_card_createDispute"),
    ("dispute_product_not_received", 4500, "usd", "pm_card_createDisputeProductNotReceived"),
    ("dispute_inquiry", 3500, "usd", "pm_card_createDisputeInquiry"),
)
# (scenario, test payment method, monthly amount): subscriptions; chargeCustomerFail attaches but then fails.
SUBSCRIPTIONS = (
    ("subscription_active", "pm_card_visa", 2000),
    ("subscription_failing_card", "pm_card_chargeCustomerFail", 4000),
)


def seed_test_account(client: stripe.StripeClient) -> dict[str, Any]:
    """Create every scenario; returns {"run": id, "created": {scenario: object id}, "skipped": {scenario: reason}}.

    A scenario the server cannot do (a Stripe-compatible test server lacks some test cards) is skipped with its
    reason; the rest still run.
    """
    if client_key_mode(client) != "test":
        raise ConfigError("seed-test-account only runs with a Stripe TEST key (sk_test_... or rk_test_...); "
                          "it never writes to a live account.")
    run = uuid.uuid4().hex[:8]
    created: dict[str, str] = {}
    skipped: dict[str, str] = {}

    def attempt(name: str, fn: Callable[[], str]) -> None:
        try:
            created[name] = fn()
        except PayOpsError as exc:
            skipped[name] = str(exc)

    meta = {SEED_KEY: run}
    for name, amount, currency, pm in PAYMENTS:
        attempt(name, lambda n=name, a=amount, c=currency, p=pm: _payment(client, run, n, a, c, p, meta))
    product = provider_call(lambda: client.v1.products.create({"name": "PayOps rehearsal plan", "metadata": meta}))
    for name, pm, amount in SUBSCRIPTIONS:
        attempt(name, lambda n=name, p=pm, a=amount: _subscription(client, run, n, p, a, product.id, meta))
    return {"run": run, "created": created, "skipped": skipped}


def _key(run: str, name: str, step: str) -> dict[str, str]:
    # Idempotent per run: re-running a half-finished seed call does not duplicate objects.
    return {"idempotency_key": f"payops-seed-{run}-{name}-{step}"}


def _payment(client: stripe.StripeClient, run: str, name: str, amount: int, currency: str, pm: str,
             meta: dict[str, str]) -> str:
    customer = provider_call(lambda: client.v1.customers.create(
        {"email": f"{name}.{run}@example.com", "name": name.replace("_", " "), "metadata": meta},
        _key(run, name, "customer")))
    try:
        intent = provider_call(lambda: client.v1.payment_intents.create(
            {"amount": amount, "currency": currency, "customer": customer.id, "payment_method": pm, "confirm": True,
             "payment_method_types": ["card"],
             "metadata": {**meta, "scenario": name}},
            _key(run, name, "intent")))
    except ProviderRequestError as exc:
        if exc.code != "card_declined":
            raise
        return f"declined:{exc.decline_code or exc.code}"  # the declined scenarios end here by design
    charge = intent.to_dict().get("latest_charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    if name == "refund_partial":
        provider_call(lambda: client.v1.refunds.create(
            {"charge": charge_id, "amount": amount // 4, "metadata": meta}, _key(run, name, "refund")))
    elif name == "refund_full":
        provider_call(lambda: client.v1.refunds.create({"charge": charge_id, "metadata": meta},
                                                       _key(run, name, "refund")))
    return charge_id or intent.id


def _subscription(client: stripe.StripeClient, run: str, name: str, pm: str, amount: int, product_id: str,
                  meta: dict[str, str]) -> str:
    customer = provider_call(lambda: client.v1.customers.create(
        {"email": f"{name}.{run}@example.com", "metadata": meta}, _key(run, name, "customer")))
    method = provider_call(lambda: client.v1.payment_methods.attach(pm, {"customer": customer.id}))
    provider_call(lambda: client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": method.id}}))
    plan = provider_call(lambda: client.v1.plans.create(
        {"amount": amount, "currency": "usd", "interval": "month", "product": product_id, "metadata": meta},
        _key(run, name, "plan")))
    subscription = provider_call(lambda: client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"plan": plan.id}], "metadata": meta}, _key(run, name, "subscription")))
    return subscription.id

