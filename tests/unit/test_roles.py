"""Roles: permissions, page filtering, the role map from secrets, and who the current user is."""

from __future__ import annotations

import pytest

from dashboard import roles
from sync.errors import ConfigError
from sync.settings import Settings

ROLE_MAP = {"payops": {"roles": {"Ana@Example.com": "admin", "example.com": "support", "@contractor.io": "viewer"}}}
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x"}}


def test_action_permissions() -> None:
    assert roles.can_act("support", "refund") and roles.can_act("finance", "refund")
    assert not roles.can_act("viewer", "refund") and not roles.can_act("engineer", "refund")
    assert roles.can_act("engineer", "event_retry") and not roles.can_act("support", "event_retry")
    assert not roles.can_act("support", "dispute_close") and roles.can_act("finance", "dispute_close")
    assert not roles.can_act("admin", "no_such_action")
    assert "needs admin, finance, support" in roles.action_refusal("viewer", "refund")


def test_pages_are_filtered_in_order() -> None:
    pages = ["overview", "webhooks", "audit", "disputes", "some_new_page"]
    assert roles.visible_pages("viewer", pages) == ["overview", "some_new_page"]
    assert roles.visible_pages("engineer", pages) == ["overview", "webhooks", "audit", "some_new_page"]
    assert roles.visible_pages("admin", pages) == pages


def test_role_map_exact_email_then_domain_then_fallback() -> None:
    mapping = roles.role_map(Settings(extra=ROLE_MAP))
    assert roles.role_for_email("ana@example.com", mapping) == "admin"
    assert roles.role_for_email("bob@example.com", mapping) == "support"
    assert roles.role_for_email("eve@eu.example.com", mapping) == "support"  # parent domain
    assert roles.role_for_email("kim@contractor.io", mapping) == "viewer"
    assert roles.role_for_email("x@other.org", mapping, "finance") == "finance"
    assert roles.role_for_email(None, mapping) == "viewer"


def test_bad_role_in_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="use one of viewer"):
        roles.role_map(Settings(extra={"payops": {"roles": {"a@b.c": "superuser"}}}))
    with pytest.raises(ConfigError):
        roles.resolve_user(Settings(role="boss"), None)


def test_local_operator_without_auth() -> None:
    assert roles.resolve_user(Settings(role="Finance"), None) == (roles.LOCAL_OPERATOR, "finance", False)
    assert not roles.auth_configured(Settings())


def test_signed_in_user_with_auth() -> None:
    settings = Settings(extra=ROLE_MAP | AUTH)
    assert roles.auth_configured(settings)
    assert roles.resolve_user(settings, {"is_logged_in": False}) == (None, "viewer", False)
    assert roles.resolve_user(settings, {"is_logged_in": True, "email": "ana@example.com"}) == (
        "ana@example.com", "admin", True)
    default = Settings(extra={"payops": {"roles": {}, "default_role": "finance"}} | AUTH)
    assert roles.resolve_user(default, {"is_logged_in": True, "email": "z@z.io"})[1] == "finance"
