"""The one classifier: every Stripe SDK exception becomes a PayOps error whose message says what to do."""

from __future__ import annotations

import stripe

from sync.errors import (
    ProviderAuthError,
    ProviderRateLimitedError,
    ProviderRequestError,
    ProviderUnavailableError,
    classify_provider_error,
    mask_secret,
)


def test_sync_errors_say_how_to_resume() -> None:
    auth = classify_provider_error(stripe.AuthenticationError("Invalid API Key provided"))
    assert isinstance(auth, ProviderAuthError) and "STRIPE_SECRET_KEY" in str(auth)
    down = classify_provider_error(stripe.APIConnectionError("connection refused"), target="http://127.0.0.1:9")
    assert isinstance(down, ProviderUnavailableError) and "resumes from its checkpoint" in str(down)
    limited = classify_provider_error(stripe.RateLimitError("Too many requests"))
    assert isinstance(limited, ProviderRateLimitedError)
    server = classify_provider_error(stripe.APIError("boom", http_status=500))
    assert isinstance(server, ProviderUnavailableError) and "500" in str(server)


def test_action_errors_are_plain_sentences() -> None:
    over = classify_provider_error(
        stripe.InvalidRequestError("Refund amount ($30.00) is greater than unrefunded amount on charge ($25.00)",
                                   "amount"), for_action=True)
    assert isinstance(over, ProviderRequestError) and "more than what is left to refund" in str(over)
    done = classify_provider_error(
        stripe.InvalidRequestError("Charge ch_1 has already been refunded.", None, code="charge_already_refunded"),
        for_action=True)
    assert "already fully refunded" in str(done)
    declined = classify_provider_error(
        stripe.CardError("Your card has insufficient funds.", None, code="card_declined"), for_action=True)
    assert isinstance(declined, ProviderRequestError) and "declined" in str(declined)
    limited = classify_provider_error(stripe.RateLimitError("Too many requests"), for_action=True)
    assert "reuses its idempotency key" in str(limited)


def test_keys_are_masked_to_kind_and_last_four() -> None:
    assert mask_secret("sk_test_fakeFAKEfakeFAKE1234") == "sk_test_…1234"
    assert mask_secret(None) == "(not set)"
    assert "fakeFAKE" not in mask_secret("rk_live_fakeFAKEfakeFAKE9999")
