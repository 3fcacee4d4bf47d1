"""A batch's JSON documents in one reused buffer: read back exactly, never rewritten in use, ~their text's size."""

from __future__ import annotations

import gc
import tracemalloc

import orjson
import pytest

from sync.json_docs import JsonDocs, _Buffers


def test_documents_read_back_as_written_whichever_way() -> None:
    objs = [{"id": "ch_1", "amount": 500}, {"id": "ch_2", "note": "été"}, {}]
    docs = JsonDocs.dump(objs, _Buffers(most=1))
    texts = [orjson.dumps(o) for o in objs]
    assert len(docs) == 3
    assert list(docs) == texts
    assert [docs[0], docs[-1], docs[1:]] == [texts[0], texts[2], texts[1:]]
    assert docs.arrow().to_pylist() == [t.decode() for t in texts]
    with pytest.raises(IndexError):
        docs[3]


def test_extending_appends_after_the_documents_already_there() -> None:
    buffers = _Buffers(most=2)
    docs = JsonDocs.dump([{"a": 1}], buffers)
    docs.extend(JsonDocs.dump([{"b": 2}, {"c": 3}], buffers))
    docs.extend([b'{"d":4}'])
    assert docs.arrow().to_pylist() == ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']


def test_a_buffer_is_taken_again_only_once_its_documents_and_their_arrow_array_are_gone() -> None:
    buffers = _Buffers(most=4)
    first = JsonDocs.dump([{"a": 1}, {"b": 22}], buffers)
    array = first.arrow()
    del first
    gc.collect()
    second = JsonDocs.dump([{"c": 333}], buffers)  # the first buffer is still read by `array`
    assert len(buffers) == 2
    assert array.to_pylist() == ['{"a":1}', '{"b":22}']
    del array
    gc.collect()
    third = JsonDocs.dump([[]], buffers)  # shorter than what the freed buffer held: only its own bytes show
    assert len(buffers) == 2
    assert third.arrow().to_pylist() == ["[]"] and second.arrow().to_pylist() == ['{"c":333}']


def test_extending_a_reused_buffer_writes_after_its_own_documents_not_the_old_ones() -> None:
    buffers = _Buffers(most=1)
    old = JsonDocs.dump([{"long": "x" * 50}], buffers)
    del old
    gc.collect()
    docs = JsonDocs.dump([1], buffers)
    docs.extend([b"2"])
    assert docs.arrow().to_pylist() == ["1", "2"]


def test_a_document_orjson_refuses_leaves_the_pool_usable() -> None:
    buffers = _Buffers(most=1)
    with pytest.raises(TypeError):
        JsonDocs.dump([{"a": 1}, {"b": object()}], buffers)
    gc.collect()
    assert list(JsonDocs.dump([{"c": 3}], buffers)) == [b'{"c":3}'] and len(buffers) == 1


def test_past_its_limit_the_pool_hands_out_buffers_it_does_not_keep() -> None:
    buffers = _Buffers(most=1)
    kept = JsonDocs.dump([1], buffers)
    extra = JsonDocs.dump([2, 3], buffers)
    assert (list(kept), list(extra), len(buffers)) == ([b"1"], [b"2", b"3"], 1)


def test_a_buffer_grown_past_the_largest_kept_is_dropped_once_free(monkeypatch: pytest.MonkeyPatch) -> None:
    buffers = _Buffers(most=3)
    monkeypatch.setattr(_Buffers, "LARGEST", 1000)
    small = JsonDocs.dump([1], buffers)
    big = JsonDocs.dump(["x" * 2000], buffers)
    assert len(buffers) == 2
    del small, big
    gc.collect()
    again = JsonDocs.dump([2], buffers)  # takes the first free buffer; the big one, free too, goes
    assert len(buffers) == 1 and list(again) == [b"2"]


def test_documents_take_about_their_text_not_an_allocation_each() -> None:
    objs = [{"id": f"ch_{i:06d}", "description": "x" * 100} for i in range(2000)]
    text = sum(len(orjson.dumps(o)) for o in objs)
    tracemalloc.start()
    try:
        docs = JsonDocs.dump(objs, _Buffers(most=1))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # orjson's own bytes objects take at least 4 KB each here, ~30 times the text
    assert len(docs) == 2000 and held < 2 * text
