"""The Streamlit side of guarded actions: who is using the page, page access, one guard per run (reconciled on
load), and the panel that shows a proposal (check, warnings, text to type, button) and the outcome of the click.

A page offers an action like this:

    guard = action_panel.get_guard()
    if guard and action_panel.may_act(guard, "invoice_retry"):
        action_panel.panel(guard, guard.propose("invoice_retry", invoice_id), key=f"retry_{invoice_id}",
                           label="Retry payment")

The click runs in a button callback that builds its own guard for whoever is signed in *at click time*, so a role
taken away between showing and clicking is refused (and audited) by the guard, and each of two quick clicks
reaches the guard, which runs the action once.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from dashboard import actions, roles
from dashboard.context import get_settings, get_store
from dashboard.format import format_money
from dashboard.text import literal
from sync.errors import PayOpsError
from sync.settings import Settings

DEMO_NOTICE = (
    "Actions (refunds, invoice retries, dispute answers) need a Stripe **test** key: set "
    "`STRIPE_SECRET_KEY = \"sk_test_...\"` (or a restricted `STRIPE_WRITE_KEY` for writes) in "
    "`.streamlit/secrets.toml` or the environment, then restart the server. Demo data does not exist at Stripe, "
    "so it cannot be refunded or retried."
)
NO_SIGN_IN = (
    "Sign-in is not configured: you are the local operator with role **{role}** (PAYOPS_ROLE). Live-mode writes "
    "are refused in this mode; add an `[auth]` section and `[payops.roles]` to `.streamlit/secrets.toml` "
    "(see `.streamlit/secrets.toml.example` and SECURITY.md) to sign users in."
)


def current_actor() -> actions.Actor:
    """Whoever uses this session now (signed-in user, or the local operator); a bad role config stops the page."""
    try:
        email, role, signed_in = roles.current_user(get_settings())
    except PayOpsError as exc:
        st.error(str(exc))
        st.stop()
    return actions.Actor(email, role, signed_in)


def require_page(slug: str) -> actions.Actor:
    """Stop the page unless the current role may use it (the navigation already hides it; this is the check)."""
    actor = current_actor()
    if not roles.can_see(actor.role, slug):
        allowed = ", ".join(sorted(roles.PAGE_ROLES.get(slug, ())))
        st.error(f"Your role ({actor.role}) may not use this page; it needs {allowed}. Ask an admin.")
        st.stop()
    return actor


def when(value: object) -> str:
    """A stored naive-UTC timestamp as 'YYYY-MM-DD HH:MM UTC' ('unknown' when missing)."""
    stamp = pd.Timestamp(value) if value is not None else pd.NaT
    return "unknown" if pd.isna(stamp) else f"{stamp:%Y-%m-%d %H:%M} UTC"


def write_key_configured(settings: Settings) -> bool:
    return bool(settings.stripe_write_key or settings.stripe_secret_key)


def _guard(actor: actions.Actor | None = None) -> actions.Guard:
    return actions.Guard(get_store(), get_settings(), actor or current_actor())


def get_guard(actor: actions.Actor | None = None, *, explain: bool = True) -> actions.Guard | None:
    """This run's guard after settling actions a crash left running; None without a Stripe key (saying how to set
    one unless `explain=False`)."""
    if not write_key_configured(get_settings()):
        if explain:
            st.info(DEMO_NOTICE)
        return None
    guard = _guard(actor)
    try:
        outcomes = guard.reconcile()
    except PayOpsError as exc:
        st.warning(f"Could not reconcile unfinished actions yet: {literal(exc)}")
        return guard
    for outcome in outcomes:
        if outcome.status == "reconciled":
            st.info(literal(outcome.message))
    return guard


def may_act(guard: actions.Guard, kind: str) -> bool:
    """True when the user's role may take this action; otherwise say which roles may."""
    if roles.can_act(guard.actor.role, kind):
        return True
    st.caption(roles.action_refusal(guard.actor.role, kind))
    return False


def _outcome_key(key: str) -> str:
    return f"action_outcome_{key}"


def _confirm(proposal: actions.Proposal, key: str, outcome_key: str) -> None:
    """Button callback: confirm with the guard of whoever is signed in now, remember the outcome."""
    typed = str(st.session_state.get(f"action_typed_{key}") or "")
    try:
        outcome = _guard().confirm(proposal, typed)
    except PayOpsError as exc:
        outcome = actions.Outcome(False, "error", str(exc), proposal.action_id)
    st.session_state[_outcome_key(outcome_key)] = outcome
    if outcome.ok:
        st.session_state[f"action_typed_{key}"] = ""


def panel(guard: actions.Guard, proposal: actions.Proposal, *, key: str, label: str,
          outcome_key: str | None = None) -> actions.Outcome | None:
    """Show a proposal; when it may run (or already exists in the journal) the confirmation and the button.

    The outcome of the last click is shown under the button, or, with `outcome_key`, wherever the page calls
    `show_outcome(outcome_key)` (for lists the target leaves once the action is done). Returns that outcome.
    """
    (st.info if proposal.allowed else st.warning)(literal(proposal.message))
    for warning in proposal.warnings:
        st.warning(literal(warning))
    if proposal.allowed:
        st.text_input(f"Type **{literal(proposal.confirmation_text)}** to confirm", key=f"action_typed_{key}",
                      help="The amount (or action word) and the last four characters of the id, as shown.")
    # A journalled action keeps its button: a second click reaches the guard, which answers "already done".
    if proposal.allowed or proposal.status != "new":
        button = "Ask for approval" if proposal.needs_approval else label
        st.button(button, key=f"action_button_{key}", type="primary", on_click=_confirm,
                  args=(proposal, key, outcome_key or key))
    if outcome_key:
        return st.session_state.get(_outcome_key(outcome_key))
    return show_outcome(key)


def show_outcome(key: str) -> actions.Outcome | None:
    outcome: actions.Outcome | None = st.session_state.get(_outcome_key(key))
    if outcome is None:
        return None
    if outcome.status == "pending_approval":
        st.info(literal(outcome.message))
    elif outcome.ok:
        st.success(literal(outcome.message))
    else:
        st.error(literal(outcome.message))
    return outcome


def retry_invoice_section(invoices: pd.DataFrame, *, key: str) -> None:
    """Pick one open invoice whose payment failed and retry it now (`invoices.pay`) through the guard."""
    show_outcome(key)  # the last retry's outcome, even once its invoice is paid and gone from the list
    stripe_invoices = invoices[invoices["provider"] == "stripe"]
    if stripe_invoices.empty:
        st.caption("No open Stripe invoice with a failed payment to retry.")
        return
    guard = get_guard()
    if guard is None or not may_act(guard, "invoice_retry"):
        return
    labels = {row["invoice_id"]: f"{row['invoice_id']} · {format_money(row['amount_due'], row['currency'])} · "
              f"{row['email'] or row['customer_id'] or 'no customer'} · last decline "
              f"{row['decline_code'] or 'unknown'}" for _, row in stripe_invoices.iterrows()}
    invoice_id = st.selectbox("Invoice to retry", list(labels), format_func=labels.get, index=None,
                              key=f"{key}_pick", placeholder="pick an open invoice",
                              help="Retrying charges the customer's current default payment method now. Hard "
                                   "declines and do_not_try_again are never retried.")
    if invoice_id:
        panel(guard, guard.propose("invoice_retry", invoice_id), key=f"{key}_{invoice_id}", label="Retry payment",
              outcome_key=key)


# -- approvals --------------------------------------------------------------------------------------------------

APPROVALS = "approvals"  # outcome key: the last approval stays shown after its request leaves the pending list


def _approve(action_id: str, key: str) -> None:
    typed = str(st.session_state.get(f"approval_typed_{key}") or "")
    try:
        outcome = _guard().approve(action_id, typed)
    except PayOpsError as exc:
        outcome = actions.Outcome(False, "error", str(exc), action_id)
    st.session_state[_outcome_key(APPROVALS)] = outcome


def approval_panel(guard: actions.Guard, action_id: str) -> None:
    """What a second approver sees for one pending action: fresh check, warnings, text to type, Approve.
    The outcome shows where the page calls `show_outcome(APPROVALS)`."""
    key = f"approve_{action_id}"
    review = guard.review(action_id)
    (st.info if review.allowed else st.warning)(literal(review.message))
    for warning in review.warnings:
        st.warning(literal(warning))
    if review.allowed:
        st.text_input(f"Type **{literal(review.confirmation_text)}** to approve", key=f"approval_typed_{key}")
        st.button("Approve and run", key=f"approval_button_{key}", type="primary", on_click=_approve,
                  args=(action_id, key))


# -- sign-in ------------------------------------------------------------------------------------------------------

def _providers(settings: Settings) -> list[str | None]:
    """st.login provider names from [auth]: None for a single default provider, else each [auth.<name>]."""
    auth = settings.extra.get("auth")
    if not isinstance(auth, Mapping):
        return []
    named = [name for name, value in auth.items() if isinstance(value, Mapping)]
    return [None] if "client_id" in auth or not named else named


def sidebar_user() -> actions.Actor:
    """'Signed in as X (role)' and the sign-in/out control; with [auth] and nobody signed in, only a sign-in page."""
    settings = get_settings()
    actor = current_actor()
    if not roles.auth_configured(settings):
        st.sidebar.caption(f"Signed in as **{roles.LOCAL_OPERATOR}** ({actor.role})",
                           help=NO_SIGN_IN.format(role=actor.role))
        return actor
    if actor.signed_in:
        st.sidebar.caption(f"Signed in as **{literal(actor.email)}** ({actor.role})")
        st.sidebar.button("Sign out", key="sign_out", on_click=st.logout)
        return actor
    st.title("PayOps")
    st.info("Sign in to use PayOps. Your role comes from the team's role map ([payops.roles]).")
    for provider in _providers(settings):
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        st.button(label, key=f"sign_in_{provider or 'default'}", type="primary", on_click=st.login,
                  args=() if provider is None else (provider,))
    st.stop()
    return actor  # not reached: st.stop ends the run
