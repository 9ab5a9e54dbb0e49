"""Compress answers that pay for it: gzip, or brotli when the client prefers it and it is here.

WSGI middleware inside the response cache, so a compressed answer is cached once per coding.
A compressed representation has its own strong ETag (the app's with ``-gzip`` or ``-br``
inside the quotes, RFC 9110 §8.8.3), and a client's conditional request with such a tag is
checked by the app against its own tag, so 304s keep working per coding.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from werkzeug.datastructures import Headers
from werkzeug.http import parse_accept_header

try:
    import brotli
except ImportError:  # the kept library is optional: gzip alone then
    brotli = None

from .buffering import read_all, run_deferred

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Smaller bodies go out as they are: compression would save too little to pay.
MIN_BYTES: Final = 1024
#: gzip level 1 and brotli quality 4: most of the saving for a small part of the time (level 1
#: gzips 1.3 MB of SPARQL JSON to 115 KB in 10 ms; level 6 saves 28 KB more in 39 ms).
GZIP_LEVEL: Final = 1
BROTLI_QUALITY: Final = 4
_COMPRESSIBLE: Final = re.compile(
    r"text/|application/(json|.*\+json|.*\+xml|xml|ld\+json|n-triples|n-quads|trig|"
    r"javascript|sparql-results\+(json|xml))|image/svg\+xml"
)
_SUFFIX: Final = re.compile(r'-(gzip|br)"$')


class Compress:
    """WSGI middleware: compress eligible 200 answers in the coding the client prefers."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        coding = choose(str(environ.get("HTTP_ACCEPT_ENCODING", "")))
        if coding is None or environ.get("REQUEST_METHOD") == "HEAD":
            # Uncompressed, but a cache in front must still know the answer depends on it.
            return self.app(environ, _varying(start_response))
        if "HTTP_IF_NONE_MATCH" in environ:
            # The app knows its own tags: give it back the tag without our suffix.
            tags = [_SUFFIX.sub('"', t.strip()) for t in environ["HTTP_IF_NONE_MATCH"].split(",")]
            environ["HTTP_IF_NONE_MATCH"] = ", ".join(tags)
        status, raw, result = run_deferred(self.app, environ)
        headers = Headers(raw)
        if not (status.startswith("304") or _compressible(status, headers)):
            # Not ours to compress (a dump, an image, an error): passed through unread.
            start_response(status, raw)
            return result
        body = read_all(result)
        if status.startswith("304"):
            _tag(headers, coding)
        elif _eligible(status, headers, body):
            body = compress(body, coding)
            headers["Content-Encoding"] = coding
            headers["Content-Length"] = str(len(body))
            _tag(headers, coding)
        if status.startswith(("200", "304")):
            _vary(headers)
        start_response(status, headers.to_wsgi_list())
        return [body]


def _varying(start_response: StartResponse) -> StartResponse:
    """Add ``Vary: Accept-Encoding`` to the answers this layer would have compressed."""

    def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        # Read the list as it is: most answers need no change, and a Headers copy of every
        # one cost a tenth of a small query's time in this process.
        if status.startswith(("200", "304")) and not _varies_on_coding(headers):
            found = Headers(headers)
            if status.startswith("304") or _compressible(status, found):
                _vary(found)
                headers = found.to_wsgi_list()
        return start_response(status, headers, exc_info)

    return respond


def choose(accept_encoding: str) -> str | None:
    """Return the coding to use for an ``Accept-Encoding``, or None for none.

    >>> choose("gzip, deflate, br") == ("br" if brotli else "gzip")
    True
    >>> choose("gzip;q=0, identity"), choose("")
    (None, None)
    """
    accepted = parse_accept_header(accept_encoding)
    offers = (["br"] if brotli is not None else []) + ["gzip"]
    best = accepted.best_match(offers)
    return best if best and accepted[best] > 0 else None


def compress(body: bytes, coding: str) -> bytes:
    """Return the body in the coding.

    >>> gzip.decompress(compress(b"x" * 2000, "gzip")) == b"x" * 2000
    True
    """
    if coding == "br" and brotli is not None:
        packed: bytes = brotli.compress(body, quality=BROTLI_QUALITY)
        return packed
    return gzip.compress(body, compresslevel=GZIP_LEVEL)


def _compressible(status: str, headers: Headers) -> bool:
    return (
        status.startswith("200")
        and "Content-Encoding" not in headers
        and bool(_COMPRESSIBLE.match(headers.get("Content-Type", "")))
    )


def _eligible(status: str, headers: Headers, body: bytes) -> bool:
    return _compressible(status, headers) and len(body) >= MIN_BYTES


def _tag(headers: Headers, coding: str) -> None:
    etag = headers.get("ETag")
    if etag and etag.endswith('"') and not _SUFFIX.search(etag):
        headers["ETag"] = f'{etag[:-1]}-{coding}"'


def _varies_on_coding(headers: list[tuple[str, str]]) -> bool:
    """Tell whether a header list already says ``Vary: Accept-Encoding``.

    >>> _varies_on_coding([("Vary", "Accept, accept-encoding")]), _varies_on_coding([])
    (True, False)
    """
    return any(
        name.lower() == "vary" and "accept-encoding" in value.lower() for name, value in headers
    )


def _vary(headers: Headers) -> None:
    values = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    if not any(v.lower() == "accept-encoding" for v in values):
        headers["Vary"] = ", ".join([*values, "Accept-Encoding"])
