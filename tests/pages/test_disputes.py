"""AppTest of the Disputes page through the real navigation (dashboard/app.py)."""

from __future__ import annotations

from tests.conftest import metrics, run_app, texts
from tests.pages.conftest import open_page, shown_texts


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
    # Needing a response first: dp_3 (overdue), dp_2 (due in 1.5 days), dp_4 (due in 10.5 days); then dp_5 (under
    # review) and dp_1 (lost, opened 14 days ago, inside the default range), which are not counted as open.
    assert metrics(at) == {"Open disputes": "4", "Overdue": "1", "Due within 72 h": "1"}
    queue = at.dataframe[0].value
    assert list(queue["id"]) == ["dp_3", "dp_2", "dp_4", "dp_5", "dp_1"]
    assert list(queue["bucket"]) == ["Overdue", "Due within 72 h", "Needs response", "Under review", "Lost"]
    assert queue["days_left"].iloc[3:].isna().all()
    assert list(queue["amount"]) == ["KWD 1.234", "¥1,200", "$70.00", "$50.00", "$123.45"]
    # Amount at stake per currency: USD 5000 + 7000 = $120.00; JPY ¥1,200; KWD 1.234.
    stake = "Amount at stake, per currency (never summed across currencies): ¥1,200, KWD 1.234, $120.00."
    assert stake in shown_texts(at)
    at.sidebar.selectbox(key="filter_currency").set_value("KWD").run()
    assert metrics(at) == {"Open disputes": "1", "Overdue": "1", "Due within 72 h": "0"}
