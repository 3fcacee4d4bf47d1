"""Sign-in and roles on the pages (AppTest): the navigation leaves out what a role may not use, sign-in is required
once [auth] is configured, demo mode says how to enable actions, and a role taken away between showing an action
and clicking it is refused by the guard and audited (stripe-stateful-mock as the provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard.context import get_store
from dashboard.navigation import allowed_pages
from dashboard.text import literal
from sync import audit
from sync.providers import stripe_writes as sw
from tests.conftest import run_app, texts
from tests.pages.conftest import shown, shown_texts
from tests.pages.test_actions_refund import point_app_at_peer, store_from_peer
from tests.peer import mock_servers

stateful_mock_url = mock_servers.stateful_mock_url  # fixture
stateful_client = mock_servers.stateful_client  # fixture

SECRETS = """
[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "test-cookie-secret-not-used"
client_id = "payops-test"
client_secret = "not-a-real-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"

[payops.roles]
"sam@example.com" = "support"
"vic@example.com" = "viewer"
"example.org" = "admin"
"""


def write_auth_secrets(tmp_path: Path) -> None:
    """Secrets with [auth] and a role map, in the cwd app_env moved the test to."""
    folder = tmp_path / "cwd" / ".streamlit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secrets.toml").write_text(SECRETS)


def page_registered(at: Any, page: str) -> bool:
    try:
        at.switch_page(f"../pages/{page}.py")
    except ValueError:
        return False
    return True


def test_allowed_pages_follow_the_role_table() -> None:
    viewer = allowed_pages("viewer")
    assert "audit.py" not in viewer and "disputes.py" not in viewer and "webhooks.py" not in viewer
    assert "payments.py" in viewer and "revenue.py" in viewer
    assert {"audit.py", "approvals.py", "webhooks.py", "disputes.py"} <= set(allowed_pages("admin"))
    assert "revenue.py" not in allowed_pages("support") and "approvals.py" in allowed_pages("support")


def test_local_viewer_does_not_get_the_restricted_pages(app_env, seeded_db, monkeypatch) -> None:
    monkeypatch.setenv("PAYOPS_ROLE", "viewer")
    app_env(seeded_db)
    at = run_app()
    assert not at.exception
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert "Signed in as **local-operator** (viewer)" in sidebar
    assert not page_registered(at, "audit") and not page_registered(at, "disputes")
    assert page_registered(at, "payments")


def test_demo_mode_says_actions_need_a_test_key(app_env, seeded_db) -> None:
    app_env(seeded_db)
    at = run_app("payments", query={"payment": "ch_usd2"})
    assert not at.exception
    info = "\n".join(i.value for i in at.info)
    assert "Stripe **test** key" in info and "STRIPE_SECRET_KEY" in info


def test_sign_in_is_required_once_auth_is_configured(app_env, seeded_db, tmp_path) -> None:
    write_auth_secrets(tmp_path)
    app_env(seeded_db)
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP

    at = AppTest.from_file(APP, default_timeout=30)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Sign in to use PayOps" in shown_texts(at)
    at.switch_page("../pages/payments.py").run()  # nothing is served before sign-in, even asked for directly
    assert [t.value for t in at.title] == ["PayOps"] and not at.dataframe

    at.user = {"is_logged_in": True, "email": "vic@example.com", "email_verified": True}
    at.run()
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert f"Signed in as **{literal('vic@example.com')}** (viewer)" in sidebar
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert page_registered(at, "payments") and not page_registered(at, "audit")

    at.user = {"is_logged_in": True, "email": "ana@example.org", "email_verified": True}  # by domain
    at.run()
    assert f"Signed in as **{literal('ana@example.org')}** (admin)" in "\n".join(c.value for c in at.sidebar.caption)
    assert page_registered(at, "audit")


@pytest.mark.peer
def test_role_taken_away_before_the_click_is_refused_and_audited(stateful_client, stateful_mock_url, app_env,
                                                                 monkeypatch, tmp_path) -> None:
    charge = sw.get_charge(stateful_client, stateful_client.v1.charges.create(
        {"amount": 2000, "currency": "usd", "source": "tok_visa"}).id)
    cid = charge["id"]
    db = tmp_path / "roles.duckdb"
    store_from_peer(db, [charge])
    write_auth_secrets(tmp_path)
    point_app_at_peer(monkeypatch, app_env, db, stateful_mock_url)
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP

    at = AppTest.from_file(APP, default_timeout=30)
    at.user = {"is_logged_in": True, "email": "sam@example.com", "email_verified": True}  # support: may refund
    at.query_params["payment"] = cid
    at.run()
    at.switch_page("../pages/payments.py").run()
    at.toggle(key=f"refund_open_{cid}").set_value(True).run()
    at.text_input(key=f"refund_amount_{cid}").set_value("5.00").run()
    at.text_input(key=f"action_typed_refund_{cid}").set_value(f"5.00 {cid[-4:]}").run()

    at.user = {"is_logged_in": True, "email": "vic@example.com",
               "email_verified": True}  # the same session is now a viewer
    at.button(key=f"action_button_refund_{cid}").click().run()
    assert not at.exception
    assert any("Your role (viewer) may not refund" in shown(e.value) for e in at.error), texts(at)
    assert sw.list_refunds(stateful_client, cid) == []
    entries = audit.export(get_store())
    assert entries[["actor", "role", "action", "target"]].to_dict("records") == [
        {"actor": "vic@example.com", "role": "viewer", "action": "refund.refused", "target": f"stripe:{cid}"}]
    # The viewer no longer gets the refund form at all.
    assert not [t for t in at.toggle if t.key == f"refund_open_{cid}"]
    assert "Your role (viewer) may not refund" in shown("\n".join(c.value for c in at.caption))
