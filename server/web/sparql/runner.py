"""Running a query operation for an app: the screen, the answer cache, the client's budget, the
engine, and every failure translated once into the error the client gets.

Free of Flask's request globals, so that the Flask endpoint and the lean ``GET /sparql`` path
(``fastpath.py``) run queries through the same code and fail with the same errors.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from flask import Flask
from prometheus_client import Counter
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

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
from server.store.screen import is_volatile, screen
from server.store.workers import WorkerPool, find_malloc, shared_pool
from server.vocab import FAMILIES, PREFIXES, family_namespace
from server.web import metrics
from server.web.cache import AnswerCache
from server.web.freshness import CACHE_CONTROL, NO_STORE, entity_tag
from server.web.negotiation import GRAPHS, SOLUTIONS, Offer, choose, requested_name
from server.web.state import ANSWERS, STATE, State

from . import service
from .fairness import ClientBudgets
from .protocol import Operation

log = logging.getLogger(__name__)

#: Where an app keeps its runner, and its answer cache (``swap.py`` drops the cache).
RUNNER: Final = "escp4i.runner"
#: The result's row count and the endpoint's cap, on every answer with rows.
ROWS_HEADER: Final = "ESCP-Result-Rows"
MAX_ROWS_HEADER: Final = "ESCP-Max-Rows"
#: Every endpoint answer: the data is public and read-only, so any page may query it.
CORS_HEADERS: Final = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", f"{ROWS_HEADER}, {MAX_ROWS_HEADER}"),
)
_POSITION: Final = re.compile(r"\bat (\d+):(\d+)|\bline (\d+),? column (\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Formats:
    """The format a request gets for each query form, negotiated once per request.

    ``None`` where the client accepts none; ``refusals`` then holds the 406 to answer.
    """

    solutions: Offer | None
    graph: Offer | None
    refusals: dict[str, NotAcceptableError] = field(default_factory=dict)

    def offer(self, form: str) -> Offer | None:
        return self.graph if form == "graph" else self.solutions

    def refusal(self, form: str) -> NotAcceptableError:
        """A new 406 for a result of this form ("boolean" results are solutions).

        A copy each time: ``formats_for`` shares one Formats between requests and threads,
        and raising one exception object again and again would grow its traceback.
        """
        kept = self.refusals.get("graph" if form == "graph" else "solutions")
        if kept is None:
            return NotAcceptableError(f"no format for {form} results")
        return NotAcceptableError(kept.detail, **kept.extra)


def negotiate(accept: MIMEAccept, names: Sequence[str]) -> Formats:
    """Negotiate the format of each query form from ``Accept`` and the format parameters."""
    found: dict[str, Offer | None] = {}
    refusals: dict[str, NotAcceptableError] = {}
    for kind, offers in (("solutions", SOLUTIONS), ("graph", GRAPHS)):
        try:
            found[kind] = choose(accept, offers, requested_name(names, offers))
        except NotAcceptableError as exc:
            found[kind], refusals[kind] = None, exc
    return Formats(found["solutions"], found["graph"], refusals)


@functools.lru_cache(maxsize=512)
def formats_for(accept: str) -> Formats:
    """Negotiate for an ``Accept`` header alone (no format parameter), once per distinct value.

    >>> formats_for("text/csv").solutions.name, formats_for("text/csv").graph is None
    ('csv', True)
    >>> formats_for("").solutions.name, formats_for("").graph.name
    ('json', 'ttl')
    """
    return negotiate(parse_accept_header(accept or None, MIMEAccept), ())


class QueryRunner:
    """An app's way to run user queries: its limits, client budgets and query processes."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        config = app.config
        self.limits = service.Limits(
            timeout=float(config["QUERY_TIMEOUT"]),
            max_rows=int(config["MAX_ROWS"]),
            max_bytes=int(config.get("MAX_CONTENT_LENGTH") or 0),
            max_depth=int(config["QUERY_MAX_DEPTH"]),
            max_operators=int(config["QUERY_MAX_OPERATORS"]),
            client_queries=int(config["CLIENT_MAX_QUERIES"]),
            client_seconds=float(config["CLIENT_QUERY_SECONDS"]),
        )
        self.budgets = ClientBudgets(
            max_concurrent=self.limits.client_queries,
            seconds_per_minute=self.limits.client_seconds,
        )
        self._pool: tuple[EmbeddedStore, int, WorkerPool] | None = None

    @classmethod
    def of(cls, app: Flask) -> QueryRunner:
        """Return the app's runner, made on first use."""
        runner: QueryRunner | None = app.extensions.get(RUNNER)
        if runner is None:
            # Keep the app itself, not Flask's context-bound proxy for it.
            unwrap = getattr(app, "_get_current_object", None)
            runner = app.extensions.setdefault(RUNNER, cls(unwrap() if unwrap else app))
        return runner

    @property
    def state(self) -> State:
        # Read per query: the state is replaced when a new release is swapped in.
        state: State = self.app.extensions[STATE]
        return state

    def run(self, operation: Operation, formats: Formats, *, client: str, fresh: bool) -> Answer:
        """Run a query within the limits: in a query process on the embedded store.

        ``fresh`` skips the answer cache (the client sent ``no-cache``). Every failure is
        translated here, once, into the error the client gets.
        """
        state, limits = self.state, self.limits
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
            # The release is immutable: an answer is good until the release changes,
            # unless the query asks for the time, a random number or a new identifier.
            key = self.identity(operation, formats)
            answers = self.answers()
            cached = None if fresh or key is None else answers.get(key)
            if key is not None:
                _counter(
                    metrics.CACHE, cache="answer", result="miss" if cached is None else "hit"
                ).inc()
            if cached is not None:
                _counter(metrics.QUERIES, outcome="cached").inc()
                return cached
            # Only uncached queries cost the engine anything, so only they count against a client.
            with self.budgets.admit(client):
                answer = self._answer(state, job, operation)
            _counter(metrics.QUERIES, outcome="answered").inc()
            if key is not None:
                answers.put(key, answer)
            return answer
        except SyntaxError as exc:
            metrics.QUERIES.labels(outcome="refused").inc()
            message = " ".join(str(exc).split())
            raise BadRequestError(
                f"the query is malformed: {message}", **position(message)
            ) from exc
        except (QueryRejectedError, EvaluationError) as exc:
            metrics.QUERIES.labels(outcome="refused").inc()
            raise BadRequestError(str(exc)) from exc
        except NoAcceptableFormatError as exc:
            raise formats.refusal(exc.form) from exc
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

    def identity(self, operation: Operation, formats: Formats) -> tuple[str, ...] | None:
        """Return what fixes an answer: the release, the operation, the formats, the row cap.

        The answer cache keys on it and the ETag hashes it. None for a volatile query (NOW,
        RAND, UUID, STRUUID), whose answer no cache may keep.
        """
        if is_volatile(operation.query):
            return None
        state = self.state
        return (
            state.backend.info.content_hash,
            state.base_iri,
            operation.query,
            " ".join(operation.dataset.default_graphs),
            " ".join(operation.dataset.named_graphs),
            formats.solutions.media_type if formats.solutions else "",
            formats.graph.media_type if formats.graph else "",
            str(self.limits.max_rows),
        )

    def cache_headers(self, operation: Operation, formats: Formats) -> tuple[tuple[str, str], ...]:
        """Return what HTTP caches may do with a GET answer of this operation.

        An answer is fixed by its :meth:`identity`, so it is public for as long as a page,
        with a strong tag of that identity, and a client that holds the tag needs no new
        run. A volatile query's answer is never stored. (A remote engine that does not say
        which release it holds gets no tag; its queries fail today.)
        """
        identity = self.identity(operation, formats)
        if identity is None:
            return (("Cache-Control", NO_STORE),)
        if not identity[0]:
            return ()
        return (("Cache-Control", CACHE_CONTROL), ("ETag", entity_tag(*identity)))

    def answers(self) -> AnswerCache[Answer]:
        """Return the answer cache of the release served, made on first use."""
        extensions = self.app.extensions
        cache: AnswerCache[Answer] | None = extensions.get(ANSWERS)
        if cache is None:
            cache = extensions.setdefault(
                ANSWERS,
                AnswerCache[Answer](
                    max_bytes=int(self.app.config["ANSWER_CACHE_MB"]) * 2**20,
                    size=lambda a: len(a.body) + 100,
                ),
            )
        return cache

    def _answer(self, state: State, job: Job, operation: Operation) -> Answer:
        """Run a job: in a query process on the embedded store, in process on a remote one."""
        if isinstance(state.backend, EmbeddedStore):
            return self._pool_of(state.backend).run(job, timeout=self.limits.timeout)
        result = state.backend.query(
            operation.query, dataset=operation.dataset, base_iri=state.base_iri
        )
        return serialize(result, job)

    def _pool_of(self, backend: EmbeddedStore) -> WorkerPool:
        """Return the query processes of the store served, remembered per store and process.

        ``shared_pool`` is the authority; asking it on every query cost a path join and a lock.
        """
        remembered = self._pool
        if remembered is not None:
            for_backend, pid, pool = remembered
            if for_backend is backend and pid == os.getpid() and not pool.closed:
                return pool
        config = self.app.config
        pool = shared_pool(
            backend.build_dir / "store",
            size=int(config["QUERY_WORKERS"]),
            memory_mb=int(config["QUERY_MEMORY_MB"]),
            concurrency=int(config["QUERY_CONCURRENCY"]),
            malloc=find_malloc(str(config["QUERY_MALLOC"])),
        )
        self._pool = (backend, os.getpid(), pool)
        return pool


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


@functools.cache
def _counter(family: Counter, **labels: str) -> Counter:
    """Return one labelled child of a metric, looked up once (prometheus-client's advice)."""
    return family.labels(**labels)


@functools.lru_cache(maxsize=8)
def _prefixes(base_iri: str) -> dict[str, str]:
    # Shared between requests: never changed after it is made.
    return {**PREFIXES, **{f: str(family_namespace(f, base_iri)) for f in FAMILIES}}
