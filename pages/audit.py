"""Audit: the keyed hash-chain check against its head record (shown first), the append-only audit log with CSV
export, and the action journal."""

from __future__ import annotations

import streamlit as st

from dashboard import action_panel
from dashboard.context import get_store
from dashboard.layout import csv_download, definition, fresh_query
from dashboard.queries import audit as q
from dashboard.text import literal
from sync import audit
from sync.errors import PayOpsError

action_panel.require_page("audit")
st.title("Audit")
action_panel.get_guard(explain=False)  # settles actions a crash left running, so the journal below is current

try:
    check = audit.verify(get_store())
    head_seq, head_hash = audit.head(get_store())
    where = audit.head_record_location(get_store())
except PayOpsError as exc:
    st.error(f"Could not verify the audit log: {literal(exc)}")
    st.stop()
# The three states, in words an auditor can act on: verified, "Edited at entry N", "Entries missing after N".
if check.ok:
    st.success(f"Audit chain verified: {literal(check.message)}")
else:
    st.error(f"Audit chain BROKEN: {literal(check.message)} Until it verifies again, PayOps refuses every write to "
             "Stripe (refunds, retries, dispute answers, resends).")
definition("Each entry's hash is an HMAC-SHA256, under a key kept outside the store, of its fields and the previous "
           "entry's hash: without the key nobody can edit an entry and recompute the chain. The count and last hash "
           "are also kept outside the store, after every entry, so removing the newest entries shows too. "
           f"Newest entry: #{head_seq}, hash {head_hash[:16]}…; {literal(where)}.")

st.subheader("Audit log")
left, right = st.columns(2)
actor = left.text_input("Actor (exact)", key="audit_actor").strip() or None
action = right.text_input("Action starts with", key="audit_action", placeholder="refund, invoice_retry.failed...")
entries = fresh_query(q.audit_entries, actor, action.strip() or None)
if entries is not None:
    if entries.empty:
        st.info("No audit entries here yet: every guarded action (refund, invoice retry, dispute answer, event "
                "resend), refusal and approval adds one.")
    st.metric("Entries shown", f"{len(entries):,}", help=f"Newest first, at most {q.AUDIT_LIMIT}.")
    st.dataframe(entries, hide_index=True, width="stretch")
    csv_download(entries, "audit_log.csv", label="Download the audit log (CSV)")

st.subheader("Action history")
definition("One row per guarded action: its stable idempotency key, status (approved, running, succeeded, failed, "
           "reconciled, pending_approval, expired), who asked and who approved.")
history = fresh_query(q.action_history)
if history is not None:
    st.dataframe(history, hide_index=True, width="stretch")
    csv_download(history, "actions.csv")
