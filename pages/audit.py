"""Audit: the hash-chain check (shown first), the append-only audit log with CSV export, and the action journal."""

from __future__ import annotations

import streamlit as st

from dashboard import action_panel
from dashboard.context import get_store
from dashboard.layout import csv_download, definition, fresh_query
from dashboard.queries import audit as q
from sync import audit
from sync.errors import PayOpsError

action_panel.require_page("audit")
st.title("Audit")
action_panel.get_guard(explain=False)  # settles actions a crash left running, so the journal below is current

try:
    check = audit.verify(get_store())
    head_seq, head_hash = audit.head(get_store())
except PayOpsError as exc:
    st.error(f"Could not verify the audit log: {exc}")
    st.stop()
if check.ok:
    st.success(f"Audit chain verified: {check.message}")
else:
    st.error(f"Audit chain BROKEN: {check.message} Entries before {check.bad_seq} are intact; treat the log from "
             f"entry {check.bad_seq} on as untrustworthy and compare it with your last exported copy.")
definition(f"Each entry's hash covers its fields and the previous entry's hash, so an altered, deleted or reordered "
           f"entry breaks the chain from there. Newest entry: #{head_seq}, hash `{head_hash[:16]}…`; keep it (or the "
           "CSV) outside PayOps to detect entries removed from the end.")

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
