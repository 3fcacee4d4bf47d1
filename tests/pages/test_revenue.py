"""AppTest of the Revenue page through the real navigation, on the empty, demo and finance stores."""

from __future__ import annotations

import pytest

from tests.conftest import metrics, run_app, texts
from tests.store.conftest import make_finance_db

JUNE = {"start": "2026-06-01", "end": "2026-06-14"}


@pytest.fixture
def finance_db(tmp_path):
    return make_finance_db(tmp_path)


@pytest.mark.parametrize("db", ["empty_db", "demo_db"])
def test_renders_on_empty_and_demo_store(app_env, request, db) -> None:
    app_env(request.getfixturevalue(db))
    at = run_app("revenue")
    assert not at.exception
    assert [t.value for t in at.title] == ["Revenue"]
    if db == "empty_db":
        assert "No payments, refunds, disputes or balance transactions" in texts(at)
        assert "Sync now" in texts(at)
    else:
        assert any(label.startswith("Gross volume") for label in metrics(at))
        assert at.get("plotly_chart")


def test_figures_per_currency_and_filters(app_env, finance_db) -> None:
    app_env(finance_db)
    at = run_app("revenue", query=JUNE)
    assert not at.exception
    m = metrics(at)
    # USD gross 10000 + 5000 + 5000 = $200.00; JPY ¥1,200 (exponent 0); KWD 12.345 (exponent 3).
    assert m["Gross volume (USD)"] == "$200.00"
    assert m["Gross volume (JPY)"] == "¥1,200"
    assert m["Gross volume (KWD)"] == "KWD12.345"
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
    at.sidebar.selectbox(key="filter_currency").set_value("KWD").run()
    assert set(at.dataframe[0].value["Currency"]) == {"KWD"}
    assert "Gross volume (USD)" not in metrics(at)
    # Grain: one monthly row.
    at.segmented_control(key="revenue_grain").set_value("month").run()
    assert list(at.dataframe[0].value["Period (month)"]) == ["2026-06-01"]
