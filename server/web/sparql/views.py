"""SPARQL 1.1 protocol endpoint and service description."""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass
from typing import Final

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request
from prometheus_client import Counter

from server.errors import (
    BadRequestError,
    NotAcceptableError,
    QueryTimeoutError,
    UnprocessableError,
)
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
from server.store.workers import WorkerPool, shared_pool
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
from .protocol import Operation, read_operation

log = logging.getLogger(__name__)

bp = Blueprint("sparql", __name__)

#: Parameters clients use to name a format (SPARQLWrapper sends all three).
FORMAT_PARAMETERS: Final = ("format", "output", "results")
ROWS_HEADER: Final = "ESCP-Result-Rows"
MAX_ROWS_HEADER: Final = "ESCP-Max-Rows"
_POSITION: Final = re.compile(r"\bat (\d+):(\d+)|\bline (\d+),? column (\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Formats:
    """The formats a request accepts for each query form, negotiated once per request."""

    solutions: Offer | None
    graph: Offer | None

    def offer(self, form: str) -> Offer | None:
        return self.graph if form == "graph" else self.solutions


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    """Answer a SPARQL query sent by GET or POST, or describe the service."""
    if request.method == "OPTIONS":
        return _preflight()
    operation = read_operation(request)
    if operation is None:
        return _describe()
    limits = current_limits()
    formats = _formats()
    answer = run(operation, limits, formats)
    offer = formats.offer(answer.form) or _negotiate(_offers(answer.form))
    response = Response(answer.body, content_type=content_type(offer))
    response.vary.add("Accept")
    if answer.rows is not None:
        response.headers[ROWS_HEADER] = str(answer.rows)
        response.headers[MAX_ROWS_HEADER] = str(limits.max_rows)
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


def run(operation: Operation, limits: service.Limits, formats: Formats) -> Answer:
    """Run a query within the limits: in a worker process on the embedded store.

    Every failure is translated here, once, into the error the client gets.
    """
    state = get_state()
    log.debug("query: %s", operation.query)
    try:
        screen(operation.query, max_depth=limits.max_depth, max_operators=limits.max_operators)
        job = Job(
            query=operation.query,
            default_graphs=tuple(operation.dataset.default_graphs),
            named_graphs=tuple(operation.dataset.named_graphs),
            base_iri=state.base_iri,
            solutions=formats.solutions.media_type if formats.solutions else None,
            graph=formats.graph.media_type if formats.graph else None,
            max_rows=limits.max_rows,
            prefixes=_prefixes(state.base_iri),
        )
        # The release is immutable: an answer is good until the release changes.
        key = _cache_key(job, state.backend.info.release)
        cached = None if _no_cache() else _answers().get(key)
        _counter(metrics.CACHE, cache="answer", result="miss" if cached is None else "hit").inc()
        if cached is not None:
            _counter(metrics.QUERIES, outcome="cached").inc()
            return cached
        # Only uncached queries cost the engine anything, so only they count against a client.
        with _budgets().admit(request.remote_addr or "-"):
            answer = _answer(job, operation, limits)
        _counter(metrics.QUERIES, outcome="answered").inc()
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
        _negotiate(_offers(exc.form))  # raises the 406
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
        return _pool(state.backend).run(job, timeout=limits.timeout)
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


def _pool(backend: EmbeddedStore) -> WorkerPool:
    """Return the query processes of the store served, remembered per app, store and process.

    ``shared_pool`` is the authority; asking it on every query cost a path join and a lock.
    """
    extensions = current_app.extensions
    remembered = extensions.get("escp4i.pool")
    if remembered is not None:
        for_backend, pid, pool = remembered
        if for_backend is backend and pid == os.getpid() and not pool.closed:
            found: WorkerPool = pool
            return found
    config = current_app.config
    found = shared_pool(
        backend.build_dir / "store",
        size=int(config["QUERY_WORKERS"]),
        memory_mb=int(config["QUERY_MEMORY_MB"]),
    )
    extensions["escp4i.pool"] = (backend, os.getpid(), found)
    return found


def _no_cache() -> bool:
    """Return True when the client asks for a fresh answer (a request ``no-cache``)."""
    headers = request.headers
    return _has_no_cache(headers.get("Cache-Control", "")) or _has_no_cache(
        headers.get("Pragma", "")
    )


def _has_no_cache(value: str) -> bool:
    """Tell whether a Cache-Control or Pragma value has the ``no-cache`` directive.

    Read directly: Werkzeug's full parse of the header cost more than the rest of the check.

    >>> _has_no_cache("no-cache"), _has_no_cache('max-age=0, No-Cache="set-cookie"')
    (True, True)
    >>> _has_no_cache(""), _has_no_cache("no-store, x-no-cache-please")
    (False, False)
    """
    if "no-cache" not in value.lower():
        return False
    return any(part.split("=", 1)[0].strip().lower() == "no-cache" for part in value.split(","))


@functools.cache
def _counter(family: Counter, **labels: str) -> Counter:
    """Return one labelled child of a metric, looked up once (prometheus-client's advice)."""
    return family.labels(**labels)


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


def _negotiate(offers: tuple[Offer, ...]) -> Offer:
    return choose(request.accept_mimetypes, offers, requested_name(_format_names(), offers))


def _format_names() -> list[str]:
    """The format names the request gives as parameters, in order."""
    values = request.values
    return [v for p in FORMAT_PARAMETERS for v in values.getlist(p)]


def _formats() -> Formats:
    """Negotiate the format of each query form once; None where the client accepts none."""
    accept, names = request.accept_mimetypes, _format_names()
    found: list[Offer | None] = []
    for offers in (SOLUTIONS, GRAPHS):
        try:
            found.append(choose(accept, offers, requested_name(names, offers)))
        except NotAcceptableError:
            found.append(None)
    return Formats(solutions=found[0], graph=found[1])


def _offers(form: str) -> tuple[Offer, ...]:
    return GRAPHS if form == "graph" else SOLUTIONS


@functools.lru_cache(maxsize=8)
def _prefixes(base_iri: str) -> dict[str, str]:
    # Shared between requests: never changed after it is made.
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
