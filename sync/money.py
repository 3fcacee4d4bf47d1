"""Currency exponents (each provider's API, ISO 4217, the store's) and exact conversion between minor and major units.

The store keeps every amount as an integer in the STORE's minor units, and the store's exponent is Stripe's table
(so Stripe rows are stored as Stripe sends them). Providers with other exponents are rescaled on the way in and out
(`to_store`, `from_store`); decimal-string providers (Braintree, PayPal) go through `to_minor`. CLDR's digits are
for display only (dashboard/format.py): CLDR gives ISK no decimals, but Stripe's `amount: 123400` in ISK is 1,234 kr.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from numbers import Integral

# https://docs.stripe.com/currencies#zero-decimal: the API amount is the major amount (¥500 is 500).
STRIPE_ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"
})
# https://docs.stripe.com/currencies#three-decimal: 5.124 KWD is 5124 (Stripe wants the last digit 0 when charging).
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Every other currency is two-decimal in Stripe's API, including ISK (whole krónur only since 2023, still sent as
# 100 per króna) and HUF/TWD (zero-decimal for payouts only).

# ISO 4217 minor units where they are not 2 (what Square's `amount_money.amount` uses).
_ISO_ZERO = (
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
    "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
)
_ISO_NON_TWO = {
    **dict.fromkeys(_ISO_ZERO, 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}

# Providers whose API amounts are integers in some exponent; the others send decimal strings.
_MINOR_UNIT_PROVIDERS = ("stripe", "square")
_DECIMAL_PROVIDERS = ("braintree", "paypal")

_CODE = re.compile(r"[A-Za-z]{3}")
# Beyond this a value is no longer a payment amount (the store's BIGINT ends at ~9.2e18); refusing it early also
# keeps a typed "1e999999" from building a million-digit integer.
_MAX_DIGITS = 18


def _code(currency: str) -> str:
    """The upper-case ISO code; a value that is not three letters is refused (currencies arrive from providers
    and URLs, untrusted)."""
    if not isinstance(currency, str) or not _CODE.fullmatch(currency):
        raise ValueError(f"{currency!r} is not a currency code (three letters, e.g. USD)")
    return currency.upper()


def stripe_exponent(currency: str) -> int:
    """Minor-unit digits of Stripe's API amounts: 0 for its zero-decimal list, 3 for its three-decimal list, else 2."""
    code = _code(currency)
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2



def stripe_amount_step(currency: str) -> int:
    """The granularity Stripe accepts for charge and refund amounts, in its minor units.

    ISK is two-decimal in the API but card networks take whole krónur only (since 2023-04-14), so its amounts must be
    multiples of 100; three-decimal amounts must end in 0 (Payment Intents, Refunds, Disputes). Stored amounts can be
    finer (older ISK charges), so this is checked on writes only, never on reads.
    """
    code = _code(currency)
    if code == "ISK":
        return 100
    if code in STRIPE_THREE_DECIMAL:
        return 10
    return 1


def check_stripe_amount(amount_minor: int, currency: str) -> None:
    """Refuse (ValueError) an amount Stripe would refuse to charge or refund, saying what it takes instead."""
    step = stripe_amount_step(currency)
    if _int(amount_minor) % step:
        code = _code(currency)
        whole = " (whole krónur)" if code == "ISK" else ""
        raise ValueError(f"Stripe takes {code} amounts in steps of {to_major(step, code)} {code}{whole}; "
                         f"{to_major(amount_minor, code)} {code} is not one")

def iso_exponent(currency: str) -> int:
    """ISO 4217 minor units (JPY 0, ISK 0, KWD 3, IQD 3, CLF 4, most 2)."""
    return _ISO_NON_TWO.get(_code(currency), 2)


def store_exponent(currency: str) -> int:
    """Minor-unit digits the store keeps for a currency: Stripe's table."""
    return stripe_exponent(currency)


def exponent(currency: str, provider: str = "stripe") -> int:
    """Minor-unit digits of the PROVIDER's API amounts (Stripe: Stripe's table; Square: ISO 4217).

    Braintree and PayPal send decimal strings in major units: there is no exponent to read them with, so asking is
    refused; convert those with `to_minor`.
    """
    if provider == "stripe":
        return stripe_exponent(currency)
    if provider == "square":
        return iso_exponent(currency)
    if provider in _DECIMAL_PROVIDERS:
        raise ValueError(f"{provider} amounts are decimal strings in major units: convert them with to_minor")
    raise ValueError(f"no exponent table for provider {provider!r} (known: {', '.join(_MINOR_UNIT_PROVIDERS)})")


def _int(amount: object) -> int:
    # bool is an Integral too, and a float here is a bug upstream: money never passes through binary floats.
    if isinstance(amount, bool) or not isinstance(amount, Integral):
        raise TypeError(f"a minor-unit amount is an integer, not {type(amount).__name__} ({amount!r})")
    return int(amount)


def rescale(amount_minor: int, from_exponent: int, to_exponent: int) -> int:
    """The same amount in minor units of another exponent; refuses a rescale that would drop digits."""
    amount = _int(amount_minor)
    if to_exponent >= from_exponent:
        return amount * 10 ** (to_exponent - from_exponent)
    step = 10 ** (from_exponent - to_exponent)
    if amount % step:
        raise ValueError(f"{amount} (exponent {from_exponent}) cannot be written with {to_exponent} decimals "
                         f"without losing its last {from_exponent - to_exponent} digit(s)")
    return amount // step


def to_store(amount_minor: int, currency: str, provider: str) -> int:
    """A provider's integer API amount -> the store's minor units (refused when the store cannot hold it exactly)."""
    try:
        return rescale(amount_minor, exponent(currency, provider), store_exponent(currency))
    except ValueError as exc:
        raise ValueError(f"{provider} {_code(currency)} amount: {exc}") from None


def from_store(amount_minor: int, currency: str, provider: str) -> int:
    """The store's minor units -> a provider's integer API amount (refused when the provider cannot take it)."""
    try:
        return rescale(amount_minor, store_exponent(currency), exponent(currency, provider))
    except ValueError as exc:
        raise ValueError(f"{provider} {_code(currency)} amount: {exc}") from None


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Store minor units -> an exact Decimal in major units with the store's digits (ISK 123400 -> 1234.00)."""
    return Decimal(_int(amount_minor)).scaleb(-store_exponent(currency))


def to_minor(amount_major: Decimal | str | int, currency: str) -> int:
    """Major units (a typed amount, Braintree's Decimal, PayPal's "10.00") -> store minor units.

    Refuses a non-number and an amount with more decimals than the currency holds (never rounds money).
    """
    digits = store_exponent(currency)
    code = _code(currency)
    if isinstance(amount_major, float | bool):
        raise TypeError(f"amounts are Decimal or text, never {type(amount_major).__name__} ({amount_major!r})")
    try:
        value = amount_major if isinstance(amount_major, Decimal) else Decimal(str(amount_major).strip())
    except InvalidOperation:
        raise ValueError(f"{str(amount_major)!r} is not an amount: write it like 1234.50, without thousands "
                         "separators") from None
    if not value.is_finite() or value.adjusted() >= _MAX_DIGITS:
        raise ValueError(f"{str(amount_major)!r} is not an amount a payment can have")
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{code} holds {digits} decimals in the store; {amount_major} has more")
    return int(scaled)
