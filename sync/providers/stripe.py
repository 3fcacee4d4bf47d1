"""Stripe read side: one StripeClient, created-window lists and events as plain dicts, paced, 429-aware."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import stripe

from sync.errors import ConfigError, classify_provider_error
from sync.settings import Settings

PAGE_SIZE = 100
MAX_RATE_LIMIT_RETRIES = 8
MAX_RETRY_AFTER = 60.0

# resource -> (list path, fixed params). Subscription items always carry their price (not expandable);
# discounts are ids unless expanded, and a discount's coupon is an id unless expanded too (4 levels max).
LISTS: dict[str, tuple[str, dict[str, Any]]] = {
    "customers": ("/v1/customers", {}),
    "charges": ("/v1/charges", {"expand": ["data.balance_transaction"]}),
    "refunds": ("/v1/refunds", {}),
    "disputes": ("/v1/disputes", {}),
    "subscriptions": ("/v1/subscriptions", {"status": "all", "expand": ["data.discounts.source.coupon"]}),
    "invoices": ("/v1/invoices", {}),
    "balance_transactions": ("/v1/balance_transactions", {}),
    "events": ("/v1/events", {}),
}


class Pacer:
    """Spaces requests to stay under a rate; a 429 halves the rate for the rest of the run."""

    def __init__(self, rate: float, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = max(rate, 0.1)
        self._sleep = sleep
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            delay = self._next - now
            self._next = max(now, self._next) + 1.0 / self.rate
        if delay > 0:
            self._sleep(delay)

    def slow_down(self) -> None:
        with self._lock:
            self.rate = max(self.rate / 2, 1.0)


def retry_after_seconds(exc: stripe.StripeError, attempt: int) -> float:
    """Seconds to wait after a 429: the server's Retry-After when given, else exponential backoff."""
    headers = getattr(exc, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is not None:
        try:
            return min(max(float(value), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    return min(0.5 * 2**attempt, 30.0) * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not crypto)


class StripeProvider:
    """The Provider protocol over Stripe's list endpoints, through one StripeClient passed in.

    `compat=True` (set for a custom STRIPE_API_BASE) tolerates Stripe-compatible servers such as
    localstripe that reject `created` filters or expansions, or lack an endpoint: the provider then
    drops the unsupported parameter for that resource and filters by `created` itself. Against
    api.stripe.com every such answer is a real error.
    """

    name = "stripe"
    resources: tuple[str, ...] = tuple(LISTS)

    def __init__(self, client: stripe.StripeClient, *, rate_limit: float = 20.0, compat: bool = False,
                 sleep: Callable[[float], None] = time.sleep, page_size: int = PAGE_SIZE) -> None:
        self.client = client
        self.compat = compat
        self.page_size = page_size
        self.pacer = Pacer(rate_limit, sleep=sleep)
        self._sleep = sleep
        self._dropped: dict[str, tuple[str, ...]] = {}
        self.unsupported: set[str] = set()
        self.rate_limited = 0  # 429 answers seen, for the run summary

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeProvider:
        key = settings.stripe_secret_key
        if not key:
            raise ConfigError(
                "No Stripe key configured: set STRIPE_SECRET_KEY (environment or .streamlit/secrets.toml) "
                "to a test-mode key (sk_test_... or rk_test_...), or load demo data with `python -m sync --demo`."
            )
        base = settings.stripe_api_base
        client = stripe.StripeClient(
            key, max_network_retries=settings.stripe_max_network_retries,
            base_addresses={"api": base.rstrip("/")} if base else None,
        )
        compat = bool(base) and "api.stripe.com" not in base
        return cls(client, rate_limit=settings.stripe_rate_limit, compat=compat)

    # -- requests ----------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One paced GET; 429s wait (Retry-After) and retry; every SDK error leaves classified."""
        attempt = 0
        while True:
            self.pacer.wait()
            try:
                response = self.client.raw_request("get", path, **params)
                return orjson.loads(response.body)
            except stripe.RateLimitError as exc:
                self.rate_limited += 1
                if attempt >= MAX_RATE_LIMIT_RETRIES:
                    raise classify_provider_error(exc, target=path) from None
                self.pacer.slow_down()
                self._sleep(retry_after_seconds(exc, attempt))
                attempt += 1
            except stripe.StripeError as exc:
                raise classify_provider_error(exc, target=path) from None

    def check(self) -> None:
        """One cheap read that fails fast on a bad key or an unreachable API, before anything is written."""
        self._get("/v1/customers", {"limit": 1})

    def _first_page(self, resource: str, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first page, learning (compat mode only) which optional parameters the server refuses."""
        dropped = self._dropped.get(resource)
        if dropped is not None or not self.compat:
            return self._get(path, {k: v for k, v in params.items() if k not in (dropped or ())})
        first_error: stripe.StripeError | None = None
        for drop in ((), ("expand",), ("created",), ("created", "expand")):
            if any(k not in params for k in drop):
                continue  # the same request as an earlier variant
            # The probe skips the SDK's own retries: a fake's 500 for an unknown parameter is not transient.
            probe = {k: v for k, v in params.items() if k not in drop} | {"max_network_retries": 0}
            self.pacer.wait()
            try:
                page = orjson.loads(self.client.raw_request("get", path, **probe).body)
            except stripe.RateLimitError:
                return self._get(path, {k: v for k, v in params.items() if k not in drop})
            except (stripe.InvalidRequestError, stripe.APIError) as exc:
                if getattr(exc, "http_status", None) == 404 and first_error is None:
                    self.unsupported.add(resource)
                    self._dropped[resource] = ()
                    return None
                first_error = first_error or exc
                continue
            except stripe.StripeError as exc:
                raise classify_provider_error(exc, target=path) from None
            self._dropped[resource] = drop
            return page
        assert first_error is not None
        raise classify_provider_error(first_error, target=path) from None

    # -- Provider protocol -------------------------------------------------------------------------

    def list_objects(self, resource: str, created_gt: int | None, created_lte: int | None) -> Iterator[dict[str, Any]]:
        if resource not in LISTS:
            raise ConfigError(f"Unknown Stripe resource {resource!r}; choose from {', '.join(LISTS)}.")
        if resource in self.unsupported:
            return
        path, fixed = LISTS[resource]
        created: dict[str, int] = {}
        if created_gt is not None:
            created["gt"] = created_gt
        if created_lte is not None:
            created["lte"] = created_lte
        params: dict[str, Any] = {"limit": self.page_size, **fixed}
        if created:
            params["created"] = created
        page = self._first_page(resource, path, params)
        if page is None:
            return
        params = {k: v for k, v in params.items() if k not in self._dropped.get(resource, ())}
        lo = created_gt if created_gt is not None else -1
        hi = created_lte if created_lte is not None else 1 << 62
        while True:
            data = page.get("data") or []
            for obj in data:
                # Checked here as well: a server that ignored the filter must not widen the window.
                if lo < (obj.get("created") or 0) <= hi:
                    yield obj
            if not page.get("has_more") or not data:
                return
            page = self._get(path, params | {"starting_after": data[-1]["id"]})

    def list_events(self, created_gt: int) -> Iterator[dict[str, Any]]:
        return self.list_objects("events", created_gt, None)
