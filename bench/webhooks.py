"""Webhook receiver benchmark: signed Stripe deliveries on loopback at 1, 16 and 64 concurrent senders.

Usage: PYTHONPATH=. .venv/bin/python bench/webhooks.py [--count 3000] [--seconds 10] [--concurrency 1 16 64]
       [--no-nodelay-fix] [--server stand-in|real]

`--server real` runs the same load against the real entry, `streamlit run dashboard/server.py` (pages and the
webhook route in one process, the intake on the pages' Store); its baseline is that server's own
`GET /_stcore/health`, a route that does nothing, since the real server has no bare POST route.

Starts the receiver in its own process (`bench/webhooks.py serve`: uvicorn on a socket pre-bound the way
Streamlit's st.App binds it, serving `POST /webhooks/stripe` and a bare `POST /bare` route that reads the
body and answers, as the baseline) on a free 127.0.0.1 port with a fresh DuckDB file. For each concurrency
it sends the same pre-signed deliveries (the tests' full Stripe charge, tests/builders/stripe.py, in a
`charge.succeeded` event, ~2.5 KB) to the bare route and then to the receiver, each sender on one keep-alive
connection, bounded by count and time. At the end the server is SIGKILLed, the file reopened, and every delivery
answered 2xx is looked up: "lost" counts those without a recorded 2xx delivery row or without their event in the
store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the repository's packages (tests.builders, sync) come from ROOT
    sys.path.insert(0, str(ROOT))

from tests.builders import stripe as stripe_builders  # noqa: E402 - needs ROOT on sys.path first

SECRET = "whsec_bench_secret"


def serve(port: int, db: str, nodelay_fix: bool) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from dashboard.webhook_route import enable_tcp_nodelay, webhook_app

    async def bare(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"received": True})

    if nodelay_fix:
        enable_tcp_nodelay()
    app = webhook_app(f"duckdb:///{db}", [SECRET], extra_routes=[Route("/bare", bare, methods=["POST"])])
    # Bound like Streamlit's _bind_socket: proto 0, so asyncio leaves TCP_NODELAY off unless fixed.
    sock = socket.socket(socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.setblocking(False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning",
                            backlog=2048)
    uvicorn.Server(config).run(sockets=[sock])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_requests(prefix: str, count: int, port: int, path: str) -> tuple[list[bytes], list[str]]:
    import stripe

    charge = stripe_builders.charge()
    now = int(time.time())
    requests, ids = [], []
    for i in range(count):
        event_id = f"evt_{prefix}_{i}"
        event = stripe_builders.event(id=event_id, type="charge.succeeded", created=now, pending_webhooks=1,
                                      data={"object": dict(charge, id=f"ch_{prefix}_{i}", created=now)})
        body = orjson.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, timestamp=now)
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; "
                f"charset=utf-8\r\nStripe-Signature: {header}\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/"
                f"docs/webhooks)\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        requests.append(head + body)
        ids.append(event_id)
    return requests, ids


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run_load(port: int, requests: list[bytes], concurrency: int, seconds: float
                   ) -> tuple[float, list[float], list[int]]:
    """Send requests[i] in order from `concurrency` keep-alive connections; (elapsed, latencies, statuses)."""
    statuses = [0] * len(requests)
    latencies: list[float] = []
    next_index = 0
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while next_index < len(requests) and time.perf_counter() < deadline:
                i = next_index
                next_index += 1
                started = time.perf_counter()
                writer.write(requests[i])
                statuses[i] = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, statuses


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def build_health_requests(count: int, port: int) -> tuple[list[bytes], list[str]]:
    """The real server's baseline: GET /_stcore/health, a route of the same server that does nothing."""
    head = f"GET /_stcore/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    return [head] * count, [""] * count


def start_real_server(port: int, db: str, workdir: str) -> subprocess.Popen[bytes]:
    """`streamlit run dashboard/server.py` on 127.0.0.1:port over `db`, from a cwd without secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYOPS_"))}
    env |= {"PYTHONPATH": str(ROOT), "PAYOPS_DATABASE_URL": f"duckdb:///{db}", "STRIPE_WEBHOOK_SECRET": SECRET}
    cmd = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", str(ROOT / "dashboard" / "server.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    return subprocess.Popen(cmd, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 45.0) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not become healthy in time")


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start listening in time")


def count_lost(db: str, acked: list[str]) -> int:
    from sync.store import Store

    store = Store(f"duckdb:///{db}")
    try:
        recorded = set(store.query(
            "SELECT d.event_id FROM webhook_deliveries AS d JOIN events AS e "
            "ON e.provider = d.provider AND e.id = d.event_id "
            "WHERE d.provider = 'stripe' AND d.status_code BETWEEN 200 AND 299").event_id)
    finally:
        store.close()
    return sum(1 for event_id in acked if event_id not in recorded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("--count", type=int, default=3000, help="deliveries per phase at most")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per phase at most")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--no-nodelay-fix", action="store_true", help="serve without enable_tcp_nodelay()")
    parser.add_argument("--keep", action="store_true", help="keep the DuckDB file and print its path")
    parser.add_argument("--server", choices=["stand-in", "real"], default="stand-in",
                        help="stand-in: uvicorn + the webhook route only; real: streamlit run dashboard/server.py")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.port, args.db, not args.no_nodelay_fix)
        return

    workdir = tempfile.mkdtemp(prefix="payops-bench-webhooks-")
    db = os.path.join(workdir, "bench.duckdb")
    port = _free_port()
    cmd = [sys.executable, __file__, "serve", "--port", str(port), "--db", db]
    if args.no_nodelay_fix:
        cmd.append("--no-nodelay-fix")
    real = args.server == "real"
    if real:
        proc = start_real_server(port, db, workdir)
    else:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    acked: list[str] = []
    rows = []
    try:
        _wait_healthy(port, proc) if real else _wait_port(port, proc)
        for concurrency in args.concurrency:
            for route in ("bare", "webhook"):
                path = "/bare" if route == "bare" else "/webhooks/stripe"
                if route == "bare" and real:
                    requests, ids = build_health_requests(args.count, port)
                else:
                    requests, ids = build_requests(f"{route}{concurrency}", args.count, port, path)
                elapsed, latencies, statuses = asyncio.run(run_load(port, requests, concurrency, args.seconds))
                ok = [i for i, s in enumerate(statuses) if 200 <= s < 300]
                failed = sum(1 for s in statuses if s >= 300)
                if route == "webhook":
                    acked.extend(ids[i] for i in ok)
                rows.append((concurrency, route, len(latencies), len(ok) / elapsed, _pct(latencies, 0.5),
                             _pct(latencies, 0.99), failed))
                print(f"  c={concurrency:<3} {route:<8} sent={len(latencies):<6} {len(ok) / elapsed:8.0f}/s "
                      f"p50={_pct(latencies, 0.5):7.1f} ms p99={_pct(latencies, 0.99):7.1f} ms non2xx={failed}",
                      flush=True)
    finally:
        proc.send_signal(signal.SIGKILL)  # no graceful flush: what was acknowledged must already be on disk
        proc.wait()
    lost = count_lost(db, acked)
    server = ("streamlit run dashboard/server.py (bare = GET /_stcore/health)" if real
              else f"stand-in uvicorn, nodelay fix {'off' if args.no_nodelay_fix else 'on'}")
    print(f"\nwebhook receiver, loopback, {os.cpu_count()} cores, {server}; server SIGKILLed before counting")
    print(f"{'senders':>7} {'route':<8} {'sent':>6} {'2xx/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for concurrency, route, sent, rate, p50, p99, failed in rows:
        print(f"{concurrency:>7} {route:<8} {sent:>6} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f} {failed:>8}")
    print(f"acknowledged deliveries: {len(acked)}, lost (2xx but not in the store): {lost}")
    if args.keep:
        print(f"store kept at {db}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
