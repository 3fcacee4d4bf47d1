"""Bulk replay orchestration (no Streamlit): choose events, a dry run that says what would happen, a paced run.

Two kinds of replay:
- "rerun": re-run the stored copy through the receiver's handler (`sync.replay.replay_event`); already processed
  events are skipped unless forced; a forced re-apply still cannot overwrite newer data (versioned upserts).
- "resend": ask Stripe to send the event again, through the action guard (`event_retry`); events older than
  Stripe's 30 days are refused before any call. The user confirms the batch once (typed); each event then goes
  through `Guard.propose` + `Guard.confirm` with its own confirmation, so each is journaled and audited.
Runs are paced under `settings.stripe_rate_limit` (the resend costs three Stripe requests per event: the guard's
fresh read at propose and at confirm, then the retry).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from dashboard.actions import Guard
from dashboard.filters import Filters
from dashboard.queries import webhooks as q
from sync.replay import ReplayResult, replay_event, stored_event, too_old_to_resend
from sync.store import Store, epoch_now

MODES = ("rerun", "resend")
RESEND_REQUESTS_PER_EVENT = 3
MAX_BATCH = 1000  # one bulk run at most; narrow the selection for more

SKIP_PROCESSED = "skip: already processed"
SKIP_TOO_OLD = "skip: older than 30 days (Stripe no longer resends it)"
SKIP_NO_COPY = "skip: no verified stored copy"


@dataclass(frozen=True)
class Plan:
    """A dry run: every selected event with what the run would do to it, and the counts."""

    mode: str
    force: bool
    events: pd.DataFrame  # event_id, type, created, last_outcome, deliveries, processed, too_old, has_copy, action

    @property
    def selected(self) -> int:
        return len(self.events)

    @property
    def processed(self) -> int:
        return int(self.events["processed"].sum()) if self.selected else 0

    @property
    def too_old(self) -> int:
        return int(self.events["too_old"].sum()) if self.selected else 0

    @property
    def to_run(self) -> list[str]:
        return list(self.events.loc[self.events["action"] == "run", "event_id"]) if self.selected else []


@dataclass
class Summary:
    """How a run went: counts per result status, the failures' messages, elapsed seconds."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def text(self) -> str:
        parts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(self.counts.items()))
        return f"{self.total} events in {self.seconds:.1f} s: {parts or 'nothing to do'}."


def plan(store: Store, filters: Filters, mode: str, *, event_type: str | None = None, outcome: str | None = None,
         force: bool = False, now: int | None = None) -> Plan:
    """The dry run: which of the chosen events would run, and why the others would not."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    found = q.replay_candidates(store, filters, event_type, outcome, limit=MAX_BATCH)
    now = epoch_now() if now is None else now
    events = found.assign(
        processed=found["processed"].astype(bool),
        has_copy=found["has_copy"].astype(bool),
        too_old=[too_old_to_resend(None if pd.isna(c) else pd.Timestamp(c).to_pydatetime(), now)
                 for c in found["created"]],
    )
    actions = []
    for row in events.itertuples():
        if row.processed and not force:
            actions.append(SKIP_PROCESSED)
        elif mode == "resend" and row.too_old:
            actions.append(SKIP_TOO_OLD)
        elif mode == "rerun" and not row.has_copy:
            actions.append(SKIP_NO_COPY)
        else:
            actions.append("run")
    events["action"] = actions
    columns = ["event_id", "type", "created", "last_outcome", "deliveries", "processed", "too_old", "has_copy",
               "action"]
    return Plan(mode, force, events[columns].reset_index(drop=True))


def rerun_one(store: Store, *, force: bool, actor: str | None) -> Callable[[str], ReplayResult]:
    """One stored event through the receiver's handler."""
    return lambda event_id: replay_event(store, event_id, force=force, actor=actor)


def resend_one(guard: Guard, webhook_endpoint: str) -> Callable[[str], ReplayResult]:
    """Ask Stripe to resend one event, through the guard (propose, then confirm with its own confirmation)."""
    def run(event_id: str) -> ReplayResult:
        proposal = guard.propose("event_retry", event_id, {"webhook_endpoint": webhook_endpoint})
        if not proposal.allowed:
            done = proposal.status in ("succeeded", "reconciled")
            return ReplayResult(event_id, "skipped" if done else "refused", proposal.message)
        outcome = guard.confirm(proposal, proposal.confirmation_text)
        return ReplayResult(event_id, "resent" if outcome.ok else "failed", outcome.message)

    return run


def pace_interval(mode: str, rate_limit: float) -> float:
    """Seconds between events so the run stays under `rate_limit` provider requests per second."""
    if mode != "resend":
        return 0.0  # a re-run makes no provider request
    return RESEND_REQUESTS_PER_EVENT / max(rate_limit, 0.1)


def run(event_ids: list[str], one: Callable[[str], ReplayResult], *, interval: float = 0.0,
        on_progress: Callable[[int, int, ReplayResult], None] | None = None,
        sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Summary:
    """Run `one` over the events, starting one at most every `interval` seconds; report progress after each."""
    summary = Summary(total=len(event_ids))
    started = clock()
    for index, event_id in enumerate(event_ids):
        wait = started + index * interval - clock()
        if wait > 0:
            sleep(wait)
        result = one(event_id)
        summary.counts[result.status] = summary.counts.get(result.status, 0) + 1
        if not result.ok:
            summary.failures.append(result.message)
        if on_progress:
            on_progress(index + 1, len(event_ids), result)
    summary.seconds = clock() - started
    return summary


def resend_refusal(store: Store, event_id: str, now: int | None = None) -> str | None:
    """Why Stripe cannot be asked to resend this event (known from the stored copy), or None."""
    event = stored_event(store, event_id)
    if event is not None and too_old_to_resend(int(event.get("created") or 0) or None, now):
        return (f"Event {event_id} is older than 30 days: Stripe no longer keeps or resends it. Re-run the stored "
                "copy instead.")
    return None
