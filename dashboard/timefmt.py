"""Times as a person reads them: the store's naive UTC shown in the viewer's timezone ("3 Nov 2026 15:05 CET") or as
UTC text ("2026-11-03 14:05 UTC"), and the check that a browser-supplied zone name is a real IANA zone. Pure: no
streamlit import (dashboard/context.py reads the browser's zone)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

import pandas as pd

UTC = "UTC"
# IANA names are ASCII letters, digits and _ + - /; anything else (a path, a newline) is refused before zoneinfo
# sees it, since zoneinfo reads files named by the key.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=256)
def _load(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone(name: object) -> str:
    """`name` when it is a timezone this machine knows (the browser's Intl name, untrusted), else "UTC": times are
    then shown, and labelled, in UTC rather than in a zone nobody asked for."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return UTC
    return name if _load(name) is not None else UTC


def _utc(ts: object) -> pd.Timestamp | None:
    """A time as an aware UTC Timestamp; naive ones are UTC already (the store keeps naive UTC). None when missing."""
    if ts is None:
        return None
    try:
        if pd.isna(ts):  # type: ignore[call-overload]
            return None
    except (TypeError, ValueError):
        pass
    stamp = pd.Timestamp(ts)  # type: ignore[arg-type]
    return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)


def abbreviation(local: dt.datetime) -> str:
    """The zone's abbreviation at that instant (CET, CEST, JST); zones that have none (tzdata writes "+14") read
    "UTC+14"."""
    name = local.tzname() or UTC
    return f"UTC{name}" if name[:1] in "+-" else name


def viewer_time(ts_naive_utc: object, tz_name: str | None) -> str:
    """A time in the viewer's zone, to the minute, with the zone's abbreviation: "3 Nov 2026 15:05 CET". Blank for a
    missing time; in UTC (and labelled "UTC") when `tz_name` is None or not a known zone."""
    utc = _utc(ts_naive_utc)
    if utc is None:
        return ""
    local = utc.tz_convert(zone(tz_name)).to_pydatetime()
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H:%M} {abbreviation(local)}"


def utc_text(ts: object) -> str:
    """A time as UTC text to the minute: "2026-11-03 14:05 UTC" (for a hover, a caption's fine print); blank when
    missing."""
    utc = _utc(ts)
    return "" if utc is None else f"{utc:%Y-%m-%d %H:%M} UTC"
