"""Signature verification (official SDK, rotation, timestamp window both ways) and what a delivery log may keep."""

from __future__ import annotations

import orjson
import pytest
import stripe

from sync.webhooks import (
    SignatureHeader,
    mask_card_numbers,
    parse_signature_header,
    safe_headers,
    verify_stripe_signature,
)

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


def v1_of(header: str) -> str:
    return header.split("v1=")[1]


def test_stale_delivery_resent_with_a_fresh_t_in_front_is_rejected() -> None:
    # issue 15.3: a captured delivery 10 minutes old, resent with a fresh `t` the SDK skips (" t" is not "t")
    # and its own old `t` after it. The SDK verifies the HMAC on the old t; the age must be checked on it too.
    old = NOW - 600
    header = f"v1={v1_of(sign(timestamp=old))}, t={NOW},t={old}"
    assert stripe.WebhookSignature.verify_header(PAYLOAD, header, SECRETS[0]) is True  # the HMAC does match
    check = verify_stripe_signature(PAYLOAD, header, SECRETS, tolerance=300, now=NOW)
    assert (check.verdict, check.secret_index, check.timestamp) == ("duplicate_timestamp", None, None)


@pytest.mark.parametrize("header", [
    "t={old},t={new},v1={sig}", "t={new},t={old},v1={sig}",  # plain duplicates, either order
    "v1={sig}, t={new},t={old}", "v1={sig},t ={new},t={old}", "v1={sig},t={old},\tt={new}",  # spaced variants
    "v1={sig},T={new},t={old}", "t={old},v1={sig},t=", "t,t={old},v1={sig}", "t={old},v1={sig},t={old}",
])
def test_a_header_with_more_than_one_t_is_rejected_before_any_hmac(header: str) -> None:
    old = NOW - 600
    filled = header.format(old=old, new=NOW, sig=v1_of(sign(timestamp=old)))
    assert verdict(filled) == "duplicate_timestamp"


@pytest.mark.parametrize("header", [
    " t={ts},v1={sig}", "t ={ts},v1={sig}", "T={ts},v1={sig}",  # the one t is not spelled exactly "t"
    "t= {ts},v1={sig}", "t=+{ts},v1={sig}", "t={ts}.0,v1={sig}", "t=1_{ts},v1={sig}",  # int() would take some
    "t=\u0661\u0662,v1={sig}", "t={ts}=x,v1={sig}", "t=" + "9" * 5000 + ",v1={sig}", "t=1234567890123,v1={sig}",
])
def test_a_t_that_is_not_exactly_t_and_ascii_digits_is_malformed(header: str) -> None:
    # Stricter than the SDK's int(): `t= 1800000000` and `t=+1800000000` parse there; here they are refused.
    assert verdict(header.format(ts=NOW, sig=v1_of(sign()))) == "malformed_header"


@pytest.mark.parametrize("header", ["t={ts}, v1={sig}", "t={ts},v1 ={sig}", "t={ts},V1={sig}"])
def test_a_v1_the_sdk_would_not_read_is_not_a_signature(header: str) -> None:
    # The SDK only reads items named exactly "v1": PayOps's parse must not find a signature it ignores.
    assert verdict(header.format(ts=NOW, sig=v1_of(sign()))) == "no_v1_signature"


def test_a_v1_for_another_secret_beside_a_stale_one_is_a_bad_signature() -> None:
    # A fresh v1 computed with an attacker's secret does not help a stale v1 under ours: no secret matches.
    theirs = v1_of(sign(secret="whsec_attacker"))
    stale = v1_of(sign(timestamp=NOW - 600))
    assert verdict(f"t={NOW},v1={theirs},v1={stale}") == "bad_signature"
    assert verdict(f"t={NOW - 600},v1={theirs},v1={stale}") == "stale_timestamp"


def test_the_age_checked_is_the_timestamp_the_hmac_covers() -> None:
    # One valid v1 for t=old and a fresh t= cannot both hold: a single t is what the SDK signs and what is aged.
    old = NOW - 301
    check = verify_stripe_signature(PAYLOAD, sign(timestamp=old), SECRETS, tolerance=300, now=NOW)
    assert (check.verdict, check.timestamp) == ("stale_timestamp", old)
    fresh_t = f"t={NOW},v1={v1_of(sign(timestamp=old))}"
    assert verdict(fresh_t) == "bad_signature"


def test_no_configured_secret_is_its_own_verdict() -> None:
    assert verdict(sign(), secrets=()) == "no_secret_configured"


def test_parse_signature_header() -> None:
    assert parse_signature_header(f"t={NOW},v1=aa,v0=bb,v1=cc") == SignatureHeader(NOW, ("aa", "cc"))
    assert parse_signature_header("v1=aa") == SignatureHeader(None, ("aa",), "malformed_header")
    assert parse_signature_header(f"v1=aa, t={NOW},t=1") == SignatureHeader(None, ("aa",), "duplicate_timestamp")


def test_the_log_keeps_every_t_as_sent_and_no_signature() -> None:
    # The attack's header is logged with both timestamps, in order, not just the fresh one.
    sig = v1_of(sign(timestamp=NOW - 600))
    kept = safe_headers({"Stripe-Signature": f"v1={sig}, t={NOW},t={NOW - 600}"})["stripe-signature"]
    assert kept == f"v1=<removed>, t={NOW},t={NOW - 600}"
    # A signature sent without "=", and a t that is not a timestamp (a card number here), are not kept.
    kept = safe_headers({"Stripe-Signature": f"t=4242424242424242,{sig},v1"})["stripe-signature"]
    assert kept == "t=<removed>,?,v1"


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
    assert "•••• 4242" in masked
    assert "4242424242424241" in masked and "1800000000" in masked and "123456789012" in masked
