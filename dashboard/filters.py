"""The global sidebar filters (date range, currency, provider), mirrored in the URL query string."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Filters:
    """What every page filters by; `None` means all currencies / all providers."""

    start: dt.date
    end: dt.date  # inclusive
    currency: str | None = None
    provider: str | None = None

    @property
    def start_ts(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min)

    @property
    def end_ts(self) -> dt.datetime:
        """Exclusive upper bound: midnight after `end`."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min)

    def params(self) -> dict[str, object]:
        """Bind parameters for SQL: :start, :end (exclusive), :currency, :provider (NULL = all)."""
        return {"start": self.start_ts, "end": self.end_ts, "currency": self.currency, "provider": self.provider}


def _parse_date(text: str | None, default: dt.date) -> tuple[dt.date, str | None]:
    if not text:
        return default, None
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return default, f"Ignored the link's date {text!r}: use YYYY-MM-DD."


def _url_currency(text: str | None) -> str | None:
    """A link's currency: an ISO code (any case; ?currency=ALL is the lek), else None (all currencies)."""
    if text and len(text) == 3 and text.isascii() and text.isalpha():
        return text.upper()
    return None


def _label(everything: str) -> Callable[[str | None], str]:
    return lambda option: everything if option is None else str(option)


def sidebar_filters(currencies: list[str], providers: list[str], today: dt.date | None = None) -> Filters:
    """Render the sidebar filters, seeded from and written back to the URL query string."""
    today = today or dt.datetime.now(dt.UTC).date()
    qp = st.query_params
    start, err_start = _parse_date(qp.get("start"), today - dt.timedelta(days=DEFAULT_DAYS - 1))
    end, err_end = _parse_date(qp.get("end"), today)
    for err in (err_start, err_end):
        if err:
            st.sidebar.warning(err)
    if start > end:
        start, end = end, start
    picked = st.sidebar.date_input("Date range", value=(start, end), key="filter_dates")
    if isinstance(picked, tuple | list) and len(picked) == 2:
        start, end = picked
    # "Everything" is None, shown as "All currencies": no currency code can take that value, while the string
    # "All" upper-cased is ALL, the Albanian lek, which a store can hold.
    currency_options: list[str | None] = [None, *currencies]
    wanted_currency = _url_currency(qp.get("currency"))
    currency = st.sidebar.selectbox(
        "Currency", currency_options, key="filter_currency", format_func=_label("All currencies"),
        index=currency_options.index(wanted_currency) if wanted_currency in currency_options else 0,
        help="Amounts are never summed across currencies; 'All currencies' shows one row or line per currency.",
    )
    provider_options: list[str | None] = [None, *providers]
    wanted_provider = qp.get("provider")
    provider = st.sidebar.selectbox(
        "Provider", provider_options, key="filter_provider", format_func=_label("All providers"),
        index=provider_options.index(wanted_provider) if wanted_provider in provider_options else 0,
    )
    filters = Filters(start=start, end=end, currency=currency, provider=provider)
    st.query_params.update({"start": filters.start.isoformat(), "end": filters.end.isoformat()})
    for name, value in (("currency", filters.currency), ("provider", filters.provider)):
        if value:
            st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]
    st.session_state["filters"] = filters
    return filters


def current_filters(today: dt.date | None = None) -> Filters:
    """The filters the sidebar set on this run; defaults (or the URL's) when a page runs on its own."""
    found = st.session_state.get("filters")
    if isinstance(found, Filters):
        return found
    today = today or dt.datetime.now(dt.UTC).date()
    qp = st.query_params
    start, _ = _parse_date(qp.get("start"), today - dt.timedelta(days=DEFAULT_DAYS - 1))
    end, _ = _parse_date(qp.get("end"), today)
    return Filters(start=min(start, end), end=max(start, end), currency=_url_currency(qp.get("currency")),
                   provider=qp.get("provider") or None)
