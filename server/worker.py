"""Run user queries safely: a lexical screen, then killable worker processes."""

# This file also runs as a script in each worker process (``python -P worker.py STORE MB``), so
# it imports only the standard library and pyoxigraph: importing the ``server`` package pulls in
# Flask, rdflib and pyshacl (0.8 s), while pyoxigraph alone starts in 0.06 s.

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import itertools
import json
import logging
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, TypeAlias

import pyoxigraph as ox

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

QueryResult: TypeAlias = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

#: A thread stack this large lifts pyoxigraph's crash depth from ~3,000 nested groups to over
#: 30,000 (measured); it is address space, committed only when used.
STACK_BYTES: Final = 256 * 1024 * 1024
#: Seconds a new worker may take to import pyoxigraph and open the store.
START_TIMEOUT: Final = 30.0
#: Keywords and operators that each add a level to the algebra pyoxigraph builds recursively.
_NESTING_WORDS: Final = frozenset(
    {"UNION", "OPTIONAL", "MINUS", "FILTER", "BIND", "GRAPH", "EXISTS"}
)
_TOKENS: Final = re.compile(
    r"""
      (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)|\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|$)
                |'(?:[^'\\\n\r]|\\.)*'?|"(?:[^"\\\n\r]|\\.)*"?)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<open>[{(\[])
    | (?P<close>[})\]])
    | (?P<var>[?$]\w+)
    | (?P<word>[^\W\d][\w.-]*(?::[\w.%:-]*)?)
    | (?P<op>\|\||&&|!=|<=|>=|[=<>+\-*/|^!])
    """,
    re.VERBOSE | re.DOTALL,
)


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
class Screen:
    """What the lexical screen found: the deepest bracket nesting and the nesting operators."""

    depth: int
    operators: int
    words: frozenset[str]


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


@dataclass(frozen=True)
class Answer:
    """A serialized query result."""

    media_type: str
    body: bytes
    form: str
    rows: int | None = None


def scan(text: str) -> Screen:
    """Measure a query without parsing it: strings, IRIs and comments are skipped.

    >>> found = scan("SELECT ?s { { ?s ?p '{{' } UNION { ?s ?p ?o } } # {{{{")
    >>> found.depth, found.operators, sorted(found.words)
    (2, 1, ['SELECT', 'UNION'])
    >>> scan("SELECT ?s { ?s ?p ?o FILTER(?o < 3 || ?o > <http://e/x>) }").operators
    4
    """
    depth = deepest = operators = 0
    words: set[str] = set()
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "close":
            depth = max(depth - 1, 0)
        elif kind == "op":
            operators += 1
        elif kind == "word" and ":" not in match.group():
            word = match.group().upper()
            words.add(word)
            operators += word in _NESTING_WORDS
    return Screen(deepest, operators, frozenset(words))


def screen(text: str, *, max_depth: int, max_operators: int) -> None:
    """Refuse a query that could overflow a parser's stack or call other servers.

    :raises QueryRejectedError: naming the limit the query goes past.

    >>> screen("SELECT * " + "{" * 80 + "}" * 80, max_depth=64, max_operators=1000)
    Traceback (most recent call last):
    ...
    server.worker.QueryRejectedError: the query nests brackets 80 deep; the limit is 64
    >>> screen("SELECT * { SERVICE <http://x/> { ?s ?p ?o } }", max_depth=64, max_operators=9)
    Traceback (most recent call last):
    ...
    server.worker.QueryRejectedError: federated queries (SERVICE) are not offered by this endpoint
    """
    found = scan(text)
    if found.depth > max_depth:
        raise QueryRejectedError(
            f"the query nests brackets {found.depth} deep; the limit is {max_depth}"
        )
    if found.operators > max_operators:
        raise QueryRejectedError(
            f"the query has {found.operators} operators (UNION, OPTIONAL, FILTER, ||, + …); "
            f"the limit is {max_operators}"
        )
    # pyoxigraph and Oxigraph server would fetch any URL named in SERVICE from inside our network.
    if "SERVICE" in found.words:
        raise QueryRejectedError("federated queries (SERVICE) are not offered by this endpoint")


def has_dataset_clause(text: str) -> bool:
    """Tell whether a query names its own dataset with FROM or FROM NAMED.

    >>> has_dataset_clause("SELECT * FROM <g> { ?s ?p ?o }")
    True
    >>> has_dataset_clause("SELECT * { ?s <http://e/from> 'FROM' } # FROM")
    False
    """
    if len(text) <= _REMEMBERED_TEXT:
        return _has_dataset_clause(text)
    return "FROM" in scan(text).words


#: Pages and named queries send the same short texts again and again; a bounded
#: number of them, each bounded in size, is remembered.
_REMEMBERED_TEXT: Final = 8192


@functools.lru_cache(maxsize=256)
def _has_dataset_clause(text: str) -> bool:
    return "FROM" in scan(text).words


def dataset_options(
    text: str, default_graphs: Sequence[str], named_graphs: Sequence[str]
) -> dict[str, Any]:
    """Return pyoxigraph's dataset arguments for a query (SPARQL 1.1 Protocol 2.1.4).

    Graphs given with the request replace FROM and FROM NAMED; with none given, the
    query's own clauses apply; with neither, the default graph is the union of all graphs.

    >>> dataset_options("ASK {}", [], [])
    {'use_default_graph_as_union': True}
    >>> dataset_options("ASK FROM <http://e/g> {}", [], [])
    {}
    >>> dataset_options("ASK {}", ["http://e/g"], [])
    {'default_graph': [<NamedNode value=http://e/g>], 'named_graphs': []}
    """
    if default_graphs or named_graphs:
        return {
            "default_graph": [ox.NamedNode(g) for g in default_graphs],
            "named_graphs": [ox.NamedNode(g) for g in named_graphs],
        }
    # pyoxigraph ignores FROM when asked for the union, so ask only when there is no FROM.
    if has_dataset_clause(text):
        return {}
    return {"use_default_graph_as_union": True}


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
    server.worker.TooManyRowsError: the result has more than 1 rows
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


class WorkerPool:
    """Long-lived worker processes that each open the store once; a stuck one is killed.

    pyoxigraph can neither cancel a query nor survive some malformed ones (STACK.md), so user
    queries run here. The first query starts one worker and the rest in the background; a
    worker past its deadline is killed and replaced in the background, and a crash costs one
    process, not the server.
    """

    def __init__(self, store: Path, *, size: int = 2, memory_mb: int = 2048) -> None:
        self.store = store
        self.size = size
        self.memory_mb = memory_mb
        self._idle: list[_Worker] = []
        self._live = 0
        self._closed = False
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self, job: Job, *, timeout: float) -> Answer:
        """Answer a job within ``timeout`` seconds, the wait for a free worker included.

        :raises DeadlineExceededError: past the deadline; the worker running the query is killed.
        :raises WorkerCrashedError: when the worker dies; it is replaced in the background.
        :raises SyntaxError: and the other errors of ``execute``, as it raises them.
        """
        deadline = time.monotonic() + timeout
        worker = self._acquire(deadline)
        try:
            header, body = worker.ask(job, deadline)
        except BaseException:
            self._discard(worker)
            raise
        self._release(worker)
        return _answer(header, body)

    def close(self) -> None:
        """Stop the idle workers now and the busy ones when they finish."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerCrashedError("the query workers are shutting down")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.size:
                    self._live += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceededError(f"all {self.size} query workers stayed busy")
                self._cond.wait(remaining)
        try:
            worker = _Worker(
                self.store, self.memory_mb, min(deadline, time.monotonic() + START_TIMEOUT)
            )
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        self._fill()
        return worker

    def _fill(self) -> None:
        """Start workers in the background until the pool is full, so no client waits for one."""
        with self._cond:
            missing = 0 if self._closed else self.size - self._live
            self._live += missing
        for _ in range(missing):
            threading.Thread(target=self._start_idle, daemon=True).start()

    def _start_idle(self) -> None:
        try:
            worker = _Worker(self.store, self.memory_mb, time.monotonic() + START_TIMEOUT)
        except (QueryError, OSError) as exc:
            log.warning("could not start a query worker: %s", exc)
            with self._cond:
                self._live -= 1
                self._cond.notify()
            return
        self._release(worker)

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._live -= 1
        worker.close()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._live -= 1
            self._cond.notify()
        self._fill()


_POOLS: dict[tuple[int, str, int, int], WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(store: Path, *, size: int, memory_mb: int) -> WorkerPool:
    """Return this process's pool for a store, made on first use; no worker starts yet.

    Apps over the same build share one pool (tests build an app per test), and every pool
    is closed at exit. The process id is part of the key, so a forked server worker never
    reuses its parent's processes.
    """
    key = (os.getpid(), str(store), size, memory_mb)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.closed:
            if not _POOLS:
                atexit.register(close_pools)
            pool = _POOLS[key] = WorkerPool(store, size=size, memory_mb=memory_mb)
        return pool


def close_pools() -> None:
    """Close every pool of this process."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


class _Worker:
    """One worker process, spoken to over its stdin and stdout in length-prefixed frames."""

    def __init__(self, store: Path, memory_mb: int, deadline: float) -> None:
        command = [sys.executable, "-P", str(Path(__file__).resolve()), str(store), str(memory_mb)]
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and script
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            header, _ = self._receive(deadline)
        except BaseException:
            self.kill()
            raise
        if not header.get("ready"):
            self.kill()
            error = header.get("error")
            raise WorkerCrashedError(f"a query worker could not open the store: {error}")
        log.info("query worker %d serves %s", self.process.pid, store)

    def ask(self, job: Job, deadline: float) -> tuple[dict[str, Any], bytes]:
        assert self.process.stdin is not None  # noqa: S101  # set by Popen(stdin=PIPE)
        try:
            _write_frame(self.process.stdin, job.to_json())
        except BrokenPipeError as exc:
            raise WorkerCrashedError(self._death()) from exc
        return self._receive(deadline)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_pipes()

    def close(self) -> None:
        # EOF on stdin ends the worker's loop; kill it if it is still busy.
        self._close_pipes()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()

    def _receive(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        assert self.process.stdout is not None  # noqa: S101  # set by Popen(stdout=PIPE)
        fd = self.process.stdout.fileno()
        prefix = self._read(fd, 12, deadline)
        header_size, body_size = struct.unpack(">IQ", prefix)
        header = json.loads(self._read(fd, header_size, deadline))
        return header, self._read(fd, body_size, deadline)

    def _read(self, fd: int, size: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                log.warning("query worker %d killed at its deadline", self.process.pid)
                raise DeadlineExceededError("the query did not finish in time")
            chunk = os.read(fd, min(size - len(data), 1 << 20))
            if not chunk:
                raise WorkerCrashedError(self._death())
            data += chunk
        return bytes(data)

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the query worker stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"the query worker died of {signal.Signals(-code).name}"
        return f"the query worker exited with status {code}"

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


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


def _answer(header: Mapping[str, Any], body: bytes) -> Answer:
    """Turn a worker's reply back into an Answer, or into the exception it reports."""
    error = header.get("error")
    message = str(header.get("message", ""))
    if error is None:
        return Answer(header["media_type"], body, header["form"], header.get("rows"))
    if error == "syntax":
        raise SyntaxError(message)
    if error == "rows":
        raise TooManyRowsError(int(header["limit"]))
    if error == "format":
        raise NoAcceptableFormatError(str(header["form"]))
    raise EvaluationError(message)


def _reply(store: ox.Store, job: Job) -> tuple[dict[str, Any], bytes]:
    """Answer one job inside a worker, reporting expected failures in the header."""
    try:
        answer = execute(store, job)
    except SyntaxError as exc:
        return {"error": "syntax", "message": str(exc)}, b""
    except TooManyRowsError as exc:
        return {"error": "rows", "limit": exc.limit}, b""
    except NoAcceptableFormatError as exc:
        return {"error": "format", "form": exc.form}, b""
    except EvaluationError as exc:
        return {"error": "evaluation", "message": str(exc)}, b""
    header = {"media_type": answer.media_type, "form": answer.form, "rows": answer.rows}
    return header, answer.body


def _write_frame(stream: IO[bytes], header: Mapping[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header).encode()
    stream.write(struct.pack(">IQ", len(data), len(body)) + data + body)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    prefix = stream.read(12)
    if len(prefix) < 12:
        return None
    header_size, _ = struct.unpack(">IQ", prefix)
    header: dict[str, Any] = json.loads(stream.read(header_size))
    return header


def _serve(store_path: str, memory_mb: int, channel: IO[bytes]) -> None:
    try:
        store = ox.Store.read_only(store_path)
    except OSError as exc:
        _write_frame(channel, {"ready": False, "error": str(exc)})
        return
    _limit_memory(memory_mb)
    try:
        _write_frame(channel, {"ready": True})
        while (request := _read_frame(sys.stdin.buffer)) is not None:
            job = Job(**request)
            header, body = _reply(store, job)
            _write_frame(channel, header, body)
    except BrokenPipeError:
        return  # the server process is gone (stopped mid-request): nobody to answer


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what the worker uses now plus ``memory_mb``.

    Past the cap, pyoxigraph's allocator aborts the process: the pool reports a crash.
    """
    try:
        import resource

        status = Path("/proc/self/status").read_text(encoding="ascii")
    except (ImportError, OSError):
        return  # not Linux: no cap
    match = re.search(r"VmSize:\s+(\d+) kB", status)
    if match:
        limit = (int(match.group(1)) * 1024) + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: Sequence[str]) -> None:
    """Serve jobs on stdin until it closes: the worker process's entry point."""
    store_path, memory_mb = argv[1], int(argv[2])
    # The pool stops workers; a Ctrl-C meant for the server must not print tracebacks here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep the reply channel clean: anything printed goes to stderr instead.
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    threading.stack_size(STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(store_path, memory_mb, channel))
    thread.start()
    thread.join()
    with contextlib.suppress(BrokenPipeError):  # the server process may be gone already
        channel.close()


if __name__ == "__main__":
    main(sys.argv)
