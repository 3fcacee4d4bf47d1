"""Re-load memory against table size: the same update calls on tables of different sizes, each call's own peak.

Usage: PYTHONPATH=. .venv/bin/python bench/update_by_table_size.py [--tables 100000 1000000] [--calls 50]

bench/ingest.py's update pass peaks higher at N = 1,000,000 than at 100,000. Two things differ between those runs:
the table holds 10 times more rows, and the run makes 10 times more calls, so its maximum samples more of the
per-call peaks. This bench separates them; it needs Linux (/proc) and glibc 2.33 or later (mallinfo2).

For each table size it builds a fresh file with bench/ingest.py's insert pass. Then one child process:
- applies one re-load call of 20,000 charges from the middle of the table to the freshly opened file and reports
  what that call leaves held: glibc heap in use (mallinfo2) and DuckDB's own buffers (duckdb_memory()). This is
  where costs per stored row show. A 10-object call goes first, because a store's first write reads the stored keys'
  range and re-opens the file.
- re-applies the same `--calls` calls of 20,000 charges (the table's first 100,000, again and again, each round at a
  newer version), resetting the kernel's peak-RSS mark before every call, so each call's own peak is read.

It prints the median of those peaks, the maximum of the first 5 calls (a 100,000-object run makes 5; bench/ingest.py
also counts its final checkpoint and close) and the maximum of all of them.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ingest import BASE_CREATED, ROOT, load_template, make_charges, spawn

BATCH = 20_000
FIRST = 100_000  # every table re-loads the same first objects


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mallinfo2() -> Any:
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        raise SystemExit("this bench needs glibc 2.33 or later (mallinfo2)") from None
    mallinfo2.restype = _MallInfo2
    return mallinfo2


def _held(store: Any) -> tuple[int, int]:
    """(glibc heap in use, DuckDB's buffers) in bytes, after a collection so Python's garbage does not count."""
    gc.collect()
    duckdb_bytes = int(store.query(
        "SELECT COALESCE(SUM(memory_usage_bytes), 0) AS b FROM duckdb_memory()").iloc[0]["b"])
    info = _mallinfo2()()
    return info.uordblks + info.hblkhd, duckdb_bytes


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"/proc/self/status has no {field}")


def run_child(path: str, n: int, calls: int) -> dict[str, Any]:
    from sync.store import Store

    template = load_template()
    store = Store(f"duckdb:///{path}", exclusive=True)
    version = BASE_CREATED + 10 * n + 1
    middle = (n // 2) // BATCH * BATCH
    store.apply_objects("stripe", make_charges(template, middle, 10), version)
    objs = make_charges(template, middle, BATCH)
    glibc, duck = _held(store)
    store.apply_objects("stripe", objs, version)
    del objs
    glibc_after, duck_after = _held(store)

    per_round = FIRST // BATCH
    peaks = []
    for k in range(calls):
        objs = make_charges(template, (k % per_round) * BATCH, BATCH)
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        store.apply_objects("stripe", objs, version + 1 + k // per_round)
        peaks.append(_status_mb("VmHWM"))
        del objs
    store.close()
    return {"median": statistics.median(peaks), "max5": max(peaks[:5]), "max": max(peaks),
            "glibc_mb": (glibc_after - glibc) / 2**20, "duckdb_mb": (duck_after - duck) / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=50, help="update calls of 20,000 objects per table")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.tables) < FIRST or len(set(args.tables)) != len(args.tables):
        parser.error(f"give distinct table sizes of at least {FIRST:,} rows")
    if not Path("/proc/self/clear_refs").exists():
        parser.error("this bench needs Linux: it reads each call's peak from /proc")
    _mallinfo2()
    if args.child:
        print(json.dumps(run_child(args.child, args.tables[0], args.calls)))
        return 0

    print("load average (1, 5, 15 min) at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
          + f"; {os.cpu_count()} CPUs")
    print(f"{'table rows':>11} {'median call MB':>15} {'max first 5':>12} {'max all':>8} "
          f"{'held: glibc MB':>15} {'DuckDB MB':>10}  (the same {args.calls} calls of {BATCH:,} on each)")
    rows = []
    for n in sorted(args.tables):
        with tempfile.TemporaryDirectory(prefix="payops-bench-") as tmp:
            path = str(Path(tmp) / "bench.duckdb")
            spawn(path, n, BATCH, update=False)
            out = subprocess.run([sys.executable, __file__, "--child", path, "--tables", str(n),
                                  "--calls", str(args.calls)], check=True, capture_output=True, text=True, cwd=ROOT)
            r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((n, r))
        print(f"{n:>11,} {r['median']:>15,.0f} {r['max5']:>12,.0f} {r['max']:>8,.0f} "
              f"{r['glibc_mb']:>15.1f} {r['duckdb_mb']:>10.1f}", flush=True)
    (n0, r0), *rest = rows
    for n, r in rest:
        per_row = 2**20 / (n - n0)
        held = r["glibc_mb"] + r["duckdb_mb"] - r0["glibc_mb"] - r0["duckdb_mb"]
        print(f"{n:,} rows against {n0:,}: per-call median {r['median'] - r0['median']:+.0f} MB "
              f"({(r['median'] - r0['median']) * per_row:+.1f} bytes per extra stored row); held after one call "
              f"{held * per_row:+.1f} bytes per extra stored row")
    print("load average (1, 5, 15 min) at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
