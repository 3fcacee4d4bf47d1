"""Decline codes -> plain meaning and the recommended action, after Stripe's decline-code documentation.

Three actions only: retry later (a temporary condition), ask for another card (the customer must act), never
retry (a hard decline: retrying risks network penalties and will not succeed). Stripe's `advice_code`
overrides the code's usual action: `do_not_try_again` always means never retry.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY_LATER = "Retry later"
ASK_FOR_ANOTHER_CARD = "Ask for another card"
NEVER_RETRY = "Never retry"
ACTIONS = (RETRY_LATER, ASK_FOR_ANOTHER_CARD, NEVER_RETRY)


@dataclass(frozen=True)
class Advice:
    meaning: str
    action: str


_R, _A, _N = RETRY_LATER, ASK_FOR_ANOTHER_CARD, NEVER_RETRY

# (meaning, action). Hard declines (the card is reported lost/stolen/fraudulent, or the issuer will never
# approve it) are "never retry"; Stripe asks merchants not to reveal the fraud reason to the customer.
_CODES: dict[str, tuple[str, str]] = {
    "approve_with_id": ("The issuer could not authorise the payment this time.", _R),
    "authentication_required": ("The issuer requires authentication (3D Secure); the customer must confirm "
                                "the payment on-session.", _A),
    "call_issuer": ("Declined for a reason the issuer did not share; the customer should call their bank.", _A),
    "card_declined": ("The card was declined without a more specific reason.", _A),
    "card_not_supported": ("The card does not support this kind of purchase.", _A),
    "card_velocity_exceeded": ("The customer exceeded the card's balance, credit or transaction limit.", _R),
    "currency_not_supported": ("The card does not support this currency.", _A),
    "do_not_honor": ("The issuer declined without saying why; the customer should contact their bank.", _A),
    "do_not_try_again": ("The issuer declined and asks that the card not be charged again.", _N),
    "duplicate_transaction": ("An identical payment was just made; check for an existing payment.", _N),
    "expired_card": ("The card has expired.", _A),
    "fraudulent": ("The issuer suspects fraud (do not tell the customer this reason).", _N),
    "generic_decline": ("Declined for an unknown reason; the customer should contact their bank.", _A),
    "highest_risk_level": ("Blocked by Radar as highest risk.", _N),
    "elevated_risk_level": ("Blocked by Radar as elevated risk.", _N),
    "incorrect_cvc": ("The CVC is incorrect.", _A),
    "incorrect_number": ("The card number is incorrect.", _A),
    "incorrect_pin": ("The PIN is incorrect.", _A),
    "incorrect_zip": ("The postal code does not match the card.", _A),
    "insufficient_funds": ("The card has insufficient funds; a later attempt often succeeds once funds arrive.", _R),
    "invalid_account": ("The card or its account is invalid.", _A),
    "invalid_amount": ("The amount is invalid or above what the card allows.", _A),
    "invalid_cvc": ("The CVC is invalid.", _A),
    "invalid_expiry_month": ("The expiry month is invalid.", _A),
    "invalid_expiry_year": ("The expiry year is invalid.", _A),
    "invalid_number": ("The card number is invalid.", _A),
    "invalid_pin": ("The PIN is invalid.", _A),
    "issuer_not_available": ("The issuer could not be reached.", _R),
    "lost_card": ("The card is reported lost (do not tell the customer this reason).", _N),
    "merchant_blacklist": ("The payment matches a value on your block list.", _N),
    "new_account_information_available": ("The card or account changed; the customer must update their "
                                          "details.", _A),
    "no_action_taken": ("Declined for an unknown reason; the customer should contact their bank.", _A),
    "not_permitted": ("The payment is not permitted on this card.", _A),
    "offline_pin_required": ("The card requires a PIN in person.", _A),
    "online_or_offline_pin_required": ("The card requires a PIN.", _A),
    "pickup_card": ("The issuer asks for the card to be retained (possibly lost or stolen).", _N),
    "pin_try_exceeded": ("Too many incorrect PIN attempts.", _A),
    "processing_error": ("An error occurred while processing the card.", _R),
    "reenter_transaction": ("The issuer could not process the payment; it can be attempted again.", _R),
    "restricted_card": ("The card cannot be used for this payment (possibly reported lost or stolen).", _N),
    "revocation_of_all_authorizations": ("The customer revoked all recurring payments on this card.", _N),
    "revocation_of_authorization": ("The customer revoked this recurring payment.", _N),
    "rule": ("Blocked by one of your Radar rules.", _N),
    "security_violation": ("The issuer declined for a security reason.", _A),
    "service_not_allowed": ("The card does not allow this kind of payment.", _A),
    "stolen_card": ("The card is reported stolen (do not tell the customer this reason).", _N),
    "stop_payment_order": ("The customer asked their bank to stop payments to you.", _N),
    "testmode_decline": ("A Stripe test card was used; use a real card in live mode.", _A),
    "transaction_not_allowed": ("The card does not allow this transaction.", _A),
    "try_again_later": ("The issuer declined temporarily.", _R),
    "withdrawal_count_limit_exceeded": ("The customer exceeded the card's limit on payments.", _R),
}

_ADVICE: dict[str, str] = {
    "do_not_try_again": _N,
    "try_again_later": _R,
    "confirm_card_data": _A,
}

HARD_DECLINES = frozenset(code for code, (_, action) in _CODES.items() if action == NEVER_RETRY)


def advise(decline_code: str | None, advice_code: str | None = None) -> Advice:
    """The plain meaning of a decline code and what to do; `advice_code` (Stripe's) refines the action."""
    # Nulls arrive from DataFrames as None or NaN.
    code = decline_code.strip().lower() if isinstance(decline_code, str) else ""
    meaning, action = _CODES.get(code, (
        f"Unrecognised code {code!r}: see Stripe's decline codes." if code else "No decline code was recorded.",
        ASK_FOR_ANOTHER_CARD,
    ))
    advised = _ADVICE.get(advice_code.strip().lower()) if isinstance(advice_code, str) else None
    # A hard decline stays "never retry" whatever the advice; otherwise the issuer's advice wins.
    if advised and action != NEVER_RETRY:
        action = advised
    return Advice(meaning=meaning, action=action)


def is_retryable(decline_code: str | None, advice_code: str | None = None) -> bool:
    """False for hard declines and `do_not_try_again`: such a payment must not be retried."""
    return advise(decline_code, advice_code).action != NEVER_RETRY
