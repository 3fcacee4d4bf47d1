"""The server entry: `streamlit run dashboard/server.py` serves the pages (app.py), HTTP routes and the sync timer."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.routing import BaseRoute
from streamlit.starlette import App

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on sys.path, not the project root
    sys.path.insert(0, str(ROOT))

from dashboard import scheduler  # noqa: E402
from sync.errors import PayOpsError  # noqa: E402

log = logging.getLogger("payops.server")


@asynccontextmanager
async def lifespan(_app: App) -> AsyncIterator[None]:
    """Start the periodic sync (PAYOPS_SYNC_INTERVAL minutes) in this process; stop it on shutdown."""
    try:
        if scheduler.start_from_settings():
            log.info("periodic sync started")
    except PayOpsError as exc:  # a bad setting must not keep the pages (which show the error) from serving
        log.error("periodic sync not started: %s", exc)
    try:
        yield
    finally:
        scheduler.shutdown()


# HTTP routes beside the pages; the webhook issue adds `POST /webhooks/stripe` here.
routes: list[BaseRoute] = []

app = App("app.py", lifespan=lifespan, routes=routes)
