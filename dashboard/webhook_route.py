"""The `POST /webhooks/stripe` Starlette route around `sync.webhooks.WebhookIntake`, the 405/404 answers for the
rest of `/webhooks/`, and the TCP_NODELAY fix.

The route reads the raw body with a bound (413 without reading past it), hands bytes + headers + the
remote address to the intake, and awaits the intake's answer without blocking the event loop: the
intake's writer thread does the durable writes, and the answer comes back once the delivery is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sync.settings import load_settings
from sync.store import Store
from sync.webhooks import DEFAULT_MAX_BODY, WebhookIntake

# Verifying a body this large (HMAC + decode) takes long enough to be worth moving off the event loop.
_THREADPOOL_BODY = 256 * 1024
_ANSWER_TIMEOUT = 30.0


class _LazyIntake:
    """Builds the intake on first use, so the store opens in the server process, not at import."""

    def __init__(self, factory: Callable[[], WebhookIntake]) -> None:
        self._factory = factory
        self._intake: WebhookIntake | None = None
        self._lock = threading.Lock()

    def get(self) -> WebhookIntake:
        if self._intake is None:
            with self._lock:
                if self._intake is None:
                    self._intake = self._factory()
        return self._intake

    def close(self) -> None:
        if self._intake is not None:
            self._intake.close()


async def _read_bounded(request: Request, limit: int) -> tuple[bytes, bool, int | None]:
    """(body, complete, announced size): stops reading once past `limit`, and reads nothing when the
    Content-Length already says it is too large."""
    announced: int | None = None
    length = request.headers.get("content-length", "")
    if length.isdigit():
        announced = int(length)
        if announced > limit:
            return b"", False, announced
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            chunks.append(chunk[: max(0, limit - (size - len(chunk)))])
            return b"".join(chunks), False, announced or size
        chunks.append(chunk)
    return b"".join(chunks), True, announced


def stripe_webhook_route(intake: WebhookIntake | Callable[[], WebhookIntake], *,
                         path: str = "/webhooks/stripe", max_body: int = DEFAULT_MAX_BODY) -> Route:
    """A `Route(path, endpoint, methods=["POST"])` answering Stripe deliveries through `intake`.

    Pass the intake, or a zero-argument factory that builds it on first use. The route carries
    `route.get_intake()` (build it now, e.g. at startup) and `route.close_intake()` (stop its writer
    after the queued deliveries are recorded): call them from the server's lifespan.
    """
    holder = _LazyIntake((lambda: intake) if isinstance(intake, WebhookIntake) else intake)

    async def endpoint(request: Request) -> Response:
        body, complete, announced = await _read_bounded(request, max_body)
        remote = request.client.host if request.client else None
        receiver = holder.get()
        args: tuple[Any, ...] = (body, request.headers, remote)
        kwargs = {"complete": complete, "announced_size": announced}
        if len(body) > _THREADPOOL_BODY:
            future = await run_in_threadpool(receiver.submit, *args, **kwargs)
        else:
            future = receiver.submit(*args, **kwargs)
        try:
            status, payload = await asyncio.wait_for(asyncio.wrap_future(future), _ANSWER_TIMEOUT)
        except TimeoutError:
            status, payload = 503, {"error": "timeout", "message": "The store did not confirm in time; retry."}
        return JSONResponse(payload, status_code=status)

    route = Route(path, endpoint, methods=["POST"])
    route.get_intake = holder.get  # type: ignore[attr-defined]
    route.close_intake = holder.close  # type: ignore[attr-defined]
    return route


class _NotHere:
    """ASGI app for the fallback routes. Starlette gives a function endpoint GET and HEAD only, but lets a
    plain ASGI app match every method, so even TRACE or a made-up method gets this answer, not the page's."""

    def __init__(self, providers: frozenset[str]) -> None:
        self.providers = providers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope.get("path_params", {})
        if params.get("provider") in self.providers and "rest" not in params:
            response = JSONResponse({"error": "method_not_allowed", "message": "Webhooks are delivered with POST."},
                                    status_code=405, headers={"Allow": "POST"})
        else:
            response = JSONResponse({"error": "not_found", "message": "No webhook receiver at this path."},
                                    status_code=404)
        await response(scope, receive, send)


def webhook_fallback_routes(providers: Sequence[str] = ("stripe",), prefix: str = "/webhooks") -> list[Route]:
    """Routes answering every other request under `prefix/`: 405 (Allow: POST) for a method other than POST on a
    provider's path, 404 for any other path. Place them after the providers' POST routes.

    Without them a GET or HEAD on `/webhooks/stripe`, or any `/webhooks/<unknown>`, falls through to
    Streamlit's static mount, which answers 200 with the console's page.
    """
    app = _NotHere(frozenset(providers))
    # `{provider}` is one non-empty segment, so `/webhooks` stays the Webhooks page (Streamlit redirects
    # `/webhooks/` there).
    return [Route(path, app) for path in (f"{prefix}/{{provider}}", f"{prefix}/{{provider}}/{{rest:path}}")]


def stripe_intake_from_settings(store: Store, secrets: Sequence[str] | None = None) -> WebhookIntake:
    """The intake for `store`, with the secrets from STRIPE_WEBHOOK_SECRET (comma-separated for rotation)."""
    if secrets is None:
        secrets = load_settings().stripe_webhook_secrets
    return WebhookIntake(store, secrets)


# -- TCP_NODELAY ---------------------------------------------------------------------------------------
# Streamlit pre-binds its listening socket as socket.socket(AF_INET) (proto 0), and asyncio enables
# TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, so every connection uvicorn accepts for st.App
# keeps Nagle on: a small response then waits for the client's delayed ACK (~40 ms per request).

_nodelay_lock = threading.Lock()


def enable_tcp_nodelay() -> None:
    """Set TCP_NODELAY on every connection uvicorn's HTTP protocols accept (idempotent, process-wide)."""
    from uvicorn.protocols.http import h11_impl

    classes: list[type] = [h11_impl.H11Protocol]
    with contextlib.suppress(ImportError):  # httptools is optional
        from uvicorn.protocols.http import httptools_impl

        classes.append(httptools_impl.HttpToolsProtocol)
    with _nodelay_lock:
        for cls in classes:
            if getattr(cls.connection_made, "_payops_nodelay", False):
                continue
            original = cls.connection_made

            def connection_made(self: Any, transport: asyncio.Transport, _original: Any = original) -> None:
                sock = transport.get_extra_info("socket")
                if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                _original(self, transport)

            connection_made._payops_nodelay = True  # type: ignore[attr-defined]
            cls.connection_made = connection_made  # type: ignore[method-assign]


def webhook_app(database_url: str | None = None, secrets: Sequence[str] | None = None,
                extra_routes: Sequence[Route] = ()) -> Starlette:
    """A Starlette app serving only the webhook route (tests, the benchmark, a webhook-only process).

    Owns its Store: opened at startup, closed at shutdown, so it must be the only process on the file.
    """
    settings = load_settings()
    url = database_url or settings.database_url
    state: dict[str, Store] = {}

    def factory() -> WebhookIntake:
        return stripe_intake_from_settings(state["store"], secrets if secrets is not None
                                           else settings.stripe_webhook_secrets)

    route = stripe_webhook_route(factory)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["store"] = Store(url)
        await run_in_threadpool(route.get_intake)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            route.close_intake()  # type: ignore[attr-defined]
            state["store"].close()

    return Starlette(routes=[route, *extra_routes, *webhook_fallback_routes()], lifespan=lifespan)
