"""Webhooks: provider events and pending delivery; the receiver's delivery log; replay (engineers and admins)."""

from __future__ import annotations

import datetime as dt

import orjson
import pandas as pd
import streamlit as st

from dashboard import action_panel, actions, roles
from dashboard import replay as rp
from dashboard import table_specs as specs
from dashboard.charts.webhooks import deliveries_chart, events_chart, failures_chart
from dashboard.context import get_settings, get_store, run_query
from dashboard.filters import current_filters
from dashboard.layout import definition, empty_state, show_spec_table
from dashboard.queries import webhooks as q
from dashboard.tables import format_duration
from dashboard.text import literal
from sync import audit

WINDOWS = {"Date range": None, "Last 24 hours": 24, "Last hour": 1}
ALL_TYPES, ANY_OUTCOME = "All types", "Any outcome"

actor = action_panel.require_page("webhooks")
filters = current_filters()
st.title("Webhooks")


def rerun(event_id: str, force: bool) -> rp.ReplayResult:
    """Re-run one stored event as this user: the role is checked and every re-run is audited (a forced one
    re-applies an event already processed, so the log says who forced it)."""
    store = get_store()
    if not roles.can_act(actor.role, "event_rerun"):
        result = rp.ReplayResult(event_id, "refused", roles.action_refusal(actor.role, "event_rerun"))
    else:
        result = rp.rerun_one(store, force=force, actor=actor.name)(event_id)
    audit.append(store, actor=actor.name, role=actor.role, action=f"event_rerun.{result.status}",
                 target=f"stripe:{event_id}", params={"force": force}, error=None if result.ok else result.message)
    return result
events_tab, log_tab, replay_tab = st.tabs(["Events", "Delivery log", "Replay"])

# -- provider events ------------------------------------------------------------------------------------------
with events_tab:
    grain = st.segmented_control("Grain", q.GRAINS, default="day", key="webhook_grain") or "day"
    events = run_query(q.events_by_type, filters, grain)
    totals = run_query(q.event_type_totals, filters)
    side = run_query(q.undelivered_vs_received, filters)
    if events is not None and side is not None:
        m = st.columns(3)
        m[0].metric("Events", f"{int(events['events'].sum()):,}", help="Provider events created in the date range.")
        m[1].metric("Event types", f"{events['type'].nunique():,}")
        m[2].metric("Not yet delivered", f"{len(side):,}",
                    help="Events with pending_webhooks > 0: at least one webhook endpoint has not acknowledged them "
                         "yet, as of the stored snapshot (a later sync refreshes it).")
        if events.empty:
            empty_state("events")
        else:
            st.subheader(f"Events by type per {grain}")
            st.plotly_chart(events_chart(events, grain=grain), key="events_chart")
            if totals is not None:
                show_spec_table(totals, specs.EVENT_TYPES, "event_types", key="event_types_table")

        st.subheader("Not yet delivered")
        definition("What Stripe reports (Endpoints pending: endpoints still retrying an event; Stripe retries for up "
                   "to 3 days in live mode) beside what PayOps's receiver recorded for each. Oldest first.")
        if side.empty:
            st.success("Every event in the range was delivered to all endpoints.")
        else:
            show_spec_table(side, specs.UNDELIVERED, "pending_events", key="pending_events_table")

# -- delivery log ---------------------------------------------------------------------------------------------
with log_tab:
    types = run_query(q.delivery_event_types, filters)
    f = st.columns(3)
    picked_type = f[0].selectbox("Event type", [ALL_TYPES, *(types["type"] if types is not None else [])],
                                 key="log_type")
    event_type = None if picked_type == ALL_TYPES else picked_type
    window = f[1].segmented_control("Time", list(WINDOWS), default="Date range", key="log_window") or "Date range"
    hours = WINDOWS[window]
    # Rounded to the minute so reruns within a minute share the cached result.
    since = (dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0) - dt.timedelta(hours=hours)
             if hours else None)
    log_grain = "hour" if hours else grain
    totals_row = run_query(q.delivery_totals, filters, event_type, since)
    over_time = run_query(q.deliveries_over_time, filters, log_grain, event_type, since)
    reasons = run_query(q.failure_reasons, filters, event_type, since)
    if totals_row is not None and over_time is not None and reasons is not None:
        t = totals_row.iloc[0]
        m = st.columns(4)
        m[0].metric("Deliveries", f"{int(t['deliveries']):,}", help="HTTP deliveries (and replays) the receiver "
                    "recorded, valid or not.")
        m[1].metric("Applied", f"{int(t['applied']):,}")
        m[2].metric("Failed", f"{int(t['failed']):,}", help="Rejected (signature, timestamp, malformed) or not "
                    "applied (answered 500, so Stripe retries).")
        m[3].metric("p99 processing", "—" if pd.isna(t["p99_ms"]) else format_duration(float(t["p99_ms"]) / 1000),
                    help="Received to decided, before the durable write.")
        if int(t["deliveries"]) == 0:
            st.info("No webhook deliveries recorded for this view. Point a Stripe webhook endpoint at "
                    "POST /webhooks/stripe on this server and set STRIPE_WEBHOOK_SECRET.")
        else:
            st.subheader(f"Deliveries per {log_grain} by outcome")
            st.plotly_chart(deliveries_chart(over_time, grain=log_grain), key="deliveries_chart")
            st.subheader("Failures by reason")
            if reasons.empty:
                st.success("No failed deliveries in this view.")
            else:
                st.plotly_chart(failures_chart(reasons), key="failures_chart")
                show_spec_table(reasons, specs.FAILURE_REASONS, "failure_reasons", key="failure_reasons_table")
            st.subheader("Deliveries")
            outcome = st.selectbox("Outcome", [ANY_OUTCOME, *q.OUTCOMES], key="log_outcome")
            log = run_query(q.delivery_log, filters, event_type, None if outcome == ANY_OUTCOME else outcome, since)
            if log is not None:
                # Up to queries.webhooks.LOG_LIMIT rows: Parquet beside CSV.
                show_spec_table(log, specs.DELIVERY_LOG, "webhook_deliveries", parquet=True, key="delivery_log_table")
                labels = {r.id: f"{r.received_at:%Y-%m-%d %H:%M:%S} · {r.event_type or '—'} · {r.outcome} · {r.id}"
                          for r in log.itertuples()}
                picked = st.selectbox("Delivery detail", list(labels), format_func=labels.get, key="log_delivery")
                detail = run_query(q.delivery_detail, picked) if picked else None
                if detail is not None and not detail.empty:
                    d = detail.iloc[0]
                    st.markdown(f"**{literal(d['verdict'])}** → **{literal(d['outcome'])}** (HTTP "
                                f"{literal(d['status_code'])}) · event {literal(d['event_id'] or '—')} · from "
                                f"{literal(d['remote_addr'] or 'replay')}")
                    if d["error"]:
                        st.error(literal(d["error"]))
                    c = st.columns(2)
                    c[0].caption("Headers (secrets removed)")
                    c[0].json(orjson.loads(d["headers"] or "{}"))
                    c[1].caption("Processing trace")
                    c[1].dataframe(orjson.loads(d["trace"] or "[]"), hide_index=True, width="stretch")
                    st.caption(f"Body ({int(d['body_bytes'] or 0):,} bytes"
                               f"{', truncated' if d['body_truncated'] else ''})")
                    st.code(d["body"] or "", language="json")

# -- replay ---------------------------------------------------------------------------------------------------
with replay_tab:
    settings = get_settings()
    if not roles.can_act(actor.role, "event_rerun") and not roles.can_act(actor.role, "event_retry"):
        st.info(roles.action_refusal(actor.role, "event_rerun"))
    else:
        store = get_store()
        st.subheader("One event")
        definition("Re-run uses the stored copy and the receiver's own handler: an event already processed is "
                   "skipped unless forced, and a forced re-apply never overwrites a newer version of its object.")
        event_id = st.text_input("Event id", key="replay_event_id", placeholder="evt_...").strip()
        force = st.checkbox("Force re-apply (even if already processed)", key="replay_force")
        if st.button("Re-run stored copy", key="replay_rerun", disabled=not event_id):
            result = rerun(event_id, force)
            (st.success if result.status == "applied" else st.info if result.ok else st.error)(literal(result.message))
        payops = settings.extra.get("payops") or {}
        endpoint = st.text_input("Webhook endpoint for a resend", key="replay_endpoint", placeholder="we_...",
                                 value=str(payops.get("webhook_endpoint", "")) if isinstance(payops, dict) else "")
        if st.button("Ask Stripe to resend", key="resend_check", disabled=not event_id):
            refusal = rp.resend_refusal(store, event_id)
            st.session_state["resend_proposal"] = None if refusal else actions.Guard(store, settings, actor).propose(
                "event_retry", event_id, {"webhook_endpoint": endpoint.strip()})
            if refusal:
                st.error(literal(refusal))
        proposal = st.session_state.get("resend_proposal")
        if proposal is not None and proposal.target_id == event_id:
            (st.info if proposal.allowed else st.warning)(literal(proposal.message))
            if proposal.allowed:
                typed = st.text_input(f"Type {literal(proposal.confirmation_text)} to confirm", key="resend_typed")
                if st.button("Resend", key="resend_confirm"):
                    outcome = actions.Guard(store, settings, actor).confirm(proposal, typed)
                    (st.success if outcome.ok else st.error)(literal(outcome.message))

        st.subheader("Bulk replay")
        definition("Chooses events by type, the outcome of their newest delivery, and the sidebar's date range (event "
                   "time). A dry run comes first; the run is paced under the Stripe rate limit.")
        b = st.columns(3)
        bulk_type = b[0].selectbox("Event type", [ALL_TYPES, *(types["type"] if types is not None else [])],
                                   key="bulk_type")
        bulk_outcome = b[1].selectbox("Newest delivery", [ANY_OUTCOME, "not_received", *q.OUTCOMES],
                                      key="bulk_outcome")
        mode = b[2].radio("Replay", rp.MODES, key="bulk_mode", format_func={
            "rerun": "Re-run stored copies", "resend": "Ask Stripe to resend"}.get)
        bulk_force = st.checkbox("Include already processed events", key="bulk_force")
        if st.button("Dry run", key="bulk_dry"):
            st.session_state["bulk_plan"] = rp.plan(
                store, filters, mode, event_type=None if bulk_type == ALL_TYPES else bulk_type,
                outcome=None if bulk_outcome == ANY_OUTCOME else bulk_outcome, force=bulk_force)
        plan = st.session_state.get("bulk_plan")
        if plan is not None:
            m = st.columns(4)
            m[0].metric("Selected", f"{plan.selected:,}")
            m[1].metric("Already processed", f"{plan.processed:,}")
            m[2].metric("Older than 30 days", f"{plan.too_old:,}",
                        help="Stripe keeps events 30 days: these cannot be resent, only re-run from the stored copy.")
            m[3].metric("Will run", f"{len(plan.to_run):,}")
            show_spec_table(plan.events, specs.REPLAY_PLAN, "replay_plan", key="bulk_plan_table")
            todo = plan.to_run
            if todo:
                ready = True
                if plan.mode == "resend":
                    word = f"RESEND {len(todo)}"
                    ready = st.text_input(f"Type {word} to send {len(todo)} resend requests to Stripe",
                                          key="bulk_typed").strip().upper() == word and endpoint.strip() != ""
                    if not endpoint.strip():
                        st.caption("Fill in the webhook endpoint (we_...) above first.")
                if st.button(f"Run {len(todo)} replays", key="bulk_run", disabled=not ready):
                    bar = st.progress(0.0, text="Starting…")
                    one = ((lambda event_id: rerun(event_id, plan.force)) if plan.mode == "rerun"
                           else rp.resend_one(actions.Guard(store, settings, actor), endpoint.strip()))
                    summary = rp.run(todo, one, interval=rp.pace_interval(plan.mode, settings.stripe_rate_limit),
                                     on_progress=lambda done, total, r: bar.progress(
                                         done / total, text=literal(f"{done} of {total}: {r.event_id} {r.status}")))
                    (st.success if not summary.failures else st.warning)(literal(summary.text))
                    for message in summary.failures[:20]:
                        st.error(literal(message))
                    st.session_state["bulk_plan"] = None
