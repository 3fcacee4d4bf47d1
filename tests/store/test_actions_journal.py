"""The action journal on a real DuckDB file: stable identities and keys, one winner per transition, approval
expiry, and the live-mode refusal (no provider is reached in these tests: every case stops before a call)."""

from __future__ import annotations

import threading

from dashboard.actions import Actor, Guard, Limits, _Check
from sync import audit
from sync.settings import Settings
from sync.store import Store

SUPPORT = Actor("sam@example.com", "support", True)


def _guard(store: Store, **settings) -> Guard:
    return Guard(store, Settings(stripe_secret_key="sk_test_x", **settings), SUPPORT)


def test_action_ids_are_stable_and_depend_on_identity(store) -> None:
    guard, other = _guard(store), Guard(store, Settings(), Actor("kim@example.com", "finance", True))
    a = guard._action_id("refund", "ch_1", {"amount": 500, "reason": None}, 0)
    assert a == guard._action_id("refund", "ch_1", {"reason": None, "amount": 500}, 0)  # key order irrelevant
    assert a == other._action_id("refund", "ch_1", {"amount": 500, "reason": None}, 0)  # same for any user
    assert a != guard._action_id("refund", "ch_1", {"amount": 501, "reason": None}, 0)
    assert a != guard._action_id("refund", "ch_2", {"amount": 500, "reason": None}, 0)
    assert a != guard._action_id("refund", "ch_1", {"amount": 500, "reason": None}, 1)


def test_generation_moves_on_only_after_failure_or_on_request(store) -> None:
    guard = _guard(store)
    params = {"amount": 500, "reason": None}
    assert guard._resolve("refund", "ch_1", params, False) == (0, None)
    action_id = guard._insert("refund", "ch_1", params, 0, _Check(True, "", amount=500, currency="USD"), "approved")
    assert guard._resolve("refund", "ch_1", params, False)[0] == 0  # a rerun reuses the live action
    assert guard._transition(action_id, ("approved",), "running")
    assert guard._transition(action_id, ("running",), "succeeded")
    assert guard._resolve("refund", "ch_1", params, False)[0] == 0  # done: shown as done, not redone
    assert guard._resolve("refund", "ch_1", params, True)[0] == 1  # an explicit second identical refund
    row = guard._row(action_id)
    assert row["idempotency_key"] == f"payops-{action_id}" and row["requested_by"] == "sam@example.com"


def test_only_one_claim_wins_among_threads(store) -> None:
    guard = _guard(store)
    action_id = guard._insert("invoice_retry", "in_1", {}, 0, _Check(True, ""), "approved")
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        wins.append(guard._transition(action_id, ("approved",), "running"))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(wins) == [False, False, False, True]


def test_pending_approvals_expire_and_are_audited(store) -> None:
    guard = Guard(store, Settings(stripe_secret_key="sk_test_x"), SUPPORT, limits=Limits(approval_ttl_hours=1))
    action_id = guard._insert("refund", "ch_9", {"amount": 90000, "reason": None}, 0,
                              _Check(True, "", amount=90000, currency="USD"), "pending_approval")
    assert guard.pending_approvals().id.tolist() == [action_id]
    store.cursor().execute("UPDATE actions SET expires_at = expires_at - INTERVAL 2 HOUR")
    assert guard.pending_approvals().empty
    assert guard._row(action_id)["status"] == "expired"
    assert audit.export(store).action.tolist() == ["refund.expired"]
    # An expired action is dead: the same click starts a new generation with a new key.
    assert guard._resolve("refund", "ch_9", {"amount": 90000, "reason": None}, False) == (1, None)


def test_live_key_without_the_flag_is_refused_and_audited(store) -> None:
    guard = Guard(store, Settings(stripe_secret_key="sk_live_abcd"), SUPPORT)
    proposal = guard.propose("refund", "ch_live1", {"amount": 100})
    assert not proposal.allowed and "PAYOPS_ALLOW_LIVE_WRITES=true" in proposal.message
    outcome = guard.confirm(proposal, "1.00 ive1")
    assert outcome.status == "refused"
    assert audit.export(store)[["action", "role"]].to_dict("records") == [{"action": "refund.refused",
                                                                           "role": "support"}]
    # The flag alone is not enough: live writes also need sign-in configured.
    flagged = Guard(store, Settings(stripe_secret_key="sk_live_abcd", allow_live_writes=True), SUPPORT)
    assert "signed-in" in flagged.propose("refund", "ch_live1", {"amount": 100}).message
    # A separate write key decides the mode of writes.
    split = Guard(store, Settings(stripe_secret_key="sk_test_read", stripe_write_key="rk_live_w"), SUPPORT)
    assert "PAYOPS_ALLOW_LIVE_WRITES" in split.propose("refund", "ch_live1").message


def test_bad_input_is_one_line_that_says_what_to_do(store) -> None:
    guard = _guard(store)
    assert "positive whole number" in guard.propose("refund", "ch_1", {"amount": 12.5}).message
    assert "must be one of" in guard.propose("refund", "ch_1", {"reason": "angry"}).message
    assert "webhook endpoint" in guard.propose("event_retry", "evt_1", {}).message
    assert "Unknown action" in guard.propose("delete_customer", "cus_1").message


def test_writes_are_refused_while_the_audit_chain_does_not_verify(store) -> None:
    guard = _guard(store)
    audit.append(store, actor="sam@example.com", role="support", action="refund.succeeded", target="stripe:ch_1")
    audit.append(store, actor="sam@example.com", role="support", action="refund.succeeded", target="stripe:ch_2")
    store.cursor().execute("UPDATE audit_log SET actor = 'someone@example.com' WHERE seq = 2")
    # Refused before Stripe is asked anything: this guard has no client, and building one would need the network.
    proposal = guard.propose("refund", "ch_abcd", {"amount": 100})
    assert not proposal.allowed
    assert proposal.message.startswith("Writes to Stripe are refused while the audit log does not verify: Edited at "
                                       "entry 2:"), proposal.message
    outcome = guard.confirm(proposal, "1.00 abcd")
    assert (outcome.ok, outcome.status) == (False, "refused") and "Edited at entry 2" in outcome.message
    assert guard._row(proposal.action_id) is None  # no journal row: nothing was started
    assert len(audit.export(store)) == 2  # and nothing chained onto the broken log

    store.cursor().execute("DELETE FROM audit_log WHERE seq = 2")  # now the newest entry is simply gone
    proposal = guard.propose("refund", "ch_abcd", {"amount": 100})
    assert not proposal.allowed and "Entries missing after 1" in proposal.message
