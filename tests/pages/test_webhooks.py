"""AppTest of the Webhooks page through the real navigation (dashboard/app.py)."""

from __future__ import annotations

import pytest

from tests.conftest import metrics, run_app, texts


@pytest.mark.parametrize("db", ["empty_db", "demo_db"])
def test_renders_on_empty_and_demo_store(app_env, request, db) -> None:
    app_env(request.getfixturevalue(db))
    at = run_app("webhooks")
    assert not at.exception
    assert [t.value for t in at.title] == ["Webhooks"]
    if db == "empty_db":
        assert metrics(at)["Events"] == "0" and "No events" in texts(at)
    else:
        assert int(metrics(at)["Events"].replace(",", "")) > 0
        assert at.get("plotly_chart")


def test_figures_and_provider_filter(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("webhooks")
    # 7 events in the default 90 days (evt_6 is older); pending: evt_2 and evt_4.
    assert metrics(at) == {"Events": "7", "Event types": "7", "Not yet delivered": "2"}
    pending = at.dataframe[-1].value
    assert list(pending["id"]) == ["evt_2", "evt_4"]
    at.sidebar.selectbox(key="filter_provider").set_value("braintree").run()
    assert metrics(at)["Events"] == "0" and metrics(at)["Not yet delivered"] == "0"
