"""The one settings object, read at the edge from the environment and .streamlit/secrets.toml."""

from __future__ import annotations

import os
import re
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


_ACCOUNT_KEY = re.compile(r"[sr]k_(?:test|live)_[A-Za-z0-9_]+")
_MODE = re.compile(r"_(test|live)_")
# What people paste into STRIPE_SECRET_KEY by mistake, by prefix: (what it is, what to do instead).
_NOT_AN_ACCOUNT_KEY = (
    ("pk_", "a publishable key", "it only identifies the account to a browser and cannot read data"),
    ("whsec_", "a webhook signing secret", "it belongs in STRIPE_WEBHOOK_SECRET"),
    ("sk_org_", "an organization API key",
     "it needs a Stripe-Context header naming an account on every request, which PayOps does not send"),
    ("acct_", "an account id", "it names the account but is no key"),
)
_QUOTES = "\"'`\u2018\u2019\u201c\u201d"


def _shown(value: str, prefix: str = "") -> str:
    """A key as a message may show it: its kind (the prefix) and last four, as sync.errors.mask_secret does; the
    last four only when the value is so short that they would be much of it."""
    if prefix.startswith(("pk_", "sk_", "rk_")) and _MODE.match(value[2:]):
        return mask_secret(value)
    return f"{prefix}…{value[-4:]}" if len(value) >= len(prefix) + 12 else f"{prefix}…"


def check_stripe_key(name: str, value: str, where: str = "") -> None:
    """Raise a ConfigError unless `value` is an account's secret (sk_) or restricted (rk_) key, saying what was
    pasted (its kind and last four, never more) and what to paste instead."""
    if _ACCOUNT_KEY.fullmatch(value):  # fullmatch: `$` alone lets a trailing newline through
        return
    bare = value.strip().strip(_QUOTES).strip()
    mode = m.group(1) if (m := _MODE.search(bare)) else "test"
    wanted = (f"PayOps needs a secret key sk_{mode}_… or a restricted key rk_{mode}_… from "
              "Dashboard → Developers → API keys")
    found = f" {where}" if where else ""
    if bare != value or any(c.isspace() for c in bare):
        what = "quotes" if bare != value and value.strip()[:1] in _QUOTES else "spaces or line breaks"
        shown = _shown("".join(bare.split()), _prefix(bare))
        raise ConfigError(f"{name} has {what} around or inside the key ({shown}){found}: paste the key alone, "
                          f"without quotes or spaces. {wanted}.")
    for prefix, kind, why in _NOT_AN_ACCOUNT_KEY:
        if bare.startswith(prefix):
            raise ConfigError(f"{name} holds {kind} ({_shown(bare, _prefix(bare) if prefix == 'pk_' else prefix)})"
                              f"{found}; {why}. {wanted}.")
    raise ConfigError(f"{name} does not hold a Stripe API key ({_shown(bare)}){found}. {wanted}.")


def _prefix(value: str) -> str:
    """The kind a Stripe key names in front: sk_test_, pk_live_, whsec_... ('' when there is none)."""
    m = re.match(r"^(?:[a-z]{2,5}_(?:org_)?(?:test_|live_)?)", value)
    return m.group(0) if m else ""


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
    for attr in ("stripe_secret_key", "stripe_write_key"):
        if attr in values:
            where = "in the environment" if env.get(_ENV[attr]) not in (None, "") else "in .streamlit/secrets.toml"
            check_stripe_key(_ENV[attr], str(values[attr]), where)
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
