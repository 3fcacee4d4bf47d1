"""Approvals: actions above the configured amount waiting for a second user, approving one, and expired requests."""

from __future__ import annotations

import streamlit as st

from dashboard import action_panel
from dashboard.layout import definition, fresh_query, with_money
from dashboard.queries import audit as q
from dashboard.text import literal
from sync.errors import PayOpsError

PENDING_COLUMNS = ["id", "kind", "target_id", "amount", "requested_by", "role", "created_at", "expires_at"]

actor = action_panel.require_page("approvals")
st.title("Approvals")
definition("Above the amount set in [payops.actions] approval_above, an action waits here until a second user whose "
           "role may take it approves it (never the user who asked). Requests expire after approval_ttl_hours.")

guard = action_panel.get_guard(actor)
action_panel.show_outcome(action_panel.APPROVALS)
try:
    # The guard marks expired requests first; without a key the list is still readable, not approvable.
    pending = guard.pending_approvals() if guard is not None else fresh_query(q.action_history, "pending_approval")
except PayOpsError as exc:
    st.error(literal(exc))
    st.stop()
if pending is not None:
    st.metric("Waiting for approval", f"{len(pending):,}")
    if pending.empty:
        st.success("Nothing is waiting for approval.")
    shown = with_money(pending, "amount")[PENDING_COLUMNS]
    st.dataframe(shown, hide_index=True, width="stretch")
    if guard is not None and not shown.empty:
        labels = {row["id"]: f"{row['kind'].replace('_', ' ')} on {row['target_id']} · {row['amount']} · asked by "
                  f"{row['requested_by']}" for _, row in shown.iterrows()}
        action_id = st.selectbox("Review", list(labels), format_func=labels.get, index=None, key="approval_pick",
                                 placeholder="pick a request to review")
        if action_id:
            action_panel.approval_panel(guard, action_id)

st.subheader("Expired requests")
expired = fresh_query(q.action_history, "expired")
if expired is not None:
    st.dataframe(with_money(expired, "amount")[PENDING_COLUMNS], hide_index=True, width="stretch")
