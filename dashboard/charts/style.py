"""The shared chart look: time axes that tick on the chosen grain, the running period marked "to date", whole-number
count axes, one distinct colour per series, and a readable range for a timeline of a few moments."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Hashable, Iterable, Sequence

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

GRAINS = ("hour", "day", "week", "month")
_HOUR_MS, _DAY_MS = 3_600_000, 86_400_000
_FIXED_MS = {"hour": _HOUR_MS, "day": _DAY_MS, "week": 7 * _DAY_MS}
# Plotly's default weekly tick0 is a Sunday; DuckDB's date_trunc('week') is the ISO Monday.
_MONDAY, _EPOCH = "2000-01-03", "2000-01-01"
_MAX_TICKS = 12
# 24 colours chosen to be told apart (plotly's Dark24); charts with more series group the tail as "other".
PALETTE: tuple[str, ...] = tuple(px.colors.qualitative.Dark24)
OTHER = "other"
OTHER_COLOUR = "#9e9e9e"
_TO_DATE_OPACITY, _TO_DATE_PATTERN = 0.5, "/"


def utc_now() -> dt.datetime:
    """The current time as naive UTC, the way the store keeps timestamps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(values: Iterable[object]) -> pd.Series:
    """Timestamps as naive UTC (aware ones converted), so they compare with `utc_now()`."""
    ts = pd.to_datetime(pd.Series(list(values)), utc=True)
    return ts.dt.tz_localize(None)


def infer_grain(periods: Iterable[object]) -> str:
    """The grain of period starts from their smallest spacing; one period alone is read as a day."""
    starts = sorted(set(naive_utc(periods).dropna()))
    if len(starts) < 2:
        return "day"
    gap = min(b - a for a, b in zip(starts, starts[1:], strict=False))
    if gap < pd.Timedelta(days=1):
        return "hour"
    if gap < pd.Timedelta(days=7):
        return "day"
    return "week" if gap < pd.Timedelta(days=28) else "month"


def period_end(start: pd.Timestamp, grain: str) -> pd.Timestamp:
    """The exclusive end of the period that begins at `start`."""
    if grain == "month":
        return start + pd.DateOffset(months=1)
    return start + pd.Timedelta(milliseconds=_FIXED_MS[grain])


def _span_years(starts: pd.Series) -> bool:
    return starts.min().year != starts.max().year


def time_axis(periods: Iterable[object], grain: str) -> dict[str, object]:
    """X-axis settings: ticks on period starts of `grain` (every k-th when there are many), labelled at that grain."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    return {"automargin": True, **_ticks(periods, grain)}  # the charts' 10 px bottom margin can clip tick labels


def _ticks(periods: Iterable[object], grain: str) -> dict[str, object]:
    starts = naive_utc(periods).dropna()
    if starts.nunique() == 1:
        # One period alone: autorange would fit the axis to the bar, so show a period of room either side.
        only = starts.iloc[0]
        room = period_end(only, grain) - only
        return {**_ticks([only - room, only + room], grain), "range": [_iso(only - room), _iso(only + room)]}
    year = " %Y" if not starts.empty and _span_years(starts) else ""
    count = 1
    if not starts.empty:
        span = starts.max() - starts.min()
        unit = pd.Timedelta(days=30) if grain == "month" else pd.Timedelta(milliseconds=_FIXED_MS[grain])
        count = int(span / unit) + 1
    need = math.ceil(count / _MAX_TICKS)  # ticks every `need` periods keep the labels to about a dozen
    if grain == "hour":
        step = next((k for k in (1, 2, 3, 6, 12) if k >= need), None)
        if step is not None:
            fmt = "%H:%M" if starts.empty or starts.min().date() == starts.max().date() else "%-d %b %H:%M"
            return {"dtick": step * _HOUR_MS, "tick0": _EPOCH, "tickformat": fmt}
        grain, need = "day", math.ceil(need / 24)
    if grain == "day":
        step = next((k for k in (1, 2, 7, 14) if k >= need), None)
        if step is not None:
            return {"dtick": step * _DAY_MS, "tick0": _MONDAY if step >= 7 else _EPOCH, "tickformat": "%-d %b" + year}
        grain, need = "month", math.ceil(need / 30)
    if grain == "week":
        return {"dtick": need * _FIXED_MS["week"], "tick0": _MONDAY, "tickformat": "%-d %b" + year}
    step = next((k for k in (1, 2, 3, 6) if k >= need), 12 * math.ceil(need / 12))
    return {"dtick": f"M{step}", "tick0": _EPOCH, "tickformat": "%b %Y"}


def _iso(moment: pd.Timestamp) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def hover_format(grain: str) -> str:
    """A d3 time format naming one period of `grain`, for hover text."""
    return {"hour": "%-d %b %Y %H:%M", "day": "%-d %b %Y", "week": "week of %-d %b %Y", "month": "%b %Y"}[grain]


def period_label(start: pd.Timestamp, grain: str) -> str:
    """The period's name as the axis would say it, e.g. 'Dec 2026', 'week of 30 Nov 2026', '3 Dec 2026'."""
    if grain == "month":
        return f"{start:%b %Y}"
    if grain == "week":
        return f"week of {start.day} {start:%b %Y}"
    if grain == "day":
        return f"{start.day} {start:%b %Y}"
    return f"{start.day} {start:%b %Y %H:%M}"


def running_period(periods: Iterable[object], grain: str, now: dt.datetime | None = None) -> pd.Timestamp | None:
    """The last period if it has begun but not ended at `now` (the moment the data runs to), else None."""
    starts = naive_utc(periods).dropna()
    if starts.empty:
        return None
    moment = pd.Timestamp(utc_now() if now is None else now)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    last = starts.max()
    return last if last <= moment < period_end(last, grain) else None


def bar_widths(periods: Iterable[object], grain: str) -> list[float]:
    """Bar widths in ms, 80 % of each period: one bar alone would otherwise be drawn 1 ms wide on a date axis."""
    return [0.8 * (period_end(s, grain) - s) / pd.Timedelta(milliseconds=1) for s in naive_utc(periods)]


def mark_to_date(fig: go.Figure, running: pd.Timestamp | None, grain: str) -> None:
    """Hatch and lighten every bar (and open every line marker) of the running period, and label it '... (to date)'."""
    if running is None:
        return
    for trace in fig.data:
        if trace.x is None or trace.type not in ("bar", "scatter"):
            continue
        hit = [bool(s == running) for s in naive_utc(trace.x)]
        if not any(hit):
            continue
        if trace.type == "bar":
            trace.marker.pattern.shape = [_TO_DATE_PATTERN if h else "" for h in hit]
            trace.marker.pattern.fillmode = "overlay"
            trace.marker.opacity = [_TO_DATE_OPACITY if h else 1.0 for h in hit]
        elif "markers" in (trace.mode or ""):
            trace.marker.symbol = ["circle-open" if h else "circle" for h in hit]
    fig.add_annotation(x=running, xref="x", y=1, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"{period_label(running, grain)} (to date)", font={"size": 11, "color": "#616161"})
    top = fig.layout.margin.t
    fig.update_layout(margin={"t": max(30, top or 0)})  # room above the plot for the label


def nice_step(top: float) -> int:
    """A 1-2-5 tick step giving about six ticks from 0 to `top`, never below 1 (counts have no fractions)."""
    raw = float(top) / 6
    if not (raw > 1 and math.isfinite(raw)):  # NaN too: an empty or all-null frame
        return 1
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def count_axis(top: float) -> dict[str, object]:
    """Axis settings for a count: whole-number labels, an integer step, starting at zero."""
    return {"tickformat": ",d", "tickmode": "linear", "tick0": 0, "dtick": nice_step(top), "rangemode": "tozero"}


def stacked_top(df: pd.DataFrame, by: str | Sequence[str], value: str) -> float:
    """The tallest stack: the largest per-`by` sum of `value` (0 for no rows)."""
    if df.empty:
        return 0.0
    return float(df.groupby(by)[value].sum().max())


def series_colours(names: Iterable[Hashable]) -> dict[Hashable, str]:
    """One palette colour per name in order ('other' is grey); past 24 names the palette repeats, so charts that can
    have more series group their tail as 'other' first."""
    colours: dict[Hashable, str] = {}
    for name in names:
        if name in colours:
            continue
        if name == OTHER:
            colours[name] = OTHER_COLOUR
        else:
            colours[name] = PALETTE[sum(1 for n in colours if n != OTHER) % len(PALETTE)]
    return colours


def moment_axis(times: Iterable[object]) -> dict[str, object]:
    """X-axis settings for a few moments: a range padded by 5 % (at least 30 s each side) and labels at a resolution
    the range deserves - seconds, minutes or days, never the sub-millisecond ticks of a single point's autorange."""
    ts = naive_utc(times).dropna()
    if ts.empty:
        return {}
    first, last = ts.min(), ts.max()
    span = last - first
    pad = max(span * 0.05, pd.Timedelta(seconds=30))
    lo, hi = (first - pad).floor("s"), (last + pad).ceil("s")
    if span <= pd.Timedelta(hours=1):
        fmt = "%H:%M:%S"
    elif span <= pd.Timedelta(days=10):
        fmt = "%-d %b %H:%M"
    else:
        fmt = "%-d %b %Y"
    title = f"UTC, {first.day} {first:%b %Y}" if lo.date() == hi.date() else "UTC"
    return {"range": [_iso(lo), _iso(hi)], "tickformat": fmt,
            "hoverformat": "%-d %b %Y %H:%M:%S", "title": {"text": title}}


def chart_text(value: object) -> str:
    """A provider's or user's string as Plotly shows it literally: Plotly renders a subset of HTML in names, tick
    labels and hover text (a `<a href>` there is a live link), but decodes entities: escaped, the characters show."""
    return html.escape(str(value), quote=False)


def chart_texts(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """A copy of `df` whose text `columns` Plotly shows literally (see chart_text); missing values stay missing."""
    out = df.copy()
    for column in columns:
        out[column] = [v if v is None or (not isinstance(v, str) and pd.isna(v)) else chart_text(v)
                       for v in out[column]]
    return out
