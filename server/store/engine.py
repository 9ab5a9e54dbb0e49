"""Run one job on a pyoxigraph store and serialize its answer, refusing past the row cap."""

from __future__ import annotations

import io
import itertools
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from .jobs import (
    Answer,
    EvaluationError,
    Job,
    NoAcceptableFormatError,
    QueryResult,
    TooManyRowsError,
)
from .screen import dataset_options

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


def execute(store: ox.Store, job: Job) -> Answer:
    """Run a job on a store and serialize its result.

    :raises SyntaxError: for a malformed query, with pyoxigraph's line and column.
    :raises EvaluationError: when the engine refuses the query while running it.
    :raises TooManyRowsError: past ``job.max_rows``.
    :raises NoAcceptableFormatError: when the client accepts no format for the query form.
    """
    try:
        options = dataset_options(job.query, job.default_graphs, job.named_graphs)
        result = store.query(job.query, base_iri=job.base_iri, **options)
        return serialize(result, job)
    except (OSError, RuntimeError, ValueError) as exc:
        raise EvaluationError(" ".join(str(exc).split())) from exc


def serialize(result: QueryResult, job: Job) -> Answer:
    """Serialize a result as the job asks, refusing rather than truncating past the cap.

    >>> store = ox.Store()
    >>> answer = serialize(store.query("SELECT ?x { VALUES ?x { 1 2 } }"), Job("", max_rows=5))
    >>> answer.rows, answer.media_type
    (2, 'application/sparql-results+json')
    >>> serialize(store.query("SELECT ?x { VALUES ?x { 1 2 } }"), Job("", max_rows=1))
    Traceback (most recent call last):
    ...
    server.store.jobs.TooManyRowsError: the result has more than 1 rows
    """
    if isinstance(result, ox.QueryTriples):
        rdf = _format(job.graph, "graph", ox.RdfFormat.from_media_type)
        triples = list(itertools.islice(result, job.max_rows + 1))
        if len(triples) > job.max_rows:
            raise TooManyRowsError(job.max_rows)
        body = ox.serialize(triples, format=rdf, prefixes=dict(job.prefixes) or None)
        return Answer(rdf.media_type, body or b"", "graph", len(triples))
    fmt = _format(job.solutions, "solutions", ox.QueryResultsFormat.from_media_type)
    if isinstance(result, ox.QueryBoolean):
        return Answer(fmt.media_type, result.serialize(format=fmt) or b"", "boolean")
    # Count rows on TSV, one line each (newlines in literals are escaped), then convert:
    # all native, and the counter stops a runaway result at the cap instead of buffering it.
    counter = _LineCounter(job.max_rows + 1)
    result.serialize(counter, format=ox.QueryResultsFormat.TSV)
    tsv = counter.getvalue()
    if fmt != ox.QueryResultsFormat.TSV:
        body = ox.parse_query_results(tsv, ox.QueryResultsFormat.TSV).serialize(format=fmt) or b""
    else:
        body = tsv
    return Answer(fmt.media_type, body, "solutions", counter.lines - 1)


class _LineCounter(io.BytesIO):
    """A buffer that counts the lines written to it and stops the writer past a limit."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.lines = 0
        self.limit = limit

    def write(self, data: ReadableBuffer, /) -> int:
        self.lines += bytes(data).count(b"\n")
        if self.lines > self.limit:
            raise TooManyRowsError(self.limit - 1)
        return super().write(data)


def _format(media_type: str | None, form: str, lookup: Any) -> Any:
    found = lookup(media_type) if media_type else None
    if found is None:
        raise NoAcceptableFormatError(form)
    return found
