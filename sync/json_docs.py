"""A batch's raw JSON documents, back to back in one reused buffer with their offsets (the `raw` column)."""

from __future__ import annotations

import io
import sys
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from typing import Any, overload

import numpy as np
import orjson
import pyarrow as pa


class _Buffers:
    """The buffers documents are written into, kept for reuse: a fresh 12 MB buffer per chunk sometimes found no
    hole in glibc's heap, which small objects living across chunks had cut up, and the heap then grew by another
    28 MB (12 MB plus glibc's top pad), so a long load's peak crept up with its length.

    A kept buffer is taken again only once the documents written into it are gone and no Arrow array reads its bytes
    (BytesIO refuses a write while its bytes are exported). At most `most` are kept, none over LARGEST (documents of
    ~4 KB and more on average): those are dropped once free, so big documents pin nothing.
    """

    LARGEST = 16 * 1024 * 1024

    def __init__(self, most: int) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[io.BytesIO, weakref.ref[Any]]] = []
        self._most = most

    def take(self, owner: object) -> io.BytesIO:
        """A buffer to write from its start, in use for as long as `owner` lives and its bytes are exported."""
        with self._lock:
            taken = None
            kept = []
            for buffer, held_by in self._kept:
                if self._is_free(buffer, held_by):
                    if sys.getsizeof(buffer) > self.LARGEST:
                        continue  # free and grown too big: dropped
                    if taken is None:
                        taken, held_by = buffer, weakref.ref(owner)
                kept.append((buffer, held_by))
            if taken is None:
                taken = io.BytesIO()
                if len(kept) < self._most:
                    kept.append((taken, weakref.ref(owner)))
            self._kept = kept
        taken.seek(0)
        return taken

    @staticmethod
    def _is_free(buffer: io.BytesIO, held_by: weakref.ref[Any]) -> bool:
        if held_by() is not None:
            return False
        try:
            buffer.write(b"")  # BufferError while an Arrow array still reads it
        except BufferError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._kept)


# The chunks in flight (store.PIPELINE_DEPTH staged ahead, one being written, one being staged), about two tables'
# documents each; at most ~150 MB kept. More at once get buffers of their own.
BUFFERS = _Buffers(most=8)


class JsonDocs(Sequence[bytes]):
    """Documents as orjson's UTF-8 bytes, in one buffer, with where each one ends.

    orjson gives every document an allocation of its own of at least 4 KB (16 KB for a 3 KB charge): 4,096 charges
    held as a list of bytes took 62 MB where their text is 13 MB. Written into the buffer one by one, each document's
    allocation is freed at once, and `arrow()` hands the buffer to Arrow without a copy.
    """

    __slots__ = ("_buffer", "_ends", "__weakref__")

    def __init__(self, buffers: _Buffers = BUFFERS) -> None:
        self._buffer = buffers.take(self)
        self._ends: list[int] = []

    @classmethod
    def dump(cls, objs: Iterable[Any], buffers: _Buffers = BUFFERS) -> JsonDocs:
        docs = cls(buffers)
        write, dumps = docs._buffer.write, orjson.dumps
        docs._add_lengths([write(dumps(o)) for o in objs])
        return docs

    def _add_lengths(self, lengths: list[int]) -> None:
        ends = accumulate(lengths, initial=self._ends[-1] if self._ends else 0)
        next(ends)
        self._ends.extend(ends)

    def extend(self, docs: Iterable[bytes]) -> None:
        """Append documents (another JsonDocs' or bytes) after these."""
        write = self._buffer.write  # at the end of these: only this object writes to its buffer
        self._add_lengths([write(doc) for doc in docs])

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        ends = self._ends
        index = range(len(ends))[index]  # IndexError past the end; negative indexes count from it
        with self._buffer.getbuffer() as view:
            return bytes(view[ends[index - 1] if index else 0:ends[index]])

    def __iter__(self) -> Iterator[bytes]:
        with self._buffer.getbuffer() as view:
            start = 0
            for end in self._ends:
                yield bytes(view[start:end])
                start = end

    def suspects(self) -> list[int]:
        """Indexes of the documents that may hold a card number or a CVC-like key (sync/redact.py's prefilter)."""
        from sync.redact import suspect_docs

        with self._buffer.getbuffer() as view:
            return suspect_docs(view, self._ends)

    def arrow(self) -> pa.Array:
        """A large_string array over the buffer itself; the buffer is not rewritten while it lives."""
        offsets = np.zeros(len(self._ends) + 1, dtype=np.int64)
        offsets[1:] = self._ends
        end = int(offsets[-1])
        return pa.LargeStringArray.from_buffers(len(self._ends), pa.py_buffer(offsets),
                                                pa.py_buffer(self._buffer.getbuffer()[:end]))
