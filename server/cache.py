"""A bounded, thread-safe LRU cache of serialized answers for one immutable release."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class AnswerCache(Generic[V]):
    """Keep the most recently used answers, up to a total size in bytes.

    The data is an immutable release, so an answer never goes stale: keys carry the
    release, and nothing else invalidates them.

    >>> cache = AnswerCache[bytes](max_bytes=10, size=len)
    >>> cache.put("a", b"12345"); cache.put("b", b"67890"); cache.get("a")
    b'12345'
    >>> cache.put("c", b"xyz")  # evicts "b", the least recently used
    >>> cache.get("b") is None, cache.get("c")
    (True, b'xyz')
    >>> cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    >>> cache.get("huge") is None
    True
    """

    def __init__(self, *, max_bytes: int, size: Callable[[V], int]) -> None:
        self._max = max_bytes
        self._size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: V) -> None:
        n = self._size(value)
        if n > self._max:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= self._size(old)
            self._items[key] = value
            self._bytes += n
            while self._bytes > self._max:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= self._size(evicted)
