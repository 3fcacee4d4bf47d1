"""STRIPE_SECRET_KEY / STRIPE_WRITE_KEY: a value that is not an account's secret (sk_) or restricted (rk_) key is a
ConfigError naming what was pasted (by its kind and last four only) and what to paste instead; the console shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.settings import load_settings


def refused(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(env, tmp_path / "none.toml")
    return str(caught.value)


WHERE_TO_GET = "Dashboard → Developers → API keys"


def test_publishable_key_is_named_and_the_right_kind_asked_for(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="pk_test_51PublishableKeyBody1234")
    assert "STRIPE_SECRET_KEY holds a publishable key (pk_test_…1234)" in message
    assert "secret key sk_test_…" in message and "restricted key rk_test_…" in message and WHERE_TO_GET in message
    assert "PublishableKeyBody" not in message


def test_live_publishable_key_asks_for_a_live_secret_key(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="pk_live_51PublishableKeyBodyWXYZ")
    assert "publishable key (pk_live_…WXYZ)" in message and "sk_live_…" in message and "rk_live_…" in message
    assert "sk_test_" not in message


def test_webhook_signing_secret_is_sent_to_its_own_setting(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="whsec_SigningSecretBody9876")
    assert "STRIPE_SECRET_KEY holds a webhook signing secret (whsec_…9876)" in message
    assert "STRIPE_WEBHOOK_SECRET" in message and "sk_test_…" in message
    assert "SigningSecretBody" not in message


def test_organization_key_is_named(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="sk_org_test_OrgKeyBody5555")
    assert "STRIPE_SECRET_KEY holds an organization API key (sk_org_…5555)" in message
    assert "Stripe-Context" in message and "rk_test_…" in message and "OrgKeyBody" not in message


def test_anything_else_is_not_a_stripe_key_and_only_its_last_four_show(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="my-password-hunter2-abcd")
    assert "STRIPE_SECRET_KEY does not hold a Stripe API key (…abcd)" in message
    assert "hunter2" not in message and "password" not in message


def test_account_id_is_named(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="acct_1AccountIdBody77")
    assert "STRIPE_SECRET_KEY holds an account id (acct_…dy77)" in message


@pytest.mark.parametrize(("pasted", "what", "shown"), [
    (" sk_test_51PastedWithSpaceQQ12", "spaces or line breaks", "sk_test_…QQ12"),
    ("sk_test_51PastedWithNewlineQ12\n", "spaces or line breaks", "sk_test_…eQ12"),
    ("sk_test_51Pasted WithInnerSp12", "spaces or line breaks", "sk_test_…Sp12"),
    ('"sk_test_51PastedWithQuotesQ12"', "quotes", "sk_test_…sQ12"),
    ("'rk_test_51PastedWithQuotesQ12'", "quotes", "rk_test_…sQ12"),
])
def test_pasted_whitespace_or_quotes_are_named(tmp_path: Path, pasted: str, what: str, shown: str) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY=pasted)
    assert message.startswith("STRIPE_SECRET_KEY has ") and what in message
    assert f"({shown})" in message
    assert "Pasted" not in message  # the key's body never shows, only its kind and last four
    assert "paste the key alone" in message


def test_write_key_is_checked_the_same_way(tmp_path: Path) -> None:
    message = refused(tmp_path, STRIPE_SECRET_KEY="rk_test_51ReadKeyBody0001",
                      STRIPE_WRITE_KEY="pk_test_51PublishableKeyBody2222")
    assert "STRIPE_WRITE_KEY holds a publishable key (pk_test_…2222)" in message and "ReadKeyBody" not in message


def test_a_key_from_secrets_toml_says_where_it_was_found(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('STRIPE_SECRET_KEY = "pk_test_51FromSecretsToml4321"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({}, secrets)
    assert "in .streamlit/secrets.toml" in str(caught.value) and "pk_test_…4321" in str(caught.value)


@pytest.mark.parametrize(("key", "mode"), [
    ("sk_test_51HxYzAbCdEfGhIjKlMnOpQr", "test"), ("rk_test_51HxYz0002", "test"),
    ("sk_live_51HxYz0003", "live"), ("rk_live_51HxYz0004", "live"), ("sk_test_payops_e2e", "test"),
])
def test_secret_and_restricted_keys_are_accepted(tmp_path: Path, key: str, mode: str) -> None:
    settings = load_settings({"STRIPE_SECRET_KEY": key, "STRIPE_WRITE_KEY": key}, tmp_path / "none.toml")
    assert settings.stripe_secret_key == key and settings.stripe_mode == mode


def test_the_console_shows_the_message_not_a_traceback(app_env: Callable[[Path], None], empty_db: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import run_app

    app_env(empty_db)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "pk_test_51PublishableKeyBody1234")
    at = run_app()
    assert not at.exception
    errors = [str(e.value).replace("\\", "") for e in at.error]  # literal() escapes Markdown
    assert any("publishable key (pk_test_…1234)" in e for e in errors), errors
    assert all("PublishableKeyBody" not in e for e in errors)
