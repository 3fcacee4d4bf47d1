"""`python -m sync`: flags, progress bars, summary table, exit codes, and the `bootstrap` step of `make run`."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync import audit
from sync.errors import PayOpsError, ProviderAuthError, mask_secret
from sync.settings import Settings, load_settings

RESOURCES = ("customers", "charges", "refunds", "disputes", "subscriptions", "invoices", "balance_transactions",
             "events")
USAGE_ERROR = 2


def parse_date(text: str) -> int:
    """A date (2026-01-31) or ISO datetime (UTC unless it says otherwise) -> epoch seconds."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-01-31") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sync",
        description="Pull Stripe data into the PayOps store (or load demo data). "
                    "`python -m sync bootstrap` loads demo data into an empty store when no key is set.",
    )
    parser.add_argument("command", nargs="?", choices=["bootstrap", "seed-test-account"],
                        help="bootstrap: the first step of `make run`; seed-test-account: fill a Stripe TEST account "
                             "with rehearsal scenarios")
    parser.add_argument("--full", action="store_true", help="backfill every resource from scratch")
    parser.add_argument("--since", type=parse_date, metavar="DATE", help="re-list objects created since DATE")
    parser.add_argument("--resource", action="append", choices=RESOURCES, metavar="NAME",
                        help=f"sync only this resource (repeatable): {', '.join(RESOURCES)}")
    parser.add_argument("--demo", action="store_true", help="load seeded demo data instead of calling Stripe")
    parser.add_argument("--scale", type=positive_int, metavar="N", help="with --demo: generate N charges")
    parser.add_argument("--seed", type=int, default=7, metavar="N", help="with --demo: random seed (default 7)")
    return parser


class _Bars:
    """One rich progress bar per resource, created on its first report."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description:<22}"), BarColumn(),
                                 TextColumn("{task.completed:>9,} objects"), TimeElapsedColumn(),
                                 console=console, transient=False)
        self.tasks: dict[str, Any] = {}

    def __call__(self, resource: str, count: int, done: bool) -> None:
        task = self.tasks.get(resource)
        if task is None:
            task = self.tasks[resource] = self.progress.add_task(resource, total=None)
        self.progress.update(task, completed=count)
        if done:
            self.progress.update(task, total=max(count, 1), completed=max(count, 1))
            self.progress.update(task, completed=count, description=f"{resource} ✓")

    def __enter__(self) -> _Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _summary(title: str, counts: dict[str, int], status: str) -> Table:
    table = Table(title=title)
    table.add_column("resource")
    table.add_column("objects", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    table.add_row("total", f"{sum(counts.values()):,}", style="bold")
    table.caption = f"status: {status}"
    return table


def _open_store(settings: Settings) -> Any:
    from sync.store import Store

    # Exclusive: this process runs one sync on one thread, so a long load may re-attach the file to bound memory.
    return Store(settings.database_url, exclusive=True)


def _load_demo(store: Any, *, seed: int, scale: int | None, progress: Callable[[str, int, bool], None] | None) -> dict:
    from sync.demo import load_demo

    return load_demo(store, seed=seed, scale=scale, progress=progress)


def _run_demo(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    store = _open_store(settings)
    try:
        with _Bars(err) as bars:
            counts = _load_demo(store, seed=args.seed, scale=args.scale, progress=bars)
    finally:
        store.close()
    out.print(_summary("Demo data loaded", dict(counts), "succeeded"))
    return 0


def _run_sync(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    from sync.providers.stripe import StripeProvider
    from sync.runner import run_sync

    provider = StripeProvider.from_settings(settings)
    provider.check()  # a bad key or a dead network fails here, before the store is touched
    store = _open_store(settings)
    try:
        with _Bars(err) as bars:
            result = run_sync(store, provider, full=args.full, since=args.since, resources=args.resource,
                              lookback_days=settings.sync_lookback_days, progress=bars)
    finally:
        store.close()
    out.print(_summary(f"Stripe sync ({settings.stripe_mode} mode)", result.counts, result.status))
    if provider.unsupported:
        err.print(f"Note: this server has no list endpoint for {', '.join(sorted(provider.unsupported))}.")
    if provider.rate_limited:
        err.print(f"Note: Stripe rate-limited {provider.rate_limited} request(s); the run slowed down and went on.")
    if result.gap_message:
        err.print(f"Warning: {result.gap_message}")
    if result.status != "succeeded":
        raise PayOpsError(result.error or "The sync failed.")
    return 0


def _bootstrap(settings: Settings) -> int:
    # Plain print: one line, never wrapped to the terminal's width.
    store = _open_store(settings)
    try:
        if settings.stripe_secret_key:
            print(f"bootstrap: Stripe key {mask_secret(settings.stripe_secret_key)} is configured; no demo data "
                  "loaded. Pull data with `make sync` or the Sync page.")
        elif not store.is_empty():
            print("bootstrap: no Stripe key, and the store already has data; left it as it is.")
        else:
            counts = _load_demo(store, seed=7, scale=None, progress=None)
            print(f"bootstrap: no STRIPE_SECRET_KEY, so loaded demo data ({sum(counts.values()):,} objects) "
                  f"into {settings.database_url}.")
    finally:
        store.close()
    return 0


def _seed_test_account(settings: Settings, out: Console) -> int:
    from sync.providers.stripe_writes import build_client
    from sync.seed import seed_test_account

    result = seed_test_account(build_client(settings))
    # Test-mode writes outside the guard (seed_test_account refuses live keys), but still on the audit log.
    store = _open_store(settings)
    try:
        actor = f"cli:{getpass.getuser()}"
        for scenario, object_id in result["created"].items():
            audit.append(store, actor=actor, role="cli", action="seed-test-account", target=object_id,
                         params={"scenario": scenario, "run": result["run"]}, result="created")
        for scenario, reason in result["skipped"].items():
            audit.append(store, actor=actor, role="cli", action="seed-test-account", target=None,
                         params={"scenario": scenario, "run": result["run"]}, error=reason)
    finally:
        store.close()
    out.print(f"Seeded run {result['run']}: {len(result['created'])} created, {len(result['skipped'])} skipped.")
    for name, reason in result["skipped"].items():
        out.print(f"  skipped {name}: {reason}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 only on success)."""
    out, err = Console(), Console(stderr=True)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.scale is not None and not args.demo:
        parser.error("--scale needs --demo")
    if args.demo and (args.full or args.since is not None or args.resource):
        parser.error("--demo loads generated data; it does not combine with --full, --since or --resource")
    settings: Settings | None = None
    try:
        settings = load_settings()
        if args.command == "bootstrap":
            return _bootstrap(settings)
        if args.command == "seed-test-account":
            return _seed_test_account(settings, out)
        if args.demo:
            return _run_demo(args, settings, out, err)
        return _run_sync(args, settings, out, err)
    except PayOpsError as exc:
        message = str(exc)
        key = settings.stripe_secret_key if settings else None
        if key:
            message = message.replace(key, mask_secret(key))
            if isinstance(exc, ProviderAuthError):
                message += f" (key in use: {mask_secret(key)})"
        print(f"error: {message}", file=sys.stderr)
        return exc.exit_code
    except (OSError, RuntimeError, ValueError) as exc:  # e.g. the store's disk: one line, not a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; run again to resume from the last checkpoint.", file=sys.stderr)
        return 130
