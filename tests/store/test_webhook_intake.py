"""WebhookIntake on a real DuckDB file: every delivery recorded before its answer, dedupe, out-of-order
convergence, apply failures answered 500, unknown types acknowledged, and group commit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import stripe

from sync.store import Store
from sync.webhooks import WebhookIntake
from tests.builders import stripe as stripe_builders

SECRET = "whsec_store_test"
CHARGE = stripe_builders.charge()


@pytest.fixture
def intake(store: Store) -> Iterator[WebhookIntake]:
    i = WebhookIntake(store, [SECRET, "whsec_old"])
    yield i
    i.close()


def charge_event(event_id: str, charge_id: str, created: int, **charge: Any) -> dict[str, Any]:
    obj = dict(CHARGE, id=charge_id, created=created, **charge)
    return {"id": event_id, "object": "event", "type": "charge.updated", "created": created, "livemode": False,
            "data": {"object": obj}}


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)
    return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header,
            "Authorization": "Bearer should-not-be-kept"}


def deliver(intake: WebhookIntake, event: dict[str, Any], **sign: Any) -> tuple[int, dict[str, Any]]:
    body = orjson.dumps(event)
    return intake.receive(body, signed(body, **sign), "127.0.0.1")


def deliveries(store: Store) -> list[dict[str, Any]]:
    return store.query("SELECT * FROM webhook_deliveries ORDER BY received_at").to_dict("records")


def test_valid_delivery_is_recorded_applied_and_answered_200(store: Store, intake: WebhookIntake) -> None:
    now = int(time.time())
    status, answer = deliver(intake, charge_event("evt_a", "ch_a", now, amount=1234, currency="jpy"))
    assert (status, answer["outcome"]) == (200, "applied")
    [row] = deliveries(store)
    assert row["verdict"] == "ok" and row["signature_ok"] and row["secret_index"] == 0
    assert (row["event_id"], row["event_type"], row["status_code"], row["outcome"]) == (
        "evt_a", "charge.updated", 200, "applied")
    assert row["remote_addr"] == "127.0.0.1" and row["signature_timestamp"] is not None
    headers = orjson.loads(row["headers"])
    assert "authorization" not in headers and headers["stripe-signature"].endswith("v1=<removed>")
    assert orjson.loads(row["body"])["id"] == "evt_a"
    assert [step["step"] for step in orjson.loads(row["trace"])] == [
        "verify", "parse", "queued", "dedupe", "apply", "record"]
    payment = store.query("SELECT amount, currency FROM payments WHERE id = 'ch_a'").to_dict("records")
    assert payment == [{"amount": 1234, "currency": "JPY"}]


def test_previous_secret_still_verifies_during_rotation(store: Store, intake: WebhookIntake) -> None:
    status, _ = deliver(intake, charge_event("evt_r", "ch_r", int(time.time())), secret="whsec_old")
    assert status == 200
    assert deliveries(store)[0]["secret_index"] == 1


def _bad_inputs() -> list[tuple[str, bytes, dict[str, str], int, bool]]:
    """(expected verdict, body, headers, expected status, whether the body was complete)."""
    now = int(time.time())
    good = orjson.dumps(charge_event("evt_bad", "ch_bad", now))
    sig = signed(good)["Stripe-Signature"]
    json_headers = {"Content-Type": "application/json"}
    no_v1 = f"t={now},v0=" + sig.split("v1=")[1]
    not_json = b"this is not json"
    return [
        ("bad_signature", good, signed(good, secret="whsec_wrong"), 400, True),
        ("bad_signature", good.replace(b"ch_bad", b"ch_evil"), signed(good), 400, True),  # tampered after signing
        ("stale_timestamp", good, signed(good, timestamp=now - 301), 400, True),
        ("future_timestamp", good, signed(good, timestamp=now + 3600), 400, True),
        ("missing_header", good, json_headers, 400, True),
        ("no_v1_signature", good, json_headers | {"Stripe-Signature": no_v1}, 400, True),
        ("empty_body", b"", json_headers | {"Stripe-Signature": sig}, 400, True),
        ("not_json", not_json, signed(not_json), 400, True),
        ("too_large", b"{" + b" " * (2 * 1024 * 1024) + b"}", signed(good), 413, True),
        ("wrong_content_type", good, signed(good) | {"Content-Type": "application/x-www-form-urlencoded"}, 415, True),
        ("too_large", b"", signed(good), 413, False),  # the route stopped reading past the limit
        ("not_an_event", b'{"id": "x"}', signed(b'{"id": "x"}'), 400, True),
    ]


def test_bad_inputs_are_answered_with_their_status_and_recorded(store: Store, intake: WebhookIntake) -> None:
    cases = _bad_inputs()
    answers = [intake.receive(body, headers, "10.0.0.9", complete=complete, announced_size=None if complete
                              else 2_000_000) for _, body, headers, _, complete in cases]
    assert [(a[0], a[1]["error"]) for a in answers] == [(status, verdict) for verdict, _, _, status, _ in cases]
    rows = deliveries(store)
    assert sorted(r["verdict"] for r in rows) == sorted(c[0] for c in cases)
    assert {r["outcome"] for r in rows} == {"rejected"}
    assert all(r["status_code"] >= 400 and r["event_id"] is None for r in rows)
    by_verdict = {r["verdict"]: r for r in rows}
    assert by_verdict["bad_signature"]["signature_ok"] is False
    assert by_verdict["stale_timestamp"]["signature_ok"] is True  # signed correctly, just too old
    large = [r for r in rows if r["verdict"] == "too_large"]
    assert sorted(r["body_bytes"] for r in large) == [2_000_000, 2 * 1024 * 1024 + 2]
    assert all(len(r["body"]) <= 64 * 1024 for r in rows)
    assert store.query("SELECT COUNT(*) AS n FROM payments").n[0] == 0  # nothing applied


def test_duplicates_answer_2xx_and_are_applied_once(store: Store, intake: WebhookIntake) -> None:
    event = charge_event("evt_dup", "ch_dup", int(time.time()))
    body = orjson.dumps(event)
    # Two in one batch (submitted together) and one later, after the first batch is durable.
    together = [intake.submit(body, signed(body), "127.0.0.1") for _ in range(2)]
    first = [f.result(10) for f in together]
    later = deliver(intake, event)
    assert [a[0] for a in [*first, later]] == [200, 200, 200]
    outcomes = sorted(r["outcome"] for r in deliveries(store))
    assert outcomes == ["applied", "duplicate", "duplicate"]
    assert store.query("SELECT COUNT(*) AS n FROM events WHERE id = 'evt_dup'").n[0] == 1


def test_out_of_order_deliveries_converge_to_the_newest_state(store: Store, intake: WebhookIntake) -> None:
    t0 = int(time.time()) - 60
    create = charge_event("evt_create", "ch_ooo", t0, amount_refunded=0, refunded=False)
    update = charge_event("evt_update", "ch_ooo", t0 + 30, amount_refunded=500, refunded=False)
    assert deliver(intake, update)[0] == 200  # the update arrives first
    assert deliver(intake, create)[0] == 200
    row = store.query("SELECT amount_refunded, version FROM payments WHERE id = 'ch_ooo'").to_dict("records")
    assert row == [{"amount_refunded": 500, "version": t0 + 30}]
    assert sorted(r["outcome"] for r in deliveries(store)) == ["applied", "applied"]


def test_apply_failure_is_recorded_answered_500_and_retried(store: Store, intake: WebhookIntake) -> None:
    now = int(time.time())
    broken = charge_event("evt_broken", "ch_broken", now, amount="twelve")  # not an integer: the upsert fails
    good = [charge_event(f"evt_ok{i}", f"ch_ok{i}", now) for i in range(3)]
    bodies = [orjson.dumps(e) for e in [good[0], broken, *good[1:]]]
    answers = [f.result(10) for f in [intake.submit(b, signed(b), "127.0.0.1") for b in bodies]]
    assert [a[0] for a in answers] == [200, 500, 200, 200]  # the failure is isolated to its own delivery
    assert answers[1][1]["error"] == "apply_error"
    retry = deliver(intake, broken)  # Stripe retries the same event: it is tried again, not taken as done
    assert retry[0] == 500
    failed = [r for r in deliveries(store) if r["event_id"] == "evt_broken"]
    assert [r["outcome"] for r in failed] == ["apply_error", "apply_error"]
    assert all(r["status_code"] == 500 and r["error"] and "\n" not in r["error"] for r in failed)
    assert sorted(store.query("SELECT id FROM payments").id) == ["ch_ok0", "ch_ok1", "ch_ok2"]


def test_unknown_event_type_is_recorded_and_acknowledged(store: Store, intake: WebhookIntake) -> None:
    event = {"id": "evt_prod", "object": "event", "type": "product.created", "created": int(time.time()),
             "data": {"object": {"id": "prod_1", "object": "product", "name": "Gold"}}}
    status, answer = deliver(intake, event)
    assert (status, answer["outcome"]) == (200, "ignored_type")
    assert deliveries(store)[0]["outcome"] == "ignored_type"
    assert deliver(intake, event)[1]["outcome"] == "duplicate"


def test_no_configured_secret_answers_503_and_records(store: Store) -> None:
    intake = WebhookIntake(store, [])
    try:
        body = orjson.dumps(charge_event("evt_ns", "ch_ns", int(time.time())))
        status, answer = intake.receive(body, signed(body), "127.0.0.1")
    finally:
        intake.close()
    assert (status, answer["error"]) == (503, "no_secret_configured")
    assert deliveries(store)[0]["verdict"] == "no_secret_configured"


def test_concurrent_deliveries_share_commits_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "group.duckdb"
    store = Store(f"duckdb:///{path}")
    intake = WebhookIntake(store, [SECRET])
    now = int(time.time())
    bodies = [orjson.dumps(charge_event(f"evt_g{i}", f"ch_g{i}", now)) for i in range(200)]
    futures = [intake.submit(b, signed(b), "127.0.0.1") for b in bodies]
    answers = [f.result(30) for f in futures]
    batches = intake.batches
    intake.close()
    store.close()
    assert {a[0] for a in answers} == {200}
    # 200 deliveries queued at once: the writer takes what is queued, so far fewer commits than deliveries.
    assert batches < 50
    reopened = Store(f"duckdb:///{path}")
    try:
        counts = reopened.query(
            "SELECT (SELECT COUNT(*) FROM webhook_deliveries WHERE outcome = 'applied') AS d, "
            "(SELECT COUNT(*) FROM payments) AS p").to_dict("records")
    finally:
        reopened.close()
    assert counts == [{"d": 200, "p": 200}]
