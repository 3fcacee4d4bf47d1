"""PayOps's own generated ids (sync runs, webhook deliveries): random, and never holding a digit run that a
card-number scan of the store would flag.

A uuid4's hex holds a Luhn-valid run of 13-19 digits about once in a few thousand draws; a PCI scanner run over the
store (or PayOps's own masker, if the id ever passes through it) would then report a card number that is not one.
"""

from __future__ import annotations

import uuid

from sync.redact import mask_card_numbers


def new_id(prefix: str = "") -> str:
    """`prefix` + 32 random hex digits, drawn again in the rare case they hold a card-number-like run."""
    while True:
        candidate = f"{prefix}{uuid.uuid4().hex}"
        if mask_card_numbers(candidate) == candidate:
            return candidate
