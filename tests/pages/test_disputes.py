"""AppTest of the Disputes page through the real navigation (dashboard/app.py)."""

from __future__ import annotations

from tests.conftest import metrics, run_app, texts
from tests.pages.conftest import open_page


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("disputes", "Disputes")
    if empty_or_demo == "empty_db":
        assert metrics(at)["Open disputes"] == "0"
        assert "No open disputes" in texts(at)
    else:
        assert "Open disputes" in metrics(at)
        assert at.get("plotly_chart"), "the ratio chart is drawn on the demo store"


def test_queue_figures_and_currency_filter(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("disputes")
    # Open: dp_5 (under review), dp_3 (overdue), dp_2 (due in 1.5 days), dp_4 (due in 10.5 days).
    assert metrics(at) == {"Open disputes": "4", "Overdue": "1", "Due within 72 h": "1"}
    queue = at.dataframe[0].value
    assert list(queue["id"]) == ["dp_5", "dp_3", "dp_2", "dp_4"]
    assert list(queue["amount"]) == ["$50.00", "KWD 1.234", "¥1,200", "$70.00"]
    # Amount at stake per currency: USD 5000 + 7000 = $120.00; JPY ¥1,200; KWD 1.234.
    assert "Amount at stake, per currency (never summed across currencies): ¥1,200, KWD 1.234, $120.00." in texts(at)
    at.sidebar.selectbox(key="filter_currency").set_value("KWD").run()
    assert metrics(at) == {"Open disputes": "1", "Overdue": "1", "Due within 72 h": "0"}
