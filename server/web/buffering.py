"""Run a WSGI app to the end of its body: what middleware needs to cache or rewrite an answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

Answer = tuple[str, list[tuple[str, str]], bytes]


def run_deferred(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
    """Return the app's status and headers, and its body iterable not yet read."""
    captured: list[tuple[str, list[tuple[str, str]]]] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
        captured.append((status, list(headers)))
        return lambda data: None  # a write() callable: the body comes through the iterable

    result = app(environ, capture)  # type: ignore[arg-type]  # a deferring start_response
    status, headers = captured[-1]
    return status, headers, result


def read_all(result: Iterable[bytes]) -> bytes:
    """Join a body iterable and close it (PEP 3333)."""
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def run_buffered(app: WSGIApplication, environ: WSGIEnvironment) -> Answer:
    """Return the app's status, headers and whole body; the body iterable is closed (PEP 3333).

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"a", b"b"]
    >>> run_buffered(app, {})
    ('200 OK', [('Content-Type', 'text/plain')], b'ab')
    """
    status, headers, result = run_deferred(app, environ)
    return status, headers, read_all(result)
