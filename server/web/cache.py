"""A bounded, thread-safe LRU cache of serialized answers for one immutable release."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from .buffering import run_buffered

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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


class ResponseCache:
    """WSGI middleware that replays successful GET responses of the immutable release.

    The key is the release, path, query string, ``Accept`` and ``Accept-Encoding``; a
    request with ``Cache-Control: no-cache`` (or ``Pragma``), a conditional request, or a
    path the predicate refuses goes to the application. Only 200 answers without cookies
    whose Cache-Control allows a shared cache to keep them are kept (not ``no-store``,
    ``no-cache`` or ``private``); a replay carries ``ESCP-Cache: hit``.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        release: Callable[[], str],
        max_bytes: int,
        cacheable: Callable[[str], bool],
        on_lookup: Callable[[bool], None] = lambda hit: None,
    ) -> None:
        self.app = app
        self.release = release
        self.cacheable = cacheable
        #: Told of every lookup, hit or miss (the factory counts them in the metrics).
        self.on_lookup = on_lookup
        self.entries = AnswerCache[_Stored](max_bytes=max_bytes, size=lambda e: len(e[2]) + 512)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self.app(environ, start_response)
        stored = self.entries.get(key)
        self.on_lookup(stored is not None)
        if stored is not None:
            status, headers, body = stored
            start_response(status, [*headers, ("ESCP-Cache", "hit")])
            return [body]
        status, headers, body = run_buffered(self.app, environ)
        start_response(status, headers)
        if status.startswith("200") and _storable(headers):
            self.entries.put(key, (status, headers, body))
        return [body]

    def _key(self, environ: WSGIEnvironment) -> tuple[str, ...] | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        path = environ.get("PATH_INFO", "")
        if not self.cacheable(path):
            return None
        if asks_fresh(environ) or "HTTP_IF_NONE_MATCH" in environ:
            return None
        return (
            self.release(),
            path,
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_ACCEPT", ""),
            # The coding chosen depends on the whole header (q-values, br or gzip).
            environ.get("HTTP_ACCEPT_ENCODING", ""),
        )


_Stored = tuple[str, list[tuple[str, str]], bytes]
#: Cache-Control directives by which an answer forbids a shared cache to replay it.
_UNSTORABLE: Final = frozenset({"no-store", "no-cache", "private"})


def directives(value: str) -> set[str]:
    """Return the directive names of a Cache-Control or Pragma value, lower-cased.

    >>> sorted(directives('max-age=0, No-Cache="set-cookie"'))
    ['max-age', 'no-cache']
    >>> directives("")
    set()
    """
    return {part.split("=", 1)[0].strip().lower() for part in value.split(",")} - {""}


def has_no_cache(value: str) -> bool:
    """Tell whether a Cache-Control or Pragma value has the ``no-cache`` directive.

    Read directly: Werkzeug's full parse of the header cost more than the rest of the check.

    >>> has_no_cache("no-cache"), has_no_cache('max-age=0, No-Cache="set-cookie"')
    (True, True)
    >>> has_no_cache(""), has_no_cache("no-store, x-no-cache-please")
    (False, False)
    """
    return "no-cache" in value.lower() and "no-cache" in directives(value)


def asks_fresh(environ: Mapping[str, object]) -> bool:
    """Tell whether a request's ``Cache-Control`` or ``Pragma`` says ``no-cache``."""
    return has_no_cache(str(environ.get("HTTP_CACHE_CONTROL", ""))) or has_no_cache(
        str(environ.get("HTTP_PRAGMA", ""))
    )


def _storable(headers: list[tuple[str, str]]) -> bool:
    """Tell whether an answer may be replayed: no cookie, and its Cache-Control allows it.

    >>> _storable([("Cache-Control", "public, max-age=600")]), _storable([])
    (True, True)
    >>> _storable([("Cache-Control", "no-store")]), _storable([("Set-Cookie", "a=b")])
    (False, False)
    """
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            return False
        if lowered == "cache-control" and not _UNSTORABLE.isdisjoint(directives(value)):
            return False
    return True
