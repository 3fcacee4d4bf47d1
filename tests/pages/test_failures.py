"""AppTest of the Failures page through the real navigation, on the empty, demo and finance stores."""

from __future__ import annotations

from tests.conftest import texts
from tests.pages.conftest import open_page, pick_currency, shown_metrics


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("failures", "Payment failures")
    if empty_or_demo == "empty_db":
        assert shown_metrics(at)["Failure rate"] == "—"
        assert "No payment attempts" in texts(at)
    else:
        assert shown_metrics(at)["Failure rate"].endswith("%")
        assert at.get("plotly_chart")


def test_failure_figures_and_currency_filter(finance_page) -> None:
    at = finance_page("failures")
    m = shown_metrics(at)
    # 7 failed of 12 attempts = 58.3%.
    assert (m["Failure rate"], m["Failed payments"], m["Attempts"]) == ("58.3%", "7", "12")
    codes = at.dataframe[0].value
    assert codes.iloc[0]["decline_code"] == "insufficient_funds" and codes.iloc[0]["action"] == "Retry later"
    assert "Never retry" in set(codes["action"])
    # Recovery: USD 1 of 1 invoice, $50.00 recovered.
    assert m["Recovered invoices (USD)"] == "100.0%" and m["Recovered amount (USD)"] == "$50.00"
    pick_currency(at, "KWD")
    m = shown_metrics(at)
    # KWD: k2, k3 failed of k1, k2, k3 -> 66.7%; in_d1 not recovered.
    assert (m["Failure rate"], m["Attempts"]) == ("66.7%", "3")
    assert m["Recovered invoices (KWD)"] == "0.0%"
