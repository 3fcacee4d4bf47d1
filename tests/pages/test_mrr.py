"""AppTest of the MRR and churn page through the real navigation, on the empty, demo and finance stores."""

from __future__ import annotations

from tests.conftest import texts
from tests.pages.conftest import open_page, pick_currency, shown_metrics

SPRING = {"start": "2026-01-01", "end": "2026-06-14"}


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("mrr", "MRR and churn")
    if empty_or_demo == "empty_db":
        assert "No active or past_due paid subscriptions" in texts(at)
    else:
        assert any(label.startswith("MRR (") for label in shown_metrics(at))
        assert at.get("plotly_chart")


def test_mrr_figures_and_currency_filter(finance_page) -> None:
    at = finance_page("mrr", SPRING)
    m = shown_metrics(at)
    # USD: 24000 (yearly x3, forever 20% off) + 10000 = $340.00; ARR $4,080.00; ARPU $170.00.
    assert (m["MRR (USD)"], m["ARR (USD)"], m["ARPU (USD)"]) == ("$340.00", "$4,080.00", "$170.00")
    assert m["MRR (JPY)"] == "¥1,500"
    # KWD weekly 1.000 x 52 / 12 = 4.333.
    assert m["MRR (KWD)"] == "KWD 4.333"
    # 30 days to 06-14 (as of 06-15 00:00): cus_g churned of 3 USD subscribers -> 33.3%; 2000 / 31000 = 6.5%.
    assert m["Subscriber churn (USD)"] == "33.3%"
    assert m["Revenue churn (USD)"] == "6.5%"
    moves = at.dataframe[0].value
    assert "reactivation" in moves.columns and "¥1,500" in set(moves["reactivation"])
    pick_currency(at, "JPY")
    m = shown_metrics(at)
    assert "MRR (USD)" not in m and m["MRR (JPY)"] == "¥1,500"
    assert set(at.dataframe[0].value["currency"]) == {"JPY"}
