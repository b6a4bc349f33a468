"""What is made from the log's records and kept in memory, bounded, and dropped when they are erased.

A cache of something read from records (a compacted record's batches, a session's steps) is a
copy of them: erasing the records must not leave it behind. `SegmentLog.erase` calls `forget`
with what it erased, and every `Kept` drops what was made from any of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from sessionstory.store.records import Location

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """The `size` values used last, by key; `made_from(key)` names the records a value was made from."""

    def __init__(self, size: int, made_from: Callable[[K], Iterable[Location]]) -> None:
        self._size = size
        self._made_from = made_from
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        _everything.append(self)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The kept value, or `make()`'s, kept (made outside the lock: two threads may both make it)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def discard(self, erased: set[Location]) -> None:
        with self._lock:
            for key in [k for k in self._values if not erased.isdisjoint(self._made_from(k))]:
                del self._values[key]


_everything: list[Kept] = []  # type: ignore[type-arg]  # module-level caches only: they live as long as the process


def forget(erased: Iterable[Location]) -> None:
    """Drop every kept value made from any of these records (they are being erased)."""
    gone = set(erased)
    for kept in _everything:
        kept.discard(gone)
