"""Every page checks its own role (opened on its own, not only hidden from the navigation), Sync now / Load demo
check the presser's role at click time and audit every answer, and an unverified OIDC email gets no role."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard import roles
from dashboard.context import get_store
from dashboard.scheduler import get_scheduler
from sync import audit
from tests.conftest import APP, ROOT, texts
from tests.pages.test_roles_nav import page_registered

SECRETS = """
[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "test-cookie-secret-not-used"
client_id = "payops-test"
client_secret = "not-a-real-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"

[payops.roles]
"eng@example.com" = "engineer"
"vic@example.com" = "viewer"
"example.org" = "admin"
"""


def auth_app(tmp_path: Path, user: dict[str, Any]) -> Any:
    from streamlit.testing.v1 import AppTest

    folder = tmp_path / "cwd" / ".streamlit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secrets.toml").write_text(SECRETS)
    at = AppTest.from_file(APP, default_timeout=30)
    at.user = user
    return at


def verified(email: str) -> dict[str, Any]:
    return {"is_logged_in": True, "email": email, "email_verified": True}


@pytest.mark.parametrize(("page", "allowed"), [
    ("revenue", "admin, finance, viewer"), ("mrr", "admin, finance, viewer"), ("webhooks", "admin, engineer"),
    ("sync_health", "admin, engineer"),
])
def test_a_role_the_table_refuses_is_refused_by_the_page_itself(page: str, allowed: str, app_env, seeded_db,
                                                                monkeypatch) -> None:
    """Run the page file on its own (as a URL the navigation does not list would): it must stop, saying why.
    roles.PAGE_ROLES lets viewers see revenue and MRR, so support is the refused role there."""
    from streamlit.testing.v1 import AppTest

    role = "viewer" if "viewer" not in allowed else "support"
    monkeypatch.setenv("PAYOPS_ROLE", role)
    app_env(seeded_db)
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"Your role ({role}) may not use this page; it needs {allowed}. "
                                           "Ask an admin."]
    assert not at.title and not at.metric and not at.dataframe and not at.button


def test_a_viewer_gets_no_sync_or_demo_button(app_env, seeded_db, tmp_path) -> None:
    app_env(seeded_db)
    at = auth_app(tmp_path, verified("vic@example.com"))
    at.run()
    assert not page_registered(at, "sync_health")
    at = auth_app(tmp_path, verified("vic@example.com"))
    at.run()
    at.switch_page("../pages/revenue.py").run()  # a page the viewer may use: no store-changing button anywhere
    assert not [b for b in at.button if b.key in ("load_demo", "sync_now")]


def test_a_role_that_sees_the_page_but_may_not_press_gets_a_disabled_button(app_env, seeded_db, tmp_path,
                                                                            monkeypatch) -> None:
    """If the page table ever lets a role in that the action table does not, the button shows, disabled, with why."""
    monkeypatch.setitem(roles.PAGE_ROLES, "sync", frozenset({"viewer", "engineer", "admin"}))
    app_env(seeded_db)
    at = auth_app(tmp_path, verified("vic@example.com"))
    at.run()
    at.switch_page("../pages/sync_health.py").run()
    assert not at.exception
    assert at.button(key="load_demo").disabled
    assert "Your role (viewer) may not demo load" in texts(at)


def test_a_press_after_the_role_was_taken_away_is_refused_and_audited(app_env, seeded_db, tmp_path) -> None:
    app_env(seeded_db)
    at = auth_app(tmp_path, verified("eng@example.com"))
    at.run()
    at.switch_page("../pages/sync_health.py").run()
    assert not at.button(key="load_demo").disabled  # an engineer may load the demo data
    at.user = verified("vic@example.com")  # the same session is now a viewer
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert not get_scheduler().status().running and get_scheduler().status().last_status == ""
    entries = audit.export(get_store())
    assert entries[["actor", "role", "action", "target"]].to_dict("records") == [
        {"actor": "vic@example.com", "role": "viewer", "action": "demo_load.refused", "target": "demo"}]
    assert "may not demo load" in entries.iloc[0]["error"]


class _Gate:
    """A provider whose listing waits on a gate, so a run stays going while the test presses again."""

    name = "stripe"
    resources = ("customers",)

    def __init__(self) -> None:
        self.gate = threading.Event()

    def list_objects(self, resource: str, created_gt: int | None, created_lte: int | None) -> Iterator[dict]:
        self.gate.wait(10)
        yield from ()

    def list_events(self, created_gt: int) -> Iterator[dict]:
        yield from ()


def test_a_press_while_a_run_goes_is_answered_and_audited(app_env, seeded_db, tmp_path) -> None:
    app_env(seeded_db)
    at = auth_app(tmp_path, verified("eng@example.com"))
    at.run()
    at.switch_page("../pages/sync_health.py").run()
    scheduler = get_scheduler()
    provider = _Gate()
    scheduler._provider_factory = lambda: provider  # another session's sync, started after this page was drawn
    assert scheduler.start_sync(trigger="schedule")
    try:
        at.button(key="load_demo").click().run()
        assert not at.exception
        assert any("already going" in i.value for i in at.info), texts(at)
    finally:
        provider.gate.set()
        assert scheduler.wait(timeout=20)
    entries = audit.export(get_store())
    assert entries[["actor", "role", "action", "target"]].to_dict("records") == [
        {"actor": "eng@example.com", "role": "engineer", "action": "demo_load.already_running", "target": "demo"}]


@pytest.mark.parametrize("claim", [{"email_verified": False}, {}])
def test_an_unverified_email_is_refused_with_the_reason(claim: dict[str, Any], app_env, seeded_db, tmp_path) -> None:
    app_env(seeded_db)
    at = auth_app(tmp_path, {"is_logged_in": True, "email": "ana@example.org"} | claim)  # example.org = admin
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [roles.UNVERIFIED_EMAIL]
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    at.switch_page("../pages/payments.py").run()  # nothing is served, even asked for directly
    assert [t.value for t in at.title] == ["PayOps"] and not at.dataframe
    assert [e.value for e in at.error] == [roles.UNVERIFIED_EMAIL]
    at = auth_app(tmp_path, verified("ana@example.org"))
    at.run()
    at.run()
    assert not at.error and page_registered(at, "audit")
