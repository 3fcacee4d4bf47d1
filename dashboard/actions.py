"""THE guard: every provider write goes through here (role, fresh-state check, typed confirmation, second approver,
journal row with a stable idempotency key, reconciliation after a crash, hash-chained audit). No Streamlit here.

A page offers an action in about ten lines:

    guard = actions.Guard(store, settings, actions.Actor(*roles.current_user(settings)))
    proposal = guard.propose("refund", charge_id, {"amount": 500, "reason": "requested_by_customer"})
    st.info(proposal.message)
    for warning in proposal.warnings:
        st.warning(warning)
    if proposal.allowed:
        typed = st.text_input(f"Type {proposal.confirmation_text} to confirm")
        if st.button("Refund"):
            outcome = guard.confirm(proposal, typed)
            (st.success if outcome.ok else st.error)(outcome.message)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError

from dashboard import roles
from sync import audit
from sync.action_schema import actions as actions_table
from sync.action_schema import create_tables
from sync.errors import PayOpsError, ProviderRequestError
from sync.money import to_major
from sync.providers import stripe_writes as sw
from sync.settings import Settings
from sync.store import Store, epoch_now, utcnow

KINDS = ("refund", "invoice_retry", "dispute_update", "dispute_close", "event_retry")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# Decline codes that mean "never charge this card again" (Stripe's hard declines), plus Radar blocks.
HARD_DECLINES = frozenset({
    "stolen_card", "lost_card", "pickup_card", "fraudulent", "restricted_card", "security_violation",
    "merchant_blacklist", "revocation_of_all_authorizations", "revocation_of_authorization", "stop_payment_order",
    "invalid_account", "card_not_supported", "currency_not_supported", "transaction_not_allowed",
    "do_not_honor_permanently", "highest_risk_level",
})
NO_RETRY_ADVICE = frozenset({"do_not_try_again"})
DONE = frozenset({"succeeded", "reconciled"})
DEAD = frozenset({"failed", "expired"})
OPEN_DISPUTE = frozenset({"needs_response", "warning_needs_response"})
_CONFIRM_WORD = {"invoice_retry": "RETRY", "dispute_close": "ACCEPT", "event_retry": "RESEND"}

_claim_lock = threading.Lock()
_in_flight: set[str] = set()  # action ids this process is calling the provider for right now
# One lock per target (a charge, an invoice, a dispute) held from the fresh check to the provider's answer: two
# different refunds of one charge confirmed at the same moment run one after the other, and the second one's check
# sees the first. Across processes the journal decides (see `_refund_fits`).
_target_locks: dict[str, list[Any]] = {}  # key -> [lock, users]
_target_locks_guard = threading.Lock()
# Journal states whose refund may exist at Stripe, or soon will: they count against what is left to refund.
REFUND_IN_FLIGHT = frozenset({"approved", "running"})


@contextmanager
def _target_lock(key: str) -> Iterator[None]:
    with _target_locks_guard:
        entry = _target_locks.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _target_locks_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _target_locks[key]


@dataclass(frozen=True)
class Actor:
    email: str | None
    role: str
    signed_in: bool = False

    @property
    def name(self) -> str:
        return self.email or roles.LOCAL_OPERATOR


@dataclass(frozen=True)
class Limits:
    """`[payops.actions]` in secrets: approval_above (minor units per currency, "*" for any other),
    approval_ttl_hours, max_invoice_retries, reconcile_grace_seconds."""

    approval_above: Mapping[str, int] = field(default_factory=dict)
    approval_ttl_hours: int = 24
    max_invoice_retries: int = 3
    reconcile_grace_seconds: int = 120

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        payops = settings.extra.get("payops") or {}
        raw = payops.get("actions") if isinstance(payops, Mapping) else None
        raw = raw if isinstance(raw, Mapping) else {}
        above = raw.get("approval_above") or {}
        return cls(
            approval_above={str(k).upper() if k != "*" else "*": int(v) for k, v in dict(above).items()},
            approval_ttl_hours=int(raw.get("approval_ttl_hours", 24)),
            max_invoice_retries=int(raw.get("max_invoice_retries", 3)),
            reconcile_grace_seconds=int(raw.get("reconcile_grace_seconds", 120)),
        )

    def threshold(self, currency: str | None) -> int | None:
        if not currency:
            return None
        return self.approval_above.get(currency.upper(), self.approval_above.get("*"))


@dataclass
class Proposal:
    """What the page shows before the user confirms; hand it back to `Guard.confirm`."""

    kind: str
    target_id: str
    params: dict[str, Any]
    action_id: str | None = None
    allowed: bool = False
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    confirmation_text: str = ""
    needs_approval: bool = False
    status: str = "new"  # new, or the existing action's status
    amount: int | None = None
    currency: str | None = None
    generation: int = 0


@dataclass
class Outcome:
    ok: bool
    status: str
    message: str
    action_id: str | None = None
    request_id: str | None = None
    obj: dict[str, Any] | None = None


@dataclass
class _Check:
    ok: bool
    message: str
    warnings: list[str] = field(default_factory=list)
    amount: int | None = None
    currency: str | None = None
    # What the approval threshold is compared with: for a refund, every refund of the charge (done, pending at
    # Stripe, in flight in PayOps) plus this one; otherwise the amount.
    approval_amount: int | None = None
    refund: _RefundState | None = None


@dataclass(frozen=True)
class _RefundState:
    """A charge's refund figures as one check read them, kept to re-check against the journal after claiming."""

    total: int
    refunded: int
    pending: int
    seen: frozenset[str]  # PayOps action ids whose refunds Stripe's list showed
    read_at: dt.datetime  # before Stripe was read


def _canon(value: Any) -> str:
    return audit.canonical_json(value)


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None or not currency:
        return "?"
    return f"{to_major(amount, currency)} {currency.upper()}"


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


class Guard:
    """One user's handle on guarded actions; cheap to build per page run."""

    def __init__(self, store: Store, settings: Settings, actor: Actor, *, client: Any = None,
                 limits: Limits | None = None, provider: str = "stripe") -> None:
        self.store, self.settings, self.actor, self.provider = store, settings, actor, provider
        self.limits = limits or Limits.from_settings(settings)
        self._client = client
        create_tables(store.engine)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = sw.build_client(self.settings)
        return self._client

    # -- public API ------------------------------------------------------------------------------------------

    def propose(self, kind: str, target_id: str, params: Mapping[str, Any] | None = None, *,
                repeat: bool = False) -> Proposal:
        """Check an action against role, mode and fresh provider state; writes nothing (safe on every rerun).

        `repeat=True` asks for a new action identical to one already done (e.g. a second partial refund).
        """
        try:
            clean = self._clean(kind, target_id, params)
        except PayOpsError as exc:
            return Proposal(kind, target_id, dict(params or {}), message=str(exc))
        generation, row = self._resolve(kind, target_id, clean, repeat)
        proposal = Proposal(kind, target_id, clean, action_id=self._action_id(kind, target_id, clean, generation),
                            generation=generation, status=row["status"] if row else "new")
        if row and row["status"] in DONE:
            proposal.message = f"Already done: {self._describe_row(row)}"
            return proposal
        if row and row["status"] == "pending_approval":
            proposal.message = (f"Waiting for a second approver (asked by {row['requested_by']}, expires "
                                f"{row['expires_at']:%Y-%m-%d %H:%M} UTC).")
            return proposal
        if row and row["status"] == "running":
            proposal.message = "This action is running now; reload in a moment for its result."
            return proposal
        refusal = self._refusal(kind)
        if refusal:
            proposal.message = refusal
            return proposal
        try:
            check = self._check(kind, target_id, clean, proposal.action_id)
        except PayOpsError as exc:
            proposal.message = f"Could not check {target_id} with Stripe: {exc}"
            return proposal
        proposal.warnings, proposal.amount, proposal.currency = check.warnings, check.amount, check.currency
        proposal.message = check.message
        if not check.ok:
            return proposal
        proposal.allowed = True
        proposal.confirmation_text = self._confirmation_text(kind, target_id, check)
        approved = bool(row and row["approved_by"])
        proposal.needs_approval = self._needs_approval(check) and not approved
        if proposal.needs_approval:
            limit = _money(self.limits.threshold(check.currency), check.currency)
            if check.refund is not None and check.approval_amount != check.amount:
                proposal.message += (f" The refunds on this payment would total "
                                     f"{_money(check.approval_amount, check.currency)} with this one: above {limit} "
                                     "(for all of a payment's refunds together) a second user must approve it before "
                                     "it runs.")
            else:
                proposal.message += f" Above {limit} a second user must approve it before it runs."
        if row and row["attempts"]:
            proposal.message += " An earlier attempt did not finish: confirming checks Stripe first, then retries " \
                                "under the same idempotency key."
        return proposal

    def confirm(self, proposal: Proposal, typed: str) -> Outcome:
        """Run (or queue for approval) a proposed action; every call is audited, refusals included.

        One action per target at a time in this process: the fresh check, the claim and the provider call run under
        the target's lock, so a second refund of the same charge is checked against the first one's result."""
        kind, target = proposal.kind, proposal.target_id
        try:
            clean = self._clean(kind, target, proposal.params)
        except PayOpsError as exc:
            return self._refuse(kind, target, proposal.params, str(exc))
        with _target_lock(f"{self.provider}:{target}"):
            return self._confirm(proposal, kind, target, clean, typed)

    def _confirm(self, proposal: Proposal, kind: str, target: str, clean: dict[str, Any], typed: str) -> Outcome:
        action_id = self._action_id(kind, target, clean, proposal.generation)
        row = self._row(action_id)
        if row and row["status"] in DONE:
            return Outcome(True, row["status"], f"Already done: {self._describe_row(row)}", action_id,
                           row["provider_request_id"], _loads(row["result"]))
        if row and row["status"] in ("running", "pending_approval"):
            return Outcome(False, row["status"], "This action is already running or waiting for approval; "
                           "nothing was sent twice.", action_id)
        refusal = self._refusal(kind)
        if refusal:
            return self._refuse(kind, target, clean, refusal, action_id)
        try:
            check = self._check(kind, target, clean, action_id)
        except PayOpsError as exc:
            return self._refuse(kind, target, clean, f"Could not check {target} with Stripe: {exc}", action_id)
        if not check.ok:
            return self._refuse(kind, target, clean, check.message, action_id)
        expected = self._confirmation_text(kind, target, check)
        if _norm(typed) != _norm(expected):
            return self._refuse(kind, target, clean, f"The confirmation did not match: type {expected} exactly.",
                                action_id)
        approved = bool(row and row["approved_by"])
        if self._needs_approval(check) and not approved:
            return self._request_approval(kind, target, clean, proposal.generation, check)
        if row is None:
            self._insert(kind, target, clean, proposal.generation, check, "approved")
        refused = self._refund_fits(action_id, check)
        if refused:
            return refused
        return self._execute(action_id)

    def approve(self, action_id: str, typed: str) -> Outcome:
        """A second user approves a pending action (then it runs at once, under its target's lock)."""
        row = self._row(action_id)
        if row is None or row["status"] != "pending_approval":
            return Outcome(False, row["status"] if row else "missing", "There is no pending approval with this id.",
                           action_id)
        with _target_lock(f"{self.provider}:{row['target_id']}"):
            return self._approve(action_id, typed)

    def _approve(self, action_id: str, typed: str) -> Outcome:
        row = self._row(action_id)
        if row is None or row["status"] != "pending_approval":
            return Outcome(False, row["status"] if row else "missing", "There is no pending approval with this id.",
                           action_id)
        kind, target, params = row["kind"], row["target_id"], _loads(row["params"]) or {}
        if row["expires_at"] and row["expires_at"] < utcnow():
            self.expire_stale()
            return Outcome(False, "expired", "This approval request expired; ask for the action again.", action_id)
        if self.actor.name == row["requested_by"]:
            return self._refuse(kind, target, params, "You asked for this action: a different user must approve it.",
                                action_id, event="approval_refused")
        refusal = self._refusal(kind)
        if refusal:
            return self._refuse(kind, target, params, refusal, action_id, event="approval_refused")
        try:
            check = self._check(kind, target, params, action_id)
        except PayOpsError as exc:
            return self._refuse(kind, target, params, f"Could not check {target} with Stripe: {exc}", action_id,
                                event="approval_refused")
        if not check.ok:
            return self._refuse(kind, target, params, check.message, action_id, event="approval_refused")
        expected = self._confirmation_text(kind, target, check)
        if _norm(typed) != _norm(expected):
            return self._refuse(kind, target, params, f"The confirmation did not match: type {expected} exactly.",
                                action_id, event="approval_refused")
        if not self._transition(action_id, ("pending_approval",), "approved", approved_by=self.actor.name):
            return Outcome(False, "approved", "Someone else approved it already.", action_id)
        self._audit(f"{kind}.approved", target, params, action_id=action_id)
        refused = self._refund_fits(action_id, check)
        if refused:
            return refused
        return self._execute(action_id)

    def review(self, action_id: str) -> Proposal:
        """What an approver sees for a pending action: fresh check, warnings and the text to type."""
        row = self._row(action_id)
        if row is None:
            return Proposal("", "", {}, message="There is no action with this id.")
        params = _loads(row["params"]) or {}
        proposal = Proposal(row["kind"], row["target_id"], params, action_id=action_id, status=row["status"],
                            generation=row["generation"], amount=row["amount"], currency=row["currency"])
        if row["status"] != "pending_approval":
            proposal.message = f"This action is {row['status']}; there is nothing to approve."
            return proposal
        refusal = self._refusal(row["kind"])
        if refusal or self.actor.name == row["requested_by"]:
            proposal.message = refusal or "You asked for this action: a different user must approve it."
            return proposal
        try:
            check = self._check(row["kind"], row["target_id"], params, action_id)
        except PayOpsError as exc:
            proposal.message = f"Could not check {row['target_id']} with Stripe: {exc}"
            return proposal
        proposal.allowed, proposal.message, proposal.warnings = check.ok, check.message, check.warnings
        if check.ok:
            proposal.confirmation_text = self._confirmation_text(row["kind"], row["target_id"], check)
        return proposal

    def pending_approvals(self) -> pd.DataFrame:
        """Actions waiting for a second approver (expired ones are marked first)."""
        self.expire_stale()
        return self._frame(select(actions_table).where(actions_table.c.status == "pending_approval")
                           .order_by(actions_table.c.created_at))

    def history(self, target_id: str | None = None, limit: int = 200) -> pd.DataFrame:
        query = select(actions_table).order_by(actions_table.c.created_at.desc()).limit(limit)
        if target_id:
            query = query.where(actions_table.c.target_id == target_id)
        return self._frame(query)

    def expire_stale(self) -> int:
        now = utcnow()
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(actions_table.c.id, actions_table.c.kind, actions_table.c.target_id).where(
                actions_table.c.status == "pending_approval", actions_table.c.expires_at < now)).all()
        expired = 0
        for row in rows:
            if self._transition(row.id, ("pending_approval",), "expired", error="approval expired"):
                self._audit(f"{row.kind}.expired", row.target_id, None, action_id=row.id, error="approval expired")
                expired += 1
        return expired

    def reconcile(self, older_than_seconds: int | None = None) -> list[Outcome]:
        """On load: settle actions left `running` by a crash, from the provider's state, never by a new call."""
        grace = self.limits.reconcile_grace_seconds if older_than_seconds is None else older_than_seconds
        cutoff = utcnow() - dt.timedelta(seconds=grace)
        with self.store.engine.connect() as conn:
            ids = conn.execute(select(actions_table.c.id).where(
                actions_table.c.status == "running", actions_table.c.updated_at <= cutoff)).scalars().all()
        return [self._reconcile_one(action_id) for action_id in ids if action_id not in _in_flight]

    # -- checks ----------------------------------------------------------------------------------------------

    def _clean(self, kind: str, target_id: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        if kind not in KINDS:
            raise PayOpsError(f"Unknown action {kind!r}: use one of {', '.join(KINDS)}.")
        if not target_id or not isinstance(target_id, str):
            raise PayOpsError("Pick the object to act on first.")
        if kind == "refund":
            amount = params.get("amount")
            if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
                raise PayOpsError("The refund amount must be a positive whole number of minor units (cents).")
            reason = params.get("reason") or None
            if reason is not None and reason not in REFUND_REASONS:
                raise PayOpsError(f"The refund reason must be one of {', '.join(REFUND_REASONS)}.")
            return {"amount": amount, "reason": reason}
        if kind == "dispute_update":
            evidence = params.get("evidence") or {}
            if not isinstance(evidence, Mapping) or not all(isinstance(v, str) for v in evidence.values()):
                raise PayOpsError("Dispute evidence must be text fields (e.g. uncategorized_text).")
            return {"evidence": {str(k): v for k, v in evidence.items()}, "submit": bool(params.get("submit"))}
        if kind == "event_retry":
            endpoint = params.get("webhook_endpoint")
            if not endpoint or not str(endpoint).startswith("we_"):
                raise PayOpsError("Choose the webhook endpoint (we_...) to send the event to.")
            return {"webhook_endpoint": str(endpoint)}
        return {}

    def _refusal(self, kind: str) -> str | None:
        if not roles.can_act(self.actor.role, kind):
            return roles.action_refusal(self.actor.role, kind)
        mode = sw.client_key_mode(self._client) if self._client is not None else sw.key_mode(
            sw.write_key(self.settings))
        if mode == "live":
            if not self.settings.allow_live_writes:
                return ("Live-mode writes are off. To turn them on, set PAYOPS_ALLOW_LIVE_WRITES=true and configure "
                        "sign-in ([auth] in .streamlit/secrets.toml, plus [payops.roles]); see SECURITY.md.")
            if not roles.auth_configured(self.settings) or not self.actor.signed_in:
                return ("Live-mode writes need a signed-in user: configure [auth] (OIDC) in "
                        ".streamlit/secrets.toml and sign in; see SECURITY.md.")
        return self._chain_refusal()

    def _chain_refusal(self) -> str | None:
        """No write while the audit log does not verify: what PayOps does must stay provable."""
        try:
            check = audit.verify(self.store)
        except PayOpsError as exc:
            return f"Writes to Stripe are refused: the audit log could not be verified ({exc})."
        if check.ok:
            return None
        return (f"Writes to Stripe are refused while the audit log does not verify: {check.message} An admin must "
                "investigate on the Audit page (see SECURITY.md) before any action runs.")

    def _check(self, kind: str, target: str, params: dict[str, Any], action_id: str | None = None) -> _Check:
        if kind == "refund":
            return self._check_refund(target, params, action_id)
        return {"invoice_retry": self._check_invoice, "dispute_update": self._check_dispute,
                "dispute_close": self._check_dispute, "event_retry": self._check_event}[kind](target, params)

    def _journal_refunds(self, charge_id: str, exclude: str | None, state: _RefundState) -> int:
        """PayOps refunds of this charge that Stripe's list (as `state` read it) does not show yet: claimed or
        running ones, and any that finished after that read. Each counts against what is left to refund."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(actions_table.c.id, actions_table.c.amount, actions_table.c.status,
                                       actions_table.c.updated_at).where(
                actions_table.c.provider == self.provider, actions_table.c.kind == "refund",
                actions_table.c.target_id == charge_id,
                actions_table.c.status.in_(REFUND_IN_FLIGHT | DONE))).all()
        return sum(int(r.amount or 0) for r in rows if r.id != exclude and r.id not in state.seen and (
            r.status in REFUND_IN_FLIGHT or (r.updated_at is not None and r.updated_at >= state.read_at)))

    def _refund_fits(self, action_id: str, check: _Check) -> Outcome | None:
        """The durable half of refund serialisation, after this action's journal row exists: another process may
        have claimed a refund of the same charge since the check. Any two claims see each other here (each reads
        after its own insert), so at most the later one backs off; None when this one still fits."""
        state = check.refund
        if state is None:
            return None
        row = self._row(action_id)
        if row is None:
            return None
        others = self._journal_refunds(row["target_id"], action_id, state)
        amount = int(row["amount"] or check.amount or 0)
        left = state.total - state.refunded - state.pending - others
        if amount <= left:
            return None
        currency = check.currency
        message = (f"Amount too large: {_money(amount, currency)} asked, but another refund of this payment was "
                   f"claimed meanwhile: {_money(max(left, 0), currency)} refundable now.")
        if self._transition(action_id, ("approved",), "failed", error=message):
            return self._refuse(row["kind"], row["target_id"], _loads(row["params"]), message, action_id)
        return Outcome(False, "refused", message, action_id)

    def _check_refund(self, charge_id: str, params: dict[str, Any], action_id: str | None = None) -> _Check:
        read_at = utcnow()
        charge = sw.get_charge(self.client, charge_id)
        currency = (charge.get("currency") or "").upper()
        if charge.get("status") != "succeeded" or charge.get("captured") is False:
            return _Check(False, f"Payment {charge_id} is {charge.get('status')} (captured: {charge.get('captured')}); "
                          "only captured, succeeded payments can be refunded.", currency=currency)
        refunds = sw.list_refunds(self.client, charge_id)
        succeeded = sum(r.get("amount") or 0 for r in refunds if r.get("status") == "succeeded")
        pending = sum(r.get("amount") or 0 for r in refunds if r.get("status") in ("pending", "requires_action"))
        refunded = max(int(charge.get("amount_refunded") or 0), succeeded)
        total = int(charge.get("amount_captured") or charge.get("amount") or 0)
        seen = frozenset(str((r.get("metadata") or {}).get(sw.ACTION_METADATA_KEY)) for r in refunds
                         if (r.get("metadata") or {}).get(sw.ACTION_METADATA_KEY))
        state = _RefundState(total, refunded, pending, seen, read_at)
        in_flight = self._journal_refunds(charge_id, action_id, state)
        refundable = total - refunded - pending - in_flight
        warnings = []
        if charge.get("disputed") or charge.get("dispute"):
            dispute_id = _id(charge.get("dispute"))
            dispute = sw.get_dispute(self.client, dispute_id) if dispute_id else {}
            if dispute and dispute.get("is_charge_refundable") is False:
                return _Check(False, f"Payment {charge_id} is disputed ({dispute.get('status')}) and Stripe will not "
                              "refund it: answer the dispute instead.", currency=currency)
            warnings.append("This payment is disputed: a refund does not close the dispute, and you can lose both "
                            "the refund and the dispute amount. Prefer answering or accepting the dispute.")
        if pending:
            warnings.append(f"{_money(pending, currency)} of refunds are still pending on this payment.")
        if in_flight:
            warnings.append(f"{_money(in_flight, currency)} of other refunds of this payment are in flight in PayOps "
                            "(confirmed, not yet answered by Stripe).")
        amount = params.get("amount") or refundable
        flying = f", {_money(in_flight, currency)} in flight in PayOps" if in_flight else ""
        summary = (f"{_money(total, currency)} paid, {_money(refunded, currency)} refunded, {_money(pending, currency)}"
                   f" pending{flying}: {_money(refundable, currency)} refundable.")
        if refundable <= 0:
            return _Check(False, f"Nothing left to refund on {charge_id}: {summary}", warnings, 0, currency,
                          refund=state)
        if amount > refundable:
            return _Check(False, f"Amount too large: {_money(amount, currency)} asked, {summary}", warnings, amount,
                          currency, refund=state)
        kind = "Full" if amount == refundable and refunded == 0 and pending == 0 and not in_flight else "Partial"
        # The approval limit applies to the charge's refunds together, over its lifetime: split refunds add up.
        return _Check(True, f"{kind} refund of {_money(amount, currency)} on {charge_id}. {summary}", warnings,
                      amount, currency, approval_amount=refunded + pending + in_flight + amount, refund=state)

    def _check_invoice(self, invoice_id: str, params: dict[str, Any]) -> _Check:
        invoice = sw.get_invoice(self.client, invoice_id)
        currency = (invoice.get("currency") or "").upper()
        status = invoice.get("status")
        amount = invoice.get("amount_remaining", invoice.get("amount_due"))
        if status == "paid":
            return _Check(False, f"Invoice {invoice_id} is already paid; it is not retried.", currency=currency)
        if status != "open":
            return _Check(False, f"Invoice {invoice_id} is {status}; only open invoices can be retried.",
                          currency=currency)
        codes = self._decline_codes(invoice)
        hard = sorted(codes & (HARD_DECLINES | NO_RETRY_ADVICE))
        if hard:
            return _Check(False, f"The last payment of {invoice_id} was declined with {', '.join(hard)}: the issuer "
                          "says never to retry this card. Ask the customer for a new payment method.",
                          amount=amount, currency=currency)
        used = self._retry_count(invoice_id)
        if used >= self.limits.max_invoice_retries:
            return _Check(False, f"{invoice_id} was already retried {used} times from PayOps (the cap is "
                          f"{self.limits.max_invoice_retries}); ask the customer to update their card.",
                          amount=amount, currency=currency)
        warnings = [f"The last attempt failed with {', '.join(sorted(codes))}."] if codes else []
        return _Check(True, f"Retry invoice {invoice_id} now for {_money(amount, currency)} with the customer's "
                      f"current default payment method (attempt {invoice.get('attempt_count') or 0} so far, PayOps "
                      f"retry {used + 1} of {self.limits.max_invoice_retries}).", warnings, amount, currency)

    def _decline_codes(self, invoice: dict[str, Any]) -> set[str]:
        """Decline, failure and advice codes of the invoice's last payment, from its charge and PaymentIntent."""
        codes: set[str] = set()
        charge = invoice.get("charge")
        intent = invoice.get("payment_intent")
        if isinstance(intent, str):
            intent = sw.get_payment_intent(self.client, intent)
        if isinstance(intent, dict):
            error = intent.get("last_payment_error") or {}
            codes.update(v for v in (error.get("decline_code"), error.get("advice_code")) if v)
            charge = charge or intent.get("latest_charge")
        if isinstance(charge, str):
            charge = sw.get_charge(self.client, charge)
        if isinstance(charge, dict) and charge.get("status") == "failed":
            outcome = charge.get("outcome") or {}
            codes.update(v for v in (charge.get("failure_code"), outcome.get("reason"), outcome.get("advice_code"))
                         if v)
        return codes

    def _check_dispute(self, dispute_id: str, params: dict[str, Any]) -> _Check:
        dispute = sw.get_dispute(self.client, dispute_id)
        currency = (dispute.get("currency") or "").upper()
        amount, status = dispute.get("amount"), dispute.get("status")
        due = (dispute.get("evidence_details") or {}).get("due_by")
        deadline = dt.datetime.fromtimestamp(due, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if due else "unknown"
        if status not in OPEN_DISPUTE:
            return _Check(False, f"Dispute {dispute_id} is {status}; it can no longer be answered.", amount=amount,
                          currency=currency)
        if due and due < epoch_now():
            return _Check(False, f"The evidence deadline of {dispute_id} passed ({deadline}).", amount=amount,
                          currency=currency)
        if "evidence" in params:
            submit = bool(params.get("submit"))
            label = "Submit evidence for dispute" if submit else "Stage evidence (not submitted yet) for dispute"
            warnings = ["Submitting is final: Stripe sends the evidence to the issuer and it cannot be edited."] \
                if submit else []
        else:
            label = "Accept (lose) dispute"
            warnings = ["Accepting is final: the disputed amount and the dispute fee are not returned."]
        return _Check(True, f"{label} {dispute_id} of {_money(amount, currency)} ({dispute.get('reason')}); "
                      f"evidence due {deadline}.", warnings, amount, currency)

    def _check_event(self, event_id: str, params: dict[str, Any]) -> _Check:
        event = sw.get_event(self.client, event_id)
        created = int(event.get("created") or 0)
        if created and created < epoch_now() - 30 * 86400:
            return _Check(False, f"Event {event_id} is older than 30 days; Stripe no longer resends it. Replay the "
                          "stored copy instead.")
        return _Check(True, f"Ask Stripe to resend {event.get('type')} event {event_id} to "
                      f"{params['webhook_endpoint']}. The receiver dedupes by event id.")

    def _confirmation_text(self, kind: str, target: str, check: _Check) -> str:
        last4 = target[-4:]
        if kind == "refund":
            return f"{to_major(check.amount or 0, check.currency or 'USD')} {last4}"
        if kind == "dispute_update":
            return f"EVIDENCE {last4}"
        return f"{_CONFIRM_WORD[kind]} {last4}"

    def _needs_approval(self, check: _Check) -> bool:
        threshold = self.limits.threshold(check.currency)
        amount = check.approval_amount if check.approval_amount is not None else check.amount
        return threshold is not None and amount is not None and amount > threshold

    def _retry_count(self, invoice_id: str) -> int:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(actions_table.c.attempts).where(
                actions_table.c.kind == "invoice_retry", actions_table.c.target_id == invoice_id)).scalars().all()
        return sum(int(n or 0) for n in rows)

    # -- journal ---------------------------------------------------------------------------------------------

    def _identity(self, kind: str, target: str, params: dict[str, Any]) -> str:
        return hashlib.sha256(_canon([self.provider, kind, target, params]).encode()).hexdigest()[:32]

    def _action_id(self, kind: str, target: str, params: dict[str, Any], generation: int) -> str:
        identity = self._identity(kind, target, params)
        return "act_" + hashlib.sha256(f"{identity}:{generation}".encode()).hexdigest()[:24]

    def _resolve(self, kind: str, target: str, params: dict[str, Any], repeat: bool) -> tuple[int, dict | None]:
        """Which generation of this identity a click means: the live one, the done one, or the next."""
        identity = self._identity(kind, target, params)
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(actions_table).where(actions_table.c.identity == identity)
                                .order_by(actions_table.c.generation)).mappings().all()
        if not rows:
            return 0, None
        last = dict(rows[-1])
        if last["status"] in DEAD or (last["status"] in DONE and repeat):
            return last["generation"] + 1, None
        return last["generation"], last

    def _row(self, action_id: str) -> dict[str, Any] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(actions_table).where(actions_table.c.id == action_id)).mappings().first()
        return dict(row) if row else None

    def _insert(self, kind: str, target: str, params: dict[str, Any], generation: int, check: _Check,
                status: str) -> str:
        action_id = self._action_id(kind, target, params, generation)
        now = utcnow()
        expires = now + dt.timedelta(hours=self.limits.approval_ttl_hours) if status == "pending_approval" else None
        with _claim_lock:
            if self._row(action_id) is None:
                try:
                    with self.store.begin() as conn:
                        conn.execute(insert(actions_table).values(
                            id=action_id, provider=self.provider, kind=kind, target_id=target, params=_canon(params),
                            identity=self._identity(kind, target, params), generation=generation,
                            idempotency_key=f"payops-{action_id}", status=status, amount=check.amount,
                            currency=check.currency, requested_by=self.actor.name, role=self.actor.role,
                            created_at=now, updated_at=now, expires_at=expires, attempts=0,
                        ))
                except DBAPIError:
                    pass  # another process inserted the same identity first: its row is the one to use
        return action_id

    def _transition(self, action_id: str, from_states: tuple[str, ...], to_state: str, **values: Any) -> bool:
        """Compare-and-set on status: exactly one caller wins, in this process or another."""
        with _claim_lock:
            try:
                with self.store.begin() as conn:
                    result = conn.execute(update(actions_table).where(
                        actions_table.c.id == action_id, actions_table.c.status.in_(from_states),
                    ).values(status=to_state, updated_at=utcnow(), **values))
                    return result.rowcount == 1
            except DBAPIError:
                return False  # a concurrent writer changed the row first (DuckDB raises a conflict)

    def _request_approval(self, kind: str, target: str, params: dict[str, Any], generation: int,
                          check: _Check) -> Outcome:
        action_id = self._insert(kind, target, params, generation, check, "pending_approval")
        self._audit(f"{kind}.approval_requested", target, params, action_id=action_id)
        return Outcome(True, "pending_approval", f"Sent for approval: {check.message} A second user with the right "
                       f"role must approve it within {self.limits.approval_ttl_hours} h.", action_id)

    # -- execution -------------------------------------------------------------------------------------------

    def _execute(self, action_id: str) -> Outcome:
        row = self._row(action_id)
        assert row is not None
        if not self._transition(action_id, ("approved",), "running", attempts=int(row["attempts"] or 0) + 1):
            current = self._row(action_id) or {}
            if current.get("status") in DONE:
                return Outcome(True, current["status"], f"Already done: {self._describe_row(current)}", action_id,
                               current["provider_request_id"], _loads(current["result"]))
            return Outcome(False, current.get("status", "unknown"),
                           "This action was already started by another click; nothing was sent twice.", action_id)
        _in_flight.add(action_id)
        try:
            if row["attempts"]:
                found = self._find_existing(row)
                if found is not None:
                    return self._complete(row, found, "reconciled")
            kind, target, params = row["kind"], row["target_id"], _loads(row["params"]) or {}
            try:
                self._audit(f"{kind}.started", target, params, action_id=action_id)
            except audit.AuditChainError as exc:  # the log broke since the check: nothing is sent unaudited
                self._transition(action_id, ("running",), "approved", error=str(exc))
                return Outcome(False, "refused", f"Writes to Stripe are refused while the audit log does not "
                               f"verify: {exc}", action_id)
            try:
                answer = self._call(row, params)
            except ProviderRequestError as exc:
                self._transition(action_id, ("running",), "failed", error=str(exc),
                                 provider_request_id=exc.request_id)
                self._audit(f"{kind}.failed", target, params, action_id=action_id, error=str(exc),
                            request_id=exc.request_id)
                return Outcome(False, "failed", str(exc), action_id, exc.request_id)
            except PayOpsError as exc:
                # Outcome unknown (network, 5xx, 429): keep the key; the next confirm checks Stripe, then retries.
                self._transition(action_id, ("running",), "approved", error=str(exc))
                self._audit(f"{kind}.interrupted", target, params, action_id=action_id, error=str(exc))
                return Outcome(False, "approved", str(exc), action_id)
            if kind == "invoice_retry" and answer.obj.get("status") != "paid":
                message = (f"Stripe tried the payment but invoice {target} is still {answer.obj.get('status')}: the "
                           "card was declined again. Ask the customer to update their payment method.")
                self._transition(action_id, ("running",), "failed", error=message,
                                 provider_request_id=answer.request_id, result=_canon(_summary(answer.obj)))
                self._audit(f"{kind}.failed", target, params, action_id=action_id, error=message,
                            request_id=answer.request_id)
                self._apply([answer.obj])
                return Outcome(False, "failed", message, action_id, answer.request_id, answer.obj)
            return self._complete(row, answer.obj, "succeeded", answer.request_id)
        finally:
            _in_flight.discard(action_id)

    def _call(self, row: dict[str, Any], params: dict[str, Any]) -> sw.Answer:
        # A "full" refund sends the amount the user confirmed (kept on the row), never "whatever is left":
        # some servers refund the whole charge when the amount is omitted.
        key, target, action_id = row["idempotency_key"], row["target_id"], row["id"]
        calls: dict[str, Callable[[], sw.Answer]] = {
            "refund": lambda: sw.refund(self.client, target, action_id=action_id, idempotency_key=key,
                                        amount=params.get("amount") or row["amount"], reason=params.get("reason")),
            "invoice_retry": lambda: sw.pay_invoice(self.client, target, idempotency_key=key),
            "dispute_update": lambda: sw.update_dispute(self.client, target, evidence=params["evidence"],
                                                        submit=params["submit"], action_id=action_id,
                                                        idempotency_key=key),
            "dispute_close": lambda: sw.close_dispute(self.client, target, idempotency_key=key),
            "event_retry": lambda: sw.retry_event(self.client, target, webhook_endpoint=params["webhook_endpoint"],
                                                  idempotency_key=key),
        }
        return calls[row["kind"]]()

    def _find_existing(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The provider-side effect of an earlier, unfinished attempt of this action, if it happened."""
        kind, target = row["kind"], row["target_id"]
        if kind == "refund":
            return sw.find_refund_by_action(self.client, target, row["id"])
        if kind == "invoice_retry":
            invoice = sw.get_invoice(self.client, target)
            return invoice if invoice.get("status") == "paid" else None
        if kind == "dispute_update":
            dispute = sw.get_dispute(self.client, target)
            return dispute if (dispute.get("metadata") or {}).get(sw.ACTION_METADATA_KEY) == row["id"] else None
        if kind == "dispute_close":
            dispute = sw.get_dispute(self.client, target)
            return dispute if dispute.get("status") == "lost" else None
        return None  # event retry leaves no trace to read; a same-key retry is safe

    def _reconcile_one(self, action_id: str) -> Outcome:
        row = self._row(action_id)
        if row is None or row["status"] != "running":
            return Outcome(False, row["status"] if row else "missing", "Nothing to reconcile.", action_id)
        try:
            found = self._find_existing(row)
        except PayOpsError as exc:
            return Outcome(False, "running", f"Could not reconcile {action_id} yet: {exc}", action_id)
        if found is not None:
            return self._complete(row, found, "reconciled")
        if self._transition(action_id, ("running",), "approved", error="interrupted before Stripe answered"):
            self._audit(f"{row['kind']}.interrupted", row["target_id"], _loads(row["params"]), action_id=action_id,
                        error="no trace at Stripe after a crash; confirming again retries with the same key")
        return Outcome(False, "approved", "The earlier attempt left no trace at Stripe; confirm again to retry it "
                       "under the same idempotency key.", action_id)

    def _complete(self, row: dict[str, Any], obj: dict[str, Any], status: str,
                  request_id: str | None = None) -> Outcome:
        action_id, kind, target = row["id"], row["kind"], row["target_id"]
        summary = _summary(obj)
        self._transition(action_id, ("running",), status, result=_canon(summary), provider_request_id=request_id,
                         error=None)
        self._audit(f"{kind}.{status}", target, _loads(row["params"]), action_id=action_id, result=summary,
                    request_id=request_id)
        objects = [obj]
        try:
            if kind == "refund":
                objects.append(sw.get_charge(self.client, target))  # its amount_refunded changed
        except PayOpsError:
            pass  # the refund itself is stored; the next sync brings the charge
        self._apply(objects)
        word = "Done" if status == "succeeded" else "Reconciled from Stripe (the earlier attempt had gone through)"
        return Outcome(True, status, f"{word}: {self._describe(kind, target, obj)}", action_id, request_id, obj)

    def _apply(self, objects: list[dict[str, Any]]) -> None:
        self.store.apply_objects(self.provider, objects, version=epoch_now())

    # -- audit and text --------------------------------------------------------------------------------------

    def _refuse(self, kind: str, target: str, params: Any, message: str, action_id: str | None = None,
                event: str = "refused") -> Outcome:
        # A broken log takes no entries (that would hide where it broke); the refusal is still shown.
        with suppress(audit.AuditChainError):
            self._audit(f"{kind}.{event}", target, params, action_id=action_id, error=message)
        return Outcome(False, "refused", message, action_id)

    def _audit(self, action: str, target: str, params: Any, *, action_id: str | None = None, result: Any = None,
               error: str | None = None, request_id: str | None = None) -> None:
        audit.append(self.store, actor=self.actor.name, role=self.actor.role, action=action,
                     target=f"{self.provider}:{target}", params={"action_id": action_id, "params": params},
                     provider_request_id=request_id, result=result, error=error)

    def _describe(self, kind: str, target: str, obj: dict[str, Any]) -> str:
        if kind == "refund":
            return (f"refund {obj.get('id')} of {_money(obj.get('amount'), (obj.get('currency') or '').upper())} on "
                    f"{target} is {obj.get('status')}.")
        if kind == "invoice_retry":
            return f"invoice {target} is {obj.get('status')}."
        if kind.startswith("dispute"):
            return f"dispute {target} is {obj.get('status')}."
        return f"Stripe will resend event {target}."

    def _describe_row(self, row: dict[str, Any]) -> str:
        result = _loads(row["result"]) or {}
        return (f"{row['kind'].replace('_', ' ')} on {row['target_id']} {row['status']} at "
                f"{row['updated_at']:%Y-%m-%d %H:%M} UTC by {row['requested_by']} ({result.get('id', '')}).")

    def _frame(self, query: Any) -> pd.DataFrame:
        with self.store.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _summary(obj: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "object", "status", "amount", "currency", "charge", "amount_paid", "amount_remaining", "reason")
    return {k: obj.get(k) for k in keys if k in obj and not isinstance(obj.get(k), dict | list)}


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).upper()
