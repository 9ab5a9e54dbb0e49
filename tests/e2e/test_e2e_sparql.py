"""The production server (`escp4i serve`) queried by SPARQLWrapper and rdflib."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from servers import Server, data_dir, start_app_server, start_oxigraph
from sources import partnership_rows
from sparql_texts import RUNAWAY
from SPARQLWrapper import CSV, GET, JSON, POST, POSTDIRECTLY, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from server.build.info import BuildInfo
from server.vocab import graph_iri

PARTNERSHIPS = str(len(partnership_rows()))

pytestmark = pytest.mark.e2e

BASE = "https://w3id.org/escp4i/"
ADPACK = URIRef(BASE + "id/partnership/adpack")
ADPACK_LABEL = "Future Materials and Products for Advanced Smart Packaging"
PARTNERSHIP = URIRef(BASE + "def#Partnership")
LABEL = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "SELECT ?label WHERE { <https://w3id.org/escp4i/id/partnership/adpack> rdfs:label ?label }"
)
COUNT = "SELECT (COUNT(?p) AS ?n) WHERE { ?p a <https://w3id.org/escp4i/def#Partnership> }"
ASK_DATA = f"ASK {{ <{ADPACK}> a <{PARTNERSHIP}> }}"
ASK_ONTOLOGY = (
    "ASK { <https://w3id.org/escp4i/def#Partnership> a <http://www.w3.org/2002/07/owl#Class> }"
)
CONSTRUCT = "CONSTRUCT WHERE { <https://w3id.org/escp4i/id/partnership/adpack> ?p ?o }"
TIMEOUT = 1.5


@pytest.fixture(scope="module")
def site(built: BuildInfo) -> Iterator[Server]:
    """The production server over the session build, with a short query timeout.

    Every test here is one client (127.0.0.1) that warms the workers with 6 queries at once:
    the per-client caps (tested in test_e2e_fairness.py) are lifted for it.
    """
    env = {
        "ESCP_DATA_DIR": data_dir(built),
        "ESCP_QUERY_TIMEOUT": str(TIMEOUT),
        "ESCP_CLIENT_MAX_QUERIES": "16",
    }
    with start_app_server(env) as server:
        yield server


def wrapper(site: Server, query: str, *, method: str = GET, fmt: str = JSON) -> SPARQLWrapper:
    sparql = SPARQLWrapper(site.url + "/sparql")
    sparql.setQuery(query)
    sparql.setMethod(method)
    sparql.setReturnFormat(fmt)
    return sparql


def fetch(request: urllib.request.Request) -> tuple[int, Message, bytes]:
    """Send a request; return status, headers (names case-insensitive, as in HTTP) and body,
    for errors too."""
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        (JSON, "application/sparql-results+json"),
        (XML, "application/sparql-results+xml"),
        (CSV, "text/csv"),
        (TSV, "text/tab-separated-values"),
    ],
)
def test_sparqlwrapper_select_in_each_format(
    site: Server, method: str, fmt: str, media_type: str
) -> None:
    result = wrapper(site, LABEL, method=method, fmt=fmt).query()
    assert result.response.status == 200
    assert result.info()["content-type"].split(";")[0] == media_type
    converted: Any = result.convert()
    if fmt == JSON:
        labels = [b["label"]["value"] for b in converted["results"]["bindings"]]
    elif fmt == XML:
        labels = [n.firstChild.data for n in converted.getElementsByTagName("literal")]
    else:  # SPARQLWrapper hands CSV and TSV over as bytes
        result_rows = Result.parse(io.BytesIO(converted), format=fmt.lower())
        labels = [str(row[0]) for row in result_rows]  # type: ignore[index]
    assert labels == [ADPACK_LABEL]


def test_sparqlwrapper_post_directly_counts_the_partnerships(site: Server) -> None:
    sparql = wrapper(site, COUNT, method=POST)
    sparql.setRequestMethod(POSTDIRECTLY)
    result = sparql.query()
    assert result.info()["content-type"] == "application/sparql-results+json"
    converted: Any = result.convert()
    assert converted["results"]["bindings"][0]["n"]["value"] == PARTNERSHIPS


@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize(("query", "answer"), [(ASK_DATA, True), ("ASK { ?s ?s ?s }", False)])
def test_sparqlwrapper_ask(site: Server, method: str, query: str, answer: bool) -> None:
    result = wrapper(site, query, method=method).query()
    assert result.info()["content-type"] == "application/sparql-results+json"
    converted: Any = result.convert()
    assert converted["boolean"] is answer


@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize(
    ("fmt", "media_type", "rdflib_format"),
    [(TURTLE, "text/turtle", "turtle"), (XML, "application/rdf+xml", "xml")],
)
def test_sparqlwrapper_construct(
    site: Server, method: str, fmt: str, media_type: str, rdflib_format: str
) -> None:
    result = wrapper(site, CONSTRUCT, method=method, fmt=fmt).query()
    assert result.info()["content-type"].split(";")[0] == media_type
    # Parsed here: SPARQLWrapper's own RDF/XML conversion uses rdflib's deprecated ConjunctiveGraph.
    graph = Graph().parse(data=result.response.read(), format=rdflib_format)
    assert (ADPACK, RDF.type, PARTNERSHIP) in graph
    assert (ADPACK, None, Literal(ADPACK_LABEL, lang="en")) in graph


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_malformed_query_raises_query_bad_formed(site: Server, method: str) -> None:
    with pytest.raises(QueryBadFormed, match="expected"):
        wrapper(site, "SELECT * WHERE { ?s ?p }", method=method).query()
    control: Any = wrapper(site, ASK_DATA, method=method).query().convert()
    assert control["boolean"] is True


@pytest.mark.parametrize(
    ("method", "fmt"), [("GET", "xml"), ("POST", "json"), ("POST_FORM", "csv")]
)
def test_rdflib_sparqlstore_select(site: Server, method: str, fmt: str) -> None:
    store = SPARQLStore(site.url + "/sparql", method=method, returnFormat=fmt)
    try:
        found = list(Graph(store=store).query(LABEL))
    finally:
        store.close()
    assert [str(row[0]) for row in found] == [ADPACK_LABEL]  # type: ignore[index]


def test_rdflib_sparqlstore_construct(site: Server) -> None:
    store = SPARQLStore(site.url + "/sparql", returnFormat="xml")
    try:
        graph = Graph(store=store).query(CONSTRUCT).graph
    finally:
        store.close()
    assert graph is not None
    assert (ADPACK, RDF.type, PARTNERSHIP) in graph


def test_rdflib_sparqlstore_queries_a_named_graph_by_default_graph_uri(site: Server) -> None:
    store = SPARQLStore(site.url + "/sparql", returnFormat="json")
    try:
        ontology = Graph(store=store, identifier=URIRef(graph_iri("ontology")))
        data = Graph(store=store, identifier=URIRef(graph_iri("data")))
        assert ontology.query(ASK_ONTOLOGY).askAnswer is True
        assert ontology.query(ASK_DATA).askAnswer is False  # a data triple is not there
        assert data.query(ASK_DATA).askAnswer is True
        assert data.query(ASK_ONTOLOGY).askAnswer is False
    finally:
        store.close()


def test_runaway_query_stops_at_the_timeout_while_another_client_is_served(site: Server) -> None:
    # Warm every server worker's query workers, so the timings measure queries, not startups.
    def count() -> None:
        wrapper(site, COUNT).query().convert()

    warm = [threading.Thread(target=count) for _ in range(6)]
    for thread in warm:
        thread.start()
    for thread in warm:
        thread.join()
    outcome: dict[str, Any] = {}

    def runaway() -> None:
        started = time.monotonic()
        request = urllib.request.Request(
            site.url + "/sparql",
            data=urlencode({"query": RUNAWAY}).encode(),
            headers={"Accept": "application/sparql-results+json"},
        )
        outcome["status"], outcome["headers"], outcome["body"] = fetch(request)
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    answer: Any = wrapper(site, COUNT).query().convert()
    simple = time.monotonic() - started
    thread.join(timeout=30)
    print(  # noqa: T201  # the timings go in the issue's closing note
        f"production server: runaway stopped after {outcome['seconds']:.2f} s "
        f"(limit {TIMEOUT} s), a simple query from another client took {simple:.3f} s"
    )
    assert answer["results"]["bindings"][0]["n"]["value"] == PARTNERSHIPS
    assert simple < 1.0
    assert outcome["status"] == 503
    assert outcome["headers"]["Content-Type"] == "application/problem+json"
    assert outcome["headers"]["Retry-After"] == "5"
    assert json.loads(outcome["body"])["title"] == "Query timed out"
    assert TIMEOUT - 0.1 < outcome["seconds"] < TIMEOUT + 2


def test_deeply_nested_query_does_not_take_the_server_down(site: Server) -> None:
    deep = "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000
    request = urllib.request.Request(
        site.url + "/sparql",
        data=deep.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    status, headers, body = fetch(request)
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert "5000 deep" in json.loads(body)["detail"]
    assert site.process.poll() is None
    result: Any = wrapper(site, COUNT).query().convert()
    assert result["results"]["bindings"][0]["n"]["value"] == PARTNERSHIPS


def _get(site: Server, accept: str = "*/*", **params: str) -> urllib.request.Request:
    return urllib.request.Request(
        f"{site.url}/sparql?{urlencode(params)}", headers={"Accept": accept}
    )


def _post(
    site: Server, body: bytes, content_type: str, method: str = "POST"
) -> urllib.request.Request:
    return urllib.request.Request(
        site.url + "/sparql", data=body, method=method, headers={"Content-Type": content_type}
    )


BAD_REQUESTS: dict[str, tuple[Callable[[Server], urllib.request.Request], int]] = {
    "syntax": (lambda s: _get(s, query="SELECT * {"), 400),
    "empty": (lambda s: _get(s, query=""), 400),
    "service": (lambda s: _get(s, query="ASK { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }"), 400),
    "not-acceptable": (lambda s: _get(s, "image/png", query=COUNT), 406),
    "unknown-format": (lambda s: _get(s, query=COUNT, format="yaml"), 406),
    "update": (lambda s: _post(s, b"CLEAR ALL", "application/sparql-update"), 403),
    "wrong-type": (lambda s: _post(s, COUNT.encode(), "text/plain"), 415),
    "latin-1": (
        lambda s: _post(s, COUNT.encode(), "application/sparql-query; charset=latin1"),
        415,
    ),
    "delete": (lambda s: _post(s, b"", "text/plain", "DELETE"), 405),
    "too-large": (lambda s: _post(s, b"#" * 1_100_000, "application/sparql-query"), 413),
    "browser-syntax": (lambda s: _get(s, "text/html", query="SELECT * {"), 400),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_error_bodies_carry_no_traceback(site: Server, name: str) -> None:
    make, status = BAD_REQUESTS[name]
    code, headers, body = fetch(make(site))
    assert code == status
    text = body.decode()
    assert "Traceback" not in text and 'File "' not in text
    if name.startswith("browser"):
        assert headers["Content-Type"].startswith("text/html")
        assert str(status) in text
    else:
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(text)["status"] == status


def test_app_over_oxigraph_serve_read_only_of_the_build_store(built: BuildInfo) -> None:
    with (
        start_oxigraph(Path(built.path) / "store") as oxigraph,
        start_app_server(
            {
                "ESCP_DATA_DIR": data_dir(built),
                "ESCP_BACKEND": "sparql",
                "ESCP_SPARQL_URL": oxigraph.url + "/query",
            },
            args=["--workers", "1"],
        ) as site,
    ):
        result: Any = wrapper(site, COUNT).query().convert()
        assert result["results"]["bindings"][0]["n"]["value"] == PARTNERSHIPS
        sparql = wrapper(site, ASK_DATA)
        sparql.addDefaultGraph(graph_iri("ontology"))
        answer: Any = sparql.query().convert()
        assert answer["boolean"] is False
        status, _, body = fetch(urllib.request.Request(site.url + "/health"))
        assert status == 200
        assert json.loads(body)["release"] == built.release
