"""Named-query API: /api/queries and OpenAPI, from the query catalog."""

from __future__ import annotations

import json
import logging
from typing import Any, Final
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for

from server.build import searchindex
from server.catalog import NamedQuery, Parameter
from server.errors import BadGatewayError, NotFoundError
from server.web.freshness import release_pages
from server.web.negotiation import (
    CSV_RESULTS,
    HTML,
    JSON_RESULTS,
    TSV_RESULTS,
    XML_RESULTS,
    Offer,
    choose,
    content_type,
)
from server.web.state import get_backend, get_catalog, get_search_index

from .openapi import openapi_document

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)
# Named queries answer from the release alone: any cache may keep their answers.
release_pages(bp)

#: A plain JSON array of records, one object per row: what a web developer wants.
RECORDS: Final = Offer("application/json", "records", extension="json")
#: Representations of a named query's answer, default first (as for SPARQL results).
ANSWERS: Final = (JSON_RESULTS, RECORDS, XML_RESULTS, CSV_RESULTS, TSV_RESULTS)
#: A suffix on the query name picks a representation, whatever ``Accept`` says.
SUFFIXES: Final = {
    "json": RECORDS,
    "srj": JSON_RESULTS,
    "srx": XML_RESULTS,
    "csv": CSV_RESULTS,
    "tsv": TSV_RESULTS,
}
INDEX: Final = (Offer("application/json", "json"), HTML)
XSD: Final = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS: Final = frozenset(
    XSD + t
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
_NUMBERS: Final = frozenset(XSD + t for t in ("decimal", "double", "float"))
#: The named query the release's search index answers, with the query's own columns.
INDEXED: Final = "search"


@bp.get("/api/queries")
def index() -> Response:
    """List the named queries with their parameters and links, as JSON or HTML."""
    offer = choose(request.accept_mimetypes, INDEX)
    entries = [describe(query) for query in get_catalog()]
    if offer is HTML:
        response = Response(
            render_template("api.html", queries=entries, openapi=url_for("api.openapi")),
            mimetype="text/html",
        )
    else:
        response = _json(
            {
                "queries": entries,
                "links": {"openapi": url_for("api.openapi"), "editor": _editor_url(None)},
            },
            "application/json",
        )
    return _common_headers(response)


@bp.get("/api/queries/<name>")
def run(name: str) -> Response:
    """Run one named query with the request's parameters; negotiate the representation."""
    stem, _, suffix = name.rpartition(".")
    offer = SUFFIXES.get(suffix) if stem else None
    query = get_catalog().get(stem if offer else name)
    if query is None:
        raise NotFoundError(
            f"no named query {name!r}; the list is at {url_for('api.index')}",
        )
    if offer is None:
        offer = choose(request.accept_mimetypes, ANSWERS)
    text = query.bind(request.args.to_dict(flat=False))
    log.debug("named query %s: %s", query.name, text)
    indexed = _from_index(query) if query.name == INDEXED else None
    try:
        result = indexed if indexed is not None else get_backend().query(text)
    except SyntaxError as exc:
        # The catalog checked the query when it loaded it: a remote engine that refuses it
        # (Virtuoso on some SPARQL 1.1 forms) is the upstream's failure, not the client's.
        raise BadGatewayError(f"the SPARQL engine refused the named query {name!r}: {exc}") from exc
    if not isinstance(result, ox.QuerySolutions):  # pragma: no cover - the catalog checks
        raise TypeError(f"{query.name} did not return solutions")
    if offer.results is None:  # the records offer: the one JSON that is not SPARQL's
        body = json.dumps(records(result), ensure_ascii=False).encode("utf-8")
    else:
        body = result.serialize(format=offer.results) or b""
    response = Response(body, content_type=content_type(offer))
    if offer.extension in ("csv", "tsv"):
        response.headers["Content-Disposition"] = (
            f'inline; filename="{query.name}.{offer.extension}"'
        )
    response.headers["Link"] = (
        f'<{url_for("api.openapi")}>; rel="describedby"; type="application/json", '
        f'<{_editor_url(query.name)}>; rel="alternate"; type="text/html"'
    )
    return _common_headers(response)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """Describe the API in OpenAPI 3.1, generated from the query headers."""
    document = openapi_document(
        get_catalog(), SUFFIXES, version=get_backend().info.release, root=request.script_root
    )
    return _common_headers(_json(document, "application/json"))


def describe(query: NamedQuery) -> dict[str, Any]:
    """Return the index entry of a query: metadata, parameters and links."""
    example = query.example_args()
    run_url = url_for("api.run", name=query.name)
    args = "?" + urlencode(example) if example else ""
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "tags": list(query.tags),
        "parameters": [_parameter_entry(p) for p in query.parameters],
        "variables": list(query.variables),
        "links": {
            "self": run_url,
            "example": run_url + args,
            "formats": {
                suffix: url_for("api.run", name=f"{query.name}.{suffix}") + args
                for suffix in SUFFIXES
            },
            "editor": _editor_url(query.name),
        },
    }


def records(result: ox.QuerySolutions) -> list[dict[str, Any]]:
    """Turn solutions into plain JSON records: every variable a key, unbound as null."""
    names = [v.value for v in result.variables]
    return [{name: plain(solution[name]) for name in names} for solution in result]


def plain(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> Any:
    """Return the JSON value of a term: numbers and booleans typed, everything else text.

    >>> plain(ox.Literal("42", datatype=ox.NamedNode(XSD + "integer")))
    42
    >>> plain(ox.Literal("60.0", datatype=ox.NamedNode(XSD + "decimal")))
    60.0
    >>> plain(ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")))
    True
    >>> plain(ox.Literal("Belgium", language="en"))
    'Belgium'
    >>> plain(ox.NamedNode("https://w3id.org/escp4i/id/country/be"))
    'https://w3id.org/escp4i/id/country/be'
    >>> plain(None) is None
    True
    """
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        try:
            if datatype in _INTEGERS:
                return int(term.value)
            if datatype in _NUMBERS:
                return float(term.value)
        except ValueError:
            return term.value  # an ill-typed literal stays text
        if datatype == XSD + "boolean":
            return term.value in ("true", "1")
        return term.value
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term)


def _from_index(query: NamedQuery) -> ox.QuerySolutions | None:
    """Answer the search from the release's index (parameters already checked), or None."""
    index = get_search_index()
    if index is None:
        return None
    text, generation = request.args.get("q", ""), request.args.get("generation") or None
    rows = index.phrase(text, generation)
    return searchindex.solutions(rows, query.variables, text, generation)


def _parameter_entry(parameter: Parameter) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": parameter.name,
        "type": parameter.type,
        "required": parameter.required,
        "description": parameter.description,
    }
    if parameter.default is not None:
        entry["default"] = parameter.default
    if parameter.enum:
        entry["enum"] = list(parameter.enum)
    if parameter.example is not None:
        entry["example"] = parameter.example
    return entry


def _editor_url(name: str | None) -> str:
    """Return the query editor's URL, opened on one example when a name is given."""
    base = (
        url_for("sparql.endpoint") if "sparql.endpoint" in current_app.view_functions else "/sparql"
    )
    return base + (f"#example={name}" if name else "")


def _json(data: Any, mimetype: str) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype=mimetype)


def _common_headers(response: Response) -> Response:
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
