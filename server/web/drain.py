"""Read what is left of a refused request body, so the client can read the refusal.

A server that answers 413 and closes while the client is still sending makes the peer's
TCP stack reset the connection: Python's ``http.client`` (so urllib, requests, SPARQLWrapper)
then sees ``BrokenPipeError`` and never the status. RFC 9112 §9.6 describes the remedy: keep
reading (and discarding) the body for a while before closing. The reading is bounded in bytes
and in time, so a client cannot hold a thread by sending for ever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

CHUNK: Final = 256 * 1024


class DrainRefusedBodies:
    """WSGI middleware: discard what the app left of a body, up to ``max_bytes`` and ``seconds``.

    Any answer may leave a body unread (a 404 for a POST to no route, a 405, a 413); reading
    the rest of a body that was read whole returns at once.
    """

    def __init__(self, app: WSGIApplication, *, max_bytes: int, seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = self.app(environ, start_response)
        if _has_body(environ):
            drained = drain(environ, max_bytes=self.max_bytes, seconds=self.seconds)
            if drained:
                log.info("drained %d unread bytes of a request body", drained)
        return body


def drain(environ: WSGIEnvironment, *, max_bytes: int, seconds: float) -> int:
    """Read and discard the request body up to the bounds; return the bytes read."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return 0
    length = _content_length(environ)
    budget = max_bytes if length is None else min(max_bytes, length)
    deadline = time.monotonic() + seconds
    read = 0
    try:
        while read < budget and time.monotonic() < deadline:
            chunk = stream.read(min(CHUNK, budget - read))
            if not chunk:
                break
            read += len(chunk)
    except (OSError, ValueError):
        pass  # the client went away or the server closed the stream: nothing left to protect
    return read


def _has_body(environ: WSGIEnvironment) -> bool:
    length = _content_length(environ)
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    return chunked or bool(length)


def _content_length(environ: WSGIEnvironment) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
