"""The webhook receiver over real HTTP on 127.0.0.1: the bad-input corpus, 500 concurrent deliveries (every 2xx
is in the store after a SIGKILL), and localstripe's own webhook sender delivering signed events.

The server is the REAL entry, `streamlit run dashboard/server.py` (pages + `POST /webhooks/stripe` in one
process), reading PAYOPS_DATABASE_URL and STRIPE_WEBHOOK_SECRET from the environment. It logs one line per
delivery at PAYOPS_LOG_LEVEL=INFO, which is how a test knows the deliveries were answered. The store is checked
only after the server process has ended, because DuckDB lets one process hold the file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import stripe

from sync.store import Store
from tests.builders import stripe as stripe_builders
from tests.peers import free_port, make_client, server_command, server_env, start_localstripe, wait_for_health

pytestmark = pytest.mark.peer

SECRET = "whsec_peer_receiver"
ANSWERED = "webhook whd_"  # the receiver's log line once a delivery is recorded and answered
CHARGE = stripe_builders.charge()


class Receiver:
    """The server process under test, its DuckDB file, and the lines it printed (one per answered delivery)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/stripe"
        env = server_env(db, PAYOPS_LOG_LEVEL="INFO", STRIPE_WEBHOOK_SECRET=f"{SECRET},whsec_previous")
        # cwd beside the store: no project secrets.toml is read.
        self.proc = subprocess.Popen(server_command(self.port), cwd=db.parent, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            wait_for_health(f"http://127.0.0.1:{self.port}", self.proc)
        except RuntimeError as exc:
            self.stop(kill=True)
            pytest.fail(f"{exc}:\n" + "".join(self.lines[-40:]))

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def wait_for_answers(self, count: int, timeout: float) -> None:
        """Wait until the log shows `count` answered webhook deliveries (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(ANSWERED in line for line in self.lines) >= count:
                return
            time.sleep(0.05)

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Query the server's store once the server has stopped."""
        assert self.proc.poll() is not None, "stop the server before reading its store"
        store = Store(f"duckdb:///{self.db}")
        try:
            return store.query(sql, params).to_dict("records")
        finally:
            store.close()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    server = Receiver(tmp_path / "payops.duckdb")
    try:
        yield server
    finally:
        server.stop(kill=True)


def charge_event(event_id: str, charge_id: str, created: int) -> bytes:
    obj = dict(CHARGE, id=charge_id, created=created)
    return orjson.dumps({"id": event_id, "object": "event", "type": "charge.succeeded", "created": created,
                         "livemode": False, "data": {"object": obj}})


def headers_for(body: bytes, secret: str = SECRET, timestamp: int | None = None, **extra: str) -> dict[str, str]:
    sig = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)
    return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": sig, **extra}


def test_bad_input_corpus_over_http(receiver: Receiver) -> None:
    now = int(time.time())
    good = charge_event("evt_http_good", "ch_http_good", now)
    sig = headers_for(good)["Stripe-Signature"]
    json_only = {"Content-Type": "application/json"}
    not_json = b"<xml/>"
    big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    # issue 15.3: a delivery captured 10 minutes ago, resent with a fresh t the SDK skips (" t" is not "t") in
    # front of its own old t, which its v1 signs. It must be refused, not applied under the fresh timestamp.
    old = now - 600
    captured = charge_event("evt_http_captured", "ch_http_captured", old)
    captured_v1 = headers_for(captured, timestamp=old)["Stripe-Signature"].split("v1=")[1]
    theirs_v1 = headers_for(captured, secret="whsec_attacker")["Stripe-Signature"].split("v1=")[1]

    def forged(signature: str) -> dict[str, str]:
        return json_only | {"Stripe-Signature": signature}

    # case -> (body, headers, expected status, expected recorded verdict)
    corpus: dict[str, tuple[bytes, dict[str, str], int, str]] = {
        "wrong-secret": (good, headers_for(good, secret="whsec_wrong"), 400, "bad_signature"),
        "tampered": (good.replace(b"ch_http_good", b"ch_http_evil"), headers_for(good), 400, "bad_signature"),
        "stale": (good, headers_for(good, timestamp=now - 600), 400, "stale_timestamp"),
        "future": (good, headers_for(good, timestamp=now + 600), 400, "future_timestamp"),
        "missing-header": (good, json_only, 400, "missing_header"),
        "no-v1": (good, json_only | {"Stripe-Signature": f"t={now},v0=" + sig.split("v1=")[1]}, 400,
                  "no_v1_signature"),
        "empty": (b"", json_only | {"Stripe-Signature": sig}, 400, "empty_body"),
        "not-json": (not_json, headers_for(not_json), 400, "not_json"),
        "2mb": (big, headers_for(big), 413, "too_large"),
        "form": (good, headers_for(good) | {"Content-Type": "text/plain"}, 415, "wrong_content_type"),
        "stale-resent-fresh-t": (captured, forged(f"v1={captured_v1}, t={now},t={old}"), 400, "duplicate_timestamp"),
        "duplicate-t": (captured, forged(f"t={old},t={now},v1={captured_v1}"), 400, "duplicate_timestamp"),
        "spaced-t": (captured, forged(f"t ={now},v1={captured_v1}"), 400, "malformed_header"),
        "stale-beside-other-secret": (captured, forged(f"t={now},v1={theirs_v1},v1={captured_v1}"), 400,
                                      "bad_signature"),
        "stale-alone": (captured, forged(f"t={old},v1={captured_v1}"), 400, "stale_timestamp"),
        "good": (good, headers_for(good, secret="whsec_previous"), 200, "ok"),
    }
    with httpx.Client(timeout=30) as client:
        answers = {case: client.post(receiver.url, content=body, headers=headers | {"X-Test-Case": case})
                   for case, (body, headers, _, _) in corpus.items()}
    assert {case: r.status_code for case, r in answers.items()} == {c: v[2] for c, v in corpus.items()}
    assert all(r.headers["content-type"] == "application/json" for r in answers.values())
    assert answers["stale"].json()["error"] == "stale_timestamp"
    assert answers["stale-resent-fresh-t"].json()["error"] == "duplicate_timestamp"
    receiver.stop()
    rows = receiver.rows("SELECT headers, verdict, status_code, outcome, remote_addr, signature_timestamp "
                         "FROM webhook_deliveries")
    recorded = {orjson.loads(r["headers"])["x-test-case"]: r for r in rows}
    assert {c: (r["verdict"], r["status_code"]) for c, r in recorded.items()} == {
        c: (v[3], v[2]) for c, v in corpus.items()}
    assert recorded["good"]["outcome"] == "applied" and recorded["2mb"]["outcome"] == "rejected"
    attack = recorded["stale-resent-fresh-t"]
    # Logged as sent (both timestamps, no signature), and no timestamp claimed as the signed one.
    assert (attack["outcome"], attack["signature_timestamp"]) == ("rejected", None)
    assert orjson.loads(attack["headers"])["stripe-signature"] == f"v1=<removed>, t={now},t={old}"
    assert recorded["stale-alone"]["signature_timestamp"] == old
    assert {r["remote_addr"] for r in rows} == {"127.0.0.1"}
    assert receiver.rows("SELECT id FROM payments") == [{"id": "ch_http_good"}]


def test_500_concurrent_deliveries_every_2xx_is_in_the_store(receiver: Receiver) -> None:
    now = int(time.time())
    bodies = [charge_event(f"evt_c{i}", f"ch_c{i}", now) for i in range(450)]
    bodies += bodies[:50]  # 50 of them delivered twice, concurrently with the first copy

    async def send_all() -> list[tuple[str, int]]:
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            async def send(body: bytes) -> tuple[str, int]:
                try:
                    response = await client.post(receiver.url, content=body, headers=headers_for(body))
                except httpx.HTTPError:
                    return orjson.loads(body)["id"], 0
                return orjson.loads(body)["id"], response.status_code

            return await asyncio.gather(*(send(b) for b in bodies))

    # A fresh thread: Playwright's sync API (the browser tests) may leave an event loop running on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, send_all()).result()
    acked = [event_id for event_id, status in answers if 200 <= status < 300]
    assert len(acked) >= 450  # a refused connection would be retried by Stripe; none is expected here
    receiver.stop(kill=True)  # no graceful shutdown: an acknowledged delivery must already be on disk
    applied = receiver.rows(
        "SELECT d.event_id, COUNT(*) AS n FROM webhook_deliveries AS d JOIN payments AS p "
        "ON p.id = 'ch_' || substr(d.event_id, 5) WHERE d.outcome = 'applied' GROUP BY d.event_id")
    assert {r["event_id"] for r in applied} >= set(acked)
    assert {r["n"] for r in applied} == {1}  # each event applied exactly once, duplicates included
    outcomes = receiver.rows("SELECT outcome, COUNT(*) AS n FROM webhook_deliveries GROUP BY outcome")
    assert {r["outcome"]: r["n"] for r in outcomes} == {"applied": 450, "duplicate": 50}


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    with start_localstripe() as url:
        yield url


def test_localstripe_sender_delivers_signed_events(receiver: Receiver, localstripe_url: str) -> None:
    httpx.post(f"{localstripe_url}/_config/webhooks/payops", data={"url": receiver.url, "secret": SECRET},
               timeout=5).raise_for_status()
    client = make_client(localstripe_url, key="sk_test_payops_receiver")
    customer = client.v1.customers.create({"email": "old@example.com"})
    time.sleep(1.1)  # event versions are whole seconds: let the update be strictly newer than the create
    client.v1.customers.update(customer.id, {"email": "new@example.com"})
    client.v1.products.create({"name": "Gold"})  # product.* is not a type PayOps keeps
    receiver.wait_for_answers(3, timeout=20)  # localstripe sends each event ~1 s after it happens
    receiver.stop()
    rows = receiver.rows("SELECT event_type, verdict, status_code, outcome, headers FROM webhook_deliveries "
                         "ORDER BY event_type")
    assert [(r["event_type"], r["verdict"], r["status_code"], r["outcome"]) for r in rows] == [
        ("customer.created", "ok", 200, "applied"),
        ("customer.updated", "ok", 200, "applied"),
        ("product.created", "ok", 200, "ignored_type"),
    ]
    assert all(orjson.loads(r["headers"])["stripe-signature"].endswith(",v1=<removed>") for r in rows)
    assert receiver.rows("SELECT id, email FROM customers") == [{"id": customer.id, "email": "new@example.com"}]
