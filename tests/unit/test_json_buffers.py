"""A chunk's JSON documents joined into reused buffers: never rewritten while an Arrow array still reads one."""

from __future__ import annotations

import gc

import pyarrow as pa
import pytest

from sync import store
from sync.store import _JoinBuffers, _json_text_array


def docs(*texts: str) -> list[bytes]:
    return [text.encode() for text in texts]


def join(buffers: _JoinBuffers, *texts: str) -> pa.Buffer:
    parts = docs(*texts)
    return buffers.join(parts, sum(map(len, parts)))


def test_a_buffer_in_use_is_not_rewritten_and_a_released_one_is_reused() -> None:
    buffers = _JoinBuffers(most=4)
    first = join(buffers, '{"a":1}', '{"b":22}')
    second = join(buffers, '{"c":333}')
    assert first.to_pybytes() == b'{"a":1}{"b":22}' and second.to_pybytes() == b'{"c":333}'
    assert len(buffers._buffers) == 2
    del first
    gc.collect()
    third = join(buffers, "[]")  # shorter than what the released buffer held: only its own bytes show
    assert third.to_pybytes() == b"[]" and second.to_pybytes() == b'{"c":333}'
    assert len(buffers._buffers) == 2


def test_past_its_limit_it_joins_afresh() -> None:
    buffers = _JoinBuffers(most=1)
    kept = join(buffers, "1")
    extra = join(buffers, "2", "3")
    assert (kept.to_pybytes(), extra.to_pybytes(), len(buffers._buffers)) == (b"1", b"23", 1)


def test_text_arrays_read_their_documents_whatever_the_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    small = _json_text_array(docs('{"id":"ch_1"}', '{"id":"ch_2"}'))
    monkeypatch.setattr(_JoinBuffers, "LARGEST", 10)  # the next join is "big": not kept
    before = len(store._JSON_BUFFERS._buffers)
    big = _json_text_array(docs('{"id":"ch_3"}', '{"id":"ch_4"}'))
    assert len(store._JSON_BUFFERS._buffers) == before
    with_null = _json_text_array([b'{"id":"ch_5"}', None])
    assert small.to_pylist() == ['{"id":"ch_1"}', '{"id":"ch_2"}']
    assert big.to_pylist() == ['{"id":"ch_3"}', '{"id":"ch_4"}']
    assert with_null.to_pylist() == ['{"id":"ch_5"}', None]


def test_a_big_join_never_lands_in_a_kept_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    buffers = _JoinBuffers(most=2)
    small = join(buffers, "12")
    del small
    gc.collect()  # the kept buffer is free again
    monkeypatch.setattr(_JoinBuffers, "LARGEST", 4)
    big = join(buffers, "12345")
    assert big.to_pybytes() == b"12345"
    assert [len(kept.getvalue()) for kept in buffers._buffers] == [2]  # not grown to hold it
