"""The hash-chained audit log on a real DuckDB file: append, verify, and detection of edits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sync import audit
from sync.store import Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(f"duckdb:///{tmp_path / 'audit.duckdb'}")
    for n in range(1, 5):
        audit.append(s, actor="sam@example.com", role="support", action="refund.succeeded", target=f"stripe:ch_{n}",
                     params={"amount": n * 100}, provider_request_id=f"req_{n}", result={"id": f"re_{n}"})
    yield s
    s.close()


def test_chain_links_each_entry_to_the_previous(store) -> None:
    log = audit.export(store)
    assert log.seq.tolist() == [1, 2, 3, 4]
    assert log.prev_hash[0] == audit.GENESIS
    assert log.prev_hash.tolist()[1:] == log.hash.tolist()[:-1]
    first = log.iloc[0].to_dict()
    # Recompute entry 1 by hand from the documented rule: sha256(prev_hash + canonical JSON of the fields).
    at = first["at"].isoformat(timespec="microseconds")
    body = ('{"action":"refund.succeeded","actor":"sam@example.com","at":"' + at + '","error":null,'
            '"params":"{\\"amount\\":100}","provider_request_id":"req_1","result":"{\\"id\\":\\"re_1\\"}",'
            '"role":"support","seq":1,"target":"stripe:ch_1"}')
    assert first["hash"] == hashlib.sha256((audit.GENESIS + body).encode()).hexdigest()
    assert audit.verify(store).ok and audit.verify(store).checked == 4
    assert audit.head(store) == (4, log.hash[3])


def test_altered_entry_is_detected(store) -> None:
    store.cursor().execute("UPDATE audit_log SET params = '{\"amount\":999}' WHERE seq = 2")
    check = audit.verify(store)
    assert not check.ok and check.bad_seq == 2 and "altered" in check.message


def test_deleted_entry_is_detected(store) -> None:
    store.cursor().execute("DELETE FROM audit_log WHERE seq = 3")
    check = audit.verify(store)
    assert not check.ok and check.bad_seq == 3 and "missing" in check.message


def test_reordered_entries_are_detected(store) -> None:
    # Swap the contents of entries 2 and 3 but keep their seq numbers.
    cur = store.cursor()
    cur.execute("UPDATE audit_log SET seq = 99 WHERE seq = 2")
    cur.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3")
    cur.execute("UPDATE audit_log SET seq = 3 WHERE seq = 99")
    check = audit.verify(store)
    assert not check.ok and check.bad_seq == 2


def test_recomputed_hash_after_an_edit_breaks_the_next_link(store) -> None:
    # A forger who edits entry 2 and recomputes its hash still breaks entry 3's prev_hash.
    row = audit.export(store).iloc[1].to_dict()
    row["error"] = "forged"
    forged = audit.entry_hash(row["prev_hash"], row)
    store.cursor().execute("UPDATE audit_log SET error = 'forged', hash = $h WHERE seq = 2", {"h": forged})
    check = audit.verify(store)
    assert not check.ok and check.bad_seq == 3 and "does not follow" in check.message
