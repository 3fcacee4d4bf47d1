"""Query benchmark: scale the demo store to N charges inside DuckDB and time every page's queries, cold and warm.

Usage (the figures in the issue note came from the first line):
    PYTHONPATH=. .venv/bin/python bench/queries.py --scales 1000000 10000000
    PYTHONPATH=. .venv/bin/python bench/queries.py --scales 1000000 --keep --dir data/bench

How a store of N charges is made: `sync.demo.load_demo` generates a base year of BASE charges (default 25,000)
through the real normaliser and store; then, inside DuckDB, every base table is replicated N / BASE times. Copy j
gets fresh ids (`<id>_r<j>` for the object and every reference it holds, so refunds, disputes, invoices, balance
transactions, subscriptions, items and events still point at copy j's objects), e-mails made unique per copy,
and every timestamp (and version) moved back by a per-copy offset of up to 3 days, so dates spread and a copy's
story stays consistent. Catalogue ids (price, product, coupon) are shared. Raw JSON is kept (with the customer
id rewritten) for subscriptions and subscription events, which the MRR derivation reads; it is NULL in the
other replicated rows, which no page query reads: the store size printed is therefore smaller than a synced
store's.

Timing: each query runs once "cold" (on a freshly opened store: DuckDB's buffer pool empty, the OS page cache
left alone) and then RUNS times "warm"; the warm figure is the median. Targets: 300 ms warm at 1M, 1 s at 10M;
payment search 200 ms at 1M. The bench's files are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard.filters import Filters  # noqa: E402
from dashboard.queries import (  # noqa: E402
    common,
    disputes,
    failures,
    mrr,
    payments,
    revenue,
    subscriptions,
    sync_health,
    webhooks,
)
from sync import derived, schema  # noqa: E402
from sync.demo import load_demo  # noqa: E402
from sync.store import Store  # noqa: E402

NOW = dt.datetime(2026, 11, 27)  # the demo's year ends at this midnight UTC
DAYS = 90  # the pages' default date range
MAX_SHIFT_S = 3 * 86_400
# Reference columns that name another object of the same copy; the catalogue's ids stay shared.
_SHARED_IDS = {"price_id", "product_id", "coupon_id", "request_id"}
_SUB_EVENTS = "('customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted')"


@dataclass
class Case:
    page: str
    name: str
    call: Callable[[Store], Any]
    search: bool = False


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- building the stores ---------------------------------------------------------------------------------------


def build_base(path: Path, charges: int) -> dict[str, int]:
    """The demo year of `charges` charges, made once and reused."""
    if path.exists():
        return {}
    store = Store(f"duckdb:///{path}")
    try:
        counts = load_demo(store, seed=7, scale=charges, now=NOW)
        store.checkpoint()
    finally:
        store.close()
    return counts


def _expr(table: str, col: Any) -> str:
    """The SELECT expression of one column in copy `r.j` (j = 0 is the base itself)."""
    name = col.name
    q = f'b."{name}"'
    suffix = "CASE WHEN r.j = 0 THEN '' ELSE '_r' || r.j END"
    if name == "id" or (name.endswith("_id") and name not in _SHARED_IDS):
        return f"{q} || {suffix}"
    if name == "version":
        return f"{q} - r.shift"
    if isinstance(col.type, schema.DateTime):
        return f"{q} - to_seconds(r.shift)"
    if name == "email":
        return f"CASE WHEN r.j = 0 THEN {q} ELSE replace({q}, '@', '.r' || r.j || '@') END"
    if name == "raw":
        if table == "subscriptions":
            return (f"CASE WHEN r.j = 0 THEN {q} ELSE replace({q}, '\"' || b.customer_id || '\"', "
                    f"'\"' || b.customer_id || '_r' || r.j || '\"') END")
        if table == "events":
            return (f"CASE WHEN b.type NOT IN {_SUB_EVENTS} THEN NULL WHEN r.j = 0 THEN {q} "
                    f"ELSE replace({q}, '\"' || b._cust || '\"', '\"' || b._cust || '_r' || r.j || '\"') END")
        return "NULL"
    return q


def scale_store(base: Path, out: Path, copies: int) -> dict[str, int]:
    """A store of `copies` copies of the base, built with INSERT ... SELECT inside DuckDB."""
    store = Store(f"duckdb:///{out}")
    cur = store.cursor()
    cur.execute("SET preserve_insertion_order = false")
    cur.execute(f"ATTACH '{base}' AS base (READ_ONLY)")
    # Copy j's time shift in seconds: deterministic, spread over [0, 3 days), 0 for the base.
    cur.execute(
        f"CREATE TEMP TABLE copies AS SELECT j, CASE WHEN j = 0 THEN 0 ELSE (j * 7919 * 13) % {MAX_SHIFT_S} END "
        f"AS shift FROM range({copies}) AS t(j)"
    )
    counts = {}
    for name, table in schema.OBJECT_TABLES.items():
        t0 = time.perf_counter()
        cols = ", ".join(f'"{c.name}"' for c in table.columns)
        exprs = ", ".join(_expr(name, c) for c in table.columns)
        src = f"base.{name}"
        if name == "events":
            # The customer id a subscription event's JSON names, to rewrite it per copy.
            src = ("(SELECT e.*, s.customer_id AS _cust FROM base.events AS e LEFT JOIN base.subscriptions AS s "
                   f"ON s.provider = e.provider AND s.id = e.object_id AND e.type IN {_SUB_EVENTS})")
        cur.execute(f"INSERT INTO {name} ({cols}) SELECT {exprs} FROM {src} AS b CROSS JOIN copies AS r")
        counts[name] = cur.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        _log(f"  {name}: {counts[name]:,} rows in {time.perf_counter() - t0:.1f} s")
    for name in ("sync_state", "sync_runs"):
        cur.execute(f"INSERT INTO {name} SELECT * FROM base.{name}")
    cur.execute("DETACH base")
    store.checkpoint()
    store.close()
    return counts


# -- the cases -------------------------------------------------------------------------------------------------


def _pick(store: Store) -> dict[str, Any]:
    """Search terms and a payment with refunds and a dispute, taken from a copy in the middle of the store."""
    row = store.query(
        """
        SELECT p.id, p.provider, p.customer_id, p.email, p.card_last4, p.amount, p.currency
        FROM payments AS p
        WHERE p.disputed AND p.amount_refunded > 0 AND p.id LIKE '%\\_r%' ESCAPE '\\' AND p.email IS NOT NULL
        ORDER BY p.id LIMIT 1
        """
    )
    if row.empty:
        row = store.query("SELECT id, provider, customer_id, email, card_last4, amount, currency FROM payments "
                          "WHERE disputed AND email IS NOT NULL ORDER BY id LIMIT 1")
    if row.empty:
        row = store.query("SELECT id, provider, customer_id, email, card_last4, amount, currency FROM payments "
                          "WHERE email IS NOT NULL ORDER BY id LIMIT 1")
    return row.iloc[0].to_dict()


def cases(store: Store) -> list[Case]:
    end = (NOW - dt.timedelta(days=1)).date()
    f = Filters(start=end - dt.timedelta(days=DAYS - 1), end=end)
    p = f.params()
    pick = _pick(store)
    pid, prov = str(pick["id"]), str(pick["provider"])
    return [
        Case("app", "freshness", lambda s: common.freshness(s)),
        Case("app", "filter_options", lambda s: common.filter_options(s)),
        Case("revenue", "revenue_totals", lambda s: revenue.revenue_totals(s, **p)),
        Case("revenue", "revenue_by_period(day)", lambda s: revenue.revenue_by_period(s, **p, grain="day")),
        Case("mrr", "current_mrr", lambda s: mrr.current_mrr(s)),
        Case("mrr", "mrr_movements", lambda s: mrr.mrr_movements(s, f.start_ts, f.end_ts)),
        Case("mrr", "churn_30d", lambda s: mrr.churn_30d(s, f.end_ts)),
        Case("failures", "failure_rate(day)", lambda s: failures.failure_rate(s, **p, grain="day")),
        Case("failures", "top_decline_codes", lambda s: failures.top_decline_codes(s, **p)),
        Case("failures", "outcome_types", lambda s: failures.outcome_types(s, **p)),
        Case("failures", "failures_by(card_brand)", lambda s: failures.failures_by(s, **p, by="card_brand")),
        Case("failures", "failures_by(card_country)", lambda s: failures.failures_by(s, **p, by="card_country")),
        Case("failures", "invoice_recovery", lambda s: failures.invoice_recovery(s, **p)),
        Case("subscriptions", "status_counts", lambda s: subscriptions.status_counts(s)),
        Case("subscriptions", "past_due", lambda s: subscriptions.past_due(s)),
        Case("subscriptions", "upcoming_renewals", lambda s: subscriptions.upcoming_renewals(s, NOW, 30)),
        Case("subscriptions", "cancellations", lambda s: subscriptions.cancellations(s, **p)),
        Case("payments", "search(none)", lambda s: payments.search_payments(s, f), True),
        Case("payments", "search(id)", lambda s: payments.search_payments(s, f, pid), True),
        Case("payments", "search(email)", lambda s: payments.search_payments(s, f, str(pick["email"])), True),
        Case("payments", "search(last4)", lambda s: payments.search_payments(s, f, str(pick["card_last4"])), True),
        Case("payments", "search(text)", lambda s: payments.search_payments(s, f, "storage"), True),
        Case("payments", "search(amount)", lambda s: payments.search_payments(
            s, f, "", int(pick["amount"]), str(pick["currency"])), True),
        Case("payments", "payment", lambda s: payments.payment(s, pid)),
        Case("payments", "payment_refunds", lambda s: payments.payment_refunds(s, prov, pid)),
        Case("payments", "payment_disputes", lambda s: payments.payment_disputes(s, prov, pid)),
        Case("payments", "payment_invoice", lambda s: payments.payment_invoice(s, prov, pid)),
        Case("payments", "payment_customer", lambda s: payments.payment_customer(s, prov, str(pick["customer_id"]))),
        Case("payments", "payment_timeline", lambda s: payments.payment_timeline(s, prov, pid)),
        Case("disputes", "dispute_queue", lambda s: disputes.dispute_queue(s, f, NOW)),
        Case("disputes", "dispute_ratios", lambda s: disputes.dispute_ratios(s, f)),
        Case("webhooks", "events_by_type(day)", lambda s: webhooks.events_by_type(s, f, "day")),
        Case("webhooks", "event_type_totals", lambda s: webhooks.event_type_totals(s, f)),
        Case("webhooks", "pending_events", lambda s: webhooks.pending_events(s, f)),
        Case("sync_health", "sync_state", lambda s: sync_health.sync_state(s, NOW)),
        Case("sync_health", "gap_warnings", lambda s: sync_health.gap_warnings(s)),
        Case("sync_health", "recent_runs", lambda s: sync_health.recent_runs(s)),
        Case("sync_health", "table_counts", lambda s: sync_health.table_counts(s)),
    ]


def _ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def time_cases(url: str, runs: int, only: set[str] | None) -> list[dict[str, Any]]:
    probe = Store(url)
    todo = [c for c in cases(probe) if not only or c.page in only or c.name in only]
    probe.close()
    results = []
    for case in todo:
        gc.collect()
        store = Store(url)  # a fresh connection: DuckDB's buffer pool is empty
        try:
            cold, out = _ms(lambda c=case, s=store: c.call(s))
            warm = [_ms(lambda c=case, s=store: c.call(s))[0] for _ in range(runs)]
        finally:
            store.close()
        results.append({"page": case.page, "query": case.name, "rows": len(out), "cold_ms": cold,
                        "warm_ms": statistics.median(warm), "search": case.search})
    return results


def target_ms(scale: int, search: bool) -> float:
    if scale <= 1_000_000:
        return 200.0 if search else 300.0
    return 1000.0


def print_table(scale: int, results: list[dict[str, Any]]) -> int:
    print(f"\n{'page':<14} {'query':<28} {'rows':>8} {'cold ms':>9} {'warm ms':>9} {'target':>7}  result")
    failed = 0
    for r in results:
        target = target_ms(scale, r["search"])
        ok = r["warm_ms"] <= target
        failed += not ok
        print(f"{r['page']:<14} {r['query']:<28} {r['rows']:>8,} {r['cold_ms']:>9.1f} {r['warm_ms']:>9.1f} "
              f"{target:>7.0f}  {'pass' if ok else 'FAIL'}")
    print(f"scale {scale:,}: {len(results) - failed} pass, {failed} fail", flush=True)
    return failed


def _size(path: Path) -> str:
    total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return f"{total / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--base", type=int, default=25_000, help="charges in the generated demo year")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=ROOT / "data" / "bench")
    ap.add_argument("--only", nargs="*", help="pages or query names to time")
    ap.add_argument("--keep", action="store_true", help="keep the bench's store files")
    ap.add_argument("--reuse", action="store_true", help="reuse scaled stores already in --dir")
    args = ap.parse_args(argv)

    args.dir.mkdir(parents=True, exist_ok=True)
    print("Replicated rows keep raw JSON only for subscriptions and subscription events (the MRR derivation reads "
          "it); elsewhere raw is NULL, which no page query reads, so the store sizes below are smaller than a "
          f"synced store's. Cold = first call on a freshly opened store; warm = median of {args.runs}.", flush=True)
    base = args.dir / f"base_{args.base}.duckdb"
    failed = 0
    try:
        t0 = time.perf_counter()
        counts = build_base(base, args.base)
        if counts:
            _log(f"base demo of {args.base:,} charges generated in {time.perf_counter() - t0:.1f} s: {counts}")
        summary = []
        for scale in args.scales:
            copies = max(1, round(scale / args.base))
            out = args.dir / f"scaled_{scale}.duckdb"
            if not (args.reuse and out.exists()):
                for stale in args.dir.glob(out.name + "*"):
                    stale.unlink()
                _log(f"scaling to {copies} copies of the base ({copies * args.base:,} charges)")
                t0 = time.perf_counter()
                scale_store(base, out, copies)
                _log(f"scaled in {time.perf_counter() - t0:.1f} s")
            # Derived tables: built here (as a migration would) so the cold figures below are the queries' own.
            t0 = time.perf_counter()
            store = Store(f"duckdb:///{out}")
            derived.ensure_mrr_snapshots(store)
            derived.ensure_revenue_bts(store)
            store.checkpoint()
            store.close()
            _log(f"derived tables ready in {time.perf_counter() - t0:.1f} s; store {_size(out)}")
            results = time_cases(f"duckdb:///{out}", args.runs, set(args.only or ()))
            failed += print_table(scale, results)
            summary.append({"scale": scale, "store": _size(out), "results": results})
        (args.dir / "results.json").write_text(json.dumps(summary, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
