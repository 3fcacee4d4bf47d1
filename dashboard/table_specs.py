"""Every page table's columns: what each holds (text, id, money, count, percent, time...) and its header in words;
the screen and the exports are both made from these (dashboard/tables.py)."""

from __future__ import annotations

from dashboard import tables as t


# revenue: q.revenue_by_period (grain is the page's segmented control)
def revenue_spec(grain: str) -> t.Table:
    return t.spec(
        t.date("period", f"Period ({grain})", date_format="%Y-%m" if grain == "month" else "%Y-%m-%d"),
        t.currency(),
        t.money("gross", "Gross volume", minor=True), t.money("refunds", "Refunds", minor=True),
        t.money("dispute_losses", "Dispute losses", minor=True), t.money("fees", "Fees", minor=True),
        t.money("net", "Net", minor=True), t.count("payments", "Payments"))

# mrr
MRR_MOVEMENTS = t.spec(
    t.date("month", "Month", date_format="%Y-%m"), t.currency(),
    t.money("start_mrr", "Start MRR"), t.money("new", "New"), t.money("expansion", "Expansion"),
    t.money("reactivation", "Reactivation"), t.money("contraction", "Contraction"), t.money("churn", "Churn"),
    t.money("end_mrr", "End MRR"), t.count("new_customers", "New customers"),
    t.count("churned_customers", "Churned customers"), t.count("reactivated_customers", "Reactivated customers"))
CHURN_30D = t.spec(
    t.currency(), t.count("subscribers_start", "Subscribers 30 days ago"),
    t.count("new_subscribers", "New subscribers"),
    t.count("churned_subscribers", "Churned subscribers"), t.count("subscribers_end", "Subscribers now"),
    t.money("mrr_start", "MRR 30 days ago"), t.money("mrr_lost", "MRR lost"), t.money("mrr_end", "MRR now"),
    t.percent("subscriber_churn", "Subscriber churn"), t.percent("revenue_churn", "Revenue churn"))

# failures
DECLINE_CODES = t.spec(
    t.text("decline_code", "Decline code"), t.text("advice_code", "Advice code"), t.count("failures", "Failures"),
    t.percent("share", "Share of failures"), t.text("meaning", "Meaning", width="large"),
    t.text("action", "What to do", width="large"))
OUTCOME_TYPES = t.spec(t.text("outcome_type", "Outcome type"), t.count("failures", "Failures"),
                       t.percent("share", "Share of failures"))
def failures_by_spec(by: str) -> t.Table:
    return t.spec(t.text(by, {"card_brand": "Card brand", "card_country": "Card country"}[by]),
                  t.count("attempts", "Attempts"), t.count("failed", "Failed"),
                  t.percent("failure_rate", "Failure rate"))
RETRYABLE = t.spec(
    t.ident("invoice_id", "Invoice", link="invoice"), t.money("amount_due", "Amount due", minor=True), t.currency(),
    t.text("email", "Customer email"), t.text("subscription_status", "Subscription status"),
    t.count("attempt_count", "Attempts"), t.text("decline_code", "Last decline code"),
    t.timestamp("failed_at", "Last failure"), t.ident("subscription_id", "Subscription", link="subscription"),
    t.ident("customer_id", "Customer", link="customer"), t.text("provider", "Provider"))

# payments
PAYMENTS = t.spec(
    t.ident("id", "Payment", link="payment"), t.timestamp("created", "Created"), t.text("status", "Status"),
    t.money("amount", "Amount", minor=True), t.money("amount_refunded", "Refunded", minor=True), t.currency(),
    t.text("email", "Email"), t.text("card_brand", "Card brand"), t.text("card_last4", "Card last4"),
    t.flag("disputed", "Disputed"), t.text("failure_code", "Failure code"),
    t.ident("customer_id", "Customer", link="customer"), t.text("description", "Description", width="large"),
    t.text("provider", "Provider"))
def refunds_spec(provider: str) -> t.Table:
    return t.spec(t.ident("id", "Refund", link="refund"), t.timestamp("created", "Created"),
                  t.money("amount", "Amount", minor=True), t.currency(), t.text("status", "Status"),
                  t.text("reason", "Reason"), t.text("failure_reason", "Failure reason"), provider=provider)
def payment_disputes_spec(provider: str) -> t.Table:
    return t.spec(t.ident("id", "Dispute", link="dispute"), t.timestamp("created", "Opened"),
                  t.money("amount", "Amount", minor=True), t.currency(), t.text("status", "Status"),
                  t.text("reason", "Reason"), t.timestamp("evidence_due_by", "Evidence due"),
                  t.flag("has_evidence", "Evidence staged"), provider=provider)
def invoice_spec(provider: str) -> t.Table:
    return t.spec(t.ident("id", "Invoice", link="invoice"), t.text("status", "Status"),
                  t.text("billing_reason", "Billing reason"), t.money("amount_due", "Amount due", minor=True),
                  t.money("amount_paid", "Amount paid", minor=True), t.currency(), t.count("attempt_count", "Attempts"),
                  t.ident("subscription_id", "Subscription", link="subscription"),
                  t.timestamp("period_start", "Period start"), t.timestamp("period_end", "Period end"),
                  provider=provider)
def customer_spec(provider: str) -> t.Table:
    return t.spec(t.ident("id", "Customer", link="customer"), t.text("email", "Email"), t.text("name", "Name"),
                  t.timestamp("created", "Created"), t.flag("delinquent", "Delinquent"),
                  t.money("balance", "Balance", minor=True), t.currency(), t.count("payments", "Payments"),
                  provider=provider)
def timeline_spec(provider: str) -> t.Table:
    return t.spec(t.timestamp("created", "Time"), t.text("type", "Event type"), t.text("object_type", "Object"),
                  t.text("object_id", "Object id"), t.ident("event_id", "Event", link="event"),
                  t.count("pending_webhooks", "Endpoints pending"), t.text("request_id", "Request id"),
                  provider=provider)

# disputes
DISPUTE_QUEUE = t.spec(
    t.ident("id", "Dispute", link="dispute"), t.text("bucket", "Queue"), t.timestamp("evidence_due_by", "Evidence due"),
    t.number("days_left", "Days left", help="Days until the evidence deadline (negative: passed)."),
    t.money("amount", "Amount", minor=True), t.currency(), t.text("reason", "Reason"), t.text("status", "Status"),
    t.flag("has_evidence", "Evidence staged"), t.text("card_brand", "Card brand"), t.text("email", "Email"),
    t.ident("charge_id", "Payment", link="payment"), t.timestamp("created", "Opened"), t.text("provider", "Provider"))
DISPUTE_RATIOS = t.spec(
    t.date("month", "Month", date_format="%Y-%m"), t.text("network", "Network"), t.count("disputes", "Disputes"),
    t.count("transactions", "Transactions (base)"), t.percent("ratio", "Ratio", digits=2),
    t.percent("threshold", "Threshold"), t.text("status", "Status", width="large"))

# subscriptions
PAST_DUE = t.spec(
    t.ident("subscription_id", "Subscription", link="subscription"), t.text("email", "Customer email"),
    t.ident("invoice_id", "Unpaid invoice", link="invoice"), t.money("amount_due", "Amount due", minor=True),
    t.currency(), t.count("attempt_count", "Attempts"), t.timestamp("next_payment_attempt", "Next attempt"),
    t.ident("payment_id", "Last failed payment", link="payment"), t.timestamp("failed_at", "Failed"),
    t.text("decline_code", "Decline code"), t.text("advice_code", "Advice code"),
    t.text("meaning", "Meaning", width="large"), t.text("action", "What to do", width="large"),
    t.ident("customer_id", "Customer", link="customer"), t.text("provider", "Provider"))
RENEWALS = t.spec(
    t.ident("subscription_id", "Subscription", link="subscription"), t.timestamp("renews_at", "Renews"),
    t.money("amount", "List price", minor=True), t.currency(), t.text("status", "Status"),
    t.ident("customer_id", "Customer", link="customer"), t.text("provider", "Provider"))
CANCELLATIONS = t.spec(
    t.ident("subscription_id", "Subscription", link="subscription"), t.text("kind", "Canceled or scheduled"),
    t.timestamp("canceled_at", "Canceled"), t.timestamp("ends_at", "Ends"), t.text("status", "Status"),
    t.currency(), t.text("reason", "Reason"), t.text("feedback", "Feedback", width="large"),
    t.ident("customer_id", "Customer", link="customer"), t.text("provider", "Provider"))

# webhooks
EVENT_TYPES = t.spec(t.text("type", "Event type"), t.count("events", "Events"),
                     t.count("pending", "Not yet delivered"), t.timestamp("last_seen", "Newest"))
UNDELIVERED = t.spec(
    t.ident("id", "Event", link="event"), t.text("type", "Event type"), t.timestamp("created", "Created"),
    t.count("pending_webhooks", "Endpoints pending"), t.count("received", "Deliveries received"),
    t.text("last_outcome", "Last outcome"), t.timestamp("last_received_at", "Last received"))
FAILURE_REASONS = t.spec(t.text("reason", "Reason"), t.text("detail", "Detail", width="large"),
                         t.count("deliveries", "Deliveries"), t.count("events", "Events"),
                         t.timestamp("last_seen", "Newest"))
DELIVERY_LOG = t.spec(
    t.timestamp("received_at", "Received"), t.ident("event_id", "Event", link="event"),
    t.text("event_type", "Event type"), t.text("verdict", "Verdict"), t.text("outcome", "Outcome"),
    t.count("status_code", "HTTP status"), t.duration("duration_ms", "Processing", unit="ms"),
    t.text("remote_addr", "From"), t.text("error", "Error", width="large"), t.text("id", "Delivery id"),
    provider="stripe")
REPLAY_PLAN = t.spec(  # dashboard.replay.plan's events: Stripe's, without livemode (their ids stay text)
    t.ident("event_id", "Event", link="event"), t.text("type", "Event type"), t.timestamp("created", "Created"),
    t.count("deliveries", "Deliveries"), t.text("last_outcome", "Last outcome"), t.flag("processed", "Processed"),
    t.flag("has_copy", "Stored copy"), t.flag("too_old", "Older than 30 days"), t.text("action", "Replay action"),
    provider="stripe")

# sync health
SYNC_STATE = t.spec(
    t.text("provider", "Provider"), t.text("resource", "Resource"), t.timestamp("last_synced_at", "Last synced"),
    t.duration("synced_hours_ago", "Synced ago", unit="h"), t.count("last_rows", "Rows in last run"),
    t.duration("cursor_age_hours", "Cursor age", unit="h"), t.flag("backfill_done", "Backfill done"),
    t.text("last_error", "Last error", width="large"), t.timestamp("gap_detected_at", "Gap detected"),
    t.text("gap_message", "Gap", width="large"))
TABLE_COUNTS = t.spec(t.text("provider", "Provider"), t.text("table_name", "Table"), t.count("row_count", "Rows"),
                      t.timestamp("last_sync", "Last successful sync"))
RECENT_RUNS = t.spec(
    t.timestamp("started_at", "Started"), t.timestamp("finished_at", "Finished"), t.duration("seconds", "Took"),
    t.text("provider", "Provider"), t.text("mode", "Mode"), t.text("status", "Status"), t.count("rows", "Rows"),
    t.text("error", "Error", width="large"), t.text("run_id", "Run id"))

# approvals
PENDING_APPROVALS = t.spec(
    t.text("kind", "Action"), t.text("target_id", "Target"), t.money("amount", "Amount", minor=True), t.currency(),
    t.text("requested_by", "Requested by"), t.text("role", "Role"), t.timestamp("created_at", "Requested"),
    t.timestamp("expires_at", "Expires"), t.text("id", "Request id"))

# audit
AUDIT_LOG = t.spec(
    t.count("seq", "Entry"), t.timestamp("at", "At"), t.text("actor", "Actor"), t.text("role", "Role"),
    t.text("action", "Action"), t.text("target", "Target"), t.text("params", "Parameters", width="large"),
    t.text("provider_request_id", "Provider request id"), t.text("result", "Result"), t.text("error", "Error"),
    t.text("prev_hash", "Previous hash"), t.text("hash", "Hash"))
ACTIONS = t.spec(
    t.timestamp("created_at", "Created"), t.timestamp("updated_at", "Updated"), t.text("kind", "Action"),
    t.text("target_id", "Target"), t.text("status", "Status"), t.money("amount", "Amount", minor=True), t.currency(),
    t.text("requested_by", "Requested by"), t.text("role", "Role"), t.text("approved_by", "Approved by"),
    t.timestamp("expires_at", "Expires"), t.count("attempts", "Attempts"),
    t.text("provider_request_id", "Provider request id"), t.text("error", "Error", width="large"),
    t.text("idempotency_key", "Idempotency key"), t.text("id", "Action id"))
