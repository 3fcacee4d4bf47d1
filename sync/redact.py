"""Redaction, in one place: card numbers typed into any string, CVC-like keys, and secrets in stored or shown text.

`mask_card_numbers` masks a 13-19 digit run passing Luhn (spaces or dashes between digits allowed) to
"•••• 1234" (its last four digits, as PCI DSS allows). `scrub` applies it to every string (keys too) of a nested
JSON object in place and drops CVC-like keys. `suspect_docs` is the fast prefilter the normaliser runs over a
batch's serialized JSON, so that only the rare objects that may hold a card number are walked.
`redact_secrets` removes API keys, webhook secrets and credentials from any message PayOps stores, logs or shows.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

MASK = "••••"

# A maximal run of digits with single spaces or dashes between them, at least 13 digits long. The lookbehinds
# make a match start where its run starts; the lookahead makes it end where its run ends.
_RUN = re.compile(r"(?<!\d)(?<!\d[ -])\d(?:[ -]?\d){12,}(?![ -]?\d)")
_GROUP = re.compile(r"\d+")

# Keys whose value is a card verification code, normalised (lower case, letters and digits only). A key is also
# CVC-like when it ends with one of the first group (card_cvc, payment_cvv2).
_CVC_SUFFIXES = ("cvc", "cvv", "cvc2", "cvv2", "cvn", "cvn2", "securitycode", "cardcode", "cvccode", "cvvcode")
_CVC_EXACT = frozenset({"csc", "cvd", "cid", "cvvnumber", "cvcnumber", "cardverificationcode",
                        "cardverificationvalue", "cardverificationnumber"})
_NON_ALNUM = re.compile(r"[^0-9a-z]")

# Stripe's own network transaction id (a card container's 15-digit string) is no number a person typed; masking it
# would also make every charge a prefilter hit. Only a run at the very start of its value is exempt.
_EXEMPT_KEY = "network_transaction_id"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_run(run: str) -> str:
    """A run of 13+ digits in groups: the whole run when it is a card number, else each card number made of
    consecutive groups (a quantity typed before a card number), longest first. A single group of 20 or more digits
    is one token, not a card."""
    digits = run.replace(" ", "").replace("-", "")
    if len(digits) <= 19 and _luhn_ok(digits):
        return f"{MASK} {digits[-4:]}"
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    if len(groups) == 1:
        return run
    out: list[str] = []
    at = 0  # index into run already copied to out
    i = 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            part = "".join(run[s:e] for s, e in groups[i:j])
            if 13 <= len(part) <= 19 and _luhn_ok(part):
                out.append(run[at:groups[i][0]])
                out.append(f"{MASK} {part[-4:]}")
                at = groups[j - 1][1]
                i = j
                break
        else:
            i += 1
    out.append(run[at:])
    return "".join(out)


def mask_card_numbers(text: str, *, keep_leading: bool = False) -> str:
    """`text` with every card number (13-19 digits passing Luhn, spaces or dashes allowed) masked to "•••• 1234".

    Other numbers are kept: a run that fails Luhn, 12 digits or fewer, one of 20 or more. `keep_leading` keeps a run
    that starts the text (the exempt network transaction id)."""
    def repl(match: re.Match[str]) -> str:
        if keep_leading and match.start() == 0:
            return match.group(0)
        return _mask_run(match.group(0))

    return _RUN.sub(repl, text)


def is_cvc_key(key: str) -> bool:
    """True for a key that would hold a card verification code: cvc, CVV2, card_cvc, security code, card-code..."""
    norm = _NON_ALNUM.sub("", key.lower())
    return norm in _CVC_EXACT or norm.endswith(_CVC_SUFFIXES)


def scrub(obj: Any) -> bool:
    """Mask card numbers in every string (values and keys) of a nested JSON object, in place, and drop CVC-like keys
    and a card container's `number`. Numbers that are JSON numbers are left. True when anything changed.

    In place, so a dict already picked out of the object (a Batch's sub-object lists) sees the change. Iterative:
    a deeply nested provider object cannot exhaust the stack."""
    changed = False
    stack: list[tuple[Any, str | None]] = [(obj, None)]
    while stack:
        node, parent_key = stack.pop()
        if node.__class__ is dict:
            card = parent_key == "card" or node.get("object") == "card"
            for key in list(node):
                value = node[key]
                if key.__class__ is str and (is_cvc_key(key) or (card and key == "number")):
                    del node[key]
                    changed = True
                    continue
                if value.__class__ is str:
                    masked = mask_card_numbers(value, keep_leading=key == _EXEMPT_KEY)
                    if masked is not value and masked != value:
                        node[key] = value = masked
                        changed = True
                elif value.__class__ in (dict, list):
                    stack.append((value, key))
                if key.__class__ is str:
                    new_key = mask_card_numbers(key)
                    if new_key != key:
                        del node[key]
                        node[new_key] = value
                        changed = True
        elif node.__class__ is list:
            for i, value in enumerate(node):
                if value.__class__ is str:
                    masked = mask_card_numbers(value)
                    if masked != value:
                        node[i] = masked
                        changed = True
                elif value.__class__ in (dict, list):
                    stack.append((value, parent_key))
    return changed


# -- the prefilter over serialized JSON ------------------------------------------------------------------------

# One translation makes every test a plain bytes.find (C speed; a regex over the bytes cost as much as the whole
# load): digits, spaces, dashes and the letters c and v become '#', so 13 '#' in a row is where a card number may
# be, and '###":' ends a key like cvc, CVV, card_cvc or cvc2 (a key "security code" is caught only in an object
# walked for another reason, and in card containers). Measured here, each pass over the bytes costs ~1-2 us per
# 2.3 KB charge, so there are two: the translation and one find per needle.
_TABLE = bytearray(range(256))
for _c in b"0123456789 -cvCV":
    _TABLE[_c] = ord("#")
TABLE = bytes(_TABLE)
_RUN13 = b"#" * 13
_CVC_NEEDLES = (b'###":',)
_EXEMPT_PREFIX = b'"' + _EXEMPT_KEY.encode().translate(TABLE) + b'":"'
_SLICE = 1 << 22  # bytes translated at a time: bounds the copy a large batch needs
_OVERLAP = 64  # longer than any needle and the exempt key's prefix


def suspect_docs(buffer: memoryview | bytes, ends: Sequence[int]) -> list[int]:
    """Indexes of the documents (back to back in `buffer`, document i ending at ends[i]) that may hold a card number
    in a string or a CVC-like key. A superset: `scrub` decides. JSON numbers of 13+ digits are suspects too."""
    found: set[int] = set()
    total = ends[-1] if ends else 0
    start = 0
    while start < total:
        stop = min(start + _SLICE, total)
        text = bytes(buffer[start:min(stop + _OVERLAP, total)]).translate(TABLE)
        _find_runs(text, start, stop, ends, found)
        for needle in _CVC_NEEDLES:
            at = text.find(needle)
            while 0 <= at < stop - start:
                doc = bisect_right(ends, start + at)
                found.add(doc)
                at = text.find(needle, ends[doc] - start) if doc < len(ends) else -1
        start = stop
    return sorted(found)


def _find_runs(text: bytes, offset: int, stop: int, ends: Sequence[int], found: set[int]) -> None:
    at = text.find(_RUN13)
    prefix = len(_EXEMPT_PREFIX)
    while 0 <= at < stop - offset:
        doc = bisect_right(ends, offset + at)
        if doc in found:
            at = text.find(_RUN13, ends[doc] - offset) if doc < len(ends) else -1
            continue
        if at >= prefix and text[at - prefix:at] == _EXEMPT_PREFIX:
            # Stripe's network transaction id: skip its leading 13 (a longer value is still a suspect).
            at = text.find(_RUN13, at + 13)
            continue
        found.add(doc)
        at = text.find(_RUN13, ends[doc] - offset) if doc < len(ends) else -1


# -- secrets ---------------------------------------------------------------------------------------------------

REDACTED = "[redacted]"
_SECRET_PATTERNS = re.compile(
    r"\b(?:sk|rk|pk)_(?:test|live)_[0-9A-Za-z]{4,}"  # Stripe secret, restricted and publishable keys
    r"|\b(?:sk|rk|pk)_[0-9A-Za-z]{16,}"  # the same without a mode part (other providers' key shapes)
    r"|\bwhsec_[0-9A-Za-z+/=]{4,}"  # webhook signing secrets
    r"|(?i:\bbearer)\s+[0-9A-Za-z._~+/=-]{6,}"  # Authorization: Bearer <token>
    r"|(?i:\bbasic)\s+[0-9A-Za-z+/=]{8,}"  # Authorization: Basic <base64 user:password>
    r"|(?<=://)[^\s/:@]+:[^\s/@]+(?=@)"  # user:password@ in a URL
)
_configured: tuple[str, ...] = ()


def configure_secrets(secrets: Iterable[str | None]) -> None:
    """The configured secrets (from Settings) that `redact_secrets` removes wherever they appear, whatever shape."""
    global _configured
    _configured = tuple(sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True))


def redact_secrets(text: str | None, secrets: Iterable[str | None] = ()) -> str | None:
    """`text` with API keys, webhook secrets, Bearer and Basic credentials, URL passwords and the configured secrets
    (plus any passed here) replaced by "[redacted]"; None stays None."""
    if not text:
        return text
    for secret in (*_configured, *(s for s in secrets if s and len(s) >= 6)):
        text = text.replace(secret, REDACTED)
    return _SECRET_PATTERNS.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets (and card numbers) from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        clean = mask_card_numbers(redact_secrets(message) or "")
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_card_numbers(redact_secrets(record.exc_text) or "")
        return True


LOGGER_NAMES = ("sync", "dashboard", "payops")


def install_log_redaction(names: Iterable[str] = LOGGER_NAMES) -> None:
    """Put a RedactingFilter on PayOps's loggers and their handlers (once each)."""
    for name in names:
        logger = logging.getLogger(name)
        targets: list[logging.Filterer] = [logger, *logger.handlers]
        for target in targets:
            if not any(isinstance(f, RedactingFilter) for f in target.filters):
                target.addFilter(RedactingFilter())
