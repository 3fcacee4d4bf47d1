"""Demo data: deterministic per seed, exact at any scale, and consistent the way Stripe's own data is.

Every test loads into a real DuckDB file under tmp_path through the real normaliser and store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import orjson
import pandas as pd
import pytest

from sync import schema
from sync.demo import load_demo
from sync.errors import ConfigError
from sync.money import exponent
from sync.store import Store

NOW = dt.datetime(2026, 11, 27)  # midnight UTC: the demo's year ends here
SMALL = 4_000
PAN_LIKE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def _store(path: Path) -> Store:
    return Store(f"duckdb:///{path}")


def _digest(store: Store) -> dict[str, str]:
    """A content hash of every provider table's rows, in key order."""
    out = {}
    for name in schema.OBJECT_TABLES:
        frame = store.query(f"SELECT * FROM {name} ORDER BY provider, id")
        out[name] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return out


def _rows(store: Store, sql: str, **params: object) -> pd.DataFrame:
    return store.query(sql, params)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, int]]:
    store = _store(tmp_path_factory.mktemp("demo") / "small.duckdb")
    counts = load_demo(store, seed=7, scale=SMALL, now=NOW)
    yield store, counts
    store.close()


# -- determinism and scale --------------------------------------------------------------------------------


def test_same_seed_gives_an_identical_store_and_another_seed_differs(tmp_path: Path) -> None:
    digests = []
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        store = _store(tmp_path / f"{name}.duckdb")
        load_demo(store, seed=seed, scale=1_500, now=NOW)
        digests.append(_digest(store))
        store.close()
    assert digests[0] == digests[1]
    # Every table differs under another seed, not just one of them.
    assert all(digests[0][t] != digests[2][t] for t in digests[0])


def test_default_now_is_todays_midnight_so_two_loads_today_match(tmp_path: Path) -> None:
    first, second = _store(tmp_path / "a.duckdb"), _store(tmp_path / "b.duckdb")
    load_demo(first, scale=300)
    load_demo(second, scale=300)
    assert _digest(first) == _digest(second)
    newest = first.query("SELECT MAX(created) AS t FROM events")["t"][0]
    midnight = dt.datetime.now(dt.UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    assert midnight - dt.timedelta(days=2) < newest < midnight
    first.close()
    second.close()


@pytest.mark.parametrize("scale", [1, 57, 2_345])
def test_scale_gives_exactly_that_many_charges_and_counts_match_the_store(tmp_path: Path, scale: int) -> None:
    store = _store(tmp_path / "s.duckdb")
    seen: dict[str, tuple[int, bool]] = {}
    counts = load_demo(store, seed=3, scale=scale, now=NOW,
                       progress=lambda resource, rows, done: seen.__setitem__(resource, (rows, done)))
    assert store.query("SELECT COUNT(*) AS n FROM payments")["n"][0] == scale
    for table, rows in counts.items():
        assert store.query(f"SELECT COUNT(*) AS n FROM {table}")["n"][0] == rows, table
    # The last report of every resource says done, with the final count.
    assert seen["charges"] == (scale, True)
    assert seen["customers"] == (counts["customers"], True)
    assert all(done for _rows, done in seen.values())
    store.close()


def test_a_scale_below_one_is_refused_with_a_message(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb")
    with pytest.raises(ConfigError, match="positive number of charges"):
        load_demo(store, scale=0, now=NOW)
    assert store.is_empty()
    store.close()


# -- invariants -------------------------------------------------------------------------------------------


def test_refunds_never_exceed_the_charge_and_amount_refunded_is_their_sum(small: tuple) -> None:
    store, counts = small
    bad = _rows(store, """
        SELECT p.id FROM payments AS p
        LEFT JOIN (SELECT charge_id, SUM(amount) AS total FROM refunds GROUP BY charge_id) AS r ON r.charge_id = p.id
        WHERE COALESCE(r.total, 0) <> p.amount_refunded OR p.amount_refunded > p.amount
           OR (p.refunded AND p.amount_refunded <> p.amount)
    """)
    assert bad.empty
    kinds = _rows(store, """
        SELECT SUM(CASE WHEN amount_refunded = amount THEN 1 ELSE 0 END) AS full_refunds,
               SUM(CASE WHEN amount_refunded BETWEEN 1 AND amount - 1 THEN 1 ELSE 0 END) AS partial_refunds
        FROM payments WHERE amount_refunded > 0
    """)
    assert kinds["full_refunds"][0] > 0 and kinds["partial_refunds"][0] > 0
    assert counts["refunds"] > 0


def test_every_dispute_is_on_an_existing_succeeded_disputed_charge(small: tuple) -> None:
    store, _ = small
    bad = _rows(store, """
        SELECT d.id FROM disputes AS d LEFT JOIN payments AS p ON p.provider = d.provider AND p.id = d.charge_id
        WHERE p.id IS NULL OR p.status <> 'succeeded' OR NOT p.disputed OR d.amount <> p.amount
           OR d.currency <> p.currency
    """)
    assert bad.empty
    statuses = set(_rows(store, "SELECT DISTINCT status FROM disputes")["status"])
    assert {"needs_response", "warning_needs_response", "under_review", "won", "lost"} <= statuses


def test_dispute_queue_has_overdue_and_due_within_72_hours(small: tuple) -> None:
    store, _ = small
    queue = _rows(store, """
        SELECT evidence_due_by FROM disputes WHERE status IN ('needs_response', 'warning_needs_response')
    """)["evidence_due_by"]
    now = pd.Timestamp(NOW)
    assert ((queue > now) & (queue <= now + pd.Timedelta(hours=72))).sum() >= 2
    assert (queue < now).sum() >= 1
    assert (queue > now + pd.Timedelta(hours=72)).sum() >= 1


def test_every_invoice_belongs_to_a_subscription_and_its_attempts_are_its_charges(small: tuple) -> None:
    store, _ = small
    orphans = _rows(store, """
        SELECT i.id FROM invoices AS i
        LEFT JOIN subscriptions AS s ON s.provider = i.provider AND s.id = i.subscription_id
        WHERE s.id IS NULL OR i.customer_id <> s.customer_id
    """)
    assert orphans.empty
    # Each attempt is a charge on the invoice's PaymentIntent (API 2026-10-28 links them through it).
    mismatched = _rows(store, """
        SELECT i.id FROM invoices AS i
        LEFT JOIN (SELECT payment_intent_id, COUNT(*) AS n, SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS ok
                   FROM payments GROUP BY payment_intent_id) AS c ON c.payment_intent_id = i.payment_intent_id
        WHERE COALESCE(c.n, 0) <> i.attempt_count OR (i.status = 'paid') <> (COALESCE(c.ok, 0) = 1)
    """)
    assert mismatched.empty
    statuses = set(_rows(store, "SELECT DISTINCT status FROM invoices")["status"])
    assert {"paid", "open", "uncollectible", "void"} <= statuses
    retried = _rows(store, "SELECT MAX(attempt_count) AS n FROM invoices")["n"][0]
    assert retried >= 3


def test_past_due_subscriptions_wait_on_an_open_invoice_with_a_next_attempt(small: tuple) -> None:
    store, _ = small
    past_due = _rows(store, """
        SELECT s.id, i.status, i.next_payment_attempt, c.delinquent
        FROM subscriptions AS s JOIN invoices AS i ON i.id = s.latest_invoice_id
        JOIN customers AS c ON c.id = s.customer_id WHERE s.status = 'past_due'
    """)
    assert len(past_due) >= 1
    assert (past_due["status"] == "open").all()
    assert (past_due["next_payment_attempt"] > pd.Timestamp(NOW)).all()
    assert past_due["delinquent"].all()


def test_subscription_lifecycles_cover_churn_reactivation_trials_and_seat_changes(small: tuple) -> None:
    store, _ = small
    statuses = set(_rows(store, "SELECT DISTINCT status FROM subscriptions")["status"])
    assert {"active", "past_due", "trialing", "canceled"} <= statuses
    reactivated = _rows(store, """
        SELECT DISTINCT a.customer_id FROM subscriptions AS a JOIN subscriptions AS b
          ON b.customer_id = a.customer_id AND b.id <> a.id AND b.created > a.ended_at
        WHERE a.status = 'canceled'
    """)
    assert len(reactivated) >= 1
    intervals = set(_rows(store, "SELECT DISTINCT interval FROM subscription_items")["interval"])
    assert intervals == {"month", "year"}
    forever = _rows(store, """
        SELECT COUNT(*) AS n FROM subscriptions AS s JOIN subscription_items AS i ON i.subscription_id = s.id
        WHERE s.coupon_duration = 'forever' AND s.coupon_percent_off IS NOT NULL AND i.quantity > 1
    """)["n"][0]
    assert forever >= 1
    # Seat changes, read back from the events' previous_attributes as the MRR movements will.
    changes = _rows(store, """
        SELECT CAST(raw->>'$.data.object.items.data[0].quantity' AS INTEGER) AS now_qty,
               CAST(raw->>'$.data.previous_attributes.items.data[0].quantity' AS INTEGER) AS was_qty
        FROM events WHERE type = 'customer.subscription.updated'
    """).dropna()
    assert (changes["now_qty"] > changes["was_qty"]).any()
    assert (changes["now_qty"] < changes["was_qty"]).any()


def test_each_subscription_is_the_snapshot_of_its_latest_event(small: tuple) -> None:
    store, _ = small
    stored = {row.id: orjson.loads(row.raw) for row in store.query("SELECT id, raw FROM subscriptions").itertuples()}
    latest = store.query("""
        SELECT object_id, raw FROM events WHERE type LIKE 'customer.subscription.%'
        QUALIFY ROW_NUMBER() OVER (PARTITION BY object_id ORDER BY created DESC, id DESC) = 1
    """)
    assert len(latest) == len(stored)
    for row in latest.itertuples():
        assert orjson.loads(row.raw)["data"]["object"] == stored[row.object_id]
    updates = store.query("""
        SELECT COUNT(*) AS n, COUNT(raw->'$.data.previous_attributes') AS with_prev
        FROM events WHERE type = 'customer.subscription.updated'
    """)
    assert updates["n"][0] > 0 and updates["n"][0] == updates["with_prev"][0]


def test_currencies_are_usd_eur_jpy_with_plausible_amounts_per_exponent(small: tuple) -> None:
    store, _ = small
    for table in ("payments", "refunds", "disputes", "invoices", "balance_transactions", "subscriptions"):
        found = set(_rows(store, f"SELECT DISTINCT currency FROM {table} WHERE currency IS NOT NULL")["currency"])
        assert found <= {"USD", "EUR", "JPY"}, table
    assert set(_rows(store, "SELECT DISTINCT currency FROM payments")["currency"]) == {"USD", "EUR", "JPY"}
    assert exponent("JPY") == 0 and exponent("USD") == 2
    medians = _rows(store, "SELECT currency, MEDIAN(amount) AS m, MIN(amount) AS lo FROM payments GROUP BY currency")
    median = dict(zip(medians["currency"], medians["m"], strict=True))
    # Whole yen at roughly 150 yen to the dollar: a typical JPY charge is 50-300x a typical USD one in
    # major units (USD median / 100). Cents mistaken for yen would give ~1x, yen scaled by 100 ~10,000x.
    ratio = median["JPY"] / (median["USD"] / 100)
    assert 50 <= ratio <= 300
    assert medians["lo"].min() >= 50  # Stripe's minimum charge: 50 cents or 50 yen
    units = set(_rows(store, "SELECT DISTINCT unit_amount FROM subscription_items WHERE currency = 'JPY'")
                ["unit_amount"])
    assert units <= {2500, 25000, 2000, 20000, 6000, 60000}  # the catalogue's yen prices


def test_fees_follow_stripe_pricing_and_net_is_amount_minus_fee(small: tuple) -> None:
    store, _ = small
    charges = _rows(store, """
        SELECT p.amount, p.card_country, b.amount AS bt_amount, b.fee, b.net, b.currency
        FROM payments AS p JOIN balance_transactions AS b ON b.id = p.balance_transaction_id
    """)
    succeeded = _rows(store, "SELECT COUNT(*) AS n FROM payments WHERE status = 'succeeded'")["n"][0]
    assert len(charges) == succeeded
    assert (charges["bt_amount"] == charges["amount"]).all()
    assert (charges["net"] == charges["bt_amount"] - charges["fee"]).all()
    domestic = charges[(charges["currency"] == "USD") & (charges["card_country"] == "US")]
    # 2.9% + 30 cents, rounded half up: e.g. 5,000 cents -> 145 + 30 = 175.
    expected = [(a * 29 + 500) // 1000 + 30 for a in domestic["amount"]]
    assert list(domestic["fee"]) == expected
    jpy = charges[charges["currency"] == "JPY"]
    assert list(jpy["fee"]) == [(a * 36 + 500) // 1000 for a in jpy["amount"]]  # 3.6%, no fixed fee


def test_declines_carry_stripe_outcomes(small: tuple) -> None:
    store, _ = small
    failed = _rows(store, """
        SELECT decline_code, failure_code, outcome_type, network_status, advice_code FROM payments
        WHERE status = 'failed'
    """)
    codes = set(failed["decline_code"])
    assert {"insufficient_funds", "generic_decline", "do_not_honor", "expired_card", "incorrect_cvc",
            "card_velocity_exceeded", "processing_error"} <= codes
    assert {"issuer_declined", "blocked", "invalid"} <= set(failed["outcome_type"])
    issuer = failed[failed["outcome_type"] == "issuer_declined"]
    assert (issuer["network_status"] == "declined_by_network").all()
    assert (failed[failed["outcome_type"] != "issuer_declined"]["network_status"] == "not_sent_to_network").all()
    assert set(failed["failure_code"]) >= {"card_declined", "expired_card", "incorrect_cvc"}
    assert (failed[failed["decline_code"] == "insufficient_funds"]["advice_code"] == "try_again_later").all()
    ok = _rows(store, "SELECT DISTINCT outcome_type, network_status FROM payments WHERE status = 'succeeded'")
    assert list(ok.itertuples(index=False, name=None)) == [("authorized", "approved_by_network")]


def test_nothing_stored_looks_like_a_card_number(small: tuple) -> None:
    store, _ = small
    for name in schema.OBJECT_TABLES:
        for raw in store.query(f"SELECT raw FROM {name}")["raw"]:
            assert not PAN_LIKE.search(raw), name
    cards = _rows(store, "SELECT card_last4, card_fingerprint, card_brand FROM payments")
    assert cards["card_last4"].str.fullmatch(r"\d{4}").all()
    assert cards["card_fingerprint"].str.len().eq(16).all()
    assert {"visa", "mastercard", "amex", "jcb"} <= set(cards["card_brand"])


def test_events_are_stripe_shaped_and_some_webhooks_are_undelivered(small: tuple) -> None:
    store, _ = small
    events = _rows(store, "SELECT id, type, api_version, pending_webhooks, created FROM events")
    assert events["id"].str.startswith("evt_").all()
    assert (events["api_version"] == "2026-10-28.endive").all()
    assert {"customer.created", "customer.subscription.created", "customer.subscription.updated",
            "customer.subscription.deleted", "charge.succeeded", "charge.failed", "charge.refunded",
            "charge.dispute.created", "invoice.payment_failed", "invoice.paid"} <= set(events["type"])
    assert (events["pending_webhooks"] > 0).sum() >= 1
    assert (events["created"] < pd.Timestamp(NOW)).all()
    with_request = _rows(store, "SELECT COUNT(*) AS n FROM events WHERE json_exists(raw, '$.request.id')")["n"][0]
    assert with_request == len(events)
    undelivered = _rows(store, "SELECT MIN(created) AS t FROM events WHERE pending_webhooks > 0")["t"][0]
    assert undelivered > pd.Timestamp(NOW) - pd.Timedelta(days=3)  # Stripe retries for 3 days


def test_ids_are_stripe_like_and_customers_have_names_and_emails(small: tuple) -> None:
    store, counts = small
    prefixes = {"payments": "ch_", "refunds": "re_", "disputes": "dp_", "customers": "cus_",
                "subscriptions": "sub_", "subscription_items": "si_", "invoices": "in_",
                "balance_transactions": "txn_"}
    for table, prefix in prefixes.items():
        ids = store.query(f"SELECT id FROM {table}")["id"]
        assert ids.str.startswith(prefix).all() and ids.is_unique, table
    customers = _rows(store, "SELECT email, name FROM customers")
    assert len(customers) == counts["customers"]
    assert customers["email"].str.fullmatch(r"[a-z.]+\d*@[a-z.]+").all()
    assert customers["name"].str.contains(" ").all()


# -- the default demo -------------------------------------------------------------------------------------


def test_default_demo_is_a_full_year_with_2000_plus_customers(tmp_path: Path) -> None:
    store = _store(tmp_path / "default.duckdb")
    counts = load_demo(store, now=NOW)
    assert counts["customers"] >= 2_000
    assert 20_000 <= counts["payments"] <= 40_000
    span = _rows(store, "SELECT MIN(created) AS first, MAX(created) AS last FROM payments")
    assert span["first"][0] < pd.Timestamp(NOW) - pd.Timedelta(days=330)
    assert span["last"][0] > pd.Timestamp(NOW) - pd.Timedelta(days=2)
    months = _rows(store, "SELECT COUNT(DISTINCT date_trunc('month', created)) AS n FROM payments")["n"][0]
    assert months == 13  # a year ending on 27 November touches 13 calendar months
    assert _rows(store, "SELECT COUNT(*) AS n FROM subscriptions WHERE status = 'past_due'")["n"][0] >= 5
    assert _rows(store, "SELECT COUNT(*) AS n FROM disputes")["n"][0] >= 50
    store.close()
