"""AppTest of the Revenue page through the real navigation, on the empty, demo and finance stores."""

from __future__ import annotations

from tests.conftest import texts
from tests.pages.conftest import open_page, pick_currency, shown_metrics


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("revenue", "Revenue")
    if empty_or_demo == "empty_db":
        assert "No payments, refunds, disputes or balance transactions" in texts(at)
        assert "Load demo data" in texts(at)  # no key: demo mode, so no Sync now
    else:
        assert any(label.startswith("Gross volume") for label in shown_metrics(at))
        assert at.get("plotly_chart")


def test_figures_per_currency_and_filters(finance_page) -> None:
    at = finance_page("revenue")
    m = shown_metrics(at)
    # USD gross 10000 + 5000 + 5000 = $200.00; JPY ¥1,200 (exponent 0); KWD 12.345 (exponent 3).
    assert m["Gross volume (USD)"] == "$200.00"
    assert m["Gross volume (JPY)"] == "¥1,200"
    assert m["Gross volume (KWD)"] == "KWD 12.345"
    # Net in USD includes the ¥ charge's USD settlement: 11368 -> $113.68.
    assert m["Net (USD)"] == "$113.68"
    # Previous 14 days: $80.00 -> +150.0%.
    gross_usd = next(x for x in at.metric if x.label == "Gross volume (USD)")
    assert gross_usd.delta == "+150.0%"
    table = at.dataframe[0].value
    assert set(table["Currency"]) == {"USD", "JPY", "KWD"}
    # The CSV offered is the table shown.
    assert at.get("download_button")
    # Currency filter: only KWD remains.
    pick_currency(at, "KWD")
    assert set(at.dataframe[0].value["Currency"]) == {"KWD"}
    assert "Gross volume (USD)" not in shown_metrics(at)
    # Grain: one monthly row.
    at.segmented_control(key="revenue_grain").set_value("month").run()
    assert list(at.dataframe[0].value["Period (month)"]) == ["2026-06-01"]
