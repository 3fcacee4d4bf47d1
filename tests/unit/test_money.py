"""Currency exponents and conversions, against tables written from Stripe's and ISO 4217's documentation (not from
the code): every Stripe presentment currency's exponent, one conversion each, the CLDR-0 currencies Stripe reads as
two-decimal (ISK, ALL, IQD, ...), refusals of over-precise and non-number input, and how amounts are displayed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard.format import format_money
from sync import money

# https://docs.stripe.com/currencies, "Zero-decimal currencies": the API amount IS the major amount.
STRIPE_DOC_ZERO = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"
]
# Same page, "Three-decimal currencies": amount 5124 is 5.124 (Stripe asks the last digit to be 0 when charging).
STRIPE_DOC_THREE = ["BHD", "JOD", "KWD", "OMR", "TND"]
# Same page, "Supported presentment currencies", minus the two lists above: "unless otherwise specified, currencies
# are two-decimal". ISK is a "special case": whole krónur only since 2023-04-14, but "ISK will remain a two-decimal
# currency in the Stripe API, and an ISK amount of 100 will continue to represent 1 króna". HUF and TWD are special
# cases for payouts only (charges stay two-decimal).
STRIPE_DOC_TWO = [
    "USD", "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD",
    "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY", "COP", "CRC", "CVE", "CZK", "DKK",
    "DOP", "DZD", "EGP", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG",
    "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "KES", "KGS", "KHR", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "MAD", "MDL", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SEK",
    "SGD", "SHP", "SLE", "SOS", "SRD", "STD", "SZL", "THB", "TJS", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UYU",
    "UZS", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW"
]
STRIPE_DOC = {**{c: 0 for c in STRIPE_DOC_ZERO}, **{c: 2 for c in STRIPE_DOC_TWO}, **{c: 3 for c in STRIPE_DOC_THREE}}

# One example per exponent, by hand: Stripe's `amount: 123400`.
MAJOR_OF_123400 = {0: Decimal("123400"), 2: Decimal("1234.00"), 3: Decimal("123.400")}


def test_the_documented_lists_are_what_was_read() -> None:
    # A typo in the tables above would make every test below check the wrong thing.
    assert (len(STRIPE_DOC_ZERO), len(STRIPE_DOC_THREE)) == (16, 5)
    assert len(STRIPE_DOC) == len(STRIPE_DOC_ZERO) + len(STRIPE_DOC_TWO) + len(STRIPE_DOC_THREE)
    assert frozenset(STRIPE_DOC_ZERO) == money.STRIPE_ZERO_DECIMAL
    assert frozenset(STRIPE_DOC_THREE) == money.STRIPE_THREE_DECIMAL


@pytest.mark.parametrize(("currency", "expected"), sorted(STRIPE_DOC.items()))
def test_every_stripe_currency_reads_and_writes_with_stripes_exponent(currency: str, expected: int) -> None:
    assert money.stripe_exponent(currency) == expected
    assert money.exponent(currency) == expected  # the default provider is Stripe
    assert money.exponent(currency, "stripe") == expected
    assert money.store_exponent(currency) == expected  # the store keeps Stripe's units: no migration
    assert money.stripe_exponent(currency.lower()) == expected  # Stripe sends lowercase codes
    major = MAJOR_OF_123400[expected]
    assert money.to_major(123400, currency) == major
    assert money.to_minor(major, currency) == 123400
    assert money.to_minor(str(major), currency) == 123400


@pytest.mark.parametrize(("currency", "minor", "major"), [
    # CLDR gives these no decimals; Stripe's API has two: `amount: 123400` is 1,234 of them, not 123,400.
    ("ISK", 123400, "1234.00"), ("ALL", 123400, "1234.00"), ("IQD", 123400, "1234.00"), ("LAK", 500, "5.00"),
    ("LBP", 100, "1.00"), ("MMK", 1, "0.01"), ("RSD", 99, "0.99"), ("SOS", 123400, "1234.00"),
    ("SYP", 123400, "1234.00"), ("YER", 123400, "1234.00"), ("AFN", 123400, "1234.00"),
    ("KWD", 12345, "12.345"), ("BHD", 1, "0.001"), ("JPY", 1200, "1200"), ("KRW", 5, "5"), ("USD", -250, "-2.50"),
    ("UGX", 5000, "5000"), ("HUF", 1045, "10.45"), ("TWD", 100, "1.00"),
])
def test_hand_picked_conversions(currency: str, minor: int, major: str) -> None:
    assert money.to_major(minor, currency) == Decimal(major)
    assert str(money.to_major(minor, currency)) == major  # exact, with the store's digits, never a float
    assert money.to_minor(major, currency) == minor


@pytest.mark.parametrize(("currency", "expected"), [
    # ISO 4217 minor units (the exponent Square's amounts use): the non-2 ones, and a few that are 2.
    ("BIF", 0), ("CLP", 0), ("DJF", 0), ("GNF", 0), ("ISK", 0), ("JPY", 0), ("KMF", 0), ("KRW", 0), ("PYG", 0),
    ("RWF", 0), ("UGX", 0), ("UYI", 0), ("VND", 0), ("VUV", 0), ("XAF", 0), ("XOF", 0), ("XPF", 0),
    ("BHD", 3), ("IQD", 3), ("JOD", 3), ("KWD", 3), ("LYD", 3), ("OMR", 3), ("TND", 3), ("CLF", 4), ("UYW", 4),
    ("USD", 2), ("EUR", 2), ("MGA", 2), ("ALL", 2), ("HUF", 2),
])
def test_iso_exponent_and_square_uses_it(currency: str, expected: int) -> None:
    assert money.iso_exponent(currency) == expected
    assert money.exponent(currency, "square") == expected


def test_a_square_amount_becomes_store_units() -> None:
    # Square's ISK 1234 (ISO: no decimals) is 1,234 krónur = 123400 in the store (Stripe's two decimals).
    assert money.to_store(1234, "ISK", "square") == 123400
    assert money.from_store(123400, "ISK", "square") == 1234
    assert money.to_store(1500, "USD", "square") == 1500
    # MGA: ISO 2, Stripe 0; 150000 iraimbilanja = 1,500 ariary.
    assert money.to_store(150000, "MGA", "square") == 1500
    with pytest.raises(ValueError, match="MGA"):
        money.to_store(150050, "MGA", "square")  # half an ariary: the store cannot hold it


def test_decimal_string_providers_have_no_minor_exponent() -> None:
    for provider in ("braintree", "paypal"):
        with pytest.raises(ValueError, match="to_minor"):
            money.exponent("USD", provider)
    with pytest.raises(ValueError, match="provider"):
        money.exponent("USD", "acme")


def test_rescale_is_exact_or_refused() -> None:
    assert money.rescale(1234, 0, 2) == 123400
    assert money.rescale(123400, 2, 0) == 1234
    assert money.rescale(-123400, 2, 0) == -1234
    assert money.rescale(5120, 3, 2) == 512
    assert money.rescale(7, 2, 2) == 7
    with pytest.raises(ValueError, match=r"123456.*2.*0"):
        money.rescale(123456, 2, 0)
    with pytest.raises(ValueError):
        money.rescale(-150, 2, 0)
    with pytest.raises(TypeError):
        money.rescale(1.5, 2, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "currency", "holds"), [
    ("1.5", "JPY", "0 decimals"), ("1234.5", "KRW", "0 decimals"), ("12.345", "USD", "2 decimals"),
    ("1234.567", "ISK", "2 decimals"), ("1.2345", "KWD", "3 decimals"), ("0.001", "ALL", "2 decimals"),
])
def test_over_precise_amounts_are_refused_saying_how_many_decimals_fit(text: str, currency: str, holds: str) -> None:
    with pytest.raises(ValueError, match=f"{currency} holds {holds}"):
        money.to_minor(text, currency)
    with pytest.raises(ValueError, match=holds):
        money.to_minor(Decimal(text), currency)


def test_trailing_zeros_are_not_extra_precision() -> None:
    assert money.to_minor("1200.000", "JPY") == 1200
    assert money.to_minor("5.1200", "KWD") == 5120
    assert money.to_minor(" 12.50 ", "USD") == 1250
    assert money.to_minor(7, "USD") == 700


@pytest.mark.parametrize("text", ["", "abc", "12,50", "1 000", "NaN", "Infinity", "-inf", "1.2.3", "1e999999"])
def test_non_numbers_are_refused_with_a_message_not_a_decimal_trace(text: str) -> None:
    with pytest.raises(ValueError, match="amount") as caught:
        money.to_minor(text, "USD")
    assert "InvalidOperation" not in repr(caught.value)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        money.to_minor(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        money.to_major(10.0, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["", "US", "USDX", "U$D", "12A", None])
def test_a_malformed_currency_code_is_refused(code: str | None) -> None:
    with pytest.raises(ValueError, match="currency"):
        money.exponent(code)  # type: ignore[arg-type]


@pytest.mark.parametrize(("minor", "currency", "shown"), [
    # CLDR decides the display digits: ISK none, KWD three, JPY none; codes without a symbol get a space.
    (123400, "ISK", "ISK 1,234"), (123400, "ALL", "ALL 1,234"), (123400, "IQD", "IQD 1,234"),
    (12345, "KWD", "KWD 12.345"), (1000, "KWD", "KWD 1.000"), (1200, "JPY", "¥1,200"), (20000, "USD", "$200.00"),
    (-250, "USD", "-$2.50"), (123400, "LAK", "LAK 1,234"),
    # A fraction CLDR would round away is shown, with the store's digits: never lose money on screen.
    (123456, "ISK", "ISK 1,234.56"), (123450, "ISK", "ISK 1,234.50"), (1, "ALL", "ALL 0.01"),
    (-123456, "ISK", "-ISK 1,234.56"),
])
def test_display_uses_cldr_digits_without_losing_a_fraction(minor: int, currency: str, shown: str) -> None:
    assert format_money(minor, currency) == shown
    assert format_money(minor, currency.lower()) == shown


def test_display_of_missing_values() -> None:
    assert format_money(None, "USD") == "—"
    assert format_money(100, None) == "—"


@pytest.mark.parametrize(("currency", "step"), [
    # docs.stripe.com/currencies: ISK amounts "must be evenly divisible by 100" (whole krónur) in charges and refunds;
    # three-decimal amounts in Payment Intents, Refunds and Disputes need "the least-significant (last) digit to be 0".
    ("ISK", 100), ("isk", 100), ("BHD", 10), ("JOD", 10), ("KWD", 10), ("OMR", 10), ("TND", 10),
    ("USD", 1), ("JPY", 1), ("HUF", 1), ("TWD", 1), ("ALL", 1),
])
def test_stripe_amount_step(currency: str, step: int) -> None:
    assert money.stripe_amount_step(currency) == step


def test_an_amount_stripe_cannot_move_is_refused_saying_what_it_can() -> None:
    money.check_stripe_amount(123400, "ISK")
    money.check_stripe_amount(5120, "KWD")
    money.check_stripe_amount(1999, "USD")
    with pytest.raises(ValueError, match=r"steps of 1.00 ISK \(whole krónur\); 1234.50 ISK"):
        money.check_stripe_amount(123450, "ISK")
    with pytest.raises(ValueError, match=r"steps of 0.010 KWD; 5.124 KWD"):
        money.check_stripe_amount(5124, "KWD")
