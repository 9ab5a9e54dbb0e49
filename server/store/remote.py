"""A backend over any SPARQL 1.1 endpoint, and loading a build into one."""

from __future__ import annotations

import http.client
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

import pyoxigraph as ox

from server.build.info import BuildInfo
from server.errors import BackendUnavailableError, BadGatewayError, QueryTimeoutError
from server.vocab import GRAPHS

from .backend import Dataset, QueryResult, Substitutions
from .screen import has_dataset_clause

log = logging.getLogger(__name__)

#: SELECT and ASK come back as SPARQL JSON, CONSTRUCT and DESCRIBE as N-Triples: formats that
#: every SPARQL server writes and pyoxigraph reads.
ACCEPT: Final = "application/sparql-results+json, application/n-triples;q=0.9"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
#: How much of an error reply to quote back to the client.
ERROR_QUOTE: Final = 2000
_POSITION: Final = re.compile(r"(\bat |\bline )(\d+)(:|,? column )")

_INFO_QUERY: Final = """\
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX void: <http://rdfs.org/ns/void#>
SELECT ?dataset ?release ?identifier ?modified WHERE {
  GRAPH ?g {
    ?dataset a void:Dataset ; dcat:version ?release ;
      dcterms:identifier ?identifier ; dcterms:modified ?modified .
  }
}
LIMIT 1"""
_COUNT_QUERY: Final = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


class SparqlEndpointStore:
    """Any SPARQL 1.1 Protocol endpoint as a backend: Oxigraph server, Fuseki, QLever…

    Queries see the dataset the embedded store gives them on any server, with no server
    setting: a query without FROM is sent with every named graph as ``default-graph-uri``
    and ``named-graph-uri`` (Protocol 2.1.4), so its default graph is their union. (Oxigraph's
    ``--union-default-graph`` would ignore FROM instead.) Replies are parsed with pyoxigraph
    into the types ``EmbeddedStore`` returns, and read to the end first, so a reply cut
    short is a 502, never a half result.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._info: BuildInfo | None = None
        self._lock = threading.Lock()

    @property
    def info(self) -> BuildInfo:
        """The release the endpoint serves, read once from its dataset description."""
        try:
            return self._description()
        except (BackendUnavailableError, BadGatewayError) as exc:
            # Pages still render (their footer shows the release); queries fail on their own.
            log.warning("no release description from %s: %s", self.url, exc.detail)
            return _unknown_release(self.url)

    def query(
        self,
        text: str,
        *,
        substitutions: Substitutions | None = None,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a query on the endpoint; raise SyntaxError when it answers 400.

        :raises QueryTimeoutError: past the timeout.
        :raises BackendUnavailableError: when the endpoint cannot be reached.
        :raises BadGatewayError: when it answers something that is not a whole result.
        """
        if substitutions:
            text = f"{text}\n{values_block(substitutions)}"
        # The protocol has no base parameter: a BASE line does it, the query's own BASE wins.
        prologue = f"BASE {ox.NamedNode(base_iri)}\n" if base_iri else ""
        dataset = dataset or Dataset()
        if dataset.is_default() and not has_dataset_clause(text):
            graphs = tuple(self._graph_iris())
            dataset = Dataset(default_graphs=graphs, named_graphs=graphs)
        params = [("query", prologue + text)]
        params += [("default-graph-uri", g) for g in dataset.default_graphs]
        params += [("named-graph-uri", g) for g in dataset.named_graphs]
        return self._run(params, added_lines=prologue.count("\n"))

    def close(self) -> None:
        """Nothing to release: each request opens its own connection."""

    def _run(self, params: Sequence[tuple[str, str]], *, added_lines: int = 0) -> QueryResult:
        body, media_type = self._post(params, added_lines=added_lines)
        return parse_reply(body, media_type)

    def _post(self, params: Sequence[tuple[str, str]], *, added_lines: int) -> tuple[bytes, str]:
        request = urllib.request.Request(  # noqa: S310  # the configured http(s) endpoint
            self.url,
            data=urlencode(params).encode(),
            headers={"Accept": ACCEPT, "Content-Type": FORM_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310
                return reply.read(), reply.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            with exc:
                message = exc.read(ERROR_QUOTE).decode("utf-8", "replace").strip()
            raise _http_error(exc.code, message, added_lines) from exc
        except TimeoutError as exc:
            raise QueryTimeoutError(
                f"the SPARQL endpoint did not answer within {self.timeout} s",
                timeout=self.timeout,
            ) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise QueryTimeoutError(
                    f"the SPARQL endpoint did not answer within {self.timeout} s",
                    timeout=self.timeout,
                ) from exc
            raise BackendUnavailableError(
                f"the SPARQL endpoint cannot be reached: {exc.reason}"
            ) from exc
        except (http.client.HTTPException, ConnectionError) as exc:
            raise BadGatewayError(f"the SPARQL endpoint broke off its reply: {exc!r}") from exc

    def _description(self) -> BuildInfo:
        with self._lock:
            if self._info is None:
                self._info = self._read_info()
            return self._info

    def _graph_iris(self) -> list[str]:
        graphs = self._description().graphs
        base = self._description().base_iri
        return [base + GRAPHS[name] if name in GRAPHS else name for name in graphs]

    def _read_info(self) -> BuildInfo:
        # GRAPH ?g finds the description wherever it is, whatever the server's default graph.
        found = self._run([("query", _INFO_QUERY)])
        row = next(iter(found), None) if isinstance(found, ox.QuerySolutions) else None
        if row is None:
            raise BadGatewayError(f"{self.url} holds no ESCP-4i dataset description")
        dataset = _value(row["dataset"])
        base_iri = dataset.removesuffix("dataset")
        release = _value(row["release"])
        names = {base_iri + path: name for name, path in GRAPHS.items()}
        graphs: dict[str, int] = {}
        counts = self._run([("query", _COUNT_QUERY)])
        for solution in counts if isinstance(counts, ox.QuerySolutions) else ():
            graph = _value(solution["g"])
            graphs[names.get(graph, graph)] = int(_value(solution["n"]))
        return BuildInfo(
            release=release,
            version=release.split("+", 1)[0],
            content_hash=_value(row["identifier"]).removeprefix("sha256:"),
            built_at=_value(row["modified"]),
            base_iri=base_iri,
            triples=sum(graphs.values()),
            graphs=graphs,
            path=self.url,
        )


def values_block(substitutions: Substitutions) -> str:
    """Write pre-bound variables as a trailing VALUES block of N-Triples terms.

    >>> c, n = ox.Variable("c"), ox.Variable("n")
    >>> values_block({c: ox.NamedNode("http://e/c"), n: ox.Literal("x")})
    'VALUES (?c ?n) { (<http://e/c> "x") }'
    """
    names = " ".join(str(v) for v in substitutions)
    terms = " ".join(str(t) for t in substitutions.values())
    return f"VALUES ({names}) {{ ({terms}) }}"


def parse_reply(body: bytes, media_type: str) -> QueryResult:
    """Parse a SPARQL reply into pyoxigraph's result types, reading it to the end first.

    :raises BadGatewayError: for a reply that is cut short or in no result format.

    >>> parse_reply(b'{"head":{},"boolean":true}', "application/sparql-results+json")
    <QueryBoolean true>
    >>> cut = b'{"head":{"vars":["x"]},"results":{"bindings":[{'
    >>> parse_reply(cut, "application/sparql-results+json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    server.errors.BadGatewayError: the SPARQL endpoint sent an unreadable reply (cut short?) ...
    """
    results_format = ox.QueryResultsFormat.from_media_type(media_type)
    rdf_format = ox.RdfFormat.from_media_type(media_type)
    try:
        if results_format is not None:
            parsed = ox.parse_query_results(body, results_format)
            if isinstance(parsed, ox.QuerySolutions):
                # Oxigraph server may send 200 and then stop mid-body (STACK.md): read it all.
                for _ in parsed:
                    pass
                return ox.parse_query_results(body, results_format)
            return parsed
        if rdf_format is not None:
            # An in-memory store turns the triples into the QueryTriples the embedded store gives.
            graph = ox.Store()
            graph.load(body, format=rdf_format)
            return graph.query("CONSTRUCT WHERE { ?s ?p ?o }")
    except SyntaxError as exc:
        raise BadGatewayError(
            f"the SPARQL endpoint sent an unreadable reply (cut short?) in {media_type}: "
            + " ".join(str(exc).split())
        ) from exc
    raise BadGatewayError(f"the SPARQL endpoint replied in {media_type}, not a result format")


def load(store: ox.Store, url: str, *, timeout: float = 60.0) -> list[tuple[str, int]]:
    """Copy every named graph of a store to a Graph Store Protocol endpoint.

    Each graph is sent with ``PUT <url>?graph=<iri>`` (SPARQL 1.1 Graph Store HTTP Protocol
    5.3), so it replaces that graph and a second load changes nothing.

    :returns: (graph IRI, triples sent) for each graph.
    :raises BackendUnavailableError: when the endpoint cannot be reached.
    :raises BadGatewayError: when it refuses a graph.
    """
    loaded = []
    for graph in sorted(store.named_graphs(), key=str):
        triples = [quad.triple for quad in store.quads_for_pattern(None, None, None, graph)]
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
        target = url + ("&" if "?" in url else "?") + urlencode({"graph": graph.value})
        _put(target, body, timeout=timeout)
        log.info("loaded %s: %d triples", graph.value, len(triples))
        loaded.append((graph.value, len(triples)))
    return loaded


def _put(url: str, body: bytes, *, timeout: float) -> None:
    request = urllib.request.Request(  # noqa: S310  # the http(s) URL the operator gave
        url, data=body, method="PUT", headers={"Content-Type": "application/n-triples"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
            return
    except urllib.error.HTTPError as exc:
        with exc:
            message = exc.read(ERROR_QUOTE).decode("utf-8", "replace").strip()
        raise BadGatewayError(f"{url} refused the graph with {exc.code}: {message}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise BackendUnavailableError(f"{url} cannot be reached: {exc}") from exc


def _http_error(
    status: int, message: str, added_lines: int
) -> SyntaxError | BackendUnavailableError | BadGatewayError:
    """Translate an error status of the endpoint; its 400 stays a 400, about the user's query."""
    if status == 400:
        return SyntaxError(_shift_lines(message, added_lines))
    if status in (408, 504):
        return QueryTimeoutError(f"the SPARQL endpoint gave up on the query ({status}): {message}")
    if status == 503:
        return BackendUnavailableError(f"the SPARQL endpoint is unavailable: {message}")
    return BadGatewayError(f"the SPARQL endpoint answered {status}: {message}")


def _shift_lines(message: str, lines: int) -> str:
    """Point a parser message at the user's query, before the lines we added.

    >>> _shift_lines("error at 3:5: expected", 1)
    'error at 2:5: expected'
    """
    if not lines:
        return message
    return _POSITION.sub(
        lambda m: f"{m.group(1)}{max(int(m.group(2)) - lines, 1)}{m.group(3)}", message, count=1
    )


def _value(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> str:
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    raise BadGatewayError(f"unexpected term in the dataset description: {term}")


def _unknown_release(url: str) -> BuildInfo:
    return BuildInfo(
        release="unavailable",
        version="",
        content_hash="",
        built_at="",
        base_iri="",
        triples=0,
        graphs={},
        path=url,
    )
