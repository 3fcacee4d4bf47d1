"""Roles: who may take which action and see which page, the role map from config, and the current user."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.errors import ConfigError
from sync.settings import Settings

ROLES = ("viewer", "finance", "support", "engineer", "admin")

# Which roles may start (and, above the approval amount, approve) each guarded action.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "refund": frozenset({"finance", "support", "admin"}),
    "invoice_retry": frozenset({"finance", "support", "admin"}),
    "dispute_update": frozenset({"finance", "support", "admin"}),
    "dispute_close": frozenset({"finance", "admin"}),
    "event_retry": frozenset({"engineer", "admin"}),
    # Not provider writes, but they change the store: a sync, loading the demo data set, re-running stored events.
    "sync": frozenset({"engineer", "admin"}),
    "demo_load": frozenset({"engineer", "admin"}),
    "event_rerun": frozenset({"engineer", "admin"}),
}

_ALL = frozenset(ROLES)
# Page slug -> roles that see it in the navigation. Pages not listed are read-only views open to every role;
# the guard still checks every action, whatever page offers it.
PAGE_ROLES: dict[str, frozenset[str]] = {
    "overview": _ALL,
    "revenue": frozenset({"viewer", "finance", "admin"}),
    "payments": _ALL,
    "payment_detail": _ALL,
    "failures": frozenset({"finance", "support", "engineer", "admin"}),
    "subscriptions": frozenset({"viewer", "finance", "support", "admin"}),
    "disputes": frozenset({"finance", "support", "admin"}),
    "webhooks": frozenset({"engineer", "admin"}),
    "sync": frozenset({"engineer", "admin"}),
    "approvals": frozenset({"finance", "support", "engineer", "admin"}),
    "audit": frozenset({"finance", "engineer", "admin"}),
    "settings": frozenset({"admin"}),
}

LOCAL_OPERATOR = "local-operator"
# The role of a signed-in user PayOps refuses (an email the identity provider has not verified): in no table above,
# so every page and action check refuses it.
NO_ROLE = "none"
UNVERIFIED_EMAIL = (
    "Your sign-in provider does not say that your email address is verified (email_verified is false or missing), "
    "so PayOps gives this account no role: anyone could otherwise claim a team address. Verify the address with "
    "your identity provider (or ask an admin to use one that verifies emails), then sign in again."
)


def check_role(role: str) -> str:
    """The role, lower-cased, or a ConfigError naming the valid ones."""
    value = (role or "").strip().lower()
    if value not in ROLES:
        raise ConfigError(f"Unknown role {role!r}: use one of {', '.join(ROLES)} (PAYOPS_ROLE or [payops.roles]).")
    return value


def can_act(role: str, action: str) -> bool:
    return role in ACTION_ROLES.get(action, frozenset())


def can_see(role: str, page: str) -> bool:
    return role in PAGE_ROLES.get(page, _ALL)


def visible_pages(role: str, pages: Iterable[str]) -> list[str]:
    """Filter a page list (slugs) down to what this role sees, keeping its order."""
    return [page for page in pages if can_see(role, page)]


def action_refusal(role: str, action: str) -> str:
    allowed = ", ".join(sorted(ACTION_ROLES.get(action, ()))) or "no role"
    return f"Your role ({role}) may not {action.replace('_', ' ')}; it needs {allowed}. Ask an admin."


def role_map(settings: Settings) -> dict[str, str]:
    """`[payops.roles]` from secrets: keys are emails, domains (`example.com` or `@example.com`, that domain only)
    or `*.example.com` (its subdomains, at any depth, not example.com itself)."""
    payops = settings.extra.get("payops") or {}
    raw = payops.get("roles") if isinstance(payops, Mapping) else None
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("[payops.roles] must map emails or domains to roles, e.g. \"ops@example.com\" = \"admin\".")
    mapping = {str(key).strip().lower().lstrip("@"): check_role(str(value)) for key, value in raw.items()}
    for key in mapping:
        if "*" in key and not (key.startswith("*.") and "*" not in key[2:] and key[2:]):
            raise ConfigError(f"[payops.roles] key {key!r}: a wildcard is written \"*.example.com\" (its subdomains).")
    return mapping


def default_role(settings: Settings) -> str:
    """Role of a signed-in user the map does not name: `[payops] default_role`, else viewer."""
    payops = settings.extra.get("payops") or {}
    value = payops.get("default_role") if isinstance(payops, Mapping) else None
    return check_role(str(value)) if value else "viewer"


def role_for_email(email: str | None, mapping: Mapping[str, str], fallback: str = "viewer") -> str:
    """Exact email first, then its exact domain, then the closest `*.parent` entry, else the fallback.

    A domain entry names that domain only: `example.com` does not let `evil.example.com` (a subdomain someone
    else may run) in; write `*.example.com` for subdomains.
    """
    if not email:
        return fallback
    email = email.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return fallback  # not an email: it must not match a domain entry by its own text
    if email in mapping:
        return mapping[email]
    if domain in mapping:
        return mapping[domain]
    parent = domain.partition(".")[2]
    while parent:
        if f"*.{parent}" in mapping:
            return mapping[f"*.{parent}"]
        parent = parent.partition(".")[2]
    return fallback


def email_verified(user_info: Mapping[str, Any]) -> bool:
    """True only when the OIDC claim says so (a JSON true, or the string "true" some providers send)."""
    value = user_info.get("email_verified")
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def auth_configured(settings: Settings) -> bool:
    """True when secrets carry an `[auth]` section (OIDC sign-in through st.login)."""
    auth = settings.extra.get("auth")
    return isinstance(auth, Mapping) and bool(auth)


def resolve_user(settings: Settings, user_info: Mapping[str, Any] | None) -> tuple[str | None, str, bool]:
    """(email, role, signed_in) from settings and st.user's fields; pure, so tests need no Streamlit.

    Without [auth] there is one local operator with PAYOPS_ROLE's role; with it, a visitor who has not
    signed in is a viewer until they do, and a signed-in user whose email is not verified gets NO_ROLE.
    """
    if not auth_configured(settings):
        return LOCAL_OPERATOR, check_role(settings.role), False
    info = user_info or {}
    if not info.get("is_logged_in"):
        return None, "viewer", False
    email = info.get("email")
    if not email_verified(info):
        return email, NO_ROLE, True
    return email, role_for_email(email, role_map(settings), default_role(settings)), True


def current_user(settings: Settings) -> tuple[str | None, str, bool]:
    """(email, role, signed_in) of whoever is using this Streamlit session."""
    info: dict[str, Any] = {}
    if auth_configured(settings):
        import streamlit as st  # only here: the rest of this module is pure

        info = {"is_logged_in": bool(getattr(st.user, "is_logged_in", False)), "email": st.user.get("email"),
                "email_verified": st.user.get("email_verified")}
    return resolve_user(settings, info)
