"""AppTest of the MRR and churn page through the real navigation, on the empty, demo and finance stores."""

from __future__ import annotations

import pytest

from tests.conftest import metrics, run_app, texts
from tests.store.conftest import make_finance_db

SPRING = {"start": "2026-01-01", "end": "2026-06-14"}


@pytest.fixture
def finance_db(tmp_path):
    return make_finance_db(tmp_path)


@pytest.mark.parametrize("db", ["empty_db", "demo_db"])
def test_renders_on_empty_and_demo_store(app_env, request, db) -> None:
    app_env(request.getfixturevalue(db))
    at = run_app("mrr")
    assert not at.exception
    assert [t.value for t in at.title] == ["MRR and churn"]
    if db == "empty_db":
        assert "No active or past_due paid subscriptions" in texts(at)
    else:
        assert any(label.startswith("MRR (") for label in metrics(at))
        assert at.get("plotly_chart")


def test_mrr_figures_and_currency_filter(app_env, finance_db) -> None:
    app_env(finance_db)
    at = run_app("mrr", query=SPRING)
    assert not at.exception
    m = metrics(at)
    # USD: 24000 (yearly x3, forever 20% off) + 10000 = $340.00; ARR $4,080.00; ARPU $170.00.
    assert (m["MRR (USD)"], m["ARR (USD)"], m["ARPU (USD)"]) == ("$340.00", "$4,080.00", "$170.00")
    assert m["MRR (JPY)"] == "¥1,500"
    # KWD weekly 1.000 x 52 / 12 = 4.333.
    assert m["MRR (KWD)"] == "KWD4.333"
    # 30 days to 06-14 (as of 06-15 00:00): cus_g churned of 3 USD subscribers -> 33.3%; 2000 / 31000 = 6.5%.
    assert m["Subscriber churn (USD)"] == "33.3%"
    assert m["Revenue churn (USD)"] == "6.5%"
    moves = at.dataframe[0].value
    assert "reactivation" in moves.columns and "¥1,500" in set(moves["reactivation"])
    at.sidebar.selectbox(key="filter_currency").set_value("JPY").run()
    m = metrics(at)
    assert "MRR (USD)" not in m and m["MRR (JPY)"] == "¥1,500"
    assert set(at.dataframe[0].value["currency"]) == {"JPY"}
