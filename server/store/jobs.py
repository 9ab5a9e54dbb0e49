"""What passes between a server process and its query processes: jobs, answers, frames, failures.

Imported by the query process too, so only the standard library and pyoxigraph: importing
Flask, rdflib or pyshacl there would cost most of a worker's start (0.8 s against 0.06 s).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

import pyoxigraph as ox

QueryResult: TypeAlias = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


class QueryError(Exception):
    """A query this module refused or could not finish."""


class QueryRejectedError(QueryError):
    """The lexical screen refused the query before any parser saw it."""


class TooManyRowsError(QueryError):
    """The result has more rows (or triples) than the cap allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the result has more than {limit} rows")
        self.limit = limit


class NoAcceptableFormatError(QueryError):
    """The client accepts no format for this query form ("solutions" or "graph")."""

    def __init__(self, form: str) -> None:
        super().__init__(f"no acceptable format for {form} results")
        self.form = form


class EvaluationError(QueryError):
    """The engine refused the query while evaluating it (e.g. an unknown function)."""


class DeadlineExceededError(QueryError):
    """The query, or the wait for a free worker, went past its deadline."""


class WorkerCrashedError(QueryError):
    """The worker process died while answering (a crash, or its memory limit)."""


@dataclass(frozen=True)
class Job:
    """One query to run, with everything needed to answer it; JSON-serializable."""

    query: str
    default_graphs: Sequence[str] = ()
    named_graphs: Sequence[str] = ()
    base_iri: str | None = None
    #: Media type for SELECT/ASK results, or None if the client accepts none.
    solutions: str | None = "application/sparql-results+json"
    #: Media type for CONSTRUCT/DESCRIBE results, or None if the client accepts none.
    graph: str | None = "text/turtle"
    max_rows: int = 100_000
    prefixes: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the fields as JSON values (``dataclasses.asdict`` deep-copies: 0.4 ms).

        >>> from dataclasses import fields
        >>> job = Job("ASK {}", ("http://e/g",))
        >>> job.to_json()["default_graphs"]
        ['http://e/g']
        >>> sorted(job.to_json()) == sorted(f.name for f in fields(Job))
        True
        """
        return {
            "query": self.query,
            "default_graphs": list(self.default_graphs),
            "named_graphs": list(self.named_graphs),
            "base_iri": self.base_iri,
            "solutions": self.solutions,
            "graph": self.graph,
            "max_rows": self.max_rows,
            "prefixes": dict(self.prefixes),
        }

    def to_frame(self) -> tuple[dict[str, Any], bytes]:
        """Return the job as a frame: the query as the raw body, the rest as the header.

        The query is most of a job; sent as UTF-8 bytes it is neither escaped into JSON nor
        parsed out of it again.

        >>> header, body = Job("ASK { ?s ?p 'é' }").to_frame()
        >>> Job.from_frame(header, body) == Job("ASK { ?s ?p 'é' }")
        True
        """
        header = self.to_json()
        del header["query"]
        return header, self.query.encode("utf-8")

    @classmethod
    def from_frame(cls, header: Mapping[str, Any], body: bytes) -> Job:
        """Read back a job that ``to_frame`` wrote."""
        fields = dict(header)
        for name in ("default_graphs", "named_graphs"):
            fields[name] = tuple(fields.get(name, ()))
        return cls(query=body.decode("utf-8"), **fields)


@dataclass(frozen=True)
class Answer:
    """A serialized query result."""

    media_type: str
    body: bytes
    form: str
    rows: int | None = None


def write_frame(stream: IO[bytes], header: Mapping[str, Any], body: bytes = b"") -> None:
    """Write one length-prefixed frame: a JSON header, then raw bytes.

    >>> import io
    >>> buffer = io.BytesIO()
    >>> write_frame(buffer, {"ready": True}, b"xyz")
    >>> _ = buffer.seek(0)
    >>> read_frame(buffer)
    ({'ready': True}, b'xyz')
    """
    data = json.dumps(header).encode()
    stream.write(struct.pack(">IQ", len(data), len(body)) + data + body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    """Read one frame, its header and its body, from a blocking stream; None at its end."""
    prefix = stream.read(12)
    if len(prefix) < 12:
        return None
    header_size, body_size = struct.unpack(">IQ", prefix)
    header: dict[str, Any] = json.loads(stream.read(header_size))
    return header, stream.read(body_size) if body_size else b""
