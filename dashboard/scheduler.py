"""Syncs inside the server process: one run at a time, periodic (PAYOPS_SYNC_INTERVAL) or on demand (Sync now,
Load demo data: `press`, which checks the presser's role and audits every answer).

DuckDB lets one process open the store, so the server runs every sync itself, on a background thread,
through the same Store the pages read. The Sync health page and the periodic timer share this one scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from dashboard import roles
from sync import audit
from sync.errors import ConfigError, PayOpsError
from sync.redact import redact_secrets
from sync.store import Store

log = logging.getLogger("payops.scheduler")

NO_KEY_MESSAGE = (
    "No provider key is set, so there is nothing to sync from (demo mode). Set STRIPE_SECRET_KEY "
    "(a restricted read key rk_test_... or sk_test_...) in the environment or .streamlit/secrets.toml, "
    "then restart the server."
)

Job = Callable[[Callable[[str, int, bool], None]], dict[str, int]]


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of the scheduler: the current run (if any) and how the last one ended.

    Progress is `done` of `total` `unit`s: resources for a provider sync (the provider says which it lists), charges
    for the demo load (it writes exactly the charges it was asked for). `total` 0 means unknowable: the page then
    shows rows so far, never a fraction."""

    running: bool = False
    kind: str = ""  # sync | demo: what the current (or last) run is
    label: str = ""
    trigger: str = ""
    started_at: dt.datetime | None = None
    resource: str = ""
    rows: int = 0
    resources_done: tuple[str, ...] = ()
    resources_total: int = 0
    unit: str = "resources"
    done: int = 0
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # rows so far per resource in the current run
    finished_at: dt.datetime | None = None
    last_status: str = ""  # succeeded | failed | "" (never ran)
    last_error: str | None = None
    last_counts: dict[str, int] = field(default_factory=dict)
    last_gap_message: str | None = None
    interval_minutes: float | None = None

    @property
    def known_total(self) -> bool:
        return self.total > 0

    @property
    def fraction(self) -> float:
        """Share done, for a progress bar (0 when the total is unknown: show `message` alone then)."""
        if not self.total:
            return 0.0
        return min(self.done / self.total, 1.0)

    @property
    def message(self) -> str:
        """What the run is doing, in words: "stripe sync: 2 of 8 resources done; charges: 1,200 rows so far"."""
        if not self.running:
            return ""
        if not self.total:
            return f"{self.label}: {self.rows:,} rows so far"
        if self.unit == "resources":
            where = f"; {self.resource}: {self._count(self.resource):,} rows so far" if self.resource else ""
            return f"{self.label}: {self.done} of {self.total} resources done{where}"
        return f"{self.label}: {self.done:,} of {self.total:,} {self.unit} written; {self.rows:,} rows in all"

    def _count(self, resource: str) -> int:
        return self.counts.get(resource, 0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class SyncScheduler:
    """Runs one job at a time on a daemon thread; a second request while one runs is refused, not queued."""

    def __init__(self, store_factory: Callable[[], Store] | None = None,
                 provider_factory: Callable[[], Any] | None = None, lookback_days: int = 3) -> None:
        self._store_factory = store_factory or _default_store
        self._provider_factory = provider_factory or _default_provider
        self.lookback_days = lookback_days
        self._lock = threading.Lock()
        self._status = SyncStatus()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._running_counts: dict[str, int] = {}

    # -- status ------------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current run ends; True when nothing is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.status().running

    # -- starting runs -----------------------------------------------------------------------------

    def _start(self, label: str, trigger: str, total: int, job: Job, *, unit: str = "resources") -> bool:
        """Run `job` on a thread. Progress counts finished resources toward `total` when `unit` is "resources";
        otherwise the rows of the resource named `unit` (the demo's charges) toward `total`."""
        with self._lock:
            if self._status.running:
                return False
            self._running_counts = {}
            self._status = replace(self._status, running=True, kind="sync" if unit == "resources" else "demo",
                                   label=label, trigger=trigger, started_at=_now(),
                                   resource="", rows=0, resources_done=(),
                                   resources_total=total if unit == "resources" else 0, unit=unit, done=0,
                                   total=total, counts={})
            self._thread = threading.Thread(target=self._run, args=(job,), name=f"payops-{trigger}", daemon=True)
            self._thread.start()
        return True

    def _progress(self, resource: str, count: int, done: bool) -> None:
        with self._lock:
            finished = self._status.resources_done
            if done and resource not in finished:
                finished = (*finished, resource)
            self._running_counts[resource] = count
            unit = self._status.unit
            progress = len(finished) if unit == "resources" else self._running_counts.get(unit, 0)
            self._status = replace(self._status, resource=resource, rows=sum(self._running_counts.values()),
                                   resources_done=finished, done=progress, counts=dict(self._running_counts))

    def _run(self, job: Job) -> None:
        status, error, counts, gap = "failed", None, {}, None
        try:
            result = job(self._progress)
            counts = dict(result.get("counts", result)) if isinstance(result, dict) else {}
            status = str(result.get("status", "succeeded")) if isinstance(result, dict) else "succeeded"
            error = result.get("error") if isinstance(result, dict) else None
            gap = result.get("gap_message") if isinstance(result, dict) else None
        except PayOpsError as exc:
            error = str(exc)
        except Exception as exc:  # a crashed thread would otherwise leave the page "running" forever
            log.exception("sync job crashed")
            error = f"The sync stopped unexpectedly ({type(exc).__name__}: {exc}). The server log has details."
        # Shown on Sync health: provider text can quote a key ("Invalid API Key provided: sk_...").
        error = redact_secrets(error) if isinstance(error, str) else None
        self._update(running=False, finished_at=_now(), last_status=status, last_error=error,
                     last_counts={k: v for k, v in counts.items() if isinstance(v, int)}, last_gap_message=gap)

    def start_sync(self, *, full: bool = False, trigger: str = "manual") -> bool:
        """Start a provider sync in the background; False if a run is already going.

        Raises ConfigError (with NO_KEY_MESSAGE) in demo mode, when there is no provider to sync from.
        """
        provider = self._provider_factory()
        if provider is None:
            raise ConfigError(NO_KEY_MESSAGE)
        from sync.runner import run_sync

        store = self._store_factory()
        lookback = self.lookback_days

        def job(progress: Callable[[str, int, bool], None]) -> dict[str, Any]:
            result = run_sync(store, provider, full=full, lookback_days=lookback, progress=progress)
            return {"status": result.status, "counts": result.counts, "error": result.error,
                    "gap_message": result.gap_message}

        return self._start(f"{provider.name} sync", trigger, len(provider.resources), job)

    def start_demo(self, *, trigger: str = "manual", scale: int | None = None) -> bool:
        """Load the demo data set (`scale` charges, default sync.demo's) into the store in the background; False if
        a run is already going. The demo writes exactly that many charges, so its progress has a known total."""
        from sync.demo import DEFAULT_CHARGES, load_demo

        store = self._store_factory()

        def job(progress: Callable[[str, int, bool], None]) -> dict[str, Any]:
            return {"status": "succeeded", "counts": load_demo(store, scale=scale, progress=progress)}

        return self._start("Loading demo data", trigger, scale or DEFAULT_CHARGES, job, unit="charges")

    # -- the periodic timer ------------------------------------------------------------------------

    def start_periodic(self, interval_minutes: float, *, first_delay: float = 5.0) -> None:
        """Sync every `interval_minutes` (the first run after `first_delay` seconds) until stop_periodic()."""
        if interval_minutes <= 0:
            raise ConfigError(f"PAYOPS_SYNC_INTERVAL must be a positive number of minutes, got {interval_minutes}.")
        self.stop_periodic()
        self._stop = threading.Event()
        self._update(interval_minutes=interval_minutes)
        stop = self._stop

        def loop() -> None:
            delay = first_delay
            while not stop.wait(delay):
                delay = interval_minutes * 60
                try:
                    if not self.start_sync(trigger="schedule"):
                        log.info("periodic sync skipped: a run is still going")
                except PayOpsError as exc:
                    log.warning("periodic sync not started: %s", exc)
                    self._update(last_status="failed", last_error=redact_secrets(str(exc)), finished_at=_now())

        self._timer = threading.Thread(target=loop, name="payops-sync-timer", daemon=True)
        self._timer.start()

    def stop_periodic(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
            self._timer = None
        self._update(interval_minutes=None)


@dataclass(frozen=True)
class Press:
    """What a Sync now / Load demo click came to: started, already_running, refused or failed, and what to say."""

    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "started"


PRESS_LABELS = {"sync": "a sync", "demo_load": "loading the demo data"}


def press(store: Store, actor: str, role: str, action: str, start: Callable[[], bool],
          target: str = "store") -> Press:
    """Run a store-changing button for `actor`: the role check at click time, then `start()`; every answer,
    refusals and "already running" included, goes to the audit log (who pressed what, and what came of it)."""
    what = PRESS_LABELS.get(action, action)
    if not roles.can_act(role, action):
        result = Press("refused", roles.action_refusal(role, action))
    else:
        try:
            started = start()
        except PayOpsError as exc:
            result = Press("failed", redact_secrets(str(exc)) or "")
        else:
            result = (Press("started", f"Started {what}.") if started
                      else Press("already_running", f"Not started: a run is already going ({what} waits for it "
                                 "to end; press again then)."))
    audit.append(store, actor=actor, role=role, action=f"{action}.{result.status}", target=target,
                 error=None if result.ok else result.message)
    return result


def _default_store() -> Store:
    from dashboard.context import get_store

    return get_store()


def _default_provider() -> Any:
    """The configured provider, or None in demo mode (no key)."""
    from dashboard.context import get_settings

    settings = get_settings()
    if settings.stripe_mode == "demo":
        return None
    from sync.providers.stripe import StripeProvider

    return StripeProvider.from_settings(settings)


_SCHEDULER: SyncScheduler | None = None
_SCHEDULER_LOCK = threading.Lock()


def get_scheduler() -> SyncScheduler:
    """The process's one scheduler (the server's lifespan and every page session share it)."""
    global _SCHEDULER
    with _SCHEDULER_LOCK:
        if _SCHEDULER is None:
            _SCHEDULER = SyncScheduler()
        return _SCHEDULER


def start_from_settings() -> bool:
    """Start the periodic sync when PAYOPS_SYNC_INTERVAL is set; True when it was started."""
    from dashboard.context import get_settings

    settings = get_settings()
    if not settings.sync_interval_minutes:
        return False
    scheduler = get_scheduler()
    scheduler.lookback_days = settings.sync_lookback_days
    scheduler.start_periodic(settings.sync_interval_minutes)
    return True


def shutdown() -> None:
    """Stop the timer (a run in progress is a daemon thread; its checkpoint lets the next run resume)."""
    if _SCHEDULER is not None:
        _SCHEDULER.stop_periodic()
