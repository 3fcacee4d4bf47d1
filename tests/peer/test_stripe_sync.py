"""The real `python -m sync` against localstripe: exact contents, idempotence, incremental path, SIGKILL resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import stripe

from sync import schema
from sync.store import Store
from tests.peer.conftest import LocalStripe

pytestmark = pytest.mark.peer

ROOT = Path(__file__).resolve().parents[2]
GOOD_CARD = "4242424242424242"
DECLINING_CARD = "4000000000000341"  # attaches, then every charge is declined (card_declined)


def sync_env(ls: LocalStripe, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYOPS_"))}
    env.update(PYTHONPATH=str(ROOT), STRIPE_SECRET_KEY=ls.key, STRIPE_API_BASE=ls.url,
               PAYOPS_DATABASE_URL=f"duckdb:///{db}", STRIPE_MAX_NETWORK_RETRIES="1",
               STRIPE_REQUESTS_PER_SECOND="500", COLUMNS="120")
    env.update(extra)
    return env


def run_sync_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sync", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def _pm(client: stripe.StripeClient, number: str, customer: str) -> str:
    pm = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    client.v1.payment_methods.attach(pm.id, params={"customer": customer})
    client.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": pm.id}})
    return pm.id


def populate(client: stripe.StripeClient) -> dict[str, str]:
    """Three customers, six payments (two declined), two refunds, two subscriptions (one failing)."""
    ids: dict[str, str] = {}
    for name in ("alice", "bob", "carol"):
        ids[name] = client.v1.customers.create(params={"email": f"{name}@example.com", "name": name.title()}).id
    alice_pm = _pm(client, GOOD_CARD, ids["alice"])
    bob_pm = _pm(client, DECLINING_CARD, ids["bob"])
    carol_pm = _pm(client, GOOD_CARD, ids["carol"])
    ids["ch_usd"] = client.v1.charges.create(params={
        "amount": 1000, "currency": "usd", "customer": ids["alice"], "source": alice_pm}).id
    ids["ch_eur"] = client.v1.charges.create(params={
        "amount": 2500, "currency": "eur", "customer": ids["alice"], "source": alice_pm}).id
    with pytest.raises(stripe.CardError) as declined:
        client.v1.charges.create(params={"amount": 500, "currency": "usd", "customer": ids["bob"], "source": bob_pm})
    ids["ch_declined"] = declined.value.json_body["error"]["charge"]
    pi = client.v1.payment_intents.create(params={
        "amount": 700, "currency": "jpy", "customer": ids["carol"], "payment_method": carol_pm, "confirm": True})
    assert pi.status == "succeeded"
    ids["re_partial"] = client.v1.refunds.create(params={"charge": ids["ch_usd"], "amount": 300}).id
    ids["re_full"] = client.v1.refunds.create(params={"charge": ids["ch_eur"]}).id
    product = client.v1.products.create(params={"name": "PayOps Pro"})
    monthly = client.v1.plans.create(params={"amount": 2000, "currency": "usd", "interval": "month",
                                             "product": product.id})
    yearly = client.v1.plans.create(params={"amount": 12000, "currency": "eur", "interval": "year",
                                            "product": product.id})
    ids["sub_ok"] = client.v1.subscriptions.create(params={
        "customer": ids["alice"], "items": [{"plan": monthly.id}]}).id
    failing = client.v1.subscriptions.create(params={
        "customer": ids["bob"], "items": [{"plan": yearly.id, "quantity": 2}]})
    ids["sub_failing"] = failing.id
    ids["in_open"] = failing.latest_invoice
    return ids


def server_ids(client: stripe.StripeClient) -> dict[str, set[str]]:
    """What the server holds, listed with the SDK's own auto-pagination (not our provider)."""
    lists = {
        "customers": client.v1.customers.list(params={"limit": 100}),
        "payments": client.v1.charges.list(params={"limit": 100}),
        "refunds": client.v1.refunds.list(params={"limit": 100}),
        "subscriptions": client.v1.subscriptions.list(params={"limit": 100, "status": "all"}),
        "invoices": client.v1.invoices.list(params={"limit": 100}),
        "balance_transactions": client.v1.balance_transactions.list(params={"limit": 100}),
        "events": client.v1.events.list(params={"limit": 100}),
    }
    return {table: {obj.id for obj in page.auto_paging_iter()} for table, page in lists.items()}


def store_ids(store: Store, table: str) -> list[str]:
    return list(store.query(f"SELECT id FROM {table} ORDER BY id")["id"])


def snapshot(store: Store) -> dict[str, Any]:
    """Every object row except `version` (the fetch time, which a re-list advances by design)."""
    return {
        name: store.query(f"SELECT * EXCLUDE (version) FROM {name} ORDER BY id").to_dict("records")
        for name in schema.OBJECT_TABLES
    }


def test_sync_holds_exactly_the_server_objects_then_is_idempotent_then_incremental(
        localstripe: LocalStripe, tmp_path: Path) -> None:
    client = localstripe.client()
    ids = populate(client)
    db = tmp_path / "payops.duckdb"
    env = sync_env(localstripe, db, PAYOPS_SYNC_LOOKBACK_DAYS="0")

    first = run_sync_cli(env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "succeeded" in first.stdout and "payments" not in first.stderr

    expected_ids = server_ids(client)
    store = Store(f"duckdb:///{db}")
    try:
        for table, wanted in expected_ids.items():
            assert set(store_ids(store, table)) == wanted, table
            assert len(store_ids(store, table)) == len(wanted), f"duplicates in {table}"
        payments = store.query(
            "SELECT id, amount, currency, status, failure_code, amount_refunded FROM payments"
        ).set_index("id")
        # (amount, currency, status, failure code, refunded), straight from populate():
        expected_payments = sorted([
            (1000, "USD", "succeeded", None, 300),   # alice, partially refunded 300
            (2500, "EUR", "succeeded", None, 2500),  # alice, fully refunded
            (500, "USD", "failed", "card_declined", 0),  # bob's declining card
            (700, "JPY", "succeeded", None, 0),  # carol's PaymentIntent, zero-decimal currency
            (2000, "USD", "succeeded", None, 0),  # alice's monthly plan, first invoice
            (24000, "EUR", "failed", "card_declined", 0),  # bob's yearly plan x2 = 2 * 12000, declined
        ], key=str)
        got = sorted(((int(r.amount), r.currency, r.status, r.failure_code if isinstance(r.failure_code, str)
                       else None, int(r.amount_refunded)) for r in payments.itertuples()), key=str)
        assert got == expected_payments
        assert payments.loc[ids["ch_declined"], "failure_code"] == "card_declined"
        refunds = store.query("SELECT id, charge_id, amount, currency FROM refunds").set_index("id")
        assert refunds.loc[ids["re_partial"]].tolist() == [ids["ch_usd"], 300, "USD"]
        assert refunds.loc[ids["re_full"]].tolist() == [ids["ch_eur"], 2500, "EUR"]
        subs = store.query("SELECT id, status, customer_id, currency FROM subscriptions").set_index("id")
        assert subs.loc[ids["sub_ok"]].tolist() == ["active", ids["alice"], "USD"]
        assert subs.loc[ids["sub_failing"]].tolist() == ["incomplete", ids["bob"], "EUR"]
        items = store.query("SELECT subscription_id, unit_amount, quantity, currency, interval "
                            "FROM subscription_items ORDER BY unit_amount")
        assert items.values.tolist() == [[ids["sub_ok"], 2000, 1, "USD", "month"],
                                         [ids["sub_failing"], 12000, 2, "EUR", "year"]]
        invoice = store.query("SELECT status, amount_due, amount_paid, currency, last_error_code FROM invoices "
                              "WHERE id = :id", {"id": ids["in_open"]}).iloc[0].tolist()
        assert invoice == ["open", 24000, 0, "EUR", "card_declined"]
        # Every succeeded charge has its balance transaction; localstripe charges no fee, so net = amount.
        fees = store.query("SELECT p.amount, b.amount AS bt_amount, b.fee, b.net FROM payments p "
                           "JOIN balance_transactions b ON b.id = p.balance_transaction_id ORDER BY p.amount")
        assert fees.values.tolist() == [[a, a, 0, a] for a in (700, 1000, 2000, 2500)]
        before = snapshot(store)
    finally:
        store.close()

    second = run_sync_cli(env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    store = Store(f"duckdb:///{db}")
    try:
        assert snapshot(store) == before
        backfill_from = store.get_state("stripe", "charges")["backfill_from"]
    finally:
        store.close()

    # After the first syncs: a new customer paying, and a deleted customer (only an event can say so).
    dave = client.v1.customers.create(params={"email": "dave@example.com"}).id
    dave_charge = client.v1.charges.create(params={
        "amount": 4200, "currency": "gbp", "customer": dave, "source": _pm(client, GOOD_CARD, dave)}).id
    client.v1.customers.delete(ids["carol"])

    third = run_sync_cli(env, cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    store = Store(f"duckdb:///{db}")
    try:
        runs = store.query("SELECT mode, status FROM sync_runs ORDER BY started_at")
        assert runs.values.tolist() == [["incremental", "succeeded"]] * 3
        assert store.get_state("stripe", "charges")["backfill_from"] == backfill_from  # no new backfill
        row = store.query("SELECT amount, currency, status FROM payments WHERE id = :id", {"id": dave_charge})
        assert row.iloc[0].tolist() == [4200, "GBP", "succeeded"]
        customers = store.query("SELECT id, deleted FROM customers").set_index("id")["deleted"]
        assert bool(customers[ids["carol"]]) is True
        assert bool(customers[dave]) is False and bool(customers[ids["alice"]]) is False
        now_ids = server_ids(client)
        assert set(store_ids(store, "events")) == now_ids["events"]
        assert set(store_ids(store, "payments")) == now_ids["payments"]
    finally:
        store.close()


def test_sync_killed_mid_run_resumes_complete_without_duplicates(localstripe: LocalStripe, tmp_path: Path) -> None:
    client = localstripe.client()
    populate(client)
    db = tmp_path / "payops.duckdb"
    # Paced at 4 requests/s the run takes ~10 s (about 45 requests), so a kill at 3 s lands mid-run.
    slow = subprocess.Popen([sys.executable, "-m", "sync"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env=sync_env(localstripe, db, STRIPE_REQUESTS_PER_SECOND="4"))
    time.sleep(3)
    assert slow.poll() is None, "the paced run finished before it could be killed"
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()

    store = Store(f"duckdb:///{db}")
    try:
        states = store.query("SELECT resource, backfill_done FROM sync_state")
        done = set(states[states.backfill_done.fillna(False).astype(bool)].resource)
        assert "events" in done and "balance_transactions" not in done  # killed between the two
        assert store.query("SELECT status FROM sync_runs")["status"].tolist() == ["running"]
    finally:
        store.close()

    again = run_sync_cli(sync_env(localstripe, db), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    expected = server_ids(client)
    store = Store(f"duckdb:///{db}")
    try:
        for table, wanted in expected.items():
            rows = store_ids(store, table)
            assert len(rows) == len(set(rows)) == len(wanted), table
            assert set(rows) == wanted, table
        states = store.query("SELECT resource, backfill_done FROM sync_state")
        assert states.backfill_done.astype(bool).all() and len(states) == 8
    finally:
        store.close()


def test_invalid_key_is_one_masked_line_and_writes_nothing(localstripe: LocalStripe, tmp_path: Path) -> None:
    db = tmp_path / "payops.duckdb"
    key = "rk_test_fakeKeyLocalstripeRefuses9876"  # localstripe accepts only sk_ keys: a 401, like a revoked key
    result = run_sync_cli(sync_env(localstripe, db, STRIPE_SECRET_KEY=key), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Stripe rejected the API key")
    assert key not in result.stderr + result.stdout and "rk_test_…9876" in lines[0]
    assert not db.exists()
