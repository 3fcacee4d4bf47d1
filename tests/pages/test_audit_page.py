"""The Audit page (the keyed chain check first: verified, edited at entry N, entries missing after N; the log with
CSV export; the action journal) and the Approvals page, by AppTest: entries written by the real `sync.audit.append`,
an altered row and a truncated log caught, and a second approver approving a refund above the limit against
stripe-stateful-mock."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.text import literal
from sync import audit
from sync.providers import stripe_writes as sw
from sync.store import Store
from tests.conftest import APP, run_app, texts
from tests.pages.test_actions_refund import point_app_at_peer, store_from_peer
from tests.pages.test_roles_nav import SECRETS
from tests.peer import mock_servers

stateful_mock_url = mock_servers.stateful_mock_url  # fixture
stateful_client = mock_servers.stateful_client  # fixture


def write_entries(db: Path) -> None:
    store = Store(f"duckdb:///{db}")
    try:
        audit.append(store, actor="sam@example.com", role="support", action="refund.started", target="stripe:ch_1",
                     params={"amount": 500})
        audit.append(store, actor="sam@example.com", role="support", action="refund.succeeded", target="stripe:ch_1",
                     params={"amount": 500}, provider_request_id="req_1", result={"id": "re_1"})
        audit.append(store, actor="vic@example.com", role="viewer", action="refund.refused", target="stripe:ch_2",
                     error="Your role (viewer) may not refund")
    finally:
        store.close()


def test_audit_page_shows_entries_and_a_verified_chain(app_env, seeded_db) -> None:
    write_entries(seeded_db)
    app_env(seeded_db)
    at = run_app("audit")
    assert not at.exception
    assert [s.value for s in at.success] == ["Audit chain verified: " + literal(
        "Verified: all 3 audit entries are intact and the log ends where its head record says (entry 3).")]
    assert not at.error
    assert f"{seeded_db.name}.audit-head" in texts(at).replace("\\", "")  # where the head record is kept
    log = at.dataframe[0].value
    assert log["seq"].tolist() == [3, 2, 1]  # newest first
    assert log["action"].tolist() == ["refund.refused", "refund.succeeded", "refund.started"]
    assert log.loc[log["seq"] == 2, "provider_request_id"].tolist() == ["req_1"]
    assert any(b.label == "Download the audit log (CSV)" for b in at.get("download_button"))

    at.text_input(key="audit_action").set_value("refund.refused").run()
    assert at.dataframe[0].value["actor"].tolist() == ["vic@example.com"]


def test_an_altered_row_breaks_the_chain_on_the_page(app_env, seeded_db) -> None:
    write_entries(seeded_db)
    store = Store(f"duckdb:///{seeded_db}")
    try:
        with store.begin() as conn:  # someone edits the refusal out of entry 2's record
            conn.exec_driver_sql("UPDATE audit_log SET provider_request_id = 'req_forged' WHERE seq = 2")
    finally:
        store.close()
    app_env(seeded_db)
    at = run_app("audit")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Audit chain BROKEN: Edited at entry 2: its contents no longer "
                                                     "match its hash."), errors
    assert "refuses every write to Stripe" in errors[0]
    assert not at.success


def test_entries_removed_from_the_end_show_as_missing_on_the_page(app_env, seeded_db) -> None:
    write_entries(seeded_db)
    store = Store(f"duckdb:///{seeded_db}")
    try:
        with store.begin() as conn:  # someone removes the newest entry (the refusal) from the store
            conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 3")
    finally:
        store.close()
    app_env(seeded_db)
    at = run_app("audit")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(
        "Audit chain BROKEN: Entries missing after 2: the head record kept outside the store says the log had 3 "
        "entries, and the table ends at entry 2."), errors
    assert not at.success
    assert at.dataframe[0].value["seq"].tolist() == [2, 1]  # what is left is still shown


def test_a_fresh_store_shows_verified(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("audit")
    assert not at.exception
    assert [s.value[:36] for s in at.success] == ["Audit chain verified: Verified: the "]
    assert not at.error


@pytest.mark.peer
def test_second_approver_approves_on_the_approvals_page(stateful_client, stateful_mock_url, app_env, monkeypatch,
                                                        tmp_path) -> None:
    charge = sw.get_charge(stateful_client, stateful_client.v1.charges.create(
        {"amount": 9000, "currency": "usd", "source": "tok_visa"}).id)
    cid = charge["id"]
    db = tmp_path / "approve.duckdb"
    store_from_peer(db, [charge])
    folder = tmp_path / "cwd" / ".streamlit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secrets.toml").write_text(SECRETS + "\n[payops.actions]\napproval_above = { USD = 5000 }\n")
    point_app_at_peer(monkeypatch, app_env, db, stateful_mock_url)

    at = AppTest.from_file(APP, default_timeout=30)
    at.user = {"is_logged_in": True, "email": "sam@example.com", "email_verified": True}  # support asks
    at.query_params["payment"] = cid
    at.run()
    at.switch_page("../pages/payments.py").run()
    at.toggle(key=f"refund_open_{cid}").set_value(True).run()
    at.text_input(key=f"refund_amount_{cid}").set_value("60.00").run()
    assert "second user must approve" in texts(at)
    at.text_input(key=f"action_typed_refund_{cid}").set_value(f"60.00 {cid[-4:]}").run()
    button = at.button(key=f"action_button_refund_{cid}")
    assert button.label == "Ask for approval"
    button.click().run()
    assert any(i.value.startswith("Sent for approval") for i in at.info), texts(at)
    assert sw.list_refunds(stateful_client, cid) == []

    at.user = {"is_logged_in": True, "email": "ana@example.org", "email_verified": True}  # an admin approves
    at.switch_page("../pages/approvals.py").run()
    assert not at.exception
    pending = at.dataframe[0].value
    assert pending["target_id"].tolist() == [cid] and pending["requested_by"].tolist() == ["sam@example.com"]
    action_id = pending["id"][0]
    at.selectbox(key="approval_pick").set_value(action_id).run()
    at.text_input(key=f"approval_typed_approve_{action_id}").set_value(f"60.00 {cid[-4:]}").run()
    at.button(key=f"approval_button_approve_{action_id}").click().run()
    assert not at.exception
    assert any("Done: refund" in s.value for s in at.success), texts(at)
    assert [r["amount"] for r in sw.list_refunds(stateful_client, cid)] == [6000]
    assert "Nothing is waiting for approval." in texts(at)
