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
    assert roles.role_for_email("kim@contractor.io", mapping) == "viewer"
    assert roles.role_for_email("x@other.org", mapping, "finance") == "finance"
    assert roles.role_for_email(None, mapping) == "viewer"


def test_a_domain_entry_matches_that_domain_only() -> None:
    mapping = roles.role_map(Settings(extra={"payops": {"roles": {"example.com": "admin", "@corp.io": "finance"}}}))
    # A subdomain may be run by someone else (a customer's tenant, a forgotten host): it is not the domain.
    assert roles.role_for_email("eve@eu.example.com", mapping) == "viewer"
    assert roles.role_for_email("mallory@evil.example.com", mapping, "finance") == "finance"
    assert roles.role_for_email("eve@notexample.com", mapping) == "viewer"
    assert roles.role_for_email("kim@sub.corp.io", mapping) == "viewer"
    assert roles.role_for_email("kim@corp.io", mapping) == "finance"
    assert roles.role_for_email("example.com", mapping) == "viewer"  # not an email at all
    assert roles.role_for_email("@example.com", mapping) == "viewer"


def test_a_wildcard_entry_matches_subdomains_closest_first() -> None:
    mapping = roles.role_map(Settings(extra={"payops": {"roles": {
        "*.example.com": "support", "*.eu.example.com": "finance", "ops@eu.example.com": "admin"}}}))
    assert roles.role_for_email("eve@eu.example.com", mapping) == "support"
    assert roles.role_for_email("kim@x.eu.example.com", mapping) == "finance"  # the closer wildcard wins
    assert roles.role_for_email("ops@eu.example.com", mapping) == "admin"  # the exact email wins
    assert roles.role_for_email("bob@example.com", mapping) == "viewer"  # *.example.com is not example.com
    assert roles.role_for_email("bob@a.b.example.com", mapping) == "support"
    with pytest.raises(ConfigError, match="wildcard"):
        roles.role_map(Settings(extra={"payops": {"roles": {"*example.com": "admin"}}}))
    with pytest.raises(ConfigError, match="wildcard"):
        roles.role_map(Settings(extra={"payops": {"roles": {"*": "admin"}}}))


def test_sync_demo_and_rerun_are_engineer_and_admin_actions() -> None:
    for action in ("sync", "demo_load", "event_rerun"):
        assert roles.can_act("engineer", action) and roles.can_act("admin", action)
        assert not any(roles.can_act(role, action) for role in ("viewer", "finance", "support"))


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
    assert roles.resolve_user(settings, {"is_logged_in": True, "email": "ana@example.com",
                                         "email_verified": True}) == ("ana@example.com", "admin", True)
    default = Settings(extra={"payops": {"roles": {}, "default_role": "finance"}} | AUTH)
    verified = {"is_logged_in": True, "email": "z@z.io", "email_verified": True}
    assert roles.resolve_user(default, verified)[1] == "finance"


@pytest.mark.parametrize("claim", [False, None, "false", 1, "yes"])
def test_an_unverified_email_gets_no_role(claim: object) -> None:
    settings = Settings(extra=ROLE_MAP | AUTH)
    info = {"is_logged_in": True, "email": "ana@example.com"} | ({} if claim is None else {"email_verified": claim})
    assert roles.resolve_user(settings, info) == ("ana@example.com", roles.NO_ROLE, True)
    assert not roles.visible_pages(roles.NO_ROLE, list(roles.PAGE_ROLES))
    assert not any(roles.can_act(roles.NO_ROLE, action) for action in roles.ACTION_ROLES)
    assert roles.resolve_user(settings, info | {"email_verified": "true"})[1] == "admin"
