"""PayOps's own error types, and the one function that classifies provider errors into them."""

from __future__ import annotations

import re


class PayOpsError(Exception):
    """An error whose message is safe and useful to show a user as is: it says what to do."""

    exit_code = 1


class ConfigError(PayOpsError):
    """A missing or malformed setting."""


class StoreLockedError(PayOpsError):
    """Another process holds the embedded DuckDB file."""


class StoreError(PayOpsError):
    """The store could not be opened or written."""


class ProviderAuthError(PayOpsError):
    """The provider rejected the API key."""


class ProviderUnavailableError(PayOpsError):
    """The provider could not be reached, or answered 5xx, after retries."""


class ProviderRateLimitedError(PayOpsError):
    """The provider kept answering 429 after every retry."""


class ProviderRequestError(PayOpsError):
    """The provider refused a request (invalid parameters, missing object, card error...)."""

    def __init__(self, message: str, *, code: str | None = None, decline_code: str | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.request_id = request_id


def mask_secret(value: str | None) -> str:
    """Show a key's kind and last four characters only, e.g. ``sk_test_…4xYz``."""
    if not value:
        return "(not set)"
    match = re.match(r"^([a-z]+_(?:test|live)_)", value)
    prefix = match.group(1) if match else ""
    return f"{prefix}…{value[-4:]}" if len(value) > 8 else "…"


def classify_provider_error(exc: BaseException, *, provider: str = "stripe", target: str = "",
                            for_action: bool = False) -> PayOpsError:
    """Turn any provider SDK exception into one of ours, with a message that says what to do.

    This is the only place that knows provider exception types; everything above catches PayOpsError.
    `for_action`: the error ended a guarded write, so the message speaks of the action, not of a sync run.
    """
    classified = _classify(exc, provider=provider, target=target)
    classified = _for_action(classified) if for_action else classified
    from sync.redact import redact_secrets  # local: redact imports nothing of ours, but keep this module leaf-light

    clean = redact_secrets(str(classified))
    if clean != str(classified):
        classified.args = (clean,)  # provider text can quote a key; str(exc) reads args[0]
    return classified


def _classify(exc: BaseException, *, provider: str, target: str) -> PayOpsError:
    if isinstance(exc, PayOpsError):
        return exc
    import stripe  # local import keeps this module importable without the SDK loaded first

    where = f" at {target}" if target else ""
    request_id = getattr(exc, "request_id", None)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return ProviderAuthError(
            f"{provider.title()} rejected the API key{where}: {getattr(exc, 'user_message', None) or exc}. "
            "Check STRIPE_SECRET_KEY (environment or .streamlit/secrets.toml) and that the key may read this data."
        )
    if isinstance(exc, stripe.RateLimitError):
        return ProviderRateLimitedError(
            f"{provider.title()} kept rate-limiting requests{where} after every retry. "
            "Wait a minute and run again; the run resumes from its checkpoint."
        )
    if isinstance(exc, stripe.APIConnectionError):
        return ProviderUnavailableError(
            f"Could not reach {provider.title()}{where} after retries ({type(exc).__name__}). "
            "Check the network or STRIPE_API_BASE, then run again; the run resumes from its checkpoint."
        )
    if isinstance(exc, stripe.CardError):
        err = getattr(exc, "error", None)
        return ProviderRequestError(
            f"The card was declined: {getattr(exc, 'user_message', None) or exc}",
            code=getattr(exc, "code", None), decline_code=getattr(err, "decline_code", None),
            request_id=request_id,
        )
    if isinstance(exc, stripe.IdempotencyError):
        return ProviderRequestError(
            "This idempotency key was already used with different parameters; the earlier request stands.",
            code="idempotency_error", request_id=request_id,
        )
    if isinstance(exc, stripe.StripeError):
        status = getattr(exc, "http_status", None)
        if status is not None and status >= 500:
            return ProviderUnavailableError(
                f"{provider.title()} answered {status}{where} after retries. Try again shortly; "
                "the run resumes from its checkpoint."
            )
        return ProviderRequestError(
            f"{provider.title()} refused the request{where}: {getattr(exc, 'user_message', None) or exc}",
            code=getattr(exc, "code", None), request_id=request_id,
        )
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return ProviderUnavailableError(
            f"Could not reach {provider.title()}{where}: {exc}. Check the network, then run again."
        )
    return PayOpsError(f"Unexpected error from {provider.title()}{where}: {type(exc).__name__}: {exc}")


def _for_action(exc: PayOpsError) -> PayOpsError:
    """The plain message an operator acts on after a guarded write failed (refund, retry, dispute answer)."""
    if isinstance(exc, ProviderRateLimitedError):
        return ProviderRateLimitedError("Stripe is rate-limiting requests right now. Wait a minute and try again: "
                                        "the same action reuses its idempotency key, so nothing is done twice.")
    if isinstance(exc, ProviderUnavailableError):
        return ProviderUnavailableError("Stripe could not be reached or answered with a server error, so the "
                                        "outcome is unknown. PayOps checks with Stripe before trying again; "
                                        "retry in a moment.")
    if isinstance(exc, ProviderAuthError):
        return ProviderAuthError("Stripe rejected the API key for this action. Check STRIPE_WRITE_KEY (or "
                                 "STRIPE_SECRET_KEY) and that it may write refunds, invoices and disputes.")
    if not isinstance(exc, ProviderRequestError):
        return exc
    code, decline = exc.code or "", exc.decline_code
    text = str(exc).lower()
    message = None
    if code == "charge_already_refunded" or "already been refunded" in text:
        message = "This payment is already fully refunded; nothing was refunded."
    elif code == "amount_too_large" or "greater than unrefunded" in text or "greater than" in text:
        message = "The refund amount is more than what is left to refund on this payment; lower it."
    elif code == "charge_disputed" or "charged back" in text:
        message = "This payment is disputed (charged back), so Stripe will not refund it: answer the dispute instead."
    elif "already paid" in text or code == "invoice_payment_intent_requires_action":
        message = "This invoice is already paid (or needs the customer to act); it was not charged again."
    elif code == "idempotency_error":
        message = ("Stripe already has a request under this action's key with different parameters; the earlier "
                   "request stands. Start a new action instead.")
    elif decline or code == "card_declined":
        message = f"The card was declined ({decline or 'no reason given'}): {_tail(str(exc))}"
    if message is None:
        return exc
    return ProviderRequestError(message, code=exc.code, decline_code=decline, request_id=exc.request_id)


def _tail(message: str) -> str:
    # The SDK prefixes "Request req_...: "; the operator needs the sentence after it.
    return message.split(": ", 1)[-1] if message.startswith("Request req_") else message
