"""The lean path for the commonest request: ``GET /sparql?query=…`` answered without Flask.

Building Flask's request and response objects, matching the URL and running the hooks cost
more than the query process's hop for a small query (bench/results/profile.md). This WSGI
layer sits where Flask does, inside the caches, the compression and the access log, and takes
only a GET whose parameters are a single ``query``; everything else goes to Flask unchanged.
Queries run through the same ``QueryRunner`` as the endpoint's; a failure is handed to Flask,
which answers it as it answers the endpoint's own (``views.endpoint`` raises it), so errors
keep one renderer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl

from flask import Flask

from server.errors import AppError
from server.store.backend import Dataset
from server.web.cache import asks_fresh
from server.web.negotiation import content_type

from .protocol import Operation
from .runner import CORS_HEADERS, MAX_ROWS_HEADER, ROWS_HEADER, QueryRunner, formats_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Where the fast path leaves a failure for the endpoint to raise.
FAILED: Final = "escp.sparql.failed"
#: The headers ``views.endpoint`` and its ``after_request`` give every answer.
_COMMON: Final = (("Vary", "Accept, Accept-Encoding"), *CORS_HEADERS)


class SparqlFastPath:
    """WSGI layer: answer a plain ``GET /sparql?query=…`` itself, hand the rest to Flask."""

    def __init__(self, app: WSGIApplication, flask_app: Flask) -> None:
        self.app = app
        self.flask_app = flask_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        query = _plain_query(environ)
        if query is None:
            return self.app(environ, start_response)
        runner = QueryRunner.of(self.flask_app)
        formats = formats_for(str(environ.get("HTTP_ACCEPT", "")))
        fresh = asks_fresh(environ)
        operation = Operation(query, Dataset())
        try:
            answer = runner.run(
                operation,
                formats,
                client=str(environ.get("REMOTE_ADDR") or "-"),
                fresh=fresh,
            )
        except AppError as exc:
            environ[FAILED] = exc
            return self.app(environ, start_response)
        offer = formats.offer(answer.form)
        if offer is None:
            # Unreachable while the job carries the formats (the query process refuses a
            # form with none); were it reached, the client gets the 406 the endpoint gives.
            environ[FAILED] = formats.refusal(answer.form)
            return self.app(environ, start_response)
        headers = [
            ("Content-Type", content_type(offer)),
            ("Content-Length", str(len(answer.body))),
            *_COMMON,
            *runner.cache_headers(operation, formats),
        ]
        if answer.rows is not None:
            headers.append((ROWS_HEADER, str(answer.rows)))
            headers.append((MAX_ROWS_HEADER, str(runner.limits.max_rows)))
        start_response("200 OK", headers)
        return [answer.body]


def _plain_query(environ: WSGIEnvironment) -> str | None:
    """Return the query of a ``GET /sparql`` whose only parameter is one non-empty ``query``.

    Anything else (another method or parameter, a format name, graphs, a bad encoding, an
    empty query, a conditional request) is Flask's to answer, with the same result as before
    this path existed.
    """
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") != "/sparql":
        return None
    if "HTTP_IF_NONE_MATCH" in environ:
        return None
    text = str(environ.get("QUERY_STRING", ""))
    if not text.isascii():  # raw bytes: Werkzeug's decoding of them decides
        return None
    try:
        params = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    if len(params) != 1 or params[0][0] != "query" or not params[0][1].strip():
        return None
    return params[0][1]
