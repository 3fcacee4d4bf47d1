"""The one settings object, read at the edge from the environment and .streamlit/secrets.toml."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sync.errors import ConfigError, mask_secret
from sync.redact import configure_secrets, redact_secrets

DEFAULT_DATABASE_URL = "duckdb:///data/payops.duckdb"
SECRETS_PATH = Path(".streamlit/secrets.toml")


@dataclass(frozen=True)
class Settings:
    """Every PayOps setting. The README's settings table documents each field's variable."""

    database_url: str = DEFAULT_DATABASE_URL
    stripe_secret_key: str | None = None
    stripe_write_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    stripe_max_network_retries: int = 3
    stripe_requests_per_second: float | None = None
    sync_interval_minutes: int | None = None
    sync_lookback_days: int = 3
    role: str = "admin"
    allow_live_writes: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        # No secret in a repr (a log line, a traceback, st.write): keys by kind and last four, URL passwords out,
        # secrets.toml sections by name only (they hold OIDC client and cookie secrets).
        shown = {
            "database_url": redact_secrets(self.database_url),
            "stripe_secret_key": mask_secret(self.stripe_secret_key),
            "stripe_write_key": mask_secret(self.stripe_write_key),
            "stripe_api_base": self.stripe_api_base,
            "stripe_webhook_secrets": tuple(mask_secret(s) for s in self.stripe_webhook_secrets),
            "stripe_max_network_retries": self.stripe_max_network_retries,
            "stripe_requests_per_second": self.stripe_requests_per_second,
            "sync_interval_minutes": self.sync_interval_minutes,
            "sync_lookback_days": self.sync_lookback_days,
            "role": self.role,
            "allow_live_writes": self.allow_live_writes,
            "extra": sorted(self.extra),
        }
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    __str__ = __repr__

    @property
    def stripe_mode(self) -> str:
        """'live', 'test' or 'demo' (no key), from the key's prefix."""
        key = self.stripe_secret_key or ""
        if not key:
            return "demo"
        return "live" if "_live_" in key else "test"

    @property
    def stripe_rate_limit(self) -> float:
        """Requests per second to stay under: Stripe allows 100 live and 25 in test mode."""
        if self.stripe_requests_per_second:
            return self.stripe_requests_per_second
        return 90.0 if self.stripe_mode == "live" else 20.0


_ENV = {
    "database_url": "PAYOPS_DATABASE_URL",
    "stripe_secret_key": "STRIPE_SECRET_KEY",
    "stripe_write_key": "STRIPE_WRITE_KEY",
    "stripe_api_base": "STRIPE_API_BASE",
    "stripe_webhook_secrets": "STRIPE_WEBHOOK_SECRET",
    "stripe_max_network_retries": "STRIPE_MAX_NETWORK_RETRIES",
    "stripe_requests_per_second": "STRIPE_REQUESTS_PER_SECOND",
    "sync_interval_minutes": "PAYOPS_SYNC_INTERVAL",
    "sync_lookback_days": "PAYOPS_SYNC_LOOKBACK_DAYS",
    "role": "PAYOPS_ROLE",
    "allow_live_writes": "PAYOPS_ALLOW_LIVE_WRITES",
}


def _read_secrets(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it or remove it.") from exc


def _as_int(name: str, value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from None


def _as_bool(name: str, value: object) -> bool:
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}.")


def load_settings(env: Mapping[str, str] | None = None, secrets_path: Path | None = None) -> Settings:
    """Read settings: environment variables win over .streamlit/secrets.toml, which wins over defaults."""
    env = os.environ if env is None else env
    secrets = _read_secrets(secrets_path or SECRETS_PATH)
    raw: dict[str, object] = {}
    for attr, name in _ENV.items():
        value = env.get(name)
        if value in (None, ""):
            value = secrets.get(name)
        if value not in (None, ""):
            raw[attr] = value
    values: dict[str, object] = {}
    for attr, value in raw.items():
        name = _ENV[attr]
        if attr in {"stripe_max_network_retries", "sync_interval_minutes", "sync_lookback_days"}:
            values[attr] = _as_int(name, value)
        elif attr == "stripe_requests_per_second":
            values[attr] = float(str(value))
        elif attr == "allow_live_writes":
            values[attr] = _as_bool(name, value)
        elif attr == "stripe_webhook_secrets":
            items = value if isinstance(value, list) else str(value).split(",")
            values[attr] = tuple(s.strip() for s in items if str(s).strip())
        else:
            values[attr] = str(value)
    key = values.get("stripe_secret_key")
    if key and not str(key).startswith(("sk_", "rk_")):
        raise ConfigError(
            "STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_test_..., rk_test_...); "
            "publishable keys (pk_...) cannot read data."
        )
    extra = {k: v for k, v in secrets.items() if isinstance(v, dict)}
    settings = Settings(**values, extra=extra)  # type: ignore[arg-type]
    configure_secrets([settings.stripe_secret_key, settings.stripe_write_key, *settings.stripe_webhook_secrets,
                       *_nested_secrets(extra)])
    return settings


def _nested_secrets(sections: Mapping[str, object]) -> list[str]:
    """String values of secrets.toml sections whose key names a secret (OIDC client_secret, cookie_secret...)."""
    found: list[str] = []
    stack: list[object] = [sections]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                named = str(key).lower()
                if isinstance(value, str) and any(w in named for w in ("secret", "key", "password", "token")):
                    found.append(value)
                elif isinstance(value, Mapping):
                    stack.append(value)
    return found
