"""Times for a viewer: the store's naive UTC shown in the browser's timezone with its abbreviation, or as UTC text;
expectations worked out by hand from each zone's rules (EU clocks change at 01:00 UTC on the last Sundays of March
and October: 29 March and 25 October 2026; US clocks fall back on 1 November 2026)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.timefmt import utc_text, viewer_time, zone

AT = dt.datetime(2026, 11, 3, 14, 5)  # naive: UTC, as the store keeps times


@pytest.mark.parametrize(("tz", "shown"), [
    ("Europe/Paris", "3 Nov 2026 15:05 CET"),
    ("Asia/Tokyo", "3 Nov 2026 23:05 JST"),
    ("America/New_York", "3 Nov 2026 09:05 EST"),  # two days after the US fall-back: UTC-5
    ("Asia/Kolkata", "3 Nov 2026 19:35 IST"),
    ("Pacific/Kiritimati", "4 Nov 2026 04:05 UTC+14"),  # a zone without an abbreviation shows its offset
    ("UTC", "3 Nov 2026 14:05 UTC"),
])
def test_viewer_time_in_a_zone(tz: str, shown: str) -> None:
    assert viewer_time(AT, tz) == shown


@pytest.mark.parametrize(("utc", "shown"), [
    (dt.datetime(2026, 3, 29, 0, 30), "29 Mar 2026 01:30 CET"),   # before the spring change
    (dt.datetime(2026, 3, 29, 1, 30), "29 Mar 2026 03:30 CEST"),  # an hour later in UTC, two on the wall
    (dt.datetime(2026, 10, 25, 0, 30), "25 Oct 2026 02:30 CEST"),
    (dt.datetime(2026, 10, 25, 1, 30), "25 Oct 2026 02:30 CET"),  # the repeated hour: told apart by the zone
])
def test_dst_boundaries_in_paris(utc: dt.datetime, shown: str) -> None:
    assert viewer_time(utc, "Europe/Paris") == shown


def test_aware_times_and_pandas_timestamps_are_converted_not_relabelled() -> None:
    tokyo = dt.datetime(2026, 11, 3, 23, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert viewer_time(tokyo, "Europe/Paris") == "3 Nov 2026 15:05 CET"
    assert viewer_time(pd.Timestamp("2026-11-03 14:05"), "Europe/Paris") == "3 Nov 2026 15:05 CET"
    assert utc_text(tokyo) == "2026-11-03 14:05 UTC"


def test_missing_times_are_blank() -> None:
    for missing in (None, pd.NaT, float("nan")):
        assert viewer_time(missing, "Europe/Paris") == ""
        assert utc_text(missing) == ""


def test_utc_text() -> None:
    assert utc_text(AT) == "2026-11-03 14:05 UTC"
    assert utc_text(pd.Timestamp("2026-01-05 09:00:59")) == "2026-01-05 09:00 UTC"


@pytest.mark.parametrize("untrusted", [None, "", "Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime",
                                       "Europe/Paris\n", "x" * 300, 42])
def test_an_unknown_zone_is_utc_and_says_so(untrusted: object) -> None:
    assert zone(untrusted) == "UTC"
    assert viewer_time(AT, untrusted) == "3 Nov 2026 14:05 UTC"  # type: ignore[arg-type]


def test_known_zones_pass_through() -> None:
    assert zone("Europe/Paris") == "Europe/Paris" and zone("Etc/GMT-9") == "Etc/GMT-9"
