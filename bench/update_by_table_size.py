"""Re-load memory against table size: the same update calls on tables of different sizes, each call's own peak.

Usage: PYTHONPATH=. .venv/bin/python bench/update_by_table_size.py [--tables 100000 1000000] [--calls 50]

bench/ingest.py's update pass peaks higher at N = 1,000,000 than at 100,000. Two things differ between those runs:
the table holds 10 times more rows, and the run makes 10 times more calls, so its maximum samples more of the
per-call peaks. This bench separates them (Linux only: it reads /proc). For each table size it builds a fresh file
with bench/ingest.py's insert pass, then one child process re-applies the same `--calls` batches of 20,000 charges
(the table's first 100,000, again and again, each round at a newer version) and resets the kernel's peak-RSS mark
before every call, so each call's own peak is read. It prints the median of those, the maximum of the first 5 calls
(what a 100,000-object run sees) and of all of them, and what one re-load call leaves held in a freshly opened
store: glibc heap in use (mallinfo2) and DuckDB's own buffers (duckdb_memory()), which is where per-stored-row
costs show.
"""

from __future__ import annotations

import argparse
import ctypes
import json
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


def _glibc_in_use() -> int:
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = _MallInfo2
    return mallinfo2().uordblks


def _duckdb_held(store: Any) -> int:
    return int(store.query("SELECT COALESCE(SUM(memory_usage_bytes), 0) AS b FROM duckdb_memory()").iloc[0]["b"])


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"/proc/self/status has no {field}")


def run_child(path: str, n: int, calls: int) -> dict[str, Any]:
    from sync.store import Store

    template = load_template()
    store = Store(f"duckdb:///{path}", exclusive=True)
    per_round = FIRST // BATCH
    version = BASE_CREATED + 10 * n + 1
    peaks = []
    for k in range(calls):
        objs = make_charges(template, (k % per_round) * BATCH, BATCH)
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        store.apply_objects("stripe", objs, version + k // per_round)
        peaks.append(_status_mb("VmHWM"))
        del objs
    store.close()

    # What one re-load call leaves held: a fresh store, one call to settle (its first write reads the stored keys'
    # range and re-opens the file), then the measured one; no checkpoint runs in between to re-open it again.
    store = Store(f"duckdb:///{path}", exclusive=True)
    middle = (n // 2) // BATCH * BATCH
    store.apply_objects("stripe", make_charges(template, middle, 10), version + calls)
    objs = make_charges(template, middle + BATCH, 4096)
    glibc, duck = _glibc_in_use(), _duckdb_held(store)
    store.apply_objects("stripe", objs, version + calls)
    held = {"glibc_mb": (_glibc_in_use() - glibc) / 2**20, "duckdb_mb": (_duckdb_held(store) - duck) / 2**20}
    store.close()
    return {"median": statistics.median(peaks), "max5": max(peaks[:5]), "max": max(peaks), **held}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=50, help="update calls of 20,000 objects per table")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.tables) < FIRST:
        parser.error(f"every table must hold at least {FIRST:,} rows")
    if args.child:
        print(json.dumps(run_child(args.child, args.tables[0], args.calls)))
        return 0

    print(f"{'table rows':>11} {'median call MB':>15} {'max first 5':>12} {'max all':>8} "
          f"{'held: glibc MB':>15} {'DuckDB MB':>10}  (the same {args.calls} calls of {BATCH:,} on each)")
    rows = []
    for n in args.tables:
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
        extra_rows = n - n0
        print(f"{n:,} rows against {n0:,}: per-call median {r['median'] - r0['median']:+.0f} MB "
              f"({(r['median'] - r0['median']) * 2**20 / extra_rows:+.1f} bytes per extra stored row); held after one "
              f"call {(r['glibc_mb'] + r['duckdb_mb'] - r0['glibc_mb'] - r0['duckdb_mb']) * 2**20 / extra_rows:+.1f} "
              "bytes per extra stored row")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
