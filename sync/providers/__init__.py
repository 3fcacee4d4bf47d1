"""The small protocol every payment provider module implements (Stripe first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Provider(Protocol):
    """Read side of a provider: list objects by creation window, and events since a cursor."""

    name: str
    resources: tuple[str, ...]

    def list_objects(self, resource: str, created_gt: int | None, created_lte: int | None) -> Iterator[dict[str, Any]]:
        """Every object of `resource` created in (created_gt, created_lte], as plain dicts, any order."""
        ...

    def list_events(self, created_gt: int) -> Iterator[dict[str, Any]]:
        """Every event created after `created_gt` that the provider still keeps, as plain dicts, any order."""
        ...
