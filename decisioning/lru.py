"""A small thread-safe least-recently-used cache, for the per-process caches of the app.

``LRU(size)`` keeps at most ``size`` entries; putting one more evicts the least recently used.
``get`` and ``get_or_make`` mark the entry they find as recently used; ``peek`` does not.
``get_or_make(key, make)`` calls ``make`` outside the lock, so a slow ``make`` (a compile, a lint,
a PDF) never holds up readers of other keys; two threads missing the same key at once may both
make it, and the last one put wins. ``None`` stands for a miss: do not store ``None`` as a value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``size`` values by key, the least recently used evicted first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"an LRU keeps at least one entry, not {size}")
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value under ``key``, now the most recently used, or ``None``."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def peek(self, key: K) -> V | None:
        """The value under ``key``, or ``None``, leaving the order of use as it is."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` as the most recently used; evict beyond ``size``."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value under ``key``; on a miss, ``make()`` (outside the lock), kept and returned.
        An exception from ``make`` is raised and nothing is kept."""
        found = self.get(key)
        if found is not None:
            return found
        value = make()
        self.put(key, value)
        return value

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or ``None`` if it was not there."""
        with self._lock:
            return self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
