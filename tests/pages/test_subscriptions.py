"""AppTest of the Subscriptions page through the real navigation, on the empty, demo and finance stores."""

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
    at = run_app("subscriptions")
    assert not at.exception
    assert [t.value for t in at.title] == ["Subscriptions"]
    if db == "empty_db":
        assert "No subscriptions" in texts(at)
    else:
        assert int(metrics(at)["Active"].replace(",", "")) > 0
        assert at.get("plotly_chart")


def test_status_past_due_and_filter(app_env, finance_db) -> None:
    app_env(finance_db)
    at = run_app("subscriptions", query=JUNE)
    assert not at.exception
    m = metrics(at)
    assert (m["Active"], m["Trialing"], m["Past due"], m["Canceled"]) == ("3", "1", "1", "3")
    past_due = at.dataframe[0].value
    row = past_due.iloc[0]
    # sub_d1's open invoice in_d1 (KWD 1.000), last declined do_not_honor (ch_k3).
    assert (row["subscription_id"], row["invoice_id"], row["amount_due"], row["decline_code"]) == (
        "sub_d1", "in_d1", "KWD1.000", "do_not_honor")
    cancels = at.dataframe[-1].value
    assert list(cancels["subscription_id"]) == ["sub_g1"]
    at.sidebar.selectbox(key="filter_currency").set_value("JPY").run()
    m = metrics(at)
    assert (m["Active"], m["Past due"], m["Canceled"]) == ("1", "0", "1")
