"""Ingest benchmark: normalise + upsert N Stripe-shaped charges into a fresh DuckDB file through the Store API.

Usage: PYTHONPATH=. .venv/bin/python bench/ingest.py [--n 100000 1000000] [--batch 20000] [--repeat 1]

Each (N, pass) runs in its own subprocess so peak RSS is measured per N without mixing: pass 1 inserts N new
charges into a fresh file, pass 2 re-applies the same N charges with a newer version (all updates). Objects
are generated lazily, one batch at a time, from the tests' full Stripe charge (tests/builders/stripe.py, ~2.3 KB
JSON); only the time spent inside `Store.apply_objects` is counted, not the generator's. "keys MB" is what the
store's stored-key hashes hold at the end of the pass (sync/stored_keys.py): 0 here, as the charges arrive in
`created` order; 8 bytes per stored key for a load that mixes new keys among stored ones.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the repository's packages (tests.builders, sync) come from ROOT
    sys.path.insert(0, str(ROOT))

from tests.builders import stripe as stripe_builders  # noqa: E402 - needs ROOT on sys.path first

CURRENCIES = ("usd", "eur", "jpy", "gbp")
BRANDS = ("visa", "mastercard", "amex", "discover")
COUNTRIES = ("US", "GB", "DE", "JP", "FR")
FAILURES = (("card_declined", "insufficient_funds"), ("card_declined", "do_not_honor"),
            ("expired_card", "expired_card"), ("incorrect_cvc", "incorrect_cvc"))
BASE_CREATED = 1_700_000_000


def load_template() -> dict[str, Any]:
    return stripe_builders.charge()


def make_charges(template: dict[str, Any], start: int, count: int) -> list[dict[str, Any]]:
    """Charges start..start+count-1; charge i is the same object on every call (deterministic by i)."""
    base_card = template["payment_method_details"]["card"]
    out = []
    for i in range(start, start + count):
        h = (i * 2654435761) & 0xFFFFFFFF  # cheap deterministic spread, no RNG state to carry
        currency = CURRENCIES[h % 4]
        failed = h % 10 == 0
        pending = h % 37 == 0
        code, reason = FAILURES[(h >> 4) % 4]
        amount = 50 + (h >> 8) % 500_000
        card = dict(base_card)
        card.update(
            brand=BRANDS[(h >> 3) % 4], country=COUNTRIES[(h >> 5) % 5], last4=f"{h % 10_000:04d}",
            exp_month=1 + (h >> 7) % 12, exp_year=2027 + (h >> 11) % 6, fingerprint=f"fp{h:08x}",
        )
        charge = dict(template)
        charge.update(
            id=f"ch_bench{i:012d}",
            amount=amount,
            amount_captured=0 if failed else amount,
            currency=currency,
            created=BASE_CREATED + i * 7,
            status="failed" if failed else ("pending" if pending else "succeeded"),
            paid=not failed,
            captured=not failed,
            failure_code=code if failed else None,
            failure_message="Your card was declined." if failed else None,
            customer=f"cus_bench{h % 50_000:08d}",
            balance_transaction=None if failed else f"txn_bench{i:012d}",
            receipt_email=f"user{h % 50_000}@example.com",
            outcome=dict(template["outcome"], type="issuer_declined" if failed else "authorized",
                         reason=reason if failed else None, network_status="declined_by_network" if failed
                         else "approved_by_network", risk_level="normal"),
            payment_method_details={"card": card, "type": "card"},
            metadata={"order_id": str(i)},
        )
        out.append(charge)
    return out


def batches(n: int, batch: int) -> Iterator[list[dict[str, Any]]]:
    template = load_template()
    for start in range(0, n, batch):
        yield make_charges(template, start, min(batch, n - start))


def cpu_seconds() -> float:
    """User + system CPU of this process, every thread (DuckDB's included)."""
    t = os.times()
    return t.user + t.system


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(path: str, n: int, batch: int, update: bool) -> dict[str, Any]:
    """One pass in this process: returns seconds inside apply_objects and peak RSS."""
    from sync.store import Store

    store = Store(f"duckdb:///{path}", exclusive=True)
    baseline = rss_mb()
    version = BASE_CREATED + 10 * n + (1 if update else 0)
    elapsed = cpu = 0.0
    load = os.getloadavg()[0]
    for objs in batches(n, batch):
        t0, c0 = time.perf_counter(), cpu_seconds()
        store.apply_objects("stripe", objs, version)
        elapsed += time.perf_counter() - t0
        cpu += cpu_seconds() - c0
        del objs  # the generator's next batch must not be built while this one is still alive
    t0 = time.perf_counter()
    store.checkpoint()
    checkpoint = time.perf_counter() - t0
    counts = store.query("SELECT COUNT(*) AS n, MIN(version) AS v FROM payments").iloc[0]
    key_hashes = store.stored_key_bytes()
    store.close()
    if int(counts["n"]) != n or int(counts["v"]) != version:
        raise SystemExit(f"wrong result: {counts.to_dict()} (expected {n} rows at version {version})")
    return {"seconds": elapsed, "cpu": cpu, "load": load, "checkpoint": checkpoint, "peak_rss_mb": rss_mb(),
            "baseline_rss_mb": baseline, "key_hashes_mb": key_hashes / 2**20}


def spawn(path: str, n: int, batch: int, update: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", path, "--n", str(n), "--batch", str(batch)]
    if update:
        cmd.append("--update")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=20_000, help="objects per apply_objects call")
    parser.add_argument("--repeat", type=int, default=1, help="runs per N; the table shows medians")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--update", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.n[0], args.batch, args.update)))
        return 0

    print("load average (1, 5, 15 min) at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
          + f"; {os.cpu_count()} CPUs")
    print(f"{'N':>10} {'pass':<7} {'objects/s':>10} {'seconds':>8} {'obj/cpu-s':>10} {'ckpt s':>7} "
          f"{'peak RSS MB':>12} {'base RSS MB':>12} {'keys MB':>8} {'load':>5}  "
          f"(batch {args.batch}, median of {args.repeat})")
    for n in args.n:
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="payops-bench-") as tmp:
                path = str(Path(tmp) / "bench.duckdb")
                for update in (False, True):
                    runs[update].append(spawn(path, n, args.batch, update))
        for update, results in runs.items():
            secs = statistics.median(r["seconds"] for r in results)
            cpu = statistics.median(r["cpu"] for r in results)
            print(f"{n:>10} {'update' if update else 'insert':<7} {n / secs:>10,.0f} {secs:>8.2f} {n / cpu:>10,.0f} "
                  f"{statistics.median(r['checkpoint'] for r in results):>7.2f} "
                  f"{statistics.median(r['peak_rss_mb'] for r in results):>12,.0f} "
                  f"{statistics.median(r['baseline_rss_mb'] for r in results):>12,.0f} "
                  f"{statistics.median(r['key_hashes_mb'] for r in results):>8.1f} "
                  f"{statistics.median(r['load'] for r in results):>5.1f}", flush=True)
    print("load average (1, 5, 15 min) at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
