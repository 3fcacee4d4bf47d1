"""The amount search box read as a person means it, per currency's decimals (dashboard/amounts.py)."""

from __future__ import annotations

import pytest

from dashboard.amounts import Amount, AmountError, read_amount, search_amounts


# (typed, currency, minor units expected) — each worked out by hand from the currency's decimals
# (EUR/USD 2, JPY 0, KWD 3).
@pytest.mark.parametrize(("typed", "currency", "minor"), [
    ("32,99", "EUR", 3299),  # a comma followed by two digits in a 2-decimal currency: decimal comma
    ("32.99", "EUR", 3299),
    ("32", "EUR", 3200),
    (" 32 ", "EUR", 3200),
    ("1.234,56", "EUR", 123456),  # both marks: the last is the decimal mark
    ("1,234.56", "USD", 123456),
    ("1.234", "EUR", 123400),  # three digits after a point cannot be EUR decimals: a thousands point
    ("32.999", "EUR", 3299900),
    ("1,234", "USD", 123400),
    ("1,234,567", "USD", 123456700),
    ("1.234.567,8", "EUR", 123456780),
    ("12.5", "USD", 1250),  # one digit after the mark cannot be a group of thousands
    ("0,99", "EUR", 99),
    (",99", "EUR", 99),  # nothing before the mark: it can only be a decimal mark
    ("1 234,56", "EUR", 123456),  # space (and no-break space below) as a thousands separator
    ("1\u00a0234,56", "EUR", 123456),
    ("1'234.50", "USD", 123450),
    ("1,200", "JPY", 1200),  # JPY has no decimals: the comma groups thousands
    ("1200", "JPY", 1200),
    ("1.234", "KWD", 1234),  # KWD 1.234 = 1234 fils: a point with three digits is KWD's decimal point
    ("1234", "KWD", 1234000),
    ("1,23", "KWD", 1230),
    ("1,234.567", "KWD", 1234567),
    ("1.234,567", "KWD", 1234567),
    ("1,234,567", "KWD", 1234567000),  # two commas: thousands, not decimals
    ("€32,99", "EUR", 3299),  # a symbol before or after is ignored
    ("32.99 EUR", "EUR", 3299),  # a code naming the chosen currency is accepted
    ("eur 32.99", "EUR", 3299),
    ("1,23,456.78", "INR", 12345678),  # Indian grouping (lakh)
])
def test_reads_the_amount_as_meant(typed: str, currency: str, minor: int) -> None:
    amount = read_amount(typed, currency)
    assert amount == Amount(minor, currency)


@pytest.mark.parametrize(("typed", "currency", "says"), [
    ("1,234", "KWD", "type 1234 or 1.234"),  # 1.234 KWD or 1,234.000 KWD: refused, with both spellings
    ("12,5", "JPY", "JPY has no decimals"),
    ("1.5", "JPY", "JPY has no decimals"),
    ("1,2345", "EUR", "EUR has 2 decimals"),
    ("1,234,56", "USD", "groups of three"),
    ("12 50", "EUR", "groups of three"),
    ("1.234,56.7", "EUR", None),
    ("32,", "EUR", None),
    ("abc", "EUR", "not an amount"),
    ("-5", "USD", "not an amount"),
    ("", "USD", "not an amount"),
    ("1..2", "USD", "not an amount"),
    ("32.99 USD", "EUR", "USD"),  # a code that is not the chosen currency
    ("9" * 30, "USD", "too large"),
])
def test_refuses_what_it_cannot_read_and_says_how_to_type_it(typed: str, currency: str, says: str | None) -> None:
    with pytest.raises(AmountError) as refused:
        read_amount(typed, currency)
    if says is not None:
        assert says in str(refused.value)


def test_what_was_read_is_said_in_the_currency_s_own_decimals() -> None:
    assert search_amounts("32,99", "EUR", ["EUR", "USD"]).text == "searching 32.99 EUR"
    assert search_amounts("32", "EUR", ["EUR"]).text == "searching 32.00 EUR"
    assert search_amounts("1.234,56", "EUR", ["EUR"]).text == "searching 1,234.56 EUR"
    assert search_amounts("1,200", "JPY", ["JPY"]).text == "searching 1,200 JPY"
    assert search_amounts("1.234", "KWD", ["KWD"]).text == "searching 1.234 KWD"
    assert search_amounts("1.234", "KWD", ["KWD"]).pairs == ((1234, "KWD"),)


def test_one_chosen_currency_that_refuses_raises() -> None:
    with pytest.raises(AmountError, match="type 1234 or 1.234"):
        search_amounts("1,234", "KWD", ["KWD", "USD"])


def test_all_currencies_searches_every_currency_where_it_reads_and_says_which_did_not() -> None:
    # "1,234": USD 1,234.00 and JPY 1,234 (thousands comma); KWD ambiguous, so not searched there.
    found = search_amounts("1,234", None, ["JPY", "KWD", "USD"])
    assert found.pairs == ((1234, "JPY"), (123400, "USD"))
    assert found.text == ("searching 1,234 JPY or 1,234.00 USD (all currencies); not KWD: '1,234' is ambiguous "
                          "in KWD (3 decimals): type 1234 or 1.234")
    # "12.5": USD 12.50, KWD 12.500; JPY has no decimals.
    assert search_amounts("12.5", None, ["JPY", "KWD", "USD"]).pairs == ((12500, "KWD"), (1250, "USD"))


def test_all_currencies_with_a_typed_code_searches_that_currency_only() -> None:
    found = search_amounts("USD 50", None, ["JPY", "USD"])
    assert found.pairs == ((5000, "USD"),)
    assert found.text == "searching 50.00 USD"
    with pytest.raises(AmountError, match="EUR"):
        search_amounts("50 EUR", None, ["JPY", "USD"])


def test_all_currencies_refusing_everywhere_raises() -> None:
    with pytest.raises(AmountError, match="not an amount"):
        search_amounts("abc", None, ["JPY", "USD"])
    with pytest.raises(AmountError, match="no currency"):
        search_amounts("12", None, [])
