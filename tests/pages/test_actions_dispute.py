"""Answering a dispute on the Disputes page (AppTest). The dispute is a real one from stripe-stateful-mock
(`tok_createDispute`), stored through the normaliser; the page shows it with its deadline.

stripe-stateful-mock serves disputes read-only (`GET /v1/disputes/:id`; a POST answers "No matching path") and
localstripe has no disputes, so no peer here can stage evidence. The first test shows the page turns that refusal
into a plain, audited failure; the second stages evidence against a HAND-WRITTEN fake (`_DisputeFake`: GET and POST
`/v1/disputes/{id}` over the mock's own dispute object, Stripe's form encoding) because no peer covers the update.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from dashboard.context import get_store
from sync import audit
from sync.providers import stripe_writes as sw
from tests.conftest import run_app, texts
from tests.pages.conftest import shown, shown_texts
from tests.pages.test_actions_refund import point_app_at_peer, store_from_peer
from tests.peer import mock_servers

stateful_mock_url = mock_servers.stateful_mock_url  # fixture
stateful_client = mock_servers.stateful_client  # fixture

pytestmark = pytest.mark.peer
EVIDENCE = "Delivered 2026-11-02 to the cardholder's address; signed proof attached to the ticket."


def disputed_charge(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    charge = client.v1.charges.create({"amount": 4200, "currency": "usd", "source": "tok_createDispute"})
    for _ in range(100):  # the mock attaches the dispute on its next tick
        fresh = sw.get_charge(client, charge.id)
        if fresh.get("dispute"):
            break
        time.sleep(0.02)
    dispute_id = fresh["dispute"] if isinstance(fresh["dispute"], str) else fresh["dispute"]["id"]
    return fresh, sw.get_dispute(client, dispute_id)


def open_stage_form(at: Any, dispute: dict[str, Any]) -> Any:
    did = dispute["id"]
    at.selectbox(key="dispute_pick").set_value(did).run()
    at.text_area(key=f"dispute_text_{did}").set_value(EVIDENCE).run()
    return at


def stage(at: Any, did: str) -> Any:
    at.text_input(key=f"action_typed_dispute_stage_{did}").set_value(f"EVIDENCE {did[-4:]}").run()
    at.button(key=f"action_button_dispute_stage_{did}").click().run()
    return at


def test_dispute_in_view_with_deadline_and_the_mock_refusal_is_plain(stateful_client, stateful_mock_url, app_env,
                                                                     monkeypatch, tmp_path) -> None:
    charge, dispute = disputed_charge(stateful_client)
    db = tmp_path / "dispute.duckdb"
    store_from_peer(db, [charge, dispute])
    point_app_at_peer(monkeypatch, app_env, db, stateful_mock_url)
    did = dispute["id"]

    at = open_stage_form(run_app("disputes"), dispute)
    assert not at.exception
    due = time.strftime("%Y-%m-%d %H:%M", time.gmtime(dispute["evidence_details"]["due_by"]))
    assert {m.label: m.value for m in at.metric}["Evidence due"] == f"{due} UTC"
    assert f"Stage evidence (not submitted yet) for dispute {did} of 42.00 USD (fraudulent); evidence due {due} UTC" \
        in shown_texts(at)
    stage(at, did)
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert any("No matching path" in e for e in errors), errors  # the peer's own answer, as one plain line
    entries = audit.export(get_store())
    assert entries.action.tolist() == ["dispute_update.started", "dispute_update.failed"]


class _DisputeFake:
    """Hand-written: GET/POST /v1/disputes/{id} over one dispute object (see the module docstring)."""

    def __init__(self, dispute: dict[str, Any]) -> None:
        self.dispute = dict(dispute)
        self.posts: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", f"req_fake{len(fake.posts)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?")[0] == f"/v1/disputes/{fake.dispute['id']}":
                    return self._answer(200, fake.dispute)
                return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such object"}})

            def do_POST(self) -> None:  # noqa: N802
                form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                fake.posts.append(form)
                if self.path != f"/v1/disputes/{fake.dispute['id']}":
                    return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such path"}})
                evidence = {k[9:-1]: v for k, v in form.items() if k.startswith("evidence[")}
                metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
                fake.dispute["evidence"] = {**(fake.dispute.get("evidence") or {}), **evidence}
                fake.dispute["metadata"] = {**(fake.dispute.get("metadata") or {}), **metadata}
                details = dict(fake.dispute.get("evidence_details") or {})
                details["has_evidence"] = True
                fake.dispute["evidence_details"] = details
                if form.get("submit") == "true":
                    fake.dispute["status"] = "under_review"
                return self._answer(200, fake.dispute)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_stage_evidence_through_the_page(stateful_client, app_env, monkeypatch, tmp_path) -> None:
    charge, dispute = disputed_charge(stateful_client)
    db = tmp_path / "stage.duckdb"
    store_from_peer(db, [charge, dispute])
    fake = _DisputeFake(dispute)
    try:
        point_app_at_peer(monkeypatch, app_env, db, fake.url)
        did = dispute["id"]
        at = stage(open_stage_form(run_app("disputes"), dispute), did)
        assert not at.exception
        assert any(f"dispute {did} is needs_response" in shown(s.value) for s in at.success), texts(at)
        # One POST, not submitted, with the evidence text and the action id for reconciliation.
        assert len(fake.posts) == 1
        post = fake.posts[0]
        assert post["submit"] == "false" and post["evidence[uncategorized_text]"] == EVIDENCE
        assert post["metadata[payops_action_id]"].startswith("act_")
        # The store shows the staged evidence at once (the guard applied Stripe's answer).
        stored = get_store().query("SELECT status, has_evidence FROM disputes WHERE id = :d", {"d": did})
        assert stored.to_dict("records") == [{"status": "needs_response", "has_evidence": True}]
    finally:
        fake.close()
