"""The sync run: checkpointed backfill in adaptive created windows, events since a cursor, lookback, gaps."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.errors import ConfigError, PayOpsError
from sync.providers import Provider
from sync.redact import redact_secrets
from sync.store import Store, utcnow

Progress = Callable[[str, int, bool], None]

BACKFILL_FLOOR = 1293840000  # 2011-01-01 UTC: no Stripe object is older
EVENT_RETENTION = 30 * 86400  # Stripe keeps events 30 days
EVENT_OVERLAP = 300  # re-read the last minutes of events: same-second and late-indexed events are not missed
INITIAL_WINDOW = 30 * 86400
TARGET_PER_WINDOW = 5_000  # objects per window (one transaction); windows grow or shrink toward it
MAX_PER_WINDOW = 20_000  # above this a window is abandoned and halved, so memory stays bounded


@dataclass
class SyncResult:
    run_id: str
    status: str  # succeeded | failed
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    gap_message: str | None = None


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _sorted_unique(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Never trust the server's order: one object per id (the last seen), ordered by (created, id)."""
    by_id = {obj["id"]: obj for obj in objs if obj.get("id")}
    return sorted(by_id.values(), key=lambda o: (o.get("created") or 0, o["id"]))


class _Run:
    def __init__(self, store: Store, provider: Provider, progress: Progress | None, now: int | None) -> None:
        self.store = store
        self.provider = provider
        self.progress = progress or (lambda resource, count, done: None)
        real = time.time()
        self.now = int(real if now is None else now)
        self._offset = 0.0 if now is None else now - real  # a caller (a test) may set the run's time
        self.counts: dict[str, int] = {}

    def clock(self) -> int:
        """The run's time: a list result fetched now is versioned by it."""
        return int(time.time() + self._offset)

    def _fetch_window(self, resource: str, lo: int, hi: int) -> list[dict[str, Any]] | None:
        """Objects created in (lo, hi]; None when there are more than a window may hold."""
        objs = []
        for obj in self.provider.list_objects(resource, lo, hi):
            objs.append(obj)
            if len(objs) > MAX_PER_WINDOW and hi - lo > 1:
                return None
        return objs

    def list_range(self, resource: str, start: int, end: int, apply: Callable[[list[dict[str, Any]], int], None],
                   checkpoint: Callable[[int], None] | None = None) -> None:
        """List (start, end] in adaptive windows; apply each window in one transaction, then checkpoint."""
        size = min(INITIAL_WINDOW, max(end - start, 1))
        lo = start
        while lo < end:
            hi = min(lo + size, end)
            fetched_at = self.clock()
            objs = self._fetch_window(resource, lo, hi)
            if objs is None:
                size = max((hi - lo) // 2, 1)
                continue
            objs = _sorted_unique(objs)
            if objs:
                apply(objs, fetched_at)
            self.counts[resource] = self.counts.get(resource, 0) + len(objs)
            if checkpoint:
                checkpoint(hi)
            self.progress(resource, self.counts[resource], False)
            lo = hi
            if len(objs) < TARGET_PER_WINDOW // 4:
                size *= 4
            elif len(objs) > TARGET_PER_WINDOW:
                size = max(size * TARGET_PER_WINDOW // len(objs), 1)

    def apply_objects(self, objs: list[dict[str, Any]], fetched_at: int) -> None:
        self.store.apply_objects(self.provider.name, objs, version=fetched_at)

    def apply_events(self, objs: list[dict[str, Any]], fetched_at: int) -> None:
        self.store.apply_events(self.provider.name, objs)
        self.last_event_id = objs[-1]["id"]

    # -- object resources --------------------------------------------------------------------------

    def sync_resource(self, resource: str, *, full: bool, since: int | None, relist_from: int) -> None:
        name = self.provider.name
        state = self.store.get_state(name, resource)
        self.counts.setdefault(resource, 0)
        if full or not state or (not state.get("backfill_done") and state.get("backfill_through") is None):
            start = since if since is not None else BACKFILL_FLOOR
            self.store.save_state(name, resource, backfill_from=start, backfill_through=start,
                                  backfill_done=False, last_error=None)
        elif not state.get("backfill_done"):
            start = state["backfill_through"]
        else:
            # Lists have no `updated` filter: re-list a lookback window (and anything since the last run).
            # The overlap re-reads the second the last run listed up to: objects created later in it.
            through = state.get("backfill_through") or relist_from
            start = since if since is not None else min(through - EVENT_OVERLAP, relist_from)
            self.list_range(resource, start, self.now, self.apply_objects)
            self._finish(resource)
            return
        self.list_range(resource, start, self.now, self.apply_objects,
                        checkpoint=lambda hi: self.store.save_state(name, resource, backfill_through=hi))
        self._finish(resource)

    def _finish(self, resource: str, **extra: Any) -> None:
        self.store.save_state(self.provider.name, resource, backfill_through=self.now, backfill_done=True,
                              last_synced_at=utcnow(), last_rows=self.counts.get(resource, 0), last_error=None,
                              **extra)
        self.progress(resource, self.counts.get(resource, 0), True)

    # -- events ------------------------------------------------------------------------------------

    def event_start(self, *, full: bool, lookback: int) -> tuple[int, int | None, str | None]:
        """(events listed after, heal-from time or None, gap message or None) for this run."""
        state = self.store.get_state(self.provider.name, "events")
        cursor = state.get("event_cursor")
        kept_from = self.now - EVENT_RETENTION
        if full or cursor is None:
            return kept_from, None, None
        if cursor < kept_from:
            heal_from = cursor - lookback
            message = (
                f"Event gap: the last events were read up to {_iso(cursor)}, but Stripe keeps events for 30 days "
                f"(from {_iso(kept_from)}), so changes between those times were not seen as events. Healed by "
                f"re-listing objects created since {_iso(heal_from)}; changes in that gap to older objects need "
                "`python -m sync --full`."
            )
            self.store.save_state(self.provider.name, "events", gap_detected_at=utcnow(), gap_message=message)
            return kept_from, heal_from, message
        return max(cursor - EVENT_OVERLAP, kept_from), None, None

    def sync_events(self, start: int) -> None:
        name = self.provider.name
        self.counts.setdefault("events", 0)
        self.last_event_id: str | None = None

        def checkpoint(hi: int) -> None:
            # The cursor is the time listed through, not the newest event: a quiet account is not a gap.
            fields: dict[str, Any] = {"event_cursor": hi}
            if self.last_event_id:
                fields["event_cursor_id"] = self.last_event_id
            self.store.save_state(name, "events", **fields)

        self.list_range("events", start, self.now, self.apply_events, checkpoint=checkpoint)
        self._finish("events", event_cursor=self.now)


def run_sync(store: Store, provider: Provider, *, full: bool = False, since: int | None = None,
             resources: Sequence[str] | None = None, lookback_days: int = 3, progress: Progress | None = None,
             now: int | None = None) -> SyncResult:
    """Sync `resources` (default: all the provider has) into the store; never raises a PayOpsError.

    First run per resource: backfill, checkpointed per window so a killed run resumes where it stopped.
    Later runs: events since the stored cursor, plus a re-list of the last `lookback_days` per resource.
    """
    selected = list(resources or provider.resources)
    unknown = [r for r in selected if r not in provider.resources]
    if unknown:
        raise ConfigError(
            f"Unknown resource {', '.join(unknown)}; choose from {', '.join(provider.resources)}."
        )
    mode = "full" if full else "since" if since is not None else "incremental"
    run = _Run(store, provider, progress, now)
    run.counts = dict.fromkeys(selected, 0)
    run_id = store.start_run(provider.name, mode)
    lookback = max(lookback_days, 0) * 86400
    gap_message = None
    current = ""
    try:
        relist_from = run.now - lookback
        # Events first, lists after: a list result fetched in the same second as an event is the newer
        # state, and with versions in whole seconds only the later write can win that tie.
        if "events" in selected:
            current = "events"
            event_from, heal_from, gap_message = run.event_start(full=full, lookback=lookback)
            if heal_from is not None:
                relist_from = min(relist_from, heal_from)
            run.sync_events(event_from)
        for resource in (r for r in selected if r != "events"):
            current = resource
            run.sync_resource(resource, full=full, since=since, relist_from=relist_from)
    except Exception as exc:
        # Provider text can quote a key (Stripe's "Invalid API Key provided: sk_..."): stored and shown redacted.
        message = redact_secrets(str(exc) if isinstance(exc, PayOpsError) else f"{type(exc).__name__}: {exc}") or ""
        store.finish_run(run_id, "failed", run.counts, message)
        if current:
            store.save_state(provider.name, current, last_error=message)
        if not isinstance(exc, PayOpsError):
            raise
        return SyncResult(run_id, "failed", dict(run.counts), message, gap_message)
    store.finish_run(run_id, "succeeded", run.counts)
    return SyncResult(run_id, "succeeded", dict(run.counts), None, gap_message)
