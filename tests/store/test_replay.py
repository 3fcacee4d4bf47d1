"""Replay on a real DuckDB file: re-run a stored event through the receiver's handler (skip when processed, force,
newer data kept, a failed delivery's verified body re-applied, unverified bodies refused), the 30-day rule, the
bulk dry run and the paced run, and the Stripe resend through the guard."""

from __future__ import annotations

import datetime as dt
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
import stripe

from dashboard import replay as rp
from dashboard.actions import Actor, Guard
from dashboard.filters import Filters
from sync.replay import replay_event, stored_event, too_old_to_resend
from sync.settings import Settings
from sync.store import Store
from sync.webhooks import WebhookIntake, running_intake
from tests.store.test_queries_webhooks import DEFAULT, WIDE, add_deliveries

SECRET = "whsec_replay_test"
NOW = int(time.time())


def customer_event(event_id: str, created: int, email: str, customer: str = "cus_r") -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": "customer.updated", "created": created, "livemode": False,
            "data": {"object": {"id": customer, "object": "customer", "created": created - 60, "email": email}}}


def deliver(intake: WebhookIntake, event: dict[str, Any], secret: str = SECRET) -> int:
    body = orjson.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    return intake.receive(body, {"Content-Type": "application/json", "Stripe-Signature": header})[0]


def email_of(store: Store, customer: str = "cus_r") -> str:
    return store.query("SELECT email FROM customers WHERE id = :id", {"id": customer}).iloc[0]["email"]


def test_rerun_skips_processed_and_forced_reapply_keeps_newer_data(store: Store) -> None:
    intake = WebhookIntake(store, [SECRET])
    try:
        assert deliver(intake, customer_event("evt_a", NOW - 100, "old@example.com")) == 200
        assert deliver(intake, customer_event("evt_b", NOW - 50, "new@example.com")) == 200
        assert running_intake(store) is intake
        before = intake.batches
        skipped = replay_event(store, "evt_a", actor="eng@example.com")
        assert (skipped.status, skipped.delivery_outcome) == ("skipped", "duplicate")
        forced = replay_event(store, "evt_a", force=True, actor="eng@example.com")
        assert forced.status == "newer_kept" and forced.ok
        assert intake.batches == before + 2  # both went through the server's own intake, not a second writer
    finally:
        intake.close()
    assert email_of(store) == "new@example.com"  # evt_a (older) did not overwrite evt_b's snapshot
    rows = store.query("SELECT verdict, outcome, signature_ok, headers FROM webhook_deliveries "
                       "WHERE verdict = 'replay' ORDER BY received_at").to_dict("records")
    assert [(r["outcome"], r["signature_ok"]) for r in rows] == [("duplicate", False), ("applied", False)]
    assert orjson.loads(rows[1]["headers"]) == {"x-payops-replay": "forced", "x-payops-actor": "eng@example.com"}
    # Forcing the newest event re-applies it (same version) and changes nothing.
    assert replay_event(store, "evt_b", force=True).status == "applied"
    assert email_of(store) == "new@example.com"


def test_failed_delivery_is_rerun_from_its_verified_body(seeded_store: Store) -> None:
    # evt_11 (customer.updated, cus_a -> alice@new.example) failed to apply twice; it never reached the events table.
    add_deliveries(seeded_store)
    assert seeded_store.query("SELECT id FROM events WHERE id = 'evt_11'").empty
    assert stored_event(seeded_store, "evt_11")["type"] == "customer.updated"
    result = replay_event(seeded_store, "evt_11")
    # The event (11-19 08:59) is older than the seeded cus_a snapshot (version 11-20 12:00): stored, object kept.
    assert result.status == "newer_kept"
    assert not seeded_store.query("SELECT id FROM events WHERE id = 'evt_11'").empty
    assert email_of(seeded_store, "cus_a") == "alice@example.com"
    # A second plain re-run is now a duplicate: the replay row counts as processed.
    assert replay_event(seeded_store, "evt_11").status == "skipped"


def test_unverified_body_is_never_replayed(store: Store) -> None:
    intake = WebhookIntake(store, [SECRET])
    try:
        assert deliver(intake, customer_event("evt_forged", NOW, "evil@example.com"), secret="whsec_wrong") == 400
    finally:
        intake.close()
    assert stored_event(store, "evt_forged") is None
    assert replay_event(store, "evt_forged").status == "not_found"
    assert store.query("SELECT id FROM customers").empty


def test_thirty_day_rule() -> None:
    now = 1_800_000_000
    assert too_old_to_resend(now - 30 * 86400 - 1, now) and not too_old_to_resend(now - 30 * 86400, now)
    assert too_old_to_resend(dt.datetime(2026, 1, 1), now) and not too_old_to_resend(None, now)


def test_bulk_plan_counts(seeded_store: Store) -> None:
    add_deliveries(seeded_store)
    now = int(dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC).timestamp())  # SEED_NOW: 30 days back is 10-21 12:00
    # WIDE (from 01-01): the 8 seeded events + evt_11 (11-19) + evt_10 (11-20) + evt_0 (08-01) = 11 selected.
    # processed: evt_2 (applied), evt_10 (ignored_type), evt_0 (applied) = 3. Older than 30 days: evt_6 (06-01),
    # evt_0 (08-01) = 2. Resend runs 11 - 3 processed - evt_6 (evt_0 is already counted as processed) = 7.
    resend = rp.plan(seeded_store, WIDE, "resend", now=now)
    assert (resend.selected, resend.processed, resend.too_old, len(resend.to_run)) == (11, 3, 2, 7)
    # Re-run: the age does not matter; evt_0 and evt_10 were received with bodies, evt_2 is stored: 11 - 3 = 8.
    assert len(rp.plan(seeded_store, WIDE, "rerun", now=now).to_run) == 8
    forced = rp.plan(seeded_store, WIDE, "rerun", force=True, now=now)
    assert len(forced.to_run) == 11
    failed = rp.plan(seeded_store, DEFAULT, "rerun", outcome="apply_error", now=now)
    assert failed.to_run == ["evt_11"]
    with pytest.raises(ValueError, match="mode"):
        rp.plan(seeded_store, DEFAULT, "delete", now=now)


def test_paced_run_reports_progress_and_summary(store: Store) -> None:
    intake = WebhookIntake(store, [SECRET])
    try:
        for i in range(4):
            assert deliver(intake, customer_event(f"evt_p{i}", NOW - 10 + i, f"p{i}@example.com", f"cus_p{i}")) == 200
    finally:
        intake.close()
    filters = Filters(dt.date.today() - dt.timedelta(days=1), dt.date.today() + dt.timedelta(days=1))
    plan = rp.plan(store, filters, "rerun", force=True)
    assert plan.to_run == ["evt_p0", "evt_p1", "evt_p2", "evt_p3"]
    seen: list[tuple[int, int, str]] = []
    started = time.monotonic()
    # 4 events at most one every 0.1 s: the last one starts 0.3 s after the first.
    summary = rp.run(plan.to_run, rp.rerun_one(store, force=True, actor="eng"), interval=0.1,
                     on_progress=lambda done, total, r: seen.append((done, total, r.status)))
    assert time.monotonic() - started >= 0.3
    assert seen == [(1, 4, "applied"), (2, 4, "applied"), (3, 4, "applied"), (4, 4, "applied")]
    assert summary.counts == {"applied": 4} and not summary.failures and summary.text.startswith("4 events")
    # Resend pacing: 3 Stripe requests per event at 20 req/s (test mode) = one event every 0.15 s.
    assert rp.pace_interval("resend", 20.0) == pytest.approx(0.15) and rp.pace_interval("rerun", 20.0) == 0


class _FakeStripeEvents(BaseHTTPRequestHandler):
    """GET /v1/events/{id} and POST /v1/events/{id}/retry only: neither localstripe nor stripe-stateful-mock serves
    the retry endpoint, so this hand-written peer stands in for Stripe (the real SDK still makes the calls)."""

    events: dict[str, dict[str, Any]] = {}
    retried: list[tuple[str, str]] = []

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", "req_fake")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        event = self.events.get(self.path.rsplit("/", 1)[-1].split("?")[0])
        self._send(200, event) if event else self._send(404, {"error": {"type": "invalid_request_error",
                                                                         "message": "No such event"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode()
        event_id = self.path.split("/")[3]
        self.retried.append((event_id, form))
        self._send(200, {"id": event_id, "object": "event"})

    def log_message(self, *args: Any) -> None:
        pass


def test_bulk_resend_goes_through_the_guard(store: Store) -> None:
    _FakeStripeEvents.events = {
        "evt_recent": {"id": "evt_recent", "object": "event", "type": "charge.succeeded", "created": NOW - 3600},
        "evt_ancient": {"id": "evt_ancient", "object": "event", "type": "charge.succeeded",
                        "created": NOW - 40 * 86400},
    }
    _FakeStripeEvents.retried = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeStripeEvents)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = stripe.StripeClient("sk_test_replay", base_addresses={"api": f"http://127.0.0.1:{server.server_port}"},
                                     max_network_retries=0)
        guard = Guard(store, Settings(), Actor("eng@example.com", "engineer"), client=client)
        one = rp.resend_one(guard, "we_123")
        summary = rp.run(["evt_recent", "evt_ancient"], one)
        assert summary.counts == {"resent": 1, "refused": 1}
        assert "older than 30 days" in summary.failures[0]
        assert [event_id for event_id, _ in _FakeStripeEvents.retried] == ["evt_recent"]
        assert "webhook_endpoint=we_123" in _FakeStripeEvents.retried[0][1]
        # A second run does not ask again: the guard's journal says it is done.
        assert rp.run(["evt_recent"], one).counts == {"skipped": 1}
        assert len(_FakeStripeEvents.retried) == 1
        viewer = rp.resend_one(Guard(store, Settings(), Actor(None, "viewer"), client=client), "we_123")
        assert "may not event retry" in viewer("evt_ancient").message
    finally:
        server.shutdown()
