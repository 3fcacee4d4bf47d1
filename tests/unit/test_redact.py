"""sync/redact.py: card numbers typed anywhere, CVC-like keys, the JSON prefilter, and secrets in messages and logs."""

from __future__ import annotations

import logging

import orjson
import pytest

from sync.json_docs import JsonDocs
from sync.normalise import normalise
from sync.redact import RedactingFilter, is_cvc_key, mask_card_numbers, redact_secrets, scrub, suspect_docs


@pytest.mark.parametrize(("text", "masked"), [
    ("4242424242424242", "•••• 4242"),
    ("card 4242 4242 4242 4242 thanks", "card •••• 4242 thanks"),
    ("4000-0566-5566-5556", "•••• 5556"),
    ("amex 378282246310005.", "amex •••• 0005."),
    ("6011111111111117,6011 1111 1111 1117", "•••• 1117,•••• 1117"),
    ("qty 2 4242424242424242", "qty 2 •••• 4242"),  # a number typed before the card is kept
    ("ref4242424242424242", "ref•••• 4242"),
])
def test_card_numbers_are_masked_to_the_last_four(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


@pytest.mark.parametrize("text", [
    "4242424242424241",  # fails Luhn
    "424242424242",  # 12 digits
    "42424242424242424242",  # 20 digits: one token, not a card
    "order 1800000000 at 2026-01-01 12:00",
    "+1 555-555-5555",
])
def test_other_numbers_are_kept(text: str) -> None:
    assert mask_card_numbers(text) == text


@pytest.mark.parametrize("key", ["cvc", "CVV", "cvc2", "cvv2", "card_cvc", "security code", "Security-Code",
                                 "securityCode", "card_code", "CardCode"])
def test_cvc_like_keys(key: str) -> None:
    assert is_cvc_key(key)


@pytest.mark.parametrize("key", ["cvc_check", "code", "failure_code", "postal_code", "description"])
def test_other_keys_are_not_cvc_like(key: str) -> None:
    assert not is_cvc_key(key)


def test_scrub_walks_nested_lists_and_keys_drops_cvc_and_keeps_json_numbers() -> None:
    obj = {"id": "cus_1", "metadata": {"note": ["a", {"deep": "pay 4242-4242-4242-4242"}], "CVV2": "123",
                                       "4242424242424242": "as a key"},
           "sources": {"data": [{"object": "card", "number": "4242", "last4": "4242", "cvc": "999"}]},
           "big": 4242424242424242, "network_transaction_id": "104557651805572"}
    assert scrub(obj) is True
    assert obj["metadata"] == {"note": ["a", {"deep": "pay •••• 4242"}], "•••• 4242": "as a key"}
    assert obj["sources"]["data"][0] == {"object": "card", "last4": "4242"}
    assert obj["big"] == 4242424242424242  # a JSON number is no typed card number
    assert obj["network_transaction_id"] == "104557651805572"  # Stripe's own id, even when it passes Luhn
    assert scrub(obj) is False


def test_prefilter_finds_only_the_documents_that_need_a_walk() -> None:
    docs = [
        {"id": "a", "created": 1800000000, "amount": 123456789012},
        {"id": "b", "description": "4242 4242 4242 4242"},
        {"id": "c", "payment_method_details": {"card": {"network_transaction_id": "104557651805572"}}},
        {"id": "d", "metadata": {"Card_CVC": "123"}},
        {"id": "e", "card": {"checks": {"cvc_check": "pass"}}},
        {"id": "f", "metadata": {"cvv2": "1234"}},
    ]
    buffer = JsonDocs.dump(docs)
    ends = list(buffer._ends)
    with buffer._buffer.getbuffer() as view:
        assert suspect_docs(view, ends) == [1, 3, 5]


def test_normalise_masks_typed_columns_and_raw() -> None:
    charge = {"id": "ch_1", "object": "charge", "created": 1, "amount": 100, "currency": "usd",
              "description": "Card 4242 4242 4242 4242 exp 12/30 cvc 123",
              "billing_details": {"email": "4000056655665556@example.com"}, "metadata": {"cvc": "123"}}
    (table, row), *_ = normalise(charge)
    assert table == "payments"
    assert row["description"] == "Card •••• 4242 exp 12/30 cvc 123"
    assert row["email"] == "•••• 5556@example.com"
    raw = orjson.loads(row["raw"])
    assert "4242 4242" not in row["raw"] and "4000056655665556" not in row["raw"]
    assert raw["metadata"] == {}


@pytest.mark.parametrize(("text", "leaked"), [
    ("Invalid API Key provided: sk_test_51Hx" + "a" * 30, "sk_test_51Hx"),
    ("key rk_live_" + "B" * 24 + " refused", "rk_live_"),
    ("secret whsec_abcdEFGH1234 did not match", "whsec_abcd"),
    ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpw"),
    ("could not connect to postgresql://payops:hunter22@db:5432/payops", "hunter22"),
])
def test_redact_secrets_removes_key_shaped_tokens(text: str, leaked: str) -> None:
    clean = redact_secrets(text)
    assert clean is not None and leaked not in clean and "[redacted]" in clean


def test_redact_secrets_removes_a_configured_secret_of_any_shape() -> None:
    assert redact_secrets("token=opaque-Secret-42 bad", ["opaque-Secret-42"]) == "token=[redacted] bad"
    assert redact_secrets(None) is None


def test_log_records_are_redacted() -> None:
    record = logging.LogRecord("sync.runner", logging.WARNING, __file__, 1, "sync failed: %s card %s",
                               ("Invalid API Key provided: sk_test_" + "x" * 24, "4242424242424242"), None)
    assert RedactingFilter().filter(record)
    message = record.getMessage()
    assert "sk_test_x" not in message and "4242424242424242" not in message
    assert "[redacted]" in message and "•••• 4242" in message
