"""The guard and the Stripe write calls against stripe-stateful-mock: idempotency, refusals, faults, declines,
double submits and a real crash between the provider call and the journal's completion."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from dashboard.actions import Actor, Guard, Limits
from sync import audit
from sync.errors import ProviderRateLimitedError, ProviderRequestError, ProviderUnavailableError
from sync.providers import stripe_writes as sw
from sync.settings import Settings
from sync.store import Store
from tests.peer import mock_servers
from tests.peer.mock_servers import make_client

stateful_mock_url = mock_servers.stateful_mock_url  # fixture
stateful_client = mock_servers.stateful_client  # fixture

pytestmark = pytest.mark.peer
SUPPORT = Actor("sam@example.com", "support", True)


def _settings(db: str = "duckdb:///:memory:") -> Settings:
    return Settings(database_url=db, stripe_secret_key="sk_test_payops")


def _charge(client, amount: int = 1000, source: str = "tok_visa") -> str:
    return client.v1.charges.create({"amount": amount, "currency": "usd", "source": source}).id


def test_same_key_returns_the_same_refund(stateful_client) -> None:
    charge = _charge(stateful_client)
    first = sw.refund(stateful_client, charge, action_id="act_1", idempotency_key="payops-k1", amount=300)
    again = sw.refund(stateful_client, charge, action_id="act_1", idempotency_key="payops-k1", amount=300)
    assert again.obj["id"] == first.obj["id"]
    assert again.replayed and not first.replayed
    assert len(sw.list_refunds(stateful_client, charge)) == 1
    assert sw.find_refund_by_action(stateful_client, charge, "act_1")["id"] == first.obj["id"]


def test_changed_parameters_under_the_same_key_are_refused(stateful_client) -> None:
    charge = _charge(stateful_client)
    sw.refund(stateful_client, charge, action_id="act_2", idempotency_key="payops-k2", amount=300)
    with pytest.raises(ProviderRequestError, match="different parameters"):
        sw.refund(stateful_client, charge, action_id="act_2", idempotency_key="payops-k2", amount=301)
    assert [r["amount"] for r in sw.list_refunds(stateful_client, charge)] == [300]


def test_over_refund_is_refused_by_the_guard_and_by_stripe(stateful_client, store) -> None:
    charge = _charge(stateful_client, 1000)
    sw.refund(stateful_client, charge, action_id="act_3", idempotency_key="payops-k3", amount=700)
    guard = Guard(store, _settings(), SUPPORT, client=stateful_client)
    proposal = guard.propose("refund", charge, {"amount": 400})
    # 1000 paid - 700 refunded - 0 pending = 300 refundable < 400 asked
    assert not proposal.allowed
    assert "Amount too large" in proposal.message and "3.00 USD refundable" in proposal.message
    with pytest.raises(ProviderRequestError, match="more than what is left"):
        sw.refund(stateful_client, charge, action_id="act_4", idempotency_key="payops-k4", amount=400)


def test_full_refund_then_already_refunded(stateful_client, store) -> None:
    charge = _charge(stateful_client, 1000)
    guard = Guard(store, _settings(), SUPPORT, client=stateful_client)
    proposal = guard.propose("refund", charge, {"reason": "requested_by_customer"})
    assert proposal.allowed and proposal.confirmation_text == f"10.00 {charge[-4:]}"
    outcome = guard.confirm(proposal, proposal.confirmation_text.lower())  # case does not matter
    assert outcome.ok and outcome.status == "succeeded", outcome.message
    # Stripe itself refuses a second refund with its plain message.
    with pytest.raises(ProviderRequestError, match="already fully refunded"):
        sw.refund(stateful_client, charge, action_id="act_x", idempotency_key="payops-kx")
    assert guard.propose("refund", charge, {"amount": 1}).message.startswith("Nothing left to refund")
    stored = store.query("SELECT amount, reason FROM refunds WHERE charge_id = :c", {"c": charge})
    assert stored.to_dict("records") == [{"amount": 1000, "reason": "requested_by_customer"}]


def test_rate_limit_and_server_error_become_plain_messages(stateful_client) -> None:
    with pytest.raises(ProviderRateLimitedError, match="rate-limiting"):
        sw.provider_call(lambda: stateful_client.v1.charges.create(
            {"amount": 1000, "currency": "usd", "source": "tok_429"}))
    with pytest.raises(ProviderUnavailableError, match="outcome is unknown"):
        sw.provider_call(lambda: stateful_client.v1.charges.create(
            {"amount": 1000, "currency": "usd", "source": "tok_500"}))


def test_rate_limit_is_retried_by_the_client_then_reported(stateful_mock_url) -> None:
    client = make_client(stateful_mock_url, retries=2)
    with pytest.raises(ProviderRateLimitedError):
        sw.provider_call(lambda: client.v1.charges.create({"amount": 1000, "currency": "usd", "source": "tok_429"}))


@pytest.mark.parametrize(("token", "decline"), [
    ("tok_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ("tok_chargeDeclinedFraudulent", "fraudulent"),
])
def test_decline_codes_are_shown(stateful_client, token: str, decline: str) -> None:
    with pytest.raises(ProviderRequestError) as info:
        sw.provider_call(lambda: stateful_client.v1.charges.create({"amount": 1000, "currency": "usd",
                                                                    "source": token}))
    assert info.value.decline_code == decline
    assert f"declined ({decline})" in str(info.value)


def test_disputed_charge_is_not_refunded(stateful_client, store) -> None:
    charge = _charge(stateful_client, 1000, "tok_createDispute")
    import time

    for _ in range(50):  # the mock attaches the dispute on its next tick
        if sw.get_charge(stateful_client, charge).get("dispute"):
            break
        time.sleep(0.02)
    proposal = Guard(store, _settings(), SUPPORT, client=stateful_client).propose("refund", charge)
    assert not proposal.allowed and "disputed" in proposal.message


def test_double_submit_from_two_threads_gives_one_refund(stateful_client, store) -> None:
    charge = _charge(stateful_client, 5000)
    guard = Guard(store, _settings(), SUPPORT, client=stateful_client)
    proposal = guard.propose("refund", charge, {"amount": 1234})
    barrier = threading.Barrier(2)
    outcomes = []

    def click() -> None:
        barrier.wait()
        outcomes.append(guard.confirm(proposal, proposal.confirmation_text))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 2
    assert [r["amount"] for r in sw.list_refunds(stateful_client, charge)] == [1234]
    # One provider call in all: the other click found the action running or done and sent nothing.
    assert store.query("SELECT attempts, status FROM actions").to_dict("records") == [
        {"attempts": 1, "status": "succeeded"}]
    assert audit.export(store).action.tolist().count("refund.started") == 1
    assert all(o.status in ("succeeded", "running") for o in outcomes)
    # A third click (a rerun) reuses the same action: still one refund.
    assert guard.confirm(proposal, proposal.confirmation_text).message.startswith("Already done")
    assert len(sw.list_refunds(stateful_client, charge)) == 1
    assert store.query("SELECT count(*) AS n FROM actions").n[0] == 1


_CRASHING_CHILD = textwrap.dedent("""
    import os, signal, sys
    from dashboard.actions import Actor, Guard
    from sync.providers import stripe_writes as sw
    from sync.settings import Settings
    from sync.store import Store
    from tests.peer.mock_servers import make_client

    db, base, charge = sys.argv[1:4]
    real_refund = sw.refund

    def refund_then_die(*args, **kwargs):
        answer = real_refund(*args, **kwargs)  # the provider has done it...
        os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before the journal completes it

    sw.refund = refund_then_die
    guard = Guard(Store(db), Settings(database_url=db, stripe_secret_key="sk_test_payops"),
                  Actor("sam@example.com", "support", True), client=make_client(base))
    proposal = guard.propose("refund", charge, {"amount": 700})
    guard.confirm(proposal, proposal.confirmation_text)
    sys.exit(3)  # never reached
""")


def test_crash_between_call_and_completion_is_reconciled(stateful_mock_url, tmp_path) -> None:
    client = make_client(stateful_mock_url)
    charge = _charge(client, 2000)
    db = f"duckdb:///{tmp_path / 'crash.duckdb'}"
    child = subprocess.run([sys.executable, "-c", _CRASHING_CHILD, db, stateful_mock_url, charge],
                           capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert len(sw.list_refunds(client, charge)) == 1

    store = Store(db)
    try:
        row = store.query("SELECT status, attempts FROM actions").to_dict("records")
        assert row == [{"status": "running", "attempts": 1}]
        guard = Guard(store, _settings(db), SUPPORT, client=client)
        outcomes = guard.reconcile(older_than_seconds=0)
        assert [o.status for o in outcomes] == ["reconciled"]
        assert store.query("SELECT status FROM actions").status.tolist() == ["reconciled"]
        # A rerun of the same click now shows it done, and calls nothing.
        proposal = guard.propose("refund", charge, {"amount": 700})
        assert proposal.status == "reconciled" and not proposal.allowed
        assert [r["amount"] for r in sw.list_refunds(client, charge)] == [700]
        assert store.query("SELECT amount FROM refunds").amount.tolist() == [700]
        assert audit.verify(store).ok
    finally:
        store.close()


def test_wrong_role_is_refused_and_audited(stateful_client, store) -> None:
    charge = _charge(stateful_client)
    guard = Guard(store, _settings(), Actor("vic@example.com", "viewer", True), client=stateful_client)
    proposal = guard.propose("refund", charge, {"amount": 100})
    assert not proposal.allowed and "viewer" in proposal.message
    outcome = guard.confirm(proposal, f"1.00 {charge[-4:]}")
    assert not outcome.ok and outcome.status == "refused"
    entries = audit.export(store)
    assert entries[["actor", "role", "action", "target"]].to_dict("records") == [
        {"actor": "vic@example.com", "role": "viewer", "action": "refund.refused", "target": f"stripe:{charge}"}]
    assert "may not refund" in entries.error[0]
    assert sw.list_refunds(stateful_client, charge) == []


def test_wrong_confirmation_is_refused(stateful_client, store) -> None:
    charge = _charge(stateful_client)
    guard = Guard(store, _settings(), SUPPORT, client=stateful_client)
    proposal = guard.propose("refund", charge, {"amount": 100})
    outcome = guard.confirm(proposal, "1.00 XXXX")
    assert outcome.status == "refused" and proposal.confirmation_text in outcome.message
    assert sw.list_refunds(stateful_client, charge) == []


def test_second_approver_above_the_limit(stateful_client, store) -> None:
    charge = _charge(stateful_client, 90000)
    limits = Limits(approval_above={"USD": 50000})
    requester = Guard(store, _settings(), SUPPORT, client=stateful_client, limits=limits)
    proposal = requester.propose("refund", charge, {"amount": 60000})
    assert proposal.allowed and proposal.needs_approval
    queued = requester.confirm(proposal, proposal.confirmation_text)
    assert queued.status == "pending_approval"
    assert sw.list_refunds(stateful_client, charge) == []
    assert requester.pending_approvals().id.tolist() == [queued.action_id]
    # The requester cannot approve their own action.
    assert requester.approve(queued.action_id, proposal.confirmation_text).status == "refused"
    approver = Guard(store, _settings(), Actor("fin@example.com", "finance", True), client=stateful_client,
                     limits=limits)
    review = approver.review(queued.action_id)
    assert review.allowed and review.confirmation_text == f"600.00 {charge[-4:]}"
    done = approver.approve(queued.action_id, review.confirmation_text)
    assert done.ok and done.status == "succeeded", done.message
    assert [r["amount"] for r in sw.list_refunds(stateful_client, charge)] == [60000]
    assert store.query("SELECT approved_by FROM actions").approved_by.tolist() == ["fin@example.com"]
