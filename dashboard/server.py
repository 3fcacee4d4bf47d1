"""The server entry: `streamlit run dashboard/server.py` serves the pages (app.py), HTTP routes and the sync timer."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from streamlit.starlette import App

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on sys.path, not the project root
    sys.path.insert(0, str(ROOT))

from dashboard import scheduler  # noqa: E402
from dashboard.webhook_route import (  # noqa: E402
    enable_tcp_nodelay,
    stripe_intake_from_settings,
    stripe_webhook_route,
    webhook_fallback_routes,
)
from sync.errors import PayOpsError  # noqa: E402
from sync.redact import install_log_redaction  # noqa: E402
from sync.webhooks import WebhookIntake  # noqa: E402

log = logging.getLogger("payops.server")


def _configure_logging() -> None:
    """PayOps's own loggers (sync.*, dashboard.*, payops.*) to stderr at PAYOPS_LOG_LEVEL (default WARNING).

    Streamlit configures only its own loggers; at INFO the receiver logs one line per delivery (ids, verdict,
    status, outcome; never a secret or a body).
    """
    level = os.environ.get("PAYOPS_LOG_LEVEL", "WARNING").upper()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("sync", "dashboard", "payops"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")
            logger.propagate = False


_configure_logging()
install_log_redaction()  # no key, bearer token or configured secret reaches a log line

# Streamlit's listening socket leaves Nagle on: without this every webhook answer waits ~40 ms for a delayed ACK.
enable_tcp_nodelay()


def _pages_store_intake() -> WebhookIntake:
    # Imported here, once Streamlit's runtime runs: dashboard.context declares st.cache_data functions, and
    # declaring them before the runtime exists logs "No runtime found". get_store() is the pages' one Store,
    # so webhook writes bump the generation the pages' cached queries key on.
    from dashboard.context import get_store

    return stripe_intake_from_settings(get_store())


stripe_route = stripe_webhook_route(_pages_store_intake)


@asynccontextmanager
async def lifespan(_app: App) -> AsyncIterator[None]:
    """Start the periodic sync (PAYOPS_SYNC_INTERVAL minutes) and the webhook intake; stop both on shutdown."""
    try:
        if scheduler.start_from_settings():
            log.info("periodic sync started")
    except PayOpsError as exc:  # a bad setting must not keep the pages (which show the error) from serving
        log.error("periodic sync not started: %s", exc)
    try:
        # Built now rather than on the first delivery, so a replay from the Webhooks page finds this intake
        # (one writer per store) and a store that cannot open is reported at startup.
        intake = await run_in_threadpool(stripe_route.get_intake)  # type: ignore[attr-defined]
        if not intake.has_secrets:
            log.warning("STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe answers 503 until it is")
    except PayOpsError as exc:
        log.error("webhook intake not started: %s", exc)
    try:
        yield
    finally:
        stripe_route.close_intake()  # type: ignore[attr-defined]  # records what is queued, then stops
        scheduler.shutdown()


# The fallbacks come after the POST route: without them GET /webhooks/stripe would get the console's page.
routes: list[BaseRoute] = [stripe_route, *webhook_fallback_routes(["stripe"])]

app = App("app.py", lifespan=lifespan, routes=routes)
