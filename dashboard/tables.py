"""Tables as a spec (each column's kind and header in words), turned into what a screen shows (formatted, blanks
blank, ids linking to the provider's dashboard, times in the viewer's timezone) and what an export holds (numbers,
currency codes, ISO 8601 UTC, headers that say the unit), with the CSV and Parquet writers. Pure: no streamlit import;
column configs are the plain dicts `st.dataframe(column_config=...)` takes.

Money in an export: the exact major-unit Decimal of the store's minor units (sync.money.to_major) beside its
currency code, and the integer minor units where a spec asks for them. In Parquet the major units are decimal128 with
the largest exponent among the column's currencies (one scale per column is all Parquet has), exact either way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dashboard.format import format_money
from dashboard.provider_links import DISPLAY_ID, dashboard_url
from dashboard.timefmt import UTC, zone
from sync.money import to_major

KINDS = ("text", "id", "currency", "money", "count", "number", "percent", "timestamp", "date", "duration", "flag")
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

# OWASP CSV injection: a spreadsheet runs a cell that starts with one of these as a formula (ASVS adds NUL; the
# full-width forms are read as formulas by spreadsheets in CJK locales). An apostrophe is prefixed too, so the rule
# reverses exactly: a text cell that starts with "'" had one added; drop it (the audit log's hashes then verify).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20", "'")


@dataclass(frozen=True)
class Column:
    """One column of a table: the DataFrame column it reads, its kind and its header in words."""

    name: str
    header: str
    kind: str = "text"
    currency: str = "currency"  # money: the column holding each row's ISO code
    minor: bool = False  # money: the export also carries the integer minor units (reconciling against the provider)
    link: str | None = None  # id: the provider object kind its id opens (provider_links.KINDS)
    fraction: bool = True  # percent: 0.0072 means 0.72 %; False when the value is already in percent
    digits: int = 1  # percent, number: decimals shown on screen
    unit: str = "s"  # duration: the unit the value is stored in (ms, s, min, h, d)
    date_format: str = "%Y-%m-%d"  # date: how the screen shows it ("%Y-%m" for months)
    width: str | int | None = None  # screen: "small", "medium", "large" or pixels; None fits the content
    help: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r} (known: {', '.join(KINDS)})")
        if self.kind == "duration" and self.unit not in DURATION_UNITS:
            raise ValueError(f"{self.name}: unknown duration unit {self.unit!r} (known: {', '.join(DURATION_UNITS)})")


def text(name: str, header: str, **kw: Any) -> Column:
    return Column(name, header, "text", **kw)


def ident(name: str, header: str, link: str | None = None, **kw: Any) -> Column:
    """An object id; with `link`, it opens that object in the provider's dashboard."""
    return Column(name, header, "id", link=link, **kw)


def currency(name: str = "currency", header: str = "Currency", **kw: Any) -> Column:
    return Column(name, header, "currency", **kw)


def money(name: str, header: str, currency: str = "currency", *, minor: bool = False, **kw: Any) -> Column:
    """Integer store minor units in each row's own currency (column `currency`)."""
    return Column(name, header, "money", currency=currency, minor=minor, **kw)


def count(name: str, header: str, **kw: Any) -> Column:
    return Column(name, header, "count", **kw)


def number(name: str, header: str, digits: int = 1, **kw: Any) -> Column:
    return Column(name, header, "number", digits=digits, **kw)


def percent(name: str, header: str, *, fraction: bool = True, digits: int = 1, **kw: Any) -> Column:
    return Column(name, header, "percent", fraction=fraction, digits=digits, **kw)


def timestamp(name: str, header: str, **kw: Any) -> Column:
    """A time (naive values are UTC, as the store keeps them); the header gets " (UTC)"."""
    return Column(name, header, "timestamp", **kw)


def date(name: str, header: str, date_format: str = "%Y-%m-%d", **kw: Any) -> Column:
    return Column(name, header, "date", date_format=date_format, **kw)


def duration(name: str, header: str, unit: str = "s", **kw: Any) -> Column:
    return Column(name, header, "duration", unit=unit, **kw)


def flag(name: str, header: str, **kw: Any) -> Column:
    return Column(name, header, "flag", **kw)


@dataclass(frozen=True)
class Table:
    """A table's columns in display order, and where each row says which provider and mode its ids belong to
    (`provider` names the provider for frames without a provider column, such as one payment's refunds)."""

    columns: tuple[Column, ...]
    provider_column: str = "provider"
    livemode_column: str = "livemode"
    provider: str | None = None
    names: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        names = tuple(c.name for c in self.columns)
        if len(set(names)) != len(names):
            raise ValueError(f"a column appears twice in {names}")
        object.__setattr__(self, "names", names)


def spec(*columns: Column, **kw: Any) -> Table:
    return Table(columns, **kw)


class Screen(NamedTuple):
    """What st.dataframe shows: `st.dataframe(screen.data, **screen.kwargs())`."""

    data: pd.DataFrame
    column_config: dict[str, dict[str, Any]]

    def kwargs(self) -> dict[str, Any]:
        # placeholder "": Streamlit draws a missing value as the word "None" unless told otherwise.
        return {"column_config": self.column_config, "hide_index": True, "width": "stretch", "placeholder": ""}


# -- values ----------------------------------------------------------------------------------------------------------

def _missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _int(value: object, what: str) -> int | None:
    """An integer from what a store hands back (int64, float64 when NULLs are present, Decimal on PostgreSQL)."""
    if _missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{what}: {value!r} is not an integer")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise TypeError(f"{what}: {value!r} is not a whole number of minor units")


def _code(value: object) -> str | None:
    return None if _missing(value) else str(value).upper()


def _major(amount: int | None, code: str | None) -> Decimal | None:
    if amount is None or code is None:
        return None
    try:
        return to_major(amount, code)
    except ValueError:  # not a currency code: the minor units stay, no exponent is guessed
        return None


def _utc(series: pd.Series) -> pd.Series:
    """Times as timezone-aware UTC; naive ones are UTC already (the store keeps naive UTC)."""
    return pd.to_datetime(series, utc=True)


def _seconds(value: object, unit: str) -> float | None:
    if _missing(value):
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value) * DURATION_UNITS[unit]  # type: ignore[arg-type]


def format_duration(seconds: float | None) -> str:
    """A duration rounded to what a person reads: 350 ms, 3.2 s, 4 min 05 s, 1 h 05 min, 3 d 04 h."""
    if seconds is None or math.isnan(seconds):
        return ""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 1:
        return f"{sign}{s * 1000:.0f} ms" if round(s * 1000) < 1000 else f"{sign}1.0 s"
    if round(s, 1) < 60:
        return f"{sign}{s:.1f} s"
    whole = round(s)
    if whole < 3600:
        return f"{sign}{whole // 60} min {whole % 60:02d} s"
    minutes = round(s / 60)
    if minutes < 24 * 60:
        return f"{sign}{minutes // 60} h {minutes % 60:02d} min"
    hours = round(s / 3600)
    return f"{sign}{hours // 24} d {hours % 24:02d} h"


def _flag(value: object) -> bool | None:
    return None if _missing(value) else bool(value)


def _float(value: object) -> float | None:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]


def _percent(value: object, column: Column) -> float | None:
    number = _float(value)
    if number is None:
        return None
    # Through the shortest decimal text, so 0.0072 is 0.72, not 0.7200000000000001.
    scaled = Decimal(repr(number)) * (100 if column.fraction else 1)
    return float(round(scaled, 6))


def _texts(series: pd.Series) -> list[str | None]:
    return [None if _missing(v) else str(v) for v in series]


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise KeyError(f"the table has no column {name!r} (it has {', '.join(map(str, df.columns))})")
    return df[name]


def sort_money(df: pd.DataFrame, amount: str, currency: str = "currency", *, descending: bool = False) -> pd.DataFrame:
    """Rows ordered by currency, then amount within it (missing amounts last): minor units of different currencies
    are never compared with each other."""
    ordered = df.reset_index(drop=True).assign(
        _cur=[_code(c) or "" for c in df[currency]],
        _amt=pd.array([_int(a, amount) for a in df[amount]], dtype="Int64"))
    ordered = ordered.sort_values(["_cur", "_amt"], ascending=[True, not descending], na_position="last",
                                  kind="stable")
    return ordered.drop(columns=["_cur", "_amt"]).reset_index(drop=True)


# -- screen ----------------------------------------------------------------------------------------------------------

def _config(column: Column, label: str, type_config: dict[str, Any], alignment: str | None = None,
            note: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label, "type_config": type_config}
    if column.width is not None:
        out["width"] = column.width
    helps = [h for h in (column.help, note) if h]
    if helps:
        out["help"] = " ".join(helps)
    if alignment is not None:
        out["alignment"] = alignment
    return out


def _links(df: pd.DataFrame, table: Table, column: Column) -> list[str | None]:
    providers = (df[table.provider_column] if table.provider_column in df.columns
                 else [table.provider] * len(df))
    modes = df[table.livemode_column] if table.livemode_column in df.columns else [None] * len(df)
    return [None if _missing(i) else dashboard_url(p, column.link or "", i, m)
            for p, i, m in zip(providers, df[column.name], modes, strict=True)]


def _screen_times(values: pd.Series, column: Column, tz: str) -> tuple[pd.Series, dict[str, Any]]:
    """A time column in the viewer's zone. Outside UTC the values stay aware (not wall-clock text), so the grid
    sorts them as instants: the hour a DST change repeats still sorts right, and the grid's own zone is pinned."""
    utc = _utc(values).reset_index(drop=True)
    type_config: dict[str, Any] = {"type": "datetime", "format": "YYYY-MM-DD HH:mm:ss"}
    if tz == UTC:
        return utc.dt.tz_localize(None), _config(column, f"{column.header} (UTC)", type_config,
                                                 note="Shown in UTC; UTC in the CSV export too.")
    type_config["timezone"] = tz
    return utc.dt.tz_convert(tz), _config(column, f"{column.header} ({tz})", type_config,
                                          note=f"Shown in {tz}, your browser's timezone; UTC in the CSV export.")


def for_screen(df: pd.DataFrame, table: Table, *, links: bool = True, tz: str | None = None) -> Screen:
    """The table as the screen shows it: only the spec's columns, in its order, headers in words, money formatted in
    each row's currency, counts with thousands separators, durations rounded, blanks blank, and ids linking to the
    provider's dashboard (`links=False` for demo data, whose objects no dashboard has).

    Times show in `tz`, the viewer's IANA zone (context.viewer_timezone), and the header names it; None, "UTC" or a
    zone this machine does not know keep UTC and " (UTC)". Exports stay UTC either way."""
    out: dict[str, Any] = {}
    config: dict[str, dict[str, Any]] = {}
    shown = zone(tz)
    for c in table.columns:
        values = _column(df, c.name)
        if c.kind == "money":
            codes = _column(df, c.currency)
            out[c.name] = ["" if _missing(a) else format_money(_int(a, c.name), None if _missing(k) else str(k))
                           for a, k in zip(values, codes, strict=True)]
            config[c.name] = _config(c, c.header, {"type": "text"}, alignment="right")
        elif c.kind == "count":
            out[c.name] = pd.array([_int(v, c.name) for v in values], dtype="Int64")
            config[c.name] = _config(c, c.header, {"type": "number", "format": "%,d"})
        elif c.kind in ("number", "percent"):
            shown = [_percent(v, c) if c.kind == "percent" else _float(v) for v in values]
            out[c.name] = pd.array(shown, dtype="Float64")
            suffix = "%%" if c.kind == "percent" else ""
            config[c.name] = _config(c, c.header, {"type": "number", "format": f"%.{c.digits}f{suffix}"})
        elif c.kind == "timestamp":
            out[c.name], config[c.name] = _screen_times(values, c, shown)
        elif c.kind == "date":
            days = pd.to_datetime(values)
            out[c.name] = ["" if _missing(d) else d.strftime(c.date_format) for d in days]
            config[c.name] = _config(c, c.header, {"type": "text"})
        elif c.kind == "duration":
            out[c.name] = [format_duration(_seconds(v, c.unit)) for v in values]
            config[c.name] = _config(c, c.header, {"type": "text"}, alignment="right")
        elif c.kind == "flag":
            out[c.name] = ["" if f is None else ("yes" if f else "no") for f in map(_flag, values)]
            config[c.name] = _config(c, c.header, {"type": "text"})
        elif c.kind == "currency":
            out[c.name] = [_code(v) or "" for v in values]
            config[c.name] = _config(c, c.header, {"type": "text"})
        else:
            ids = ["" if t is None else t for t in _texts(values)]
            urls = _links(df, table, c) if links and c.kind == "id" and c.link else None
            if urls is not None and all(u is not None for u, i in zip(urls, ids, strict=True) if i):
                # The cell holds the URL and shows the id (its last path segment), so the id is what reads.
                out[c.name] = pd.Series(urls, dtype=object)
                config[c.name] = _config(c, c.header, {"type": "link", "display_text": DISPLAY_ID})
            else:
                out[c.name] = ids
                config[c.name] = _config(c, c.header, {"type": "text"})
                if urls is not None and any(urls):
                    # Some rows have no dashboard page (another provider, unknown mode): their id stays readable,
                    # and the rows that have one get an "open" link beside it.
                    link_name = f"{c.name}__link"
                    out[link_name] = pd.Series(urls, dtype=object)
                    config[link_name] = {"label": f"{c.header}: open", "type_config": {
                        "type": "link", "display_text": "open"}}
    return Screen(pd.DataFrame(out, index=range(len(df))), config)


# -- export ----------------------------------------------------------------------------------------------------------

class _Unique(dict):  # type: ignore[type-arg]
    """Export columns by header; a second column under one header is refused, not silently dropped."""

    def __setitem__(self, key: str, value: pd.Series) -> None:
        if key in self:
            raise ValueError(f"two export columns share a header: {key!r}")
        super().__setitem__(key, value)


def _decimals(values: Iterable[Decimal | None]) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def for_export(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The table as a file holds it: plain numbers (money as exact major-unit Decimals, and minor-unit integers where
    the spec asks), currency codes, percentages as numbers, times as UTC (ISO 8601 once written), flags as booleans,
    and headers that say the unit. Text stays as stored here; csv_bytes neutralises what a spreadsheet would run."""
    out = _Unique()
    listed = set(table.names)
    for c in table.columns:
        values = _column(df, c.name)
        if c.kind == "money":
            code_header = "Currency" if c.currency == "currency" else f"{c.header} currency"
            if c.currency not in listed and code_header not in out:
                # A money figure never leaves without its currency.
                out[code_header] = pd.Series([_code(v) for v in _column(df, c.currency)], dtype=object)
            minors = [_int(v, c.name) for v in values]
            codes = [_code(v) for v in _column(df, c.currency)]
            out[f"{c.header} (major units)"] = _decimals(_major(a, k) for a, k in zip(minors, codes, strict=True))
            if c.minor:
                out[f"{c.header} (minor units)"] = pd.Series(pd.array(minors, dtype="Int64"))
        elif c.kind == "count":
            out[c.header] = pd.Series(pd.array([_int(v, c.name) for v in values], dtype="Int64"))
        elif c.kind == "number":
            out[c.header] = pd.Series(pd.array([_float(v) for v in values], dtype="Float64"))
        elif c.kind == "percent":
            out[f"{c.header} (%)"] = pd.Series(pd.array([_percent(v, c) for v in values], dtype="Float64"))
        elif c.kind == "timestamp":
            out[f"{c.header} (UTC)"] = _utc(values).reset_index(drop=True)
        elif c.kind == "date":
            out[c.header] = pd.Series([None if _missing(d) else d.date() for d in pd.to_datetime(values)],
                                      dtype=object)
        elif c.kind == "duration":
            out[f"{c.header} ({c.unit})"] = pd.Series(pd.array([_float(v.total_seconds() / DURATION_UNITS[c.unit]
                                                                        if isinstance(v, dt.timedelta) else v)
                                                                for v in values], dtype="Float64"))
        elif c.kind == "flag":
            out[c.header] = pd.Series(pd.array([_flag(v) for v in values], dtype="boolean"))
        elif c.kind == "currency":
            out[c.header] = pd.Series([_code(v) for v in values], dtype=object)
        else:
            out[c.header] = pd.Series(_texts(values), dtype=object)
    return pd.DataFrame(dict(out))


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet shows as text (OWASP CSV injection): "'" before a formula start."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _iso(value: dt.datetime) -> str:
    utc = pd.Timestamp(value)
    utc = utc.tz_localize("UTC") if utc.tzinfo is None else utc.tz_convert("UTC")
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _cell(value: object) -> str:
    if _missing(value):
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # the exact digits, never an exponent
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))  # numpy's float64 repr is "np.float64(0.72)"
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """RFC 4180 CSV (UTF-8 with a byte-order mark, so Excel reads accents and symbols right): numbers as plain
    decimals, times as ISO 8601 UTC, blanks empty, text neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(h)) for h in df.columns])
    for row in df.itertuples(index=False, name=None):
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _arrow_column(series: pd.Series) -> Any:
    import pyarrow as pa

    values = [None if _missing(v) else v for v in series]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, Decimal) for v in present):
        scale = max(max(-v.as_tuple().exponent, 0) for v in present)  # type: ignore[operator]
        return pa.array(values, type=pa.decimal128(38, scale))
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return pa.array(series, type=pa.timestamp("us", tz="UTC"))
    if present and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present):
        return pa.array(values, type=pa.date32())
    if str(series.dtype) == "Int64":
        return pa.array(values, type=pa.int64())
    if str(series.dtype) == "Float64":
        return pa.array(values, type=pa.float64())
    if str(series.dtype) == "boolean":
        return pa.array(values, type=pa.bool_())
    if all(isinstance(v, str) for v in present):
        return pa.array(values, type=pa.string())
    return pa.array(series)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Parquet of an export frame with exact types: money decimal128 (major units) and int64 (minor units), times
    timestamp[us, UTC], dates date32, text as stored (Parquet runs no formulas, so nothing is prefixed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.table({str(name): _arrow_column(df[name]) for name in df.columns})
    sink = io.BytesIO()
    pq.write_table(arrow, sink, compression="zstd")
    return sink.getvalue()


def exporter(df: pd.DataFrame, table: Table, fmt: str = "csv") -> Callable[[], bytes]:
    """A no-argument function building the file when called: st.download_button(data=...) calls it on the click, on
    a thread of its own, not on every rerun. It closes over the frame already fetched, never over a store cursor."""
    writers = {"csv": csv_bytes, "parquet": parquet_bytes}
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r} (csv or parquet)")
    write = writers[fmt]
    return lambda: write(for_export(df, table))


MIME = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
