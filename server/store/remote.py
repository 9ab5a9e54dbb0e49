"""A backend over any SPARQL 1.1 endpoint, and loading a build into one."""

from __future__ import annotations

import http.client
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import Message
from typing import Any, Final
from urllib.parse import urlencode

import pyoxigraph as ox

from server.build.info import BuildInfo
from server.errors import BackendUnavailableError, BadGatewayError, QueryTimeoutError
from server.vocab import GRAPHS

from .backend import Dataset, QueryResult, Substitutions
from .dialects import RESULTS_ACCEPT, Dialect, by_name, detect, values_block

log = logging.getLogger(__name__)

__all__ = ["SparqlEndpointStore", "load", "parse_reply", "values_block"]

ACCEPT: Final = RESULTS_ACCEPT
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
#: Counts the release's own graphs only: an engine may hold others (Virtuoso's system graphs).
_COUNT_QUERY: Final = (
    "SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} }} "
    "GROUP BY ?g"
)


class SparqlEndpointStore:
    """Any SPARQL 1.1 Protocol endpoint as a backend: Oxigraph server, Virtuoso, Comunica…

    Queries see the dataset the embedded store gives them on any server, with no server
    setting: a query without FROM is sent with every named graph as ``default-graph-uri``
    and ``named-graph-uri`` (Protocol 2.1.4), so its default graph is their union. (Oxigraph's
    ``--union-default-graph`` would ignore FROM instead.) Where an engine departs from the
    protocol, its ``dialect`` (server/store/dialects.py) makes up the difference; ``"auto"``
    tells Virtuoso by its first reply and takes every other engine as standard. Replies are
    parsed with pyoxigraph into the types ``EmbeddedStore`` returns, and read to the end
    first, so a reply cut short is a 502, never a half result.
    """

    def __init__(self, url: str, *, timeout: float, dialect: str | Dialect = "auto") -> None:
        self.url = url
        self.timeout = timeout
        self._info: BuildInfo | None = None
        self._lock = threading.Lock()
        self._dialect: Dialect | None = None
        if isinstance(dialect, Dialect):
            self._dialect = dialect
        elif dialect != "auto":
            self._dialect = by_name(dialect)

    @property
    def dialect(self) -> Dialect:
        """The engine's dialect: the one given, or the one its first reply shows."""
        if self._dialect is None:
            try:
                self._description()
            except (BackendUnavailableError, BadGatewayError):
                pass  # the query that follows meets the same failure and reports it
        return self._dialect or by_name("standard")

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
            text = self.dialect.substitute(text, substitutions)
        # The protocol has no base parameter: a BASE line does it, the query's own BASE wins.
        prologue = f"BASE {ox.NamedNode(base_iri)}\n" if base_iri else ""
        text, extra = self.dialect.request(
            text, dataset or Dataset(), self._graph_iris, self.timeout
        )
        params = [("query", prologue + text), *extra]
        return self._run(params, added_lines=prologue.count("\n"))

    def close(self) -> None:
        """Nothing to release: each request opens its own connection."""

    def _run(self, params: Sequence[tuple[str, str]], *, added_lines: int = 0) -> QueryResult:
        accept = self._dialect.accept(params[0][1]) if self._dialect else ACCEPT
        body, media_type = self._post(params, accept=accept, added_lines=added_lines)
        if self._dialect is not None:
            body = self._dialect.reply(body, media_type)
        return parse_reply(body, media_type)

    def _post(
        self, params: Sequence[tuple[str, str]], *, accept: str, added_lines: int
    ) -> tuple[bytes, str]:
        request = urllib.request.Request(  # noqa: S310  # the configured http(s) endpoint
            self.url,
            data=urlencode(params).encode(),
            headers={"Accept": accept, "Content-Type": FORM_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310
                self._learn(reply.headers).check(reply.headers, self.timeout)
                return reply.read(), reply.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            with exc:
                message = exc.read(ERROR_QUOTE).decode("utf-8", "replace").strip()
            message = self._learn(exc.headers).message(message)
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

    def _learn(self, headers: Message) -> Dialect:
        if self._dialect is None:
            self._dialect = detect(headers)
            log.info("%s speaks the %s dialect", self.url, self._dialect.name)
        return self._dialect

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
        listed = " ".join(f"<{iri}>" for iri in names)
        counts = self._run([("query", _COUNT_QUERY.format(graphs=listed))])
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


def load(
    store: ox.Store,
    url: str,
    *,
    timeout: float = 60.0,
    user: str | None = None,
    password: str | None = None,
) -> list[tuple[str, int]]:
    """Copy every named graph of a store to a Graph Store Protocol endpoint.

    Each graph is sent with ``PUT <url>?graph=<iri>`` (SPARQL 1.1 Graph Store HTTP Protocol
    5.3), so it replaces that graph and a second load changes nothing. With ``user``, the
    endpoint's Basic or Digest challenge is answered (Virtuoso's ``/sparql-graph-crud-auth``
    takes Digest only).

    :returns: (graph IRI, triples sent) for each graph.
    :raises BackendUnavailableError: when the endpoint cannot be reached.
    :raises BadGatewayError: when it refuses a graph.
    """
    handlers: list[urllib.request.BaseHandler] = []
    if user is not None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, user, password or "")
        handlers += [_SigningDigestAuth(passwords), urllib.request.HTTPBasicAuthHandler(passwords)]
    opener = urllib.request.build_opener(*handlers)
    if user is not None:
        _probe(opener, url, timeout=timeout)
    loaded = []
    for graph in sorted(store.named_graphs(), key=str):
        triples = [quad.triple for quad in store.quads_for_pattern(None, None, None, graph)]
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
        target = url + ("&" if "?" in url else "?") + urlencode({"graph": graph.value})
        _put(opener, target, body, timeout=timeout)
        log.info("loaded %s: %d triples", graph.value, len(triples))
        loaded.append((graph.value, len(triples)))
    return loaded


def _put(opener: urllib.request.OpenerDirector, url: str, body: bytes, *, timeout: float) -> None:
    request = urllib.request.Request(  # noqa: S310  # the http(s) URL the operator gave
        url, data=body, method="PUT", headers={"Content-Type": "application/n-triples"}
    )
    try:
        with opener.open(request, timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        with exc:
            message = exc.read(ERROR_QUOTE).decode("utf-8", "replace").strip()
        raise BadGatewayError(f"{url} refused the graph with {exc.code}: {message}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise BackendUnavailableError(f"{url} cannot be reached: {exc}") from exc


class _SigningDigestAuth(urllib.request.HTTPDigestAuthHandler):
    """Digest authentication that, once challenged, signs each later request up front.

    A large PUT sent unsigned meets the 401 while its body is still going out, and
    ``http.client`` then sees a broken pipe instead of the challenge (STACK.md, early 413).
    """

    challenge: dict[str, str] | None = None

    def retry_http_digest_auth(self, req: urllib.request.Request, auth: str) -> Any:
        _, _, challenge = auth.partition(" ")
        items = urllib.request.parse_http_list(challenge)
        self.challenge = urllib.request.parse_keqv_list([item for item in items if item])
        return super().retry_http_digest_auth(req, auth)

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        if self.challenge is not None and not req.has_header("Authorization"):
            signature = self.get_authorization(req, self.challenge)
            if signature:
                req.add_unredirected_header("Authorization", f"Digest {signature}")
        return req

    https_request = http_request

    def http_error_401(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
    ) -> Any:
        # urllib leaves the challenge's own reply open when it retries, or gives up.
        try:
            retried = super().http_error_401(req, fp, code, msg, headers)
        except urllib.error.HTTPError:
            fp.close()
            raise
        if retried is not None:
            fp.close()
        return retried


def _probe(opener: urllib.request.OpenerDirector, url: str, *, timeout: float) -> None:
    """Meet the endpoint's challenge with a request that has no body."""
    try:
        with opener.open(url, timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (401, 403):
            raise BadGatewayError(f"{url} refused the user and password ({exc.code})") from exc
        # Any other answer (404 for a graph not there yet) means the challenge was met.
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
