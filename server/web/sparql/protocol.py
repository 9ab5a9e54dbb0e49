"""Reading a SPARQL 1.1 Protocol query operation from a request: the query and its dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin

import pyoxigraph as ox
from flask import Request
from werkzeug.datastructures import MultiDict

from server.errors import BadRequestError, ReadOnlyError, UnsupportedMediaTypeError
from server.store.backend import Dataset
from server.web.state import get_state

QUERY_TYPE: Final = "application/sparql-query"
UPDATE_TYPE: Final = "application/sparql-update"
FORM_TYPE: Final = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Operation:
    """A query operation read from a request (SPARQL 1.1 Protocol 2.1)."""

    query: str
    dataset: Dataset


def read_operation(req: Request) -> Operation | None:
    """Read the one query of a request and its dataset; None for a GET that names no query.

    :raises ReadOnlyError: for an update, by parameter or by body type.
    :raises UnsupportedMediaTypeError: for a POST body that is not a query, or not UTF-8.
    :raises BadRequestError: for a missing, empty or repeated query, or a bad graph IRI.
    """
    params = _parameters(req)
    if "update" in params:
        raise ReadOnlyError("this endpoint is read-only: SPARQL Update is not accepted")
    queries = params.getlist("query")
    if req.method == "POST" and req.mimetype == QUERY_TYPE:
        queries.append(_body_text(req))
    if not queries:
        if req.method in ("GET", "HEAD"):
            return None
        raise BadRequestError("the request has no query: send it as query= or in the body")
    if len(queries) > 1:
        raise BadRequestError(f"the request has {len(queries)} queries; send exactly one")
    text = queries[0]
    if not text.strip():
        raise BadRequestError("the query is empty")
    return Operation(text, _dataset(params))


def _parameters(req: Request) -> MultiDict[str, str]:
    """Return the protocol parameters: the URL's, plus a form body's.

    :raises ReadOnlyError: for an ``application/sparql-update`` body.
    :raises UnsupportedMediaTypeError: for a POST body of another type.
    """
    params: MultiDict[str, str] = MultiDict(req.args)
    if req.method != "POST":
        return params
    if req.mimetype == UPDATE_TYPE:
        raise ReadOnlyError("this endpoint is read-only: SPARQL Update is not accepted")
    if req.mimetype == FORM_TYPE:
        params.update(req.form)
    elif req.mimetype != QUERY_TYPE:
        sent = req.mimetype or "no Content-Type"
        raise UnsupportedMediaTypeError(
            f"a query is POSTed as {FORM_TYPE} or {QUERY_TYPE}, not {sent}",
            accepted=[FORM_TYPE, QUERY_TYPE],
        )
    return params


def _body_text(req: Request) -> str:
    # SPARQL 1.1 Protocol 2.1.3: the body is the query, UTF-8 encoded.
    charset = req.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaTypeError(
            f"a query body must be UTF-8, not {charset}", accepted=[f"{QUERY_TYPE}; charset=utf-8"]
        )
    try:
        return req.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"the query body is not valid UTF-8: {exc.reason}") from exc


def _dataset(params: MultiDict[str, str]) -> Dataset:
    # SPARQL 1.1 Protocol 2.1.4: these replace the query's FROM and FROM NAMED.
    default, named = "default-graph-uri", "named-graph-uri"
    return Dataset(
        default_graphs=tuple(_graph(g, default) for g in params.getlist(default)),
        named_graphs=tuple(_graph(g, named) for g in params.getlist(named)),
    )


def _graph(value: str, parameter: str) -> str:
    """Resolve a graph IRI against the base, as relative IRIs in queries are."""
    iri = urljoin(get_state().base_iri, value.strip())
    try:
        ox.NamedNode(iri)
    except ValueError as exc:
        raise BadRequestError(f"{parameter} {value!r} is not an IRI", parameter=parameter) from exc
    return iri
