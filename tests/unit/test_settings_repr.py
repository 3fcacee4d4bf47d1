"""The settings object never shows a secret: repr() and str() mask keys, webhook secrets and URL passwords."""

from __future__ import annotations

from pathlib import Path

from sync.redact import redact_secrets
from sync.settings import load_settings


def test_repr_and_str_of_settings_show_no_secret(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[auth]\nclient_secret = "oidc-client-secret-value"\ncookie_secret = "cookie-secret-value"\n')
    settings = load_settings({"STRIPE_SECRET_KEY": "sk_test_51SecretKeyValue0001", "STRIPE_WRITE_KEY":
                              "rk_test_51WriteKeyValue0002", "STRIPE_WEBHOOK_SECRET": "whsec_hookA1,whsec_hookB2",
                              "PAYOPS_DATABASE_URL": "postgresql://payops:dbpass99@localhost/payops"}, secrets)
    for text in (repr(settings), str(settings)):
        for secret in ("SecretKeyValue", "WriteKeyValue", "whsec_hookA1", "whsec_hookB2", "dbpass99",
                       "oidc-client-secret-value", "cookie-secret-value"):
            assert secret not in text
        assert "sk_test_…0001" in text  # which key, by its kind and last four
    assert settings.stripe_secret_key == "sk_test_51SecretKeyValue0001"  # the value itself is untouched


def test_loaded_secrets_are_redacted_from_messages_whatever_their_shape(tmp_path: Path) -> None:
    load_settings({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "plain-shared-secret"},
                  tmp_path / "none.toml")
    assert redact_secrets("bad secret plain-shared-secret here") == "bad secret [redacted] here"
