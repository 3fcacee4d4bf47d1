"""Reading a typed search amount as a person means it ("32,99", "1.234,56", "1,200") in a currency's store decimals,
and saying how it was read; what stays ambiguous is refused with the spellings that are not."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sync.money import store_exponent

# Beyond this an amount is no payment (the store's BIGINT ends at ~9.2e18), and refusing early keeps a pasted
# wall of digits from reaching the query.
_MAX_MINOR = 10**18
_MAX_LENGTH = 40
# No-break and thin spaces are what locales (fr, de-CH, ...) put between thousands when a receipt is copied.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
_CODE_FIRST = re.compile(r"^([A-Za-z]{3})\s*(.*)$")
_CODE_LAST = re.compile(r"^(.*?)\s*([A-Za-z]{3})$")
_SYMBOLS = "$€£¥₩₹"
_NUMBER = re.compile(r"[0-9.,' ]*[0-9][0-9.,' ]*")
_GROUP = ("'", " ")  # marks that only ever group thousands
_WESTERN = re.compile(r"[0-9]{1,3}(?:X[0-9]{3})+")
_INDIAN = re.compile(r"[0-9]{1,2}(?:X[0-9]{2})*X[0-9]{3}")


class AmountError(ValueError):
    """A typed amount that cannot be read; the message says how to type it."""


@dataclass(frozen=True)
class Amount:
    """An amount in the store's minor units of one currency."""

    minor: int
    currency: str

    @property
    def label(self) -> str:
        """'1,234.56 EUR', with the currency's own number of decimals."""
        return f"{Decimal(self.minor).scaleb(-store_exponent(self.currency)):,f} {self.currency}"


@dataclass(frozen=True)
class AmountSearch:
    """What an amount search looks for: one amount per currency where the text reads, and how it was read."""

    amounts: tuple[Amount, ...]
    text: str  # "searching 32.99 EUR", or every currency searched and those left out with why

    @property
    def pairs(self) -> tuple[tuple[int, str], ...]:
        """(minor units, currency) pairs, the hashable form the payment search binds."""
        return tuple((a.minor, a.currency) for a in self.amounts)


def _split_code(text: str) -> tuple[str, str | None]:
    """The number and a currency code typed before or after it ('EUR 32,99', '32.99 usd'), if any."""
    for pattern, number, code in ((_CODE_FIRST, 2, 1), (_CODE_LAST, 1, 2)):
        found = pattern.match(text)
        if found and any(c.isdigit() for c in found.group(number)):
            return found.group(number).strip(), found.group(code).upper()
    return text, None


def _grouped(digits: str, mark: str, typed: str) -> str:
    """The integer part without its thousands marks; refused unless grouped in threes (or the Indian 2-2-3)."""
    if mark not in digits:
        return digits
    shape = digits.replace(mark, "X")
    if not (_WESTERN.fullmatch(shape) or _INDIAN.fullmatch(shape)):
        raise AmountError(f"'{typed}': after a thousands separator, digits come in groups of three "
                          "(1,234,567.89 or 1.234.567,89); or type the amount without separators")
    return digits.replace(mark, "")


def _read_number(number: str, typed: str, currency: str, digits: int) -> int:
    not_amount = AmountError(f"'{typed}' is not an amount: type it as on the receipt, e.g. 1234.50 or 1.234,50")
    if not _NUMBER.fullmatch(number) or re.search(r"[.,' ]{2}", number) or number[-1] in ".,' ":
        raise not_amount
    marks = [c for c in number if not c.isdigit()]
    points = [c for c in marks if c in ".,"]
    decimal_mark: str | None = None
    if len(set(points)) == 2:
        # Both a point and a comma: the last one is the decimal mark, and it may appear once only.
        decimal_mark = points[-1]
        if points.count(decimal_mark) != 1 or marks[-1] != decimal_mark:
            raise not_amount
    elif len(points) == 1 and marks[-1] == points[0]:
        mark = points[0]
        before, after = number.rsplit(mark, 1)
        if not before or any(g in marks for g in _GROUP) or len(after) != 3:
            # Nothing before it, another mark already grouping, or not three digits after: no thousands mark.
            decimal_mark = mark
        elif digits == 3:
            # Three digits after one mark, in a three-decimal currency: a point is read as the decimal point
            # (how KWD, BHD, JOD, OMR amounts are written in English); a comma is as often either, so it is refused.
            if mark == ",":
                raise AmountError(f"'{typed}' is ambiguous in {currency} ({digits} decimals): type "
                                  f"{before}{after} or {before}.{after}")
            decimal_mark = mark
    whole, fraction = number.rsplit(decimal_mark, 1) if decimal_mark else (number, "")
    groups = {c for c in whole if not c.isdigit()}
    if len(groups) > 1:
        raise not_amount
    whole = _grouped(whole, groups.pop(), typed) if groups else whole
    if len(fraction) > digits:
        if digits == 0:
            raise AmountError(f"{currency} has no decimals: type a whole amount, e.g. {whole or 0}")
        raise AmountError(f"{currency} has {digits} decimals; '{typed}' has {len(fraction)} after the mark")
    minor = int(whole or "0") * 10**digits + int(fraction.ljust(digits, "0") or "0")
    if minor >= _MAX_MINOR:
        raise AmountError(f"'{typed}' is too large for a payment amount")
    return minor


def read_amount(text: str, currency: str) -> Amount:
    """The typed amount in `currency`'s store minor units.

    A comma or a point is the decimal mark when digits follow it that cannot be a group of thousands (not three),
    or when it is the last of both marks ("1.234,56"); "1,234" groups thousands in a two- or zero-decimal currency.
    A currency symbol is ignored; a typed code must name `currency`. Raises AmountError saying how to type it.
    """
    currency = currency.upper()
    typed = text.strip()
    if len(typed) > _MAX_LENGTH:
        raise AmountError(f"'{typed[:_MAX_LENGTH]}…' is too large for a payment amount")
    number, code = _split_code(typed.translate(_SPACES))
    if code is not None and code != currency:
        raise AmountError(f"'{typed}' names {code}, but the amount is searched in {currency}")
    number = number.strip(_SYMBOLS + " ")
    return Amount(_read_number(number, typed, currency, store_exponent(currency)), currency)


def search_amounts(text: str, currency: str | None, currencies: Sequence[str]) -> AmountSearch:
    """The amounts an amount search looks for: in `currency`, or with none chosen in each of `currencies` where the
    text reads (a code typed with the amount picks that one). Raises AmountError when it reads in none."""
    if currency is None:
        _, code = _split_code(text.strip().translate(_SPACES))
        if code is not None and code not in {c.upper() for c in currencies}:
            raise AmountError(f"No payments in {code} are stored; the store holds "
                              f"{', '.join(currencies) or 'no currency yet'}")
        chosen = [code] if code else sorted({c.upper() for c in currencies})
    else:
        chosen = [currency.upper()]
    if not chosen:
        raise AmountError("The store holds no currency yet: sync first, then search by amount")
    found: list[Amount] = []
    refused: dict[str, str] = {}
    for each in chosen:
        try:
            found.append(read_amount(text, each))
        except AmountError as exc:
            refused[each] = str(exc)
    if not found:
        raise AmountError("; ".join(dict.fromkeys(refused.values())))
    labels = [a.label for a in found]
    said = "searching " + (labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1])
    if len(chosen) > 1:
        said += " (all currencies)"
        said += "".join(f"; not {c}: {why}" for c, why in refused.items())
    return AmountSearch(tuple(found), said)
