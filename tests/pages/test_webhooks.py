"""AppTest of the Webhooks page through the real navigation (dashboard/app.py): events and pending views, the
delivery log (figures, type filter, detail), and replay (role gate, dry run counts, forced re-apply safety).

Deliveries are made by the real receiver core (`sync.webhooks.WebhookIntake`, signed with the SDK's own
`generate_signature_header`) on the seeded store file before the app opens it."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import orjson
import pytest
import stripe

from sync import audit
from sync.store import Store
from sync.webhooks import WebhookIntake
from tests.conftest import metrics, run_app, texts
from tests.pages.conftest import open_page

SECRET = "whsec_page_test"


def customer_event(event_id: str, created: int, email: str) -> dict:
    return {"id": event_id, "object": "event", "type": "customer.updated", "created": created, "livemode": False,
            "data": {"object": {"id": "cus_z", "object": "customer", "created": created - 86400, "email": email}}}


def deliver(intake: WebhookIntake, event: dict, secret: str = SECRET) -> int:
    body = orjson.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    status, _ = intake.receive(body, {"Content-Type": "application/json", "Stripe-Signature": header}, "127.0.0.1")
    return status


@pytest.fixture
def webhook_db(seeded_db: Path) -> Path:
    """The seeded store plus three deliveries: evt_new (cus_z email new@, 1 h ago) and evt_old (old@, 2 h ago),
    both applied, delivered newest first; and one with a wrong secret (rejected, no event id)."""
    now = int(time.time())
    store = Store(f"duckdb:///{seeded_db}")
    intake = WebhookIntake(store, [SECRET])
    try:
        assert deliver(intake, customer_event("evt_new", now - 3600, "new@example.com")) == 200
        assert deliver(intake, customer_event("evt_old", now - 7200, "old@example.com")) == 200
        assert deliver(intake, customer_event("evt_bad", now, "evil@example.com"), secret="whsec_wrong") == 400
    finally:
        intake.close()
        store.close()
    return seeded_db


def test_renders_on_empty_and_demo_store(empty_or_demo) -> None:
    at = open_page("webhooks", "Webhooks")
    if empty_or_demo == "empty_db":
        assert metrics(at)["Events"] == "0" and "No events" in texts(at)
        assert metrics(at)["Deliveries"] == "0" and "No webhook deliveries" in texts(at)
    else:
        assert int(metrics(at)["Events"].replace(",", "")) > 0
        assert at.get("plotly_chart")


def test_figures_and_provider_filter(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("webhooks")
    # 7 events in the default 90 days (evt_6 is older); pending: evt_2 and evt_4, never received by PayOps.
    got = metrics(at)
    assert {k: got[k] for k in ("Events", "Event types", "Not yet delivered")} == {
        "Events": "7", "Event types": "7", "Not yet delivered": "2"}
    side = next(d.value for d in at.dataframe if "pending_webhooks" in d.value.columns)
    assert list(side["id"]) == ["evt_2", "evt_4"] and list(side["pending_webhooks"]) == [1, 2]
    assert list(side["received"]) == [0, 0] and set(side["last_outcome"]) == {"not_received"}
    at.sidebar.selectbox(key="filter_provider").set_value("braintree").run()
    assert metrics(at)["Events"] == "0" and metrics(at)["Not yet delivered"] == "0"


def test_delivery_log_figures_type_filter_and_detail(app_env, webhook_db) -> None:
    app_env(webhook_db)
    at = run_app("webhooks")
    assert not at.exception
    # 3 deliveries: 2 applied (evt_new, evt_old), 1 rejected (wrong secret).
    got = metrics(at)
    assert (got["Deliveries"], got["Applied"], got["Failed"]) == ("3", "2", "1")
    reasons = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert [(r["reason"], r["detail"], r["deliveries"]) for r in reasons.to_dict("records")] == [
        ("bad signature", "bad_signature", 1)]
    at.selectbox(key="log_type").set_value("customer.updated").run()
    got = metrics(at)
    assert (got["Deliveries"], got["Failed"]) == ("2", "0")  # the rejected one has no type
    # Newest first: evt_old was delivered after evt_new; its detail shows the verdict, trace and body.
    assert at.selectbox(key="log_delivery").value.startswith("whd_")
    shown = texts(at)
    assert "**ok** → **applied** (HTTP 200)" in shown and "event evt\\_old" in shown
    assert "evt_old" in at.code[0].value and "old@example.com" in at.code[0].value


def test_replay_dry_run_shows_counts(app_env, webhook_db) -> None:
    app_env(webhook_db)
    start = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=200)).isoformat()
    at = run_app("webhooks", query={"start": start})
    at.radio(key="bulk_mode").set_value("resend")
    at.button(key="bulk_dry").click().run()
    assert not at.exception
    # 200 days back: the 8 seeded events (evt_1..8; evt_6 about 172 days old) + evt_new + evt_old = 10 selected;
    # evt_new and evt_old were applied (processed); evt_6 is older than 30 days; 10 - 2 - 1 = 7 would be resent.
    got = metrics(at)
    assert (got["Selected"], got["Already processed"], got["Older than 30 days"], got["Will run"]) == (
        "10", "2", "1", "7")
    table = next(df.value for df in at.dataframe if "action" in df.value.columns).set_index("event_id")
    assert table.loc["evt_6", "action"].startswith("skip: older than 30 days")
    assert table.loc["evt_old", "action"] == "skip: already processed"
    # Re-runs of stored copies do not care about Stripe's 30 days: only the two processed ones are skipped.
    at.radio(key="bulk_mode").set_value("rerun")
    at.button(key="bulk_dry").click().run()
    assert metrics(at)["Will run"] == "8"


def test_forced_reapply_does_not_overwrite_newer_data(app_env, webhook_db) -> None:
    app_env(webhook_db)
    at = run_app("webhooks")
    at.text_input(key="replay_event_id").input("evt_old").run()
    at.button(key="replay_rerun").click().run()
    assert "already processed; skipped" in texts(at)
    at.checkbox(key="replay_force").check()
    at.button(key="replay_rerun").click().run()
    assert not at.exception
    assert "already held a newer version" in texts(at)
    from dashboard.context import get_store

    store = get_store()
    assert store.query("SELECT email FROM customers WHERE id = 'cus_z'")["email"].tolist() == ["new@example.com"]
    replays = store.query("SELECT outcome FROM webhook_deliveries WHERE verdict = 'replay' ORDER BY received_at")
    assert replays["outcome"].tolist() == ["duplicate", "applied"]  # both recorded; only the forced one applied
    # Both re-runs are in the audit log, the forced one saying so (who re-applied an already processed event).
    entries = audit.export(store)
    assert entries[["actor", "role", "action", "target", "params"]].to_dict("records") == [
        {"actor": "local-operator", "role": "admin", "action": "event_rerun.skipped", "target": "stripe:evt_old",
         "params": '{"force":false}'},
        {"actor": "local-operator", "role": "admin", "action": "event_rerun.newer_kept", "target": "stripe:evt_old",
         "params": '{"force":true}'}]


def test_viewer_is_refused_the_page_even_opened_on_its_own(app_env, webhook_db, monkeypatch) -> None:
    """The navigation hides this page from roles outside roles.PAGE_ROLES['webhooks']; the page checks the role
    itself too (opened on its own, or if the navigation ever lists it), so run it directly."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    monkeypatch.setenv("PAYOPS_ROLE", "viewer")
    app_env(webhook_db)
    at = AppTest.from_file(str(ROOT / "pages" / "webhooks.py"), default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role (viewer) may not use this page; it needs admin, engineer. "
                                           "Ask an admin."]
    assert not at.title and not at.metric and not at.dataframe and not at.button


def _log_table(at):
    return next(d for d in at.dataframe if "verdict" in d.value.columns)


def test_delivery_log_is_a_spec_table_with_csv_and_parquet(app_env, webhook_db) -> None:
    """Issue 20.1/20.6: the log's headers in words, durations rounded, blanks blank; CSV and Parquet offered; the
    CSV holds ISO 8601 UTC times and numeric milliseconds."""
    import csv
    import io

    from dashboard import table_specs, tables
    from dashboard.filters import Filters
    from dashboard.queries import webhooks as q

    app_env(webhook_db)
    at = run_app("webhooks")
    assert not at.exception
    shown = _log_table(at).value
    assert list(shown.columns[:4]) == ["received_at", "event_id", "event_type", "verdict"]
    # Durations rounded ("0 ms" .. "999 ms"), never a raw float.
    assert all(re.fullmatch(r"\d+ ms|\d+\.\d s", t) for t in shown["duration_ms"]), list(shown["duration_ms"])
    # Newest first: the rejected delivery (no event id: blank, not "None"), then evt_old, then evt_new.
    assert shown["event_id"].tolist() == ["", "evt_old", "evt_new"]
    names = [b.proto.label for b in at.get("download_button")]
    assert "Download CSV" in names and "Download PARQUET" in names, names
    from dashboard.context import get_store

    today = dt.datetime.now(dt.UTC).date()
    log = q.delivery_log(get_store(), Filters(start=today - dt.timedelta(days=1), end=today))
    data = tables.exporter(log, table_specs.DELIVERY_LOG, "csv")()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r["Event"] for r in rows] == ["", "evt_old", "evt_new"]
    for row in rows:
        assert dt.datetime.fromisoformat(row["Received (UTC)"]).utcoffset() == dt.timedelta(0)
        assert float(row["Processing (ms)"]) >= 0


def test_event_ids_link_to_stripe_test_dashboard_with_a_key(app_env, webhook_db, monkeypatch) -> None:
    """With a test key the log's event ids open Stripe's test dashboard (the deliveries were livemode false)."""
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_payops_links")
    app_env(webhook_db)
    at = run_app("webhooks")
    assert not at.exception
    ids = _log_table(at).value["event_id"].tolist()
    assert ids[1:] == ["https://dashboard.stripe.com/test/events/evt_old",
                       "https://dashboard.stripe.com/test/events/evt_new"], ids


def test_events_chart_ticks_follow_the_grain(app_env, seeded_db) -> None:
    """Issue 20.5: monthly bars sat under day ticks. Month grain: month ticks ("%b %Y", every month)."""
    app_env(seeded_db)
    at = run_app("webhooks")
    at.segmented_control(key="webhook_grain").set_value("month").run()
    assert not at.exception
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "events_chart" in c.proto.id)
    axis = orjson.loads(chart.proto.spec)["layout"]["xaxis"]
    assert (axis["dtick"], axis["tickformat"]) == ("M1", "%b %Y")
    at.segmented_control(key="webhook_grain").set_value("day").run()
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "events_chart" in c.proto.id)
    assert orjson.loads(chart.proto.spec)["layout"]["xaxis"]["tickformat"].startswith("%-d %b")
