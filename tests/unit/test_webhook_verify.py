"""Signature verification (official SDK, rotation, timestamp window both ways) and what a delivery log may keep."""

from __future__ import annotations

import orjson
import pytest
import stripe

from sync.webhooks import mask_card_numbers, parse_signature_header, safe_headers, verify_stripe_signature

NOW = 1_800_000_000
SECRETS = ("whsec_current", "whsec_previous")
PAYLOAD = orjson.dumps({"id": "evt_1", "object": "event", "type": "charge.succeeded", "created": NOW}).decode()


def sign(payload: str = PAYLOAD, secret: str | None = None, timestamp: int = NOW) -> str:
    secret = secret or SECRETS[0]
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def verdict(header: str | None, payload: str = PAYLOAD, secrets: tuple[str, ...] = SECRETS) -> str:
    return verify_stripe_signature(payload, header, secrets, tolerance=300, now=NOW).verdict


def test_valid_signature_names_the_secret_that_matched() -> None:
    check = verify_stripe_signature(PAYLOAD, sign(), SECRETS, tolerance=300, now=NOW)
    assert (check.verdict, check.secret_index, check.timestamp) == ("ok", 0, NOW)


def test_rotation_accepts_the_previous_secret() -> None:
    check = verify_stripe_signature(PAYLOAD, sign(secret="whsec_previous"), SECRETS, tolerance=300, now=NOW)
    assert (check.verdict, check.secret_index) == ("ok", 1)


def test_header_with_old_and_new_signatures_verifies() -> None:
    # Stripe sends one v1 per active secret while an endpoint's secret is being rolled.
    old = sign(secret="whsec_other").split(",")[1]
    assert verdict(f"{sign()},{old}", secrets=("whsec_other",)) == "ok"


def test_wrong_secret_and_tampered_body_are_bad_signatures() -> None:
    assert verdict(sign(secret="whsec_attacker")) == "bad_signature"
    assert verdict(sign(), payload=PAYLOAD.replace("evt_1", "evt_2")) == "bad_signature"


@pytest.mark.parametrize(("offset", "expected"), [
    (-300, "ok"), (300, "ok"),  # exactly at the tolerance is still inside it
    (-301, "stale_timestamp"), (301, "future_timestamp"), (-86_400, "stale_timestamp"), (86_400, "future_timestamp"),
])
def test_timestamp_window_applies_in_both_directions(offset: int, expected: str) -> None:
    assert verdict(sign(timestamp=NOW + offset)) == expected


def test_stale_timestamp_with_a_wrong_signature_is_reported_as_bad_signature() -> None:
    assert verdict(sign(secret="whsec_attacker", timestamp=NOW - 3600)) == "bad_signature"


@pytest.mark.parametrize(("header", "expected"), [
    (None, "missing_header"), ("", "missing_header"), ("   ", "missing_header"),
    (f"t={NOW},v0=abc", "no_v1_signature"), (f"t={NOW}", "no_v1_signature"),
    ("v1=abc", "malformed_header"), ("t=soon,v1=abc", "malformed_header"), ("garbage", "malformed_header"),
])
def test_header_problems_are_named(header: str | None, expected: str) -> None:
    assert verdict(header) == expected


def test_no_configured_secret_is_its_own_verdict() -> None:
    assert verdict(sign(), secrets=()) == "no_secret_configured"


def test_parse_signature_header() -> None:
    assert parse_signature_header(f"t={NOW},v1=aa,v0=bb,v1=cc") == (NOW, ["aa", "cc"])
    assert parse_signature_header("v1=aa") == (None, ["aa"])


def test_safe_headers_keep_nothing_secret() -> None:
    header = sign()
    kept = safe_headers({"Stripe-Signature": header, "Authorization": "Bearer sk_test_x", "Cookie": "s=1",
                         "Content-Type": "application/json", "User-Agent": "Stripe/1.0"})
    assert kept == {"stripe-signature": f"t={NOW},v1=<removed>", "content-type": "application/json",
                    "user-agent": "Stripe/1.0"}
    assert header.split("v1=")[1] not in orjson.dumps(kept).decode()


def test_card_numbers_are_masked_but_other_numbers_kept() -> None:
    # 4242 4242 4242 4242 passes Luhn; 4242424242424241 does not; 1800000000 is a timestamp.
    text = '{"n": "4242 4242 4242 4242", "m": "4242424242424241", "t": 1800000000, "amount": 123456789012}'
    masked = mask_card_numbers(text)
    assert "4242 4242 4242 4242" not in masked
    assert "[card number removed]" in masked
    assert "4242424242424241" in masked and "1800000000" in masked and "123456789012" in masked
