"""The keyed, anchored audit chain on a real DuckDB file: HMAC links, the head record kept beside the store
(truncation), edits (even with the chain recomputed), a crash between commit and head write, the key's sources, and
the one-time migration of an unkeyed chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import stat
from pathlib import Path

import orjson
import pytest

from sync import audit
from sync.store import Store

FIELDS = ("seq", "at", "actor", "role", "action", "target", "params", "provider_request_id", "result", "error")


def _append(store: Store, n: int) -> int:
    return audit.append(store, actor="sam@example.com", role="support", action="refund.succeeded",
                        target=f"stripe:ch_{n}", params={"amount": n * 100}, provider_request_id=f"req_{n}",
                        result={"id": f"re_{n}"})


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PAYOPS_AUDIT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    return tmp_path / "audit.duckdb"


@pytest.fixture
def store(db: Path):
    s = Store(f"duckdb:///{db}")
    for n in range(1, 5):
        _append(s, n)
    yield s
    s.close()


def _rows(store: Store) -> list[dict]:
    return audit.export(store).to_dict("records")


def _body(row: dict) -> str:
    body = {name: row[name] for name in FIELDS}
    body["at"] = row["at"].isoformat(timespec="microseconds")
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()


def _rewrite(store: Store, seq: int, prev: str, hash_: str, **values: object) -> None:
    sets = ", ".join(f"{k} = ${k}" for k in values)
    store.cursor().execute(f"UPDATE audit_log SET {sets + ', ' if sets else ''}prev_hash = $p, hash = $h "
                           "WHERE seq = $s", {**values, "p": prev, "h": hash_, "s": seq})


def test_chain_is_an_hmac_under_a_key_file_beside_the_store(store, db: Path) -> None:
    key_file = Path(f"{db}.audit-key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes().strip()
    assert len(key) == 64  # 32 random bytes, hex
    log = _rows(store)
    assert [r["seq"] for r in log] == [1, 2, 3, 4]
    assert log[0]["prev_hash"] == audit.GENESIS
    assert [r["prev_hash"] for r in log[1:]] == [r["hash"] for r in log[:-1]]
    # Entry 1 by hand: HMAC-SHA256(key, prev_hash + canonical JSON of the fields).
    at = log[0]["at"].isoformat(timespec="microseconds")
    body = ('{"action":"refund.succeeded","actor":"sam@example.com","at":"' + at + '","error":null,'
            '"params":"{\\"amount\\":100}","provider_request_id":"req_1","result":"{\\"id\\":\\"re_1\\"}",'
            '"role":"support","seq":1,"target":"stripe:ch_1"}')
    assert log[0]["hash"] == hmac.new(key, (audit.GENESIS + body).encode(), hashlib.sha256).hexdigest()
    assert log[0]["hash"] != hashlib.sha256((audit.GENESIS + body).encode()).hexdigest()
    head = orjson.loads(Path(f"{db}.audit-head").read_bytes())
    assert (head["count"], head["hash"], head["keyed_from"]) == (4, log[3]["hash"], 1)
    check = audit.verify(store)
    assert (check.ok, check.state, check.checked) == (True, "verified", 4)
    # The key is never in the store.
    assert key.decode() not in str(store.query("SELECT * FROM audit_log").to_dict("records"))


def test_a_fresh_store_verifies(db: Path) -> None:
    s = Store(f"duckdb:///{db}")
    try:
        check = audit.verify(s)
        assert (check.ok, check.state, check.checked, check.bad_seq) == (True, "verified", 0, None)
        assert check.message.startswith("Verified")
    finally:
        s.close()


def test_deleting_the_newest_entries_is_entries_missing(store) -> None:
    store.cursor().execute("DELETE FROM audit_log WHERE seq >= 3")
    check = audit.verify(store)
    assert (check.ok, check.state, check.bad_seq) == (False, "missing", 3)
    assert check.message.startswith("Entries missing after 2:") and "4 entries" in check.message
    # The app never chains onto a truncated log (that would overwrite the evidence).
    with pytest.raises(audit.AuditChainError, match="Entries missing after 2"):
        _append(store, 9)
    assert audit.verify(store).state == "missing"


def test_deleting_every_entry_is_entries_missing_after_0(store) -> None:
    store.cursor().execute("DELETE FROM audit_log")
    check = audit.verify(store)
    assert (check.ok, check.state) == (False, "missing") and check.message.startswith("Entries missing after 0:")


def test_an_edited_entry_is_named(store) -> None:
    store.cursor().execute("UPDATE audit_log SET params = '{\"amount\":999}' WHERE seq = 2")
    check = audit.verify(store)
    assert (check.ok, check.state, check.bad_seq) == (False, "edited", 2)
    assert check.message.startswith("Edited at entry 2:")


def test_a_deleted_middle_entry_is_an_edit(store) -> None:
    store.cursor().execute("DELETE FROM audit_log WHERE seq = 3")
    check = audit.verify(store)
    assert (check.state, check.bad_seq) == ("edited", 3) and check.message.startswith("Edited at entry 3:")


def test_an_edit_with_the_chain_recomputed_by_sha256_from_there_on_is_named(store) -> None:
    rows = _rows(store)
    rows[1]["error"] = "forged"
    prev = rows[0]["hash"]
    for row in rows[1:]:  # what a forger without the key can do: the old unkeyed rule
        forged = hashlib.sha256((prev + _body(row)).encode()).hexdigest()
        _rewrite(store, row["seq"], prev, forged, **({"error": "forged"} if row["seq"] == 2 else {}))
        prev = forged
    check = audit.verify(store)
    assert (check.ok, check.state, check.bad_seq) == (False, "edited", 2)


def test_the_whole_chain_recomputed_by_sha256_fails_at_entry_1(store) -> None:
    prev = audit.GENESIS
    for row in _rows(store):
        if row["seq"] == 3:
            row["actor"] = "someone.else@example.com"
        forged = hashlib.sha256((prev + _body(row)).encode()).hexdigest()
        _rewrite(store, row["seq"], prev, forged, actor=row["actor"])
        prev = forged
    check = audit.verify(store)
    assert (check.ok, check.state, check.bad_seq) == (False, "edited", 1)
    assert "PAYOPS_AUDIT_KEY" in check.message  # entry 1 failing may also mean the key changed: say where it is


def test_a_head_one_behind_after_a_crash_is_not_tampering(store, db: Path, monkeypatch) -> None:
    before = Path(f"{db}.audit-head").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("killed between the commit and the head write")

    monkeypatch.setattr(audit, "_write_head", crash)
    with pytest.raises(OSError):
        _append(store, 5)  # committed in the store, head not written
    monkeypatch.undo()
    assert Path(f"{db}.audit-head").read_bytes() == before
    check = audit.verify(store)
    assert (check.ok, check.state, check.checked) == (True, "verified", 5)
    assert orjson.loads(Path(f"{db}.audit-head").read_bytes())["count"] == 5  # brought up to date
    assert _append(store, 6) == 6 and audit.verify(store).ok


def test_an_unkeyed_entry_after_the_head_is_an_edit(store) -> None:
    # Someone appends a row by hand after the head: without the key its hash cannot be right.
    last = _rows(store)[-1]
    row = {**last, "seq": 5, "error": "made up"}
    store.cursor().execute(
        "INSERT INTO audit_log SELECT $seq, $at, actor, role, action, target, params, provider_request_id, result, "
        "$error, $prev, $h FROM audit_log WHERE seq = 4",
        {"seq": 5, "at": last["at"], "error": "made up", "prev": last["hash"],
         "h": hashlib.sha256((last["hash"] + _body(row)).encode()).hexdigest()})
    check = audit.verify(store)
    assert (check.state, check.bad_seq) == ("edited", 5)
    with pytest.raises(audit.AuditChainError, match="Edited at entry 5"):
        _append(store, 6)


def test_a_missing_head_record_is_reported(store, db: Path) -> None:
    Path(f"{db}.audit-head").unlink()
    check = audit.verify(store)
    assert (check.ok, check.state) == (False, "missing")
    assert "head record" in check.message and "after 4" in check.message


def test_a_lowered_head_record_does_not_hide_truncation(store, db: Path) -> None:
    # Someone who can write the head file but has no key deletes entries 3-4 and lowers the head to match.
    log = _rows(store)
    store.cursor().execute("DELETE FROM audit_log WHERE seq >= 3")
    path = Path(f"{db}.audit-head")
    head = orjson.loads(path.read_bytes())
    path.write_bytes(orjson.dumps(head | {"count": 2, "hash": log[1]["hash"]}))
    check = audit.verify(store)
    assert (check.ok, check.state) == (False, "edited") and "head record" in check.message


def test_key_from_the_environment_and_a_changed_key(db: Path, monkeypatch) -> None:
    monkeypatch.setenv("PAYOPS_AUDIT_KEY", "k" * 40)
    s = Store(f"duckdb:///{db}")
    try:
        _append(s, 1)
        _append(s, 2)
        assert not Path(f"{db}.audit-key").exists()  # an environment key is never written to disk
        assert audit.verify(s).ok
        monkeypatch.setenv("PAYOPS_AUDIT_KEY", "j" * 40)
        audit.forget_key(s)
        check = audit.verify(s)  # the head record is keyed too: it fails first, and says the key may have changed
        assert (check.ok, check.state) == (False, "edited")
        assert "key changed" in check.message and "PAYOPS_AUDIT_KEY" in check.message
        monkeypatch.setenv("PAYOPS_AUDIT_KEY", "short")
        audit.forget_key(s)
        with pytest.raises(audit.AuditChainError, match="at least 32"):
            audit.verify(s)
    finally:
        s.close()


def _legacy_chain(store: Store, n: int) -> list[str]:
    """What an older PayOps wrote: the unkeyed sha256 chain, no key file, no head record."""
    from sync.action_schema import audit_log, create_tables

    create_tables(store.engine)
    prev, hashes = audit.GENESIS, []
    at = dt.datetime(2026, 11, 1, 12, 0)
    with store.begin() as conn:
        for seq in range(1, n + 1):
            row = {"seq": seq, "at": at + dt.timedelta(minutes=seq), "actor": "sam@example.com", "role": "support",
                   "action": "refund.succeeded", "target": f"stripe:ch_{seq}", "params": None,
                   "provider_request_id": None, "result": None, "error": None}
            row["prev_hash"], row["hash"] = prev, audit.entry_hash(prev, row)
            conn.execute(audit_log.insert().values(**row))
            prev = row["hash"]
            hashes.append(prev)
    return hashes


def test_an_unkeyed_chain_is_verified_once_then_re_anchored(db: Path) -> None:
    s = Store(f"duckdb:///{db}")
    try:
        hashes = _legacy_chain(s, 3)
        check = audit.verify(s)
        assert (check.ok, check.checked) == (True, 4), check.message
        log = _rows(s)
        assert log[3]["action"] == "audit.rekeyed" and log[3]["prev_hash"] == hashes[2]
        assert orjson.loads(log[3]["params"]) == {"unkeyed_entries": 3, "unkeyed_head": hashes[2]}
        assert orjson.loads(Path(f"{db}.audit-head").read_bytes())["keyed_from"] == 4
        assert _append(s, 5) == 5 and audit.verify(s).ok
        # The old part stays covered: editing it and recomputing its sha256 chain breaks the keyed re-anchor entry.
        rows = _rows(s)
        prev = audit.GENESIS
        for row in rows[:3]:
            row["actor"] = "x@example.com"
            forged = hashlib.sha256((prev + _body(row)).encode()).hexdigest()
            _rewrite(s, row["seq"], prev, forged, actor="x@example.com")
            prev = forged
        check = audit.verify(s)
        assert (check.state, check.bad_seq) == ("edited", 4)
    finally:
        s.close()


def test_a_broken_unkeyed_chain_is_not_re_anchored(db: Path) -> None:
    s = Store(f"duckdb:///{db}")
    try:
        _legacy_chain(s, 3)
        s.cursor().execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
        check = audit.verify(s)
        assert (check.state, check.bad_seq) == ("edited", 2)
        assert [r["action"] for r in _rows(s)].count("audit.rekeyed") == 0
        assert not Path(f"{db}.audit-head").exists()
    finally:
        s.close()


def test_an_in_memory_store_keeps_its_anchor_in_memory() -> None:
    s = Store("duckdb:///:memory:")
    try:
        _append(s, 1)
        _append(s, 2)
        assert audit.verify(s).ok
        s.cursor().execute("DELETE FROM audit_log WHERE seq = 2")
        assert audit.verify(s).state == "missing"
    finally:
        s.close()


def test_head_file_is_replaced_atomically(store, db: Path) -> None:
    _append(store, 5)
    leftovers = [p.name for p in db.parent.iterdir() if ".audit-head" in p.name and p.name != f"{db.name}.audit-head"]
    assert leftovers == []
    assert stat.S_IMODE(Path(f"{db}.audit-head").stat().st_mode) == 0o600
    assert os.path.getsize(f"{db}.audit-head") > 0
