"""SPARQL 1.1 protocol endpoint and service description."""

from __future__ import annotations

import logging
from typing import Final

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request

from server.web.cache import asks_fresh
from server.web.freshness import not_modified
from server.web.negotiation import (
    GRAPHS,
    HTML,
    PAGES,
    SOLUTIONS,
    Offer,
    choose,
    content_type,
    requested_name,
)
from server.web.state import get_state

from . import query_ui, service
from .fastpath import FAILED
from .protocol import read_operation
from .runner import (
    CORS_HEADERS,
    MAX_ROWS_HEADER,
    ROWS_HEADER,
    Formats,
    QueryRunner,
    formats_for,
    negotiate,
)

log = logging.getLogger(__name__)

bp = Blueprint("sparql", __name__)

#: Parameters clients use to name a format (SPARQLWrapper sends all three).
FORMAT_PARAMETERS: Final = ("format", "output", "results")


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    """Answer a SPARQL query sent by GET or POST, or describe the service."""
    if request.method == "OPTIONS":
        return _preflight()
    failed = request.environ.pop(FAILED, None)
    if failed is not None:  # the fast path ran the query and failed: answer it here
        raise failed
    operation = read_operation(request)
    if operation is None:
        return _describe()
    runner = QueryRunner.of(current_app)
    formats = _formats()
    # POST answers are not cacheable (RFC 9110 §9.3.3 allows it only with Content-Location).
    cache = runner.cache_headers(operation, formats) if request.method != "POST" else ()
    tag = dict(cache).get("ETag")
    if tag is not None and not_modified(tag):
        # The tag names this release's answer to this very operation: nothing to run.
        response = Response(status=304, headers=cache)
        del response.headers["Content-Type"]
        response.vary.add("Accept")
        return response
    fresh = asks_fresh(request.environ)
    answer = runner.run(operation, formats, client=request.remote_addr or "-", fresh=fresh)
    offer = formats.offer(answer.form) or _negotiate(_offers(answer.form))
    response = Response(answer.body, content_type=content_type(offer), headers=cache)
    response.vary.add("Accept")
    if answer.rows is not None:
        response.headers[ROWS_HEADER] = str(answer.rows)
        response.headers[MAX_ROWS_HEADER] = str(runner.limits.max_rows)
    return response


@bp.after_request
def _finish(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    # Results may come gzipped or not (server.web.compress): say so even when they are not,
    # and on a 304 too, which carries the Vary of the answer it stands for (RFC 9110 §15.4.5).
    if response.status_code != 204:
        response.vary.add("Accept-Encoding")
    return response


def _negotiate(offers: tuple[Offer, ...]) -> Offer:
    return choose(request.accept_mimetypes, offers, requested_name(_format_names(), offers))


def _format_names() -> list[str]:
    """The format names the request gives as parameters, in order."""
    values = request.values
    return [v for p in FORMAT_PARAMETERS for v in values.getlist(p)]


def _formats() -> Formats:
    """Negotiate the format of each query form once; None where the client accepts none."""
    names = _format_names()
    if not names:
        return formats_for(request.headers.get("Accept", ""))
    return negotiate(request.accept_mimetypes, names)


def _offers(form: str) -> tuple[Offer, ...]:
    return GRAPHS if form == "graph" else SOLUTIONS


def _describe() -> Response:
    """Answer a GET without a query: the query page for browsers, the description for RDF."""
    offer = _negotiate(PAGES)
    if offer is HTML:
        response = Response(query_ui.query_page(), mimetype="text/html")
    else:
        state = get_state()
        triples = service.description(
            state.backend,
            base_iri=state.base_iri,
            limits=QueryRunner.of(current_app).limits,
            formats=SOLUTIONS + GRAPHS,
        )
        body = ox.serialize(triples, format=offer.rdf, prefixes=service.DESCRIPTION_PREFIXES)
        response = Response(body, content_type=content_type(offer))
    response.vary.add("Accept")
    return response


def _preflight() -> Response:
    """Answer a CORS preflight: any origin may GET and POST queries."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers["Allow"] = "GET, HEAD, POST, OPTIONS"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response
