"""Stripe write calls (refund, invoice pay, dispute update/close, event retry) and the fresh reads the guard needs.

Every call takes one `stripe.StripeClient`; every SDK exception leaves as a PayOps error with a plain message.
Only dashboard/actions.py should call the writes: it holds the role, confirmation, journal and audit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe

from sync.errors import (
    ConfigError,
    classify_provider_error,
)
from sync.settings import Settings

ACTION_METADATA_KEY = "payops_action_id"


@dataclass(frozen=True)
class Answer:
    """A provider answer: the object as a plain dict, Stripe's request id, and whether it was an idempotent replay."""

    obj: dict[str, Any]
    request_id: str | None = None
    replayed: bool = False


def write_key(settings: Settings) -> str | None:
    """The key for writes: STRIPE_WRITE_KEY when set (a restricted key), else STRIPE_SECRET_KEY."""
    return settings.stripe_write_key or settings.stripe_secret_key


def key_mode(key: str | None) -> str:
    if not key:
        return "none"
    return "live" if "_live_" in key else "test"


def build_client(settings: Settings) -> stripe.StripeClient:
    key = write_key(settings)
    if not key:
        raise ConfigError("No Stripe key for actions: set STRIPE_WRITE_KEY (or STRIPE_SECRET_KEY) in "
                          ".streamlit/secrets.toml or the environment.")
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(key, base_addresses=base, max_network_retries=settings.stripe_max_network_retries)


def client_key_mode(client: stripe.StripeClient) -> str:
    """'live' or 'test' from the client's own key (the SDK keeps no public accessor for it)."""
    requestor = getattr(client, "_requestor", None)
    return key_mode(getattr(requestor, "api_key", None))


def provider_call(fn: Callable[[], Any], *, target: str = "") -> Any:
    """Run one SDK call; any exception leaves classified and refined (never a raw SDK error)."""
    try:
        return fn()
    except Exception as exc:  # the SDK raises many types; classify_provider_error knows them all
        raise classify_provider_error(exc, provider="stripe", target=target, for_action=True) from exc


def _answer(obj: Any) -> Answer:
    response = getattr(obj, "last_response", None)
    headers = getattr(response, "headers", None) or {}
    return Answer(
        obj=obj.to_dict() if hasattr(obj, "to_dict") else dict(obj),
        request_id=getattr(response, "request_id", None),
        replayed=str(headers.get("idempotent-replayed", "")).lower() == "true",
    )


# -- writes -------------------------------------------------------------------------------------------------

def refund(client: stripe.StripeClient, charge_id: str, *, action_id: str, idempotency_key: str,
           amount: int | None = None, reason: str | None = None) -> Answer:
    """Refund a charge fully (amount None) or partly; the action id rides in metadata for reconciliation."""
    params: dict[str, Any] = {"charge": charge_id, "metadata": {ACTION_METADATA_KEY: action_id}}
    if amount is not None:
        params["amount"] = int(amount)
    if reason:  # sent only when chosen: some Stripe-compatible servers refuse the field
        params["reason"] = reason
    return _answer(provider_call(lambda: client.v1.refunds.create(params, {"idempotency_key": idempotency_key}),
                                 target=f"refund of {charge_id}"))


def pay_invoice(client: stripe.StripeClient, invoice_id: str, *, idempotency_key: str) -> Answer:
    """Retry an open invoice now (`invoices.pay`) with the customer's current default payment method."""
    return _answer(provider_call(lambda: client.v1.invoices.pay(invoice_id, None, {"idempotency_key": idempotency_key}),
                                 target=f"invoice {invoice_id}"))


def update_dispute(client: stripe.StripeClient, dispute_id: str, *, evidence: dict[str, str], submit: bool,
                   action_id: str, idempotency_key: str) -> Answer:
    """Stage evidence (submit=False) or stage and submit it (submit=True); submitting is final at Stripe."""
    params = {"evidence": evidence, "submit": submit, "metadata": {ACTION_METADATA_KEY: action_id}}
    return _answer(provider_call(
        lambda: client.v1.disputes.update(dispute_id, params, {"idempotency_key": idempotency_key}),
        target=f"dispute {dispute_id}"))


def close_dispute(client: stripe.StripeClient, dispute_id: str, *, idempotency_key: str) -> Answer:
    """Accept the dispute (the funds stay with the cardholder)."""
    options = {"idempotency_key": idempotency_key}
    return _answer(provider_call(lambda: client.v1.disputes.close(dispute_id, None, options),
                                 target=f"dispute {dispute_id}"))


def retry_event(client: stripe.StripeClient, event_id: str, *, webhook_endpoint: str, idempotency_key: str) -> Answer:
    """Ask Stripe to deliver an event again to one endpoint (`POST /v1/events/{id}/retry`, 30 days back at most)."""
    response = provider_call(
        lambda: client.raw_request("post", f"/v1/events/{event_id}/retry", webhook_endpoint=webhook_endpoint,
                                   idempotency_key=idempotency_key),
        target=f"event {event_id}")
    data = getattr(response, "data", None)
    headers = getattr(response, "headers", None) or {}
    return Answer(obj=dict(data) if isinstance(data, dict) else {"id": event_id},
                  request_id=getattr(response, "request_id", None),
                  replayed=str(headers.get("idempotent-replayed", "")).lower() == "true")


# -- fresh reads --------------------------------------------------------------------------------------------

def get_charge(client: stripe.StripeClient, charge_id: str) -> dict[str, Any]:
    return provider_call(lambda: client.v1.charges.retrieve(charge_id), target=f"charge {charge_id}").to_dict()


def list_refunds(client: stripe.StripeClient, charge_id: str) -> list[dict[str, Any]]:
    """Every refund of a charge, pending ones included (paged; a charge rarely has more than a few)."""
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"charge": charge_id, "limit": 100}
    while True:
        page = provider_call(lambda p=dict(params): client.v1.refunds.list(p), target=f"refunds of {charge_id}")
        data = [r.to_dict() for r in page.data]
        out.extend(data)
        if not page.has_more or not data:
            return out
        params["starting_after"] = data[-1]["id"]


def find_refund_by_action(client: stripe.StripeClient, charge_id: str, action_id: str) -> dict[str, Any] | None:
    """The refund a PayOps action created, found by its metadata (reconciliation after a crash)."""
    for item in list_refunds(client, charge_id):
        if (item.get("metadata") or {}).get(ACTION_METADATA_KEY) == action_id:
            return item
    return None


def get_invoice(client: stripe.StripeClient, invoice_id: str) -> dict[str, Any]:
    return provider_call(lambda: client.v1.invoices.retrieve(invoice_id), target=f"invoice {invoice_id}").to_dict()


def get_payment_intent(client: stripe.StripeClient, intent_id: str) -> dict[str, Any]:
    return provider_call(lambda: client.v1.payment_intents.retrieve(intent_id),
                         target=f"payment intent {intent_id}").to_dict()


def get_dispute(client: stripe.StripeClient, dispute_id: str) -> dict[str, Any]:
    return provider_call(lambda: client.v1.disputes.retrieve(dispute_id), target=f"dispute {dispute_id}").to_dict()


def get_event(client: stripe.StripeClient, event_id: str) -> dict[str, Any]:
    return provider_call(lambda: client.v1.events.retrieve(event_id), target=f"event {event_id}").to_dict()
