"""Stripe's example object for every resource: ../shared/fixtures beside the repository (as on CI), loaded once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

PATH = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "stripe" / "fixtures3.json"


@functools.cache
def _load() -> dict[str, Any]:
    if not PATH.exists():
        raise FileNotFoundError(f"Stripe fixtures not found at {PATH}: shared/ must sit beside the repository.")
    return orjson.loads(PATH.read_bytes())["resources"]


def resources() -> dict[str, Any]:
    """Every resource's example object (a fresh copy: tests mutate them)."""
    return orjson.loads(orjson.dumps(_load()))
