"""PayOps's generated ids never look like a card number: a sync run id once held the Luhn-valid run
54354939006991, and the store-wide card-number scan flagged it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sync import ids
from sync.redact import mask_card_numbers
from sync.store import Store

CARD_LIKE = "ab54354939006991cdef0a1b2c3d4e5f"  # 14 digits in a row, Luhn-valid (the id seen in the scan)
CLEAN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _draws(monkeypatch: pytest.MonkeyPatch, *hexes: str) -> None:
    values: Iterator[str] = iter(hexes)
    monkeypatch.setattr(ids.uuid, "uuid4", lambda: uuid.UUID(next(values)))


def test_the_card_like_draw_is_one_the_masker_would_change() -> None:
    assert mask_card_numbers(CARD_LIKE) != CARD_LIKE
    assert mask_card_numbers(CLEAN) == CLEAN


def test_a_card_like_draw_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    _draws(monkeypatch, CARD_LIKE, CLEAN)
    assert ids.new_id("whd_") == f"whd_{CLEAN}"


def test_sync_run_ids_are_drawn_through_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    store = Store(f"duckdb:///{tmp_path / 'p.duckdb'}")
    try:
        _draws(monkeypatch, CARD_LIKE, CLEAN)
        assert store.start_run("stripe", "full") == CLEAN
    finally:
        store.close()
