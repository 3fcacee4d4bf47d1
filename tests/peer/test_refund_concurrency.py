"""Refunds on one charge against stripe-stateful-mock: concurrent partial refunds never exceed what was captured (the
guard refuses the excess before calling Stripe), and splitting a refund above the approval limit into small ones
still needs a second approver."""

from __future__ import annotations

import threading

import pytest

from dashboard.actions import Actor, Guard, Limits, Outcome
from sync.providers import stripe_writes as sw
from sync.settings import Settings
from tests.peer import mock_servers

stateful_mock_url = mock_servers.stateful_mock_url  # fixture
stateful_client = mock_servers.stateful_client  # fixture

pytestmark = pytest.mark.peer
SETTINGS = Settings(stripe_secret_key="sk_test_payops")


def _charge(client, amount: int) -> str:
    return client.v1.charges.create({"amount": amount, "currency": "usd", "source": "tok_visa"}).id


def test_concurrent_partial_refunds_never_exceed_the_charge(stateful_mock_url, store, monkeypatch) -> None:
    client = mock_servers.make_client(stateful_mock_url)
    charge = _charge(client, 10000)
    # 20 different partial refunds: $6.00, $6.10, ... $7.90, together $139.00 against $100.00 captured.
    amounts = [600 + 10 * i for i in range(20)]
    assert sum(amounts) == 13900
    calls: list[int] = []
    real_refund = sw.refund

    def counted(*args, **kwargs):
        calls.append(kwargs["amount"])
        return real_refund(*args, **kwargs)

    monkeypatch.setattr(sw, "refund", counted)
    barrier = threading.Barrier(len(amounts), timeout=60)
    outcomes: dict[int, Outcome] = {}
    errors: list[BaseException] = []

    def click(amount: int) -> None:
        # Each user has their own guard and client, proposes, types what they are shown, then all confirm at once.
        try:
            guard = Guard(store, SETTINGS, Actor(f"user{amount}@example.com", "support", True),
                          client=mock_servers.make_client(stateful_mock_url))
            proposal = guard.propose("refund", charge, {"amount": amount})
            assert proposal.allowed, proposal.message
            barrier.wait()
            outcomes[amount] = guard.confirm(proposal, proposal.confirmation_text)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=click, args=(a,)) for a in amounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(outcomes) == 20

    done = {a: o for a, o in outcomes.items() if o.status == "succeeded"}
    refused = {a: o for a, o in outcomes.items() if o.status != "succeeded"}
    at_stripe = [r["amount"] for r in sw.list_refunds(client, charge) if r["status"] == "succeeded"]
    assert sorted(at_stripe) == sorted(done)
    assert sum(at_stripe) <= 10000
    assert refused, "the amounts add up to more than the charge: some must be refused"
    # The guard refused the excess itself: Stripe was asked only for the refunds that went through.
    assert sorted(calls) == sorted(done)
    left = 10000 - sum(at_stripe)
    for amount, outcome in refused.items():
        assert outcome.status == "refused", outcome.message
        assert outcome.message.startswith(("Amount too large", "Nothing left to refund")), outcome.message
        assert amount > left  # refundable only shrinks: a refusal is never for an amount that would still fit
    assert sw.get_charge(client, charge)["amount_refunded"] == sum(at_stripe)


def test_splitting_a_refund_above_the_limit_still_needs_approval(stateful_client, store) -> None:
    charge = _charge(stateful_client, 90000)
    limits = Limits(approval_above={"USD": 50000})
    guard = Guard(store, SETTINGS, Actor("sam@example.com", "support", True), client=stateful_client, limits=limits)
    for amount in (20000, 20000):  # $200 + $200 = $400 so far: under the $500 limit
        proposal = guard.propose("refund", charge, {"amount": amount}, repeat=True)
        assert proposal.allowed and not proposal.needs_approval, proposal.message
        assert guard.confirm(proposal, proposal.confirmation_text).status == "succeeded"
    third = guard.propose("refund", charge, {"amount": 15000})  # $150 more: this payment's refunds reach $550
    assert third.allowed and third.needs_approval
    assert "refunds on this payment would total 550.00 USD" in third.message, third.message
    queued = guard.confirm(third, third.confirmation_text)
    assert queued.status == "pending_approval", queued.message
    assert sorted(r["amount"] for r in sw.list_refunds(stateful_client, charge)) == [20000, 20000]
    # A refund under the limit on a fresh charge still runs at once.
    small = guard.propose("refund", _charge(stateful_client, 90000), {"amount": 15000})
    assert small.allowed and not small.needs_approval


def test_a_refund_another_process_is_running_counts_against_the_charge(stateful_client, store) -> None:
    # Another server process (PostgreSQL replicas share the journal) claimed $8.00 of this $10.00 charge and is
    # waiting for Stripe: this process's lock knows nothing of it, the journal does.
    from dashboard.actions import _Check

    charge = _charge(stateful_client, 1000)
    other = Guard(store, SETTINGS, Actor("kim@example.com", "support", True), client=stateful_client)
    claimed = other._insert("refund", charge, {"amount": 800, "reason": None}, 0,
                            _Check(True, "", amount=800, currency="USD"), "approved")
    assert other._transition(claimed, ("approved",), "running")
    guard = Guard(store, SETTINGS, Actor("sam@example.com", "support", True), client=stateful_client)
    proposal = guard.propose("refund", charge, {"amount": 300})
    assert not proposal.allowed
    assert proposal.message == ("Amount too large: 3.00 USD asked, 10.00 USD paid, 0.00 USD refunded, 0.00 USD "
                                "pending, 8.00 USD in flight in PayOps: 2.00 USD refundable.")
    fits = guard.propose("refund", charge, {"amount": 200})
    assert fits.allowed and any("8.00 USD of other refunds" in w for w in fits.warnings)
    # Once Stripe shows that refund (its metadata names the action), it is counted once, as refunded.
    sw.refund(stateful_client, charge, action_id=claimed, idempotency_key=f"payops-{claimed}", amount=800)
    after = guard.propose("refund", charge, {"amount": 200})
    assert after.allowed and "8.00 USD refunded, 0.00 USD pending: 2.00 USD refundable" in after.message
