"""AppTest of the Subscriptions page through the real navigation, on the empty, demo and finance stores."""

from __future__ import annotations

from tests.conftest import metrics, texts
from tests.pages.conftest import open_page, pick_currency


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("subscriptions", "Subscriptions")
    if empty_or_demo == "empty_db":
        assert "No subscriptions" in texts(at)
    else:
        assert int(metrics(at)["Active"].replace(",", "")) > 0
        assert at.get("plotly_chart")


def test_status_past_due_and_filter(finance_page) -> None:
    at = finance_page("subscriptions")
    m = metrics(at)
    assert (m["Active"], m["Trialing"], m["Past due"], m["Canceled"]) == ("3", "1", "1", "3")
    past_due = at.dataframe[0].value
    row = past_due.iloc[0]
    # sub_d1's open invoice in_d1 (KWD 1.000), last declined do_not_honor (ch_k3).
    assert (row["subscription_id"], row["invoice_id"], row["amount_due"], row["decline_code"]) == (
        "sub_d1", "in_d1", "KWD 1.000", "do_not_honor")
    cancels = at.dataframe[-1].value
    assert list(cancels["subscription_id"]) == ["sub_g1"]
    pick_currency(at, "JPY")
    m = metrics(at)
    assert (m["Active"], m["Past due"], m["Canceled"]) == ("1", "0", "1")
