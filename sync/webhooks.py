"""Webhook intake: verify -> record -> dedupe -> apply, with group commit; takes bytes + headers, returns an answer.

`WebhookIntake.submit` checks a delivery on the caller's thread (size, content type, the Stripe signature
with the official SDK against every configured secret, the timestamp window in both directions, JSON) and
queues it. One writer thread takes everything queued, dedupes the batch by event id against what was
already processed, applies the new events through `Store.apply_events` in one transaction, records every
delivery of the batch (valid or not) in `webhook_deliveries` in one more, and only then resolves each
delivery's future with its HTTP answer. So no delivery is answered before its row is durable, and
concurrent deliveries share commits instead of paying one each.

`WebhookIntake.replay` re-runs a stored event through the same queue, dedupe, apply and record steps (the
signature check is skipped: the event came from a verified delivery or the API); `force=True` skips only the
dedupe, so a forced re-apply still goes through the versioned upsert and cannot overwrite newer data.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import stripe
from sqlalchemy import insert, select

from sync.ids import new_id
from sync.normalise import NORMALISERS
from sync.redact import mask_card_numbers
from sync.store import Store
from sync.webhook_schema import webhook_deliveries

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 300
DEFAULT_MAX_BODY = 1024 * 1024  # Stripe's event payloads are far below this; larger answers 413
RECORDED_BODY_LIMIT = 64 * 1024  # bytes of a body kept in the delivery log
_HEADER_VALUE_LIMIT = 1024
_MAX_HEADERS = 64
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_PROCESSED = ("applied", "ignored_type")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_ITEM_NAME = re.compile(r"\s{0,4}[A-Za-z0-9]{0,8}\s{0,4}")

Answer = tuple[int, dict[str, Any]]

_MESSAGES = {
    "too_large": "The body is larger than this receiver accepts.",
    "wrong_content_type": "Send the event as application/json.",
    "empty_body": "The body is empty; send the event JSON.",
    "missing_header": "The Stripe-Signature header is missing; sign the delivery.",
    "malformed_header": "The Stripe-Signature header has no valid t= timestamp.",
    "duplicate_timestamp": "The Stripe-Signature header has more than one t= timestamp; send exactly one.",
    "no_v1_signature": "The Stripe-Signature header has no v1 signature.",
    "bad_signature": "No configured webhook secret matches the signature; check the endpoint's signing secret.",
    "stale_timestamp": "The signature timestamp is older than the tolerance; resend the event.",
    "future_timestamp": "The signature timestamp is in the future beyond the tolerance; check the sender's clock.",
    "not_json": "The body is not UTF-8 JSON.",
    "not_an_event": "The body is not a Stripe event (it needs id, type, created and data.object).",
    "no_secret_configured": "This receiver has no webhook secret configured (STRIPE_WEBHOOK_SECRET).",
}


@dataclass(frozen=True)
class Verification:
    """The signature verdict: 'ok' or the reason it failed, which secret matched, and the header's t=."""

    verdict: str
    secret_index: int | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class SignatureHeader:
    """A Stripe-Signature header read strictly: its one t (None unless exactly one, spelled exactly `t=<digits>`),
    the v1 values, and why t could not be read ('duplicate_timestamp' or 'malformed_header'), if it could not."""

    timestamp: int | None
    signatures: tuple[str, ...]
    problem: str | None = None


def parse_signature_header(header: str) -> SignatureHeader:
    """Read a Stripe-Signature header as stripe-python's `verify_header` does, or more strictly, never more loosely.

    The SDK (16.1, `_get_timestamp_and_signatures`) splits on ",", takes `int()` of the FIRST item whose name is
    exactly "t", and every value named exactly "v1". Every t that any reader could take (` t`, `t `, `T`, a bare
    `t`) counts, and more than one is refused: otherwise the HMAC can cover one t while the age check reads
    another. The one t must be spelled exactly `t=` with 1-12 ASCII digits (`int()` also takes " 1", "+1", "1_0"
    and other scripts' digits; 12 digits keep it out of card-number shape and far below int()'s digit limit).
    """
    timestamps: list[tuple[str, str]] = []
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name.strip().lower() == "t":
            timestamps.append((name, value))
        elif name == "v1" and value:
            signatures.append(value)
    if len(timestamps) > 1:
        return SignatureHeader(None, tuple(signatures), "duplicate_timestamp")
    if not timestamps or timestamps[0][0] != "t" or not _TIMESTAMP.fullmatch(timestamps[0][1]):
        return SignatureHeader(None, tuple(signatures), "malformed_header")
    return SignatureHeader(int(timestamps[0][1]), tuple(signatures))


def verify_stripe_signature(payload: str, header: str | None, secrets: Sequence[str], *,
                            tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> Verification:
    """Verify with the official SDK against each secret (rotation), then the timestamp window both ways.

    The SDK is handed a header rebuilt from the one t and the v1 values read here, so the timestamp its HMAC
    covers is by construction the one whose age is checked. Its own tolerance only rejects old timestamps
    (against the wall clock), so the window is checked here.
    """
    if not header or not header.strip():
        return Verification("missing_header")
    parsed = parse_signature_header(header)
    if parsed.problem is not None or parsed.timestamp is None:
        return Verification(parsed.problem or "malformed_header")
    timestamp = parsed.timestamp
    if not parsed.signatures:
        return Verification("no_v1_signature", timestamp=timestamp)
    if not secrets:
        return Verification("no_secret_configured", timestamp=timestamp)
    signed = ",".join([f"t={timestamp}", *(f"v1={s}" for s in parsed.signatures)])
    matched: int | None = None
    for index, secret in enumerate(secrets):
        try:
            stripe.WebhookSignature.verify_header(payload, signed, secret, tolerance=None)
        except stripe.SignatureVerificationError:
            # The SDK's documented "does not match" signal, not a provider API failure.
            continue
        matched = index
        break
    if matched is None:
        return Verification("bad_signature", timestamp=timestamp)
    age = (time.time() if now is None else now) - timestamp
    if age > tolerance:
        return Verification("stale_timestamp", matched, timestamp)
    if -age > tolerance:
        return Verification("future_timestamp", matched, timestamp)
    return Verification("ok", matched, timestamp)


def _redacted_signature_header(header: str) -> str:
    """The Stripe-Signature header item by item, in order and spelled as sent, with every value removed but a t's.

    Every t is kept (a header with two shows both, not just the one a reader took), and a t only while it looks
    like a timestamp; an item's name only while it is short, so a signature sent without `=` is not kept either.
    """
    items = []
    for item in header.split(","):
        name, sep, value = item.partition("=")
        if not _ITEM_NAME.fullmatch(name):
            name = "?"
        if name.strip().lower() == "t" and _TIMESTAMP.fullmatch(value):
            items.append(f"{name}{sep}{value}")
        else:
            items.append(f"{name}{sep}<removed>" if sep else name)
    return ",".join(items)


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers worth keeping for the log, with nothing secret: no credentials, no signature values."""
    kept: dict[str, str] = {}
    for name, value in list(headers.items())[:_MAX_HEADERS]:
        key = name.lower()
        if key in _SECRET_HEADERS:
            continue
        if key == "stripe-signature":
            value = _redacted_signature_header(value)
        kept[key] = value[:_HEADER_VALUE_LIMIT]
    return kept


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _error_summary(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:500]


def _utc(epoch: Any) -> dt.datetime | None:
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)
    return None


@dataclass
class _Delivery:
    id: str
    received_at: dt.datetime
    started: float
    remote_addr: str | None
    headers: dict[str, str]
    body: bytes
    body_bytes: int
    truncated: bool
    future: Future[Answer] = field(default_factory=Future)
    verdict: str = "ok"
    secret_index: int | None = None
    signature_timestamp: int | None = None
    event: dict[str, Any] | None = None
    status_code: int = 200
    outcome: str = "rejected"
    error: str | None = None
    decided: float | None = None
    queued: float = 0.0
    trace: list[dict[str, Any]] = field(default_factory=list)
    force: bool = False  # a forced replay: applied even when the event was processed before

    def step(self, name: str, since: float, **info: Any) -> float:
        now = time.perf_counter()
        self.trace.append({"step": name, "ms": round((now - since) * 1000, 3), **info})
        return now

    def answer(self) -> Answer:
        if self.outcome == "rejected":
            return self.status_code, {"error": self.verdict, "message": _MESSAGES.get(self.verdict, self.verdict)}
        if self.status_code >= 300:
            return self.status_code, {"error": self.outcome, "message": "The delivery was recorded but not "
                                      "processed; it will be processed when the sender retries."}
        return self.status_code, {"received": True, "event_id": self.event and self.event.get("id"),
                                  "outcome": self.outcome}


class WebhookIntake:
    """Receives Stripe deliveries for one store; thread-safe; one writer thread does every write."""

    def __init__(self, store: Store, secrets: Sequence[str], tolerance: int = DEFAULT_TOLERANCE,
                 max_body: int = DEFAULT_MAX_BODY, *, provider: str = "stripe", max_batch: int = 512,
                 max_pending: int = 20_000) -> None:
        self.store = store
        self._secrets = tuple(s for s in secrets if s)
        self.tolerance = tolerance
        self.max_body = max_body
        self.provider = provider
        self.max_batch = max_batch
        self.max_pending = max_pending
        webhook_deliveries.create(store.engine, checkfirst=True)
        self._queue: list[_Delivery] = []
        self._cv = threading.Condition()
        self._closing = False
        self._to_record: list[list[_Delivery]] = []
        self._rcv = threading.Condition()
        self._recorder_closing = False
        self._in_flight: set[str] = set()
        self.batches = 0  # delivery-log commits made, for tests and the benchmark
        with _running_lock:
            _running.setdefault(id(store), self)  # the first intake of a store is the one replays use
        self._writer = threading.Thread(target=self._run_writer, name="webhook-applier", daemon=True)
        self._recorder = threading.Thread(target=self._run_recorder, name="webhook-recorder", daemon=True)
        self._writer.start()
        self._recorder.start()

    @property
    def has_secrets(self) -> bool:
        return bool(self._secrets)

    # -- intake ------------------------------------------------------------------------------------

    def submit(self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None, *,
               complete: bool = True, announced_size: int | None = None) -> Future[Answer]:
        """Check a delivery and queue it; the future resolves with (status, JSON body) once it is durable.

        `complete=False` means the caller stopped reading because the body exceeded `max_body`
        (`body` is then the prefix read, possibly empty, and `announced_size` the Content-Length).
        """
        started = time.perf_counter()
        lowered = {k.lower(): v for k, v in headers.items()}
        delivery = _Delivery(
            id=new_id("whd_"), received_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            started=started, remote_addr=remote_addr, headers=safe_headers(lowered), body=body,
            body_bytes=max(len(body), announced_size or 0), truncated=not complete,
        )
        self._check(delivery, lowered)
        delivery.queued = time.perf_counter()
        with self._cv:
            if self._closing or len(self._queue) >= self.max_pending:
                # Overloaded or shutting down: refuse unrecorded, the sender retries later.
                delivery.future.set_result((503, {"error": "busy", "message": "The receiver is busy; retry."}))
                return delivery.future
            self._queue.append(delivery)
            self._cv.notify()
        return delivery.future

    def submit_replay(self, event: Mapping[str, Any], *, force: bool = False, actor: str | None = None
                      ) -> Future[Answer]:
        """Queue a stored event for the same dedupe -> apply -> record steps as a delivery (no signature check).

        The answer's outcome is 'duplicate' when the event was processed before and `force` is False.
        """
        started = time.perf_counter()
        body = orjson.dumps(event)
        headers = {"x-payops-replay": "forced" if force else "stored"}
        if actor:
            headers["x-payops-actor"] = actor[:_HEADER_VALUE_LIMIT]
        delivery = _Delivery(
            id=new_id("whd_"), received_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            started=started, remote_addr=None, headers=headers, body=body, body_bytes=len(body), truncated=False,
            verdict="replay", event=dict(event), force=force,
        )
        delivery.step("replay", started, forced=force)
        delivery.queued = time.perf_counter()
        with self._cv:
            if self._closing:
                delivery.future.set_result((503, {"error": "busy", "message": "The receiver is shutting down."}))
                return delivery.future
            self._queue.append(delivery)
            self._cv.notify()
        return delivery.future

    def replay(self, event: Mapping[str, Any], *, force: bool = False, actor: str | None = None,
               timeout: float = 30.0) -> Answer:
        """Blocking form of `submit_replay`: (status, JSON body) once the replay is recorded."""
        try:
            return self.submit_replay(event, force=force, actor=actor).result(timeout)
        except TimeoutError:
            return 503, {"error": "timeout", "message": "The store did not confirm in time; retry."}

    def receive(self, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None, *,
                complete: bool = True, announced_size: int | None = None, timeout: float = 30.0) -> Answer:
        """Blocking form of `submit`: the answer to send, once the delivery is recorded."""
        future = self.submit(body, headers, remote_addr, complete=complete, announced_size=announced_size)
        try:
            return future.result(timeout)
        except TimeoutError:
            return 503, {"error": "timeout", "message": "The store did not confirm in time; retry."}

    def _reject(self, delivery: _Delivery, verdict: str, status: int = 400) -> None:
        delivery.verdict, delivery.status_code, delivery.outcome = verdict, status, "rejected"

    def _check(self, d: _Delivery, headers: Mapping[str, str]) -> None:
        t = d.started
        if d.truncated or len(d.body) > self.max_body:
            return self._reject(d, "too_large", 413)
        if _media_type(headers) != "application/json":
            return self._reject(d, "wrong_content_type", 415)
        if not d.body.strip():
            return self._reject(d, "empty_body")
        try:
            payload = d.body.decode("utf-8")
        except UnicodeDecodeError:
            return self._reject(d, "not_json")
        check = verify_stripe_signature(payload, headers.get("stripe-signature"), self._secrets,
                                        tolerance=self.tolerance)
        d.secret_index, d.signature_timestamp = check.secret_index, check.timestamp
        t = d.step("verify", t, verdict=check.verdict, secret_index=check.secret_index)
        if check.verdict != "ok":
            return self._reject(d, check.verdict, 503 if check.verdict == "no_secret_configured" else 400)
        try:
            event = orjson.loads(d.body)
        except orjson.JSONDecodeError:
            return self._reject(d, "not_json")
        data_object = (event.get("data") or {}).get("object") if isinstance(event, dict) else None
        if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]
                and isinstance(event.get("type"), str) and isinstance(event.get("created"), int)
                and isinstance(data_object, dict)):
            return self._reject(d, "not_an_event")
        d.event = event
        d.step("parse", t, event_type=event["type"])
        return None

    # -- writer ------------------------------------------------------------------------------------
    # Two stages, each one thread: the applier dedupes and applies a batch, then hands it to the recorder,
    # which records everything handed to it in one insert and only then answers. While one batch is being
    # recorded the next is applied. Event ids applied but not yet recorded stay in `_in_flight`, so the
    # applier's dedupe sees them before their rows are committed.

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued (applied and recorded), then stop both threads."""
        with _running_lock:
            if _running.get(id(self.store)) is self:
                del _running[id(self.store)]
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._writer.join(timeout)
        with self._rcv:
            self._recorder_closing = True
            self._rcv.notify_all()
        self._recorder.join(timeout)

    def _run_writer(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                if not self._queue:
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                self._apply_stage(batch)
            except Exception as exc:  # the writer must answer every waiter, whatever failed
                log.exception("webhook writer failed on a batch of %d", len(batch))
                self._fail(batch, exc)
                continue
            with self._rcv:
                self._to_record.append(batch)
                self._rcv.notify()

    def _run_recorder(self) -> None:
        while True:
            with self._rcv:
                while not self._to_record and not self._recorder_closing:
                    self._rcv.wait()
                if not self._to_record:
                    return
                batches, self._to_record = self._to_record, []
            batch = [d for b in batches for d in b]
            try:
                self._record(batch)
            except Exception as exc:  # an unrecorded delivery must not be acknowledged
                log.error("webhook deliveries could not be recorded: %s", _error_summary(exc))
                self._fail(batch, exc)
                continue
            finally:
                with self._rcv:
                    self._in_flight.difference_update(d.event["id"] for d in batch if d.event)
            self.batches += 1
            for d in batch:
                log.info("webhook %s %s %s -> %d %s", d.id, d.event and d.event.get("id"), d.verdict,
                         d.status_code, d.outcome)
                d.future.set_result(d.answer())

    def _fail(self, batch: list[_Delivery], exc: BaseException) -> None:
        for d in batch:
            if not d.future.done():
                d.future.set_result((503, {"error": "store_error", "message": "The delivery could not be "
                                           f"recorded ({_error_summary(exc)}); retry."}))

    def _apply_stage(self, batch: list[_Delivery]) -> None:
        picked = time.perf_counter()
        for d in batch:
            d.trace.append({"step": "queued", "ms": round((picked - d.queued) * 1000, 3), "batch": len(batch)})
        verified = [d for d in batch if d.event is not None]
        if verified:
            self._dedupe_and_apply(verified, picked)
        decided = time.perf_counter()
        for d in batch:
            d.decided = decided

    def _dedupe_and_apply(self, verified: list[_Delivery], picked: float) -> None:
        ids = sorted({d.event["id"] for d in verified if d.event})
        with self._rcv:
            in_flight = self._in_flight.intersection(ids)
        done = self._already_processed([i for i in ids if i not in in_flight]) | in_flight
        t = time.perf_counter()
        leaders: dict[str, _Delivery] = {}
        followers: list[tuple[_Delivery, _Delivery]] = []
        for d in verified:
            event_id = d.event["id"] if d.event else ""
            d.trace.append({"step": "dedupe", "ms": round((t - picked) * 1000, 3), "batch": len(verified)})
            if event_id in done and not d.force:
                d.outcome = "duplicate"
            elif event_id in leaders:
                followers.append((d, leaders[event_id]))
            else:
                leaders[event_id] = d
        if leaders:
            self._apply(list(leaders.values()))
            with self._rcv:
                self._in_flight.update(i for i, d in leaders.items() if d.outcome in _PROCESSED)
        for d, leader in followers:
            if leader.outcome in _PROCESSED:
                d.outcome = "duplicate"
            else:
                d.outcome, d.status_code, d.error = leader.outcome, leader.status_code, leader.error

    def _already_processed(self, ids: Sequence[str]) -> set[str]:
        return processed_event_ids(self.store, ids, self.provider)

    def _apply(self, leaders: list[_Delivery]) -> None:
        started = time.perf_counter()
        try:
            counts = self.store.apply_events(self.provider, [d.event for d in leaders if d.event])
        except Exception:  # isolate the event(s) at fault by applying one at a time
            for d in leaders:
                self._apply_one(d, time.perf_counter())
            return
        for d in leaders:
            self._applied(d, started, counts, len(leaders))

    def _apply_one(self, d: _Delivery, started: float) -> None:
        try:
            counts = self.store.apply_events(self.provider, [d.event] if d.event else [])
        except Exception as exc:  # any failure is recorded and answered 500 so Stripe retries
            d.outcome, d.status_code, d.error = "apply_error", 500, _error_summary(exc)
            d.step("apply", started, batch=1, error=d.error)
            return
        self._applied(d, started, counts, 1)

    def _applied(self, d: _Delivery, started: float, counts: Mapping[str, int], batch: int) -> None:
        kind = ((d.event or {}).get("data") or {}).get("object", {}).get("object")
        d.outcome = "applied" if kind in NORMALISERS and kind != "event" else "ignored_type"
        d.step("apply", started, batch=batch, rows=dict(counts))

    def _record(self, batch: list[_Delivery]) -> None:
        rows = [self._row(d) for d in batch]
        if self.store.is_duckdb:
            table = pa.Table.from_pylist(rows, schema=_ARROW_SCHEMA)
            cur = self.store.cursor()
            cur.register("webhook_batch", table)
            try:
                cols = ", ".join(f'"{name}"' for name in _ARROW_SCHEMA.names)
                cur.execute(f"INSERT INTO webhook_deliveries ({cols}) SELECT {cols} FROM webhook_batch")
            finally:
                cur.unregister("webhook_batch")
        else:
            with self.store.engine.begin() as conn:
                conn.execute(insert(webhook_deliveries), rows)
        self.store.generation += 1  # the delivery log changed: the pages' cached queries key on this

    def _row(self, d: _Delivery) -> dict[str, Any]:
        event = d.event or {}
        decided = d.decided or time.perf_counter()
        d.trace.append({"step": "record", "batch_at_ms": round((decided - d.started) * 1000, 3)})
        body = mask_card_numbers(d.body[:RECORDED_BODY_LIMIT].decode("utf-8", errors="replace"))
        return {
            "id": d.id,
            "provider": self.provider,
            "received_at": d.received_at,
            "remote_addr": d.remote_addr,
            "event_id": event.get("id") if d.event else None,
            "event_type": event.get("type") if d.event else None,
            "event_created": _utc(event.get("created")),
            "livemode": event.get("livemode") if isinstance(event.get("livemode"), bool) else None,
            "signature_ok": d.secret_index is not None,
            "signature_timestamp": d.signature_timestamp,
            "secret_index": d.secret_index,
            "verdict": d.verdict,
            "status_code": d.status_code,
            "outcome": d.outcome,
            "error": d.error,
            "duration_ms": round((decided - d.started) * 1000, 3),
            "headers": orjson.dumps(d.headers).decode(),
            "body": body,
            "body_bytes": d.body_bytes,
            "body_truncated": d.truncated or len(d.body) > RECORDED_BODY_LIMIT,
            "trace": orjson.dumps(d.trace).decode(),
        }


_running: dict[int, WebhookIntake] = {}
_running_lock = threading.Lock()


def running_intake(store: Store) -> WebhookIntake | None:
    """The open intake writing to `store` in this process (the server's), if any: replays go through it."""
    with _running_lock:
        return _running.get(id(store))


def processed_event_ids(store: Store, ids: Sequence[str], provider: str = "stripe") -> set[str]:
    """Of `ids`, the events the handler already processed (a delivery or replay applied or ignored them).

    This is the receiver's dedupe rule; replay's dry run asks the same question through here.
    """
    ids = list(dict.fromkeys(ids))
    if not ids:
        return set()
    if store.is_duckdb:
        # The calling thread's own cursor: no pool checkout or BEGIN/ROLLBACK around a read.
        marks = ", ".join("?" for _ in ids)
        rows = store.cursor().execute(
            "SELECT DISTINCT event_id FROM webhook_deliveries WHERE provider = ? "
            f"AND outcome IN ('applied', 'ignored_type') AND event_id IN ({marks})",
            [provider, *ids],
        ).fetchall()
        return {row[0] for row in rows}
    t = webhook_deliveries
    query = select(t.c.event_id).where(t.c.provider == provider, t.c.event_id.in_(ids),
                                       t.c.outcome.in_(_PROCESSED)).distinct()
    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(query)}


_ARROW_SCHEMA = pa.schema([
    ("id", pa.string()), ("provider", pa.string()), ("received_at", pa.timestamp("us")),
    ("remote_addr", pa.string()), ("event_id", pa.string()), ("event_type", pa.string()),
    ("event_created", pa.timestamp("us")), ("livemode", pa.bool_()), ("signature_ok", pa.bool_()),
    ("signature_timestamp", pa.int64()), ("secret_index", pa.int32()), ("verdict", pa.string()),
    ("status_code", pa.int32()), ("outcome", pa.string()), ("error", pa.string()),
    ("duration_ms", pa.float64()), ("headers", pa.string()), ("body", pa.string()),
    ("body_bytes", pa.int64()), ("body_truncated", pa.bool_()), ("trace", pa.string()),
])
