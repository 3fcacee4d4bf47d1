"""Card numbers a customer typed into free text never reach the store: a real sync from localstripe, then every
column of every table of the DuckDB file is scanned for a Luhn-valid 13-19 digit run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import stripe

from tests.peer.conftest import LocalStripe
from tests.peer.test_stripe_sync import run_sync_cli, sync_env

pytestmark = pytest.mark.peer

ROOT = Path(__file__).resolve().parents[2]
TYPED = ("4242 4242 4242 4242", "4000-0566-5566-5556", "378282246310005", "6011111111111117")
_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """Every Luhn-valid 13-19 digit window (spaces or dashes allowed) anywhere in `text`: stricter than the masker."""
    found = []
    for start in range(len(text)):
        match = _RUN.match(text, start)
        if match:
            for end in range(match.end(), start, -1):
                digits = re.sub(r"\D", "", text[start:end])
                if 13 <= len(digits) <= 19 and _luhn_ok(digits) and text[end - 1].isdigit():
                    found.append(text[start:end])
                    break
    return found


def _typed(i: int) -> str:
    return f"note {TYPED[i % len(TYPED)]} please"


def populate(client: stripe.StripeClient) -> None:
    address = {"line1": _typed(0), "line2": _typed(1), "city": "Paris", "postal_code": "75001", "country": "FR"}
    customer = client.v1.customers.create(params={
        "email": "typed@example.com", "name": f"Ann {TYPED[2]}", "description": _typed(3),
        "metadata": {"card": TYPED[0], "other": _typed(1)}, "address": address,
        }).id
    pm = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    client.v1.payment_methods.attach(pm.id, params={"customer": customer})
    client.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": pm.id}})
    charge = client.v1.charges.create(params={
        "amount": 1000, "currency": "usd", "customer": customer, "source": pm.id, "description": _typed(0),
        "metadata": {"typed": TYPED[1], "order": "12345"}}).id
    client.v1.charges.create(params={
        "amount": 2000, "currency": "eur", "customer": customer, "source": pm.id, "description": TYPED[3],
        "metadata": {"amex": TYPED[2]}})
    client.v1.refunds.create(params={"charge": charge, "amount": 300, "metadata": {"why": _typed(3)}})
    product = client.v1.products.create(params={"name": f"Plan {TYPED[0]}"})
    plan = client.v1.plans.create(params={"amount": 2000, "currency": "usd", "interval": "month",
                                          "product": product.id})
    client.v1.subscriptions.create(params={"customer": customer, "items": [{"plan": plan.id}],
                                           "metadata": {"typed": _typed(1)}})


def test_typed_card_numbers_are_masked_in_every_column_of_every_table(localstripe: LocalStripe,
                                                                      tmp_path: Path) -> None:
    populate(localstripe.client())
    db = tmp_path / "payops.duckdb"
    result = run_sync_cli(sync_env(localstripe, db), "--full", cwd=ROOT)
    assert result.returncode == 0, result.stderr

    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'main'").fetchall()
        leaks: list[tuple[str, str, str]] = []
        texts: list[str] = []
        for table, column in columns:
            for (value,) in con.execute(f'SELECT CAST("{column}" AS VARCHAR) FROM "{table}" '
                                        f'WHERE "{column}" IS NOT NULL').fetchall():
                texts.append(value)
                leaks += [(table, column, found) for found in card_numbers_in(value)]
        counts = {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                  for t in ("customers", "payments", "refunds", "subscriptions", "events")}
    finally:
        con.close()
    assert all(counts.values()), counts  # the sync stored every kind the test typed into
    assert leaks == []
    everything = "\n".join(texts)
    for last4 in ("4242", "5556", "0005", "1117"):
        assert f"•••• {last4}" in everything
    assert "12345" in everything  # a short number is kept
