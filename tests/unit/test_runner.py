"""Runner logic no peer can show: the 30-day event gap, windows, failure and resume, and 429 Retry-After.

`FakeProvider` is a hand-written fake: localstripe cannot age events past 30 days, fail on demand, or hold
thousands of objects cheaply. The 429 test instead drives the real StripeProvider and official SDK against a
tiny loopback HTTP server that answers 429 with Retry-After, because no peer answers 429 to list calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from sync import runner
from sync.errors import ProviderUnavailableError
from sync.providers.stripe import StripeProvider
from sync.runner import EVENT_RETENTION, run_sync
from sync.store import Store

NOW = 1_790_000_000  # 2026-09-21
DAY = 86400


class FakeProvider:
    name = "stripe"
    resources = ("customers", "charges", "events")

    def __init__(self) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {"customers": [], "charges": [], "events": []}
        self.calls: list[tuple[str, int | None, int | None]] = []
        self.fail_after: int | None = None

    def list_objects(self, resource: str, created_gt: int | None, created_lte: int | None) -> Iterator[dict]:
        self.calls.append((resource, created_gt, created_lte))
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise ProviderUnavailableError("Could not reach Stripe after retries. Check the network.")
        lo = -1 if created_gt is None else created_gt
        hi = 1 << 62 if created_lte is None else created_lte
        # Newest first and with one duplicate, like a list that shifted under pagination.
        hits = [o for o in self.objects[resource] if lo < o["created"] <= hi]
        yield from sorted(hits, key=lambda o: -o["created"]) + hits[:1]

    def list_events(self, created_gt: int) -> Iterator[dict]:
        return self.list_objects("events", created_gt, None)


def charge(i: int, created: int, amount: int = 1000) -> dict[str, Any]:
    return {"id": f"ch_{i:06d}", "object": "charge", "created": created, "amount": amount, "currency": "usd",
            "status": "succeeded"}


def test_backfill_windows_checkpoint_sort_and_dedupe(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "TARGET_PER_WINDOW", 40)
    monkeypatch.setattr(runner, "MAX_PER_WINDOW", 100)
    provider = FakeProvider()
    # 300 charges, one every hour over the last 300 hours: denser than a 30-day window may hold.
    provider.objects["charges"] = [charge(i, NOW - i * 3600) for i in range(300)]
    seen: list[tuple[str, int, bool]] = []
    result = run_sync(store, provider, resources=["charges"], now=NOW, progress=lambda *a: seen.append(a))
    assert result.status == "succeeded" and result.counts == {"charges": 300}
    stored = store.query("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM payments").iloc[0].tolist()
    assert stored == [300, 300]
    windows = [(lo, hi) for r, lo, hi in provider.calls if r == "charges"]
    # Contiguous, from the floor to NOW, and the 300 objects never listed in one window of > 100.
    assert windows[0][0] == runner.BACKFILL_FLOOR and windows[-1][1] == NOW
    done = [w for w in windows if sum(1 for o in provider.objects["charges"] if w[0] < o["created"] <= w[1]) <= 100]
    assert all(a[1] == b[0] for a, b in zip(done, done[1:], strict=False))
    assert seen[-1] == ("charges", 300, True)
    state = store.get_state("stripe", "charges")
    assert state["backfill_done"] and state["backfill_through"] == NOW


def test_a_failed_run_is_recorded_and_the_next_resumes_from_its_checkpoint(store: Store) -> None:
    provider = FakeProvider()
    provider.objects["customers"] = [{"id": f"cus_{i}", "object": "customer", "created": NOW - i * DAY}
                                     for i in range(5)]
    provider.objects["charges"] = [charge(i, NOW - i * DAY) for i in range(5)]
    provider.fail_after = 7  # events (1 window) + customers (5 windows from 2011) + 1 charges window
    failed = run_sync(store, provider, now=NOW)
    assert failed.status == "failed" and "Could not reach Stripe" in (failed.error or "")
    run = store.query("SELECT status, error FROM sync_runs").iloc[0].tolist()
    assert run[0] == "failed" and "Could not reach" in run[1]
    charges_state = store.get_state("stripe", "charges")
    assert not charges_state["backfill_done"] and "Could not reach" in charges_state["last_error"]
    checkpoint = charges_state["backfill_through"]
    assert checkpoint > runner.BACKFILL_FLOOR  # one window was done and checkpointed

    provider.fail_after = None
    provider.calls.clear()
    resumed = run_sync(store, provider, now=NOW)
    assert resumed.status == "succeeded"
    first_charges_window = next((lo, hi) for r, lo, hi in provider.calls if r == "charges")
    assert first_charges_window[0] == checkpoint  # resumed, not restarted from the floor
    assert all(lo >= NOW - 3 * DAY - runner.EVENT_OVERLAP for r, lo, hi in provider.calls if r == "customers")
    assert store.query("SELECT COUNT(*) AS n FROM payments")["n"][0] == 5


def test_cursor_older_than_30_days_is_a_gap_detected_recorded_and_healed(store: Store) -> None:
    provider = FakeProvider()
    first = NOW - 45 * DAY
    provider.objects["charges"] = [charge(1, first - 10 * DAY)]
    assert run_sync(store, provider, now=first).status == "succeeded"

    # 45 days later: a charge created during the gap, and events only from the last 30 days.
    provider.objects["charges"].append(charge(2, first + 5 * DAY))
    provider.objects["events"] = [{"id": "evt_recent", "object": "event", "type": "charge.updated",
                                   "created": NOW - DAY, "data": {"object": charge(1, first - 10 * DAY, amount=999)}}]
    provider.calls.clear()
    result = run_sync(store, provider, now=NOW, lookback_days=3)

    assert result.status == "succeeded"
    assert result.gap_message and "30 days" in result.gap_message and "--full" in result.gap_message
    state = store.get_state("stripe", "events")
    assert state["gap_detected_at"] is not None and state["gap_message"] == result.gap_message
    assert state["event_cursor"] == NOW
    events_from = next(lo for r, lo, hi in provider.calls if r == "events")
    assert events_from == NOW - EVENT_RETENTION  # only what Stripe still keeps
    charges_from = next(lo for r, lo, hi in provider.calls if r == "charges")
    assert charges_from <= first - 3 * DAY  # re-listed from the old cursor minus the lookback
    amounts = dict(store.query("SELECT id, amount FROM payments").values.tolist())
    # ch_000002 came only through the healing re-list; ch_000001's change through the event.
    assert amounts == {"ch_000001": 999, "ch_000002": 1000}

    provider.calls.clear()
    again = run_sync(store, provider, now=NOW + 600)
    assert again.gap_message is None
    assert next(lo for r, lo, hi in provider.calls if r == "events") == NOW - runner.EVENT_OVERLAP


def test_unknown_resource_is_refused_before_anything_is_written(store: Store) -> None:
    with pytest.raises(Exception, match="Unknown resource payouts"):
        run_sync(store, FakeProvider(), resources=["payouts"], now=NOW)
    assert store.query("SELECT COUNT(*) AS n FROM sync_runs")["n"][0] == 0


class _RateLimitedStripe(BaseHTTPRequestHandler):
    """Answers the first two list calls 429 (Retry-After: 2), then a one-page list."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).hits.append(self.path)
        if len(type(self).hits) <= 2:
            body = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}
            self._send(429, body, {"Retry-After": "2"})
        else:
            self._send(200, {"object": "list", "url": "/v1/customers", "has_more": False,
                             "data": [{"id": "cus_1", "object": "customer", "created": NOW - 10}]})

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_429_waits_for_retry_after_slows_down_and_finishes() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimitedStripe)
    _RateLimitedStripe.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = stripe.StripeClient("sk_test_429", base_addresses={"api": f"http://127.0.0.1:{server.server_port}"},
                                     max_network_retries=2)
        slept: list[float] = []
        provider = StripeProvider(client, rate_limit=20.0, sleep=slept.append)
        objs = list(provider.list_objects("customers", NOW - 100, NOW))
    finally:
        server.shutdown()
        server.server_close()
    assert [o["id"] for o in objs] == ["cus_1"]
    assert len(_RateLimitedStripe.hits) == 3  # the SDK itself did not retry the 429s
    assert slept.count(2.0) == 2  # Retry-After honoured each time
    assert provider.rate_limited == 2 and provider.pacer.rate == 5.0  # 20 -> 10 -> 5 requests/s
    assert "created%5Bgt%5D=" in _RateLimitedStripe.hits[-1] and "created%5Blte%5D=" in _RateLimitedStripe.hits[-1]


def test_a_provider_error_with_a_key_in_it_is_stored_and_shown_redacted(store: Store) -> None:
    # Stripe's own text for a bad key quotes the key; the run must store (and the page show) none of it.
    from sync.errors import ProviderAuthError

    key = "sk_test_51HxYzAbCdEfGhIjKlMnOpQrStUv"

    class LeakyProvider(FakeProvider):
        def list_objects(self, resource: str, created_gt: int | None, created_lte: int | None) -> Iterator[dict]:
            raise ProviderAuthError(f"Stripe rejected the API key: Invalid API Key provided: {key}")
            yield {}

    failed = run_sync(store, LeakyProvider(), now=NOW)
    assert failed.status == "failed" and key not in (failed.error or "") and "[redacted]" in (failed.error or "")
    run_error = store.query("SELECT error FROM sync_runs")["error"][0]
    state_error = store.get_state("stripe", "events")["last_error"]
    for text in (run_error, state_error):
        assert "sk_test_51" not in text and "[redacted]" in text and "Invalid API Key provided" in text
