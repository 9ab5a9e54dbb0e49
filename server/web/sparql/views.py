"""SPARQL 1.1 protocol endpoint and service description."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin

import pyoxigraph as ox
from flask import Blueprint, Request, Response, current_app, request
from werkzeug.datastructures import MultiDict

from server.errors import (
    BadRequestError,
    NotAcceptableError,
    QueryTimeoutError,
    ReadOnlyError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from server.store.backend import Dataset
from server.store.embedded import EmbeddedStore
from server.store.engine import serialize
from server.store.jobs import (
    Answer,
    DeadlineExceededError,
    EvaluationError,
    Job,
    NoAcceptableFormatError,
    QueryRejectedError,
    TooManyRowsError,
    WorkerCrashedError,
)
from server.store.screen import screen
from server.store.workers import shared_pool
from server.vocab import FAMILIES, PREFIXES, family_namespace
from server.web import metrics
from server.web.cache import AnswerCache
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
from .fairness import ClientBudgets

log = logging.getLogger(__name__)

bp = Blueprint("sparql", __name__)

QUERY_TYPE: Final = "application/sparql-query"
UPDATE_TYPE: Final = "application/sparql-update"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
#: Parameters clients use to name a format (SPARQLWrapper sends all three).
FORMAT_PARAMETERS: Final = ("format", "output", "results")
ROWS_HEADER: Final = "ESCP-Result-Rows"
MAX_ROWS_HEADER: Final = "ESCP-Max-Rows"
_POSITION: Final = re.compile(r"\bat (\d+):(\d+)|\bline (\d+),? column (\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Operation:
    """A query operation read from a request (SPARQL 1.1 Protocol 2.1)."""

    query: str
    dataset: Dataset


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    """Answer a SPARQL query sent by GET or POST, or describe the service."""
    if request.method == "OPTIONS":
        return _preflight()
    operation = read_operation(request)
    if operation is None:
        return _describe()
    answer = run(operation)
    offer = _negotiate(GRAPHS if answer.form == "graph" else SOLUTIONS)
    response = Response(answer.body, content_type=content_type(offer))
    response.vary.add("Accept")
    if answer.rows is not None:
        response.headers[ROWS_HEADER] = str(answer.rows)
        response.headers[MAX_ROWS_HEADER] = str(current_limits().max_rows)
    return response


@bp.after_request
def _finish(response: Response) -> Response:
    # The data is public and read-only: any page may query it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = f"{ROWS_HEADER}, {MAX_ROWS_HEADER}"
    # Results may come gzipped or not (server.web.compress): say so even when they are not.
    if response.status_code not in (204, 304):
        response.vary.add("Accept-Encoding")
    return response


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


def run(operation: Operation) -> Answer:
    """Run a query within the limits: in a worker process on the embedded store.

    Every failure is translated here, once, into the error the client gets.
    """
    state = get_state()
    limits = current_limits()
    log.debug("query: %s", operation.query)
    try:
        screen(operation.query, max_depth=limits.max_depth, max_operators=limits.max_operators)
        job = Job(
            query=operation.query,
            default_graphs=tuple(operation.dataset.default_graphs),
            named_graphs=tuple(operation.dataset.named_graphs),
            base_iri=state.base_iri,
            solutions=_acceptable(SOLUTIONS),
            graph=_acceptable(GRAPHS),
            max_rows=limits.max_rows,
            prefixes=_prefixes(state.base_iri),
        )
        # The release is immutable: an answer is good until the release changes.
        key = _cache_key(job, state.backend.info.release)
        cached = None if _no_cache() else _answers().get(key)
        metrics.CACHE.labels(cache="answer", result="miss" if cached is None else "hit").inc()
        if cached is not None:
            metrics.QUERIES.labels(outcome="cached").inc()
            return cached
        # Only uncached queries cost the engine anything, so only they count against a client.
        with _budgets().admit(request.remote_addr or "-"):
            answer = _answer(job, operation, limits)
        metrics.QUERIES.labels(outcome="answered").inc()
        _answers().put(key, answer)
        return answer
    except SyntaxError as exc:
        metrics.QUERIES.labels(outcome="refused").inc()
        message = " ".join(str(exc).split())
        raise BadRequestError(f"the query is malformed: {message}", **position(message)) from exc
    except (QueryRejectedError, EvaluationError) as exc:
        metrics.QUERIES.labels(outcome="refused").inc()
        raise BadRequestError(str(exc)) from exc
    except NoAcceptableFormatError as exc:
        _negotiate(GRAPHS if exc.form == "graph" else SOLUTIONS)  # raises the 406
        raise
    except TooManyRowsError as exc:
        metrics.QUERIES.labels(outcome="too_large").inc()
        raise UnprocessableError(
            f"the result has more than {exc.limit} rows, the most this endpoint returns; "
            "narrow the query or page through it with LIMIT and OFFSET",
            max_rows=exc.limit,
        ) from exc
    except DeadlineExceededError as exc:
        metrics.QUERIES.labels(outcome="timeout").inc()
        raise QueryTimeoutError(
            f"{exc}: the limit is {limits.timeout} s per query",
            timeout=limits.timeout,
            retry_after=5,
        ) from exc
    except WorkerCrashedError as exc:
        metrics.QUERIES.labels(outcome="crashed").inc()
        raise UnprocessableError(
            f"the query engine stopped on this query ({exc}); it may need more memory than "
            "the limit allows. The engine has been restarted for the next query."
        ) from exc


def _answer(job: Job, operation: Operation, limits: service.Limits) -> Answer:
    """Run a job: in a worker process on the embedded store, in process on a remote one."""
    state = get_state()
    if isinstance(state.backend, EmbeddedStore):
        config = current_app.config
        pool = shared_pool(
            state.backend.build_dir / "store",
            size=int(config["QUERY_WORKERS"]),
            memory_mb=int(config["QUERY_MEMORY_MB"]),
        )
        return pool.run(job, timeout=limits.timeout)
    result = state.backend.query(
        operation.query, dataset=operation.dataset, base_iri=state.base_iri
    )
    return serialize(result, job)


def _cache_key(job: Job, release: str) -> tuple[object, ...]:
    return (
        release,
        job.query,
        tuple(job.default_graphs),
        tuple(job.named_graphs),
        job.base_iri,
        job.solutions,
        job.graph,
        job.max_rows,
    )


def _no_cache() -> bool:
    """Return True when the client asks for a fresh answer (a request ``no-cache``)."""
    return bool(request.cache_control.no_cache) or "no-cache" in request.pragma


def _budgets() -> ClientBudgets:
    """Return the app's per-client query budgets, made on first use."""
    extensions = current_app.extensions
    if "escp4i.budgets" not in extensions:
        config = current_app.config
        extensions["escp4i.budgets"] = ClientBudgets(
            max_concurrent=int(config["CLIENT_MAX_QUERIES"]),
            seconds_per_minute=float(config["CLIENT_QUERY_SECONDS"]),
        )
    budgets: ClientBudgets = extensions["escp4i.budgets"]
    return budgets


def _answers() -> AnswerCache[Answer]:
    """Return the app's answer cache, made on first use."""
    extensions = current_app.extensions
    if "escp4i.answers" not in extensions:
        extensions["escp4i.answers"] = AnswerCache[Answer](
            max_bytes=int(current_app.config["ANSWER_CACHE_MB"]) * 2**20,
            size=lambda a: len(a.body) + 100,
        )
    cache: AnswerCache[Answer] = extensions["escp4i.answers"]
    return cache


def current_limits() -> service.Limits:
    """Return the limits of the current application."""
    config = current_app.config
    return service.Limits(
        timeout=float(config["QUERY_TIMEOUT"]),
        max_rows=int(config["MAX_ROWS"]),
        max_bytes=int(config.get("MAX_CONTENT_LENGTH") or 0),
        max_depth=int(config["QUERY_MAX_DEPTH"]),
        max_operators=int(config["QUERY_MAX_OPERATORS"]),
        client_queries=int(config["CLIENT_MAX_QUERIES"]),
        client_seconds=float(config["CLIENT_QUERY_SECONDS"]),
    )


def position(message: str) -> dict[str, int]:
    """Return the line and column a parser message points at, if it names them.

    >>> position("error at 2:7: expected one of ...")
    {'line': 2, 'column': 7}
    >>> position("Lexical error at line 3, column 12.")
    {'line': 3, 'column': 12}
    >>> position("no position")
    {}
    """
    match = _POSITION.search(message)
    if match is None:
        return {}
    numbers = [int(g) for g in match.groups() if g is not None]
    return {"line": numbers[0], "column": numbers[1]}


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


def _negotiate(offers: tuple[Offer, ...]) -> Offer:
    names = [v for p in FORMAT_PARAMETERS for v in request.values.getlist(p)]
    return choose(request.accept_mimetypes, offers, requested_name(names, offers))


def _acceptable(offers: tuple[Offer, ...]) -> str | None:
    """Return the media type the client wants for one query form, None if none fits."""
    try:
        return _negotiate(offers).media_type
    except NotAcceptableError:
        return None


def _prefixes(base_iri: str) -> dict[str, str]:
    return {**PREFIXES, **{f: str(family_namespace(f, base_iri)) for f in FAMILIES}}


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
            limits=current_limits(),
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
