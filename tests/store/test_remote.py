"""The remote backend over a real Oxigraph server, and `escp4i load-remote`."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from servers import Server, data_dir, free_port, start_oxigraph
from sources import partnership_rows

from server.build.info import BuildInfo
from server.cli import main
from server.errors import BackendUnavailableError, QueryTimeoutError
from server.store import remote
from server.store.backend import Dataset
from server.store.embedded import EmbeddedStore
from server.vocab import graph_iri
from server.web.errors import PROBLEM_JSON
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
SELECT = (
    "SELECT ?p ?label WHERE { ?p a <https://w3id.org/escp4i/def#Partnership> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label }"
)
CONSTRUCT = "CONSTRUCT WHERE { <https://w3id.org/escp4i/id/partnership/adpack> ?p ?o }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"


@pytest.fixture(scope="module")
def oxigraph(store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A writable Oxigraph server loaded with the session build through the Graph Store Protocol."""
    with start_oxigraph(tmp_path_factory.mktemp("oxigraph"), writable=True) as server:
        remote.load(store.store, server.url + "/store")
        yield server


@pytest.fixture()
def endpoint(oxigraph: Server) -> remote.SparqlEndpointStore:
    return remote.SparqlEndpointStore(oxigraph.url + "/query", timeout=10)


def rows(result: object) -> set[tuple[str, ...]]:
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return {tuple(str(s[n]) for n in names) for s in result}


def test_remote_select_returns_the_solutions_of_the_embedded_store(
    endpoint: remote.SparqlEndpointStore, store: EmbeddedStore
) -> None:
    found = endpoint.query(SELECT)
    assert isinstance(found, ox.QuerySolutions)
    assert [v.value for v in found.variables] == ["p", "label"]
    expected = rows(store.query(SELECT))
    assert len(expected) == len(partnership_rows())
    assert rows(found) == expected


def test_remote_construct_returns_the_triples_of_the_embedded_store(
    endpoint: remote.SparqlEndpointStore, store: EmbeddedStore
) -> None:
    found = endpoint.query(CONSTRUCT)
    assert isinstance(found, ox.QueryTriples)
    expected = set(store.query(CONSTRUCT))  # type: ignore[arg-type]
    assert len(expected) > 10
    assert set(found) == expected


@pytest.mark.parametrize(
    ("query", "answer"), [("ASK { ?s ?p ?o }", True), ("ASK { ?s ?s ?s }", False)]
)
def test_remote_ask_returns_a_query_boolean(
    endpoint: remote.SparqlEndpointStore, query: str, answer: bool
) -> None:
    found = endpoint.query(query)
    assert isinstance(found, ox.QueryBoolean)
    assert bool(found) is answer


def test_remote_info_reads_the_release_from_the_meta_graph(
    endpoint: remote.SparqlEndpointStore, built: BuildInfo
) -> None:
    info = endpoint.info
    assert info.release == built.release
    assert info.content_hash == built.content_hash
    assert info.base_iri == built.base_iri
    assert info.graphs == built.graphs
    assert info.triples == built.triples


def test_remote_default_graph_is_the_union_but_from_still_applies(
    endpoint: remote.SparqlEndpointStore, built: BuildInfo
) -> None:
    assert rows(endpoint.query(COUNT)) == {
        (f'"{built.triples}"^^<http://www.w3.org/2001/XMLSchema#integer>',)
    }
    query = COUNT.replace("WHERE", f"FROM <{graph_iri('ontology')}> WHERE")
    assert rows(endpoint.query(query)) == {
        (f'"{built.graphs["ontology"]}"^^<http://www.w3.org/2001/XMLSchema#integer>',)
    }
    only_data = endpoint.query(COUNT, dataset=Dataset(default_graphs=(graph_iri("data"),)))
    assert rows(only_data) == {
        (f'"{built.graphs["data"]}"^^<http://www.w3.org/2001/XMLSchema#integer>',)
    }


def test_remote_substitutions_bind_variables(endpoint: remote.SparqlEndpointStore) -> None:
    adpack = ox.NamedNode("https://w3id.org/escp4i/id/partnership/adpack")
    found = endpoint.query(SELECT, substitutions={ox.Variable("p"): adpack})
    assert rows(found) == {
        (str(adpack), '"Future Materials and Products for Advanced Smart Packaging"@en')
    }


def test_remote_relative_iris_resolve_against_the_base(
    endpoint: remote.SparqlEndpointStore,
) -> None:
    found = endpoint.query(
        "ASK { <id/partnership/adpack> a <def#Partnership> }", base_iri="https://w3id.org/escp4i/"
    )
    assert isinstance(found, ox.QueryBoolean)
    assert bool(found) is True


def test_remote_syntax_error_points_at_the_users_line(
    endpoint: remote.SparqlEndpointStore,
) -> None:
    with pytest.raises(SyntaxError, match=r"at 2:\d+"):
        endpoint.query("SELECT *\nWHERE { ?s ?p }", base_iri="https://w3id.org/escp4i/")


def test_oxigraph_serves_the_build_store_directly_and_times_out(
    built: BuildInfo, store: EmbeddedStore
) -> None:
    # The same store folder is open read-only here and in the query workers: RocksDB allows it.
    with start_oxigraph(Path(built.path) / "store") as server:
        endpoint = remote.SparqlEndpointStore(server.url + "/query", timeout=1)
        assert endpoint.info.release == built.release
        assert rows(endpoint.query(SELECT)) == rows(store.query(SELECT))
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError, match="1 s"):
            endpoint.query(RUNAWAY)
        assert time.monotonic() - started < 3


def test_unreachable_endpoint_returns_503(store: EmbeddedStore) -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    with pytest.raises(BackendUnavailableError, match="cannot be reached"):
        remote.SparqlEndpointStore(url, timeout=2).query(COUNT)
    client = _client(url)
    resp = client.get("/sparql", query_string={"query": COUNT})
    assert resp.status_code == 503
    assert resp.mimetype == PROBLEM_JSON
    assert resp.headers["Retry-After"]
    assert "cannot be reached" in resp.get_json()["detail"]
    assert resp.get_json()["status"] == 503
    page = client.get("/", headers={"Accept": "text/html"})  # pages still render a footer
    assert "Traceback" not in page.get_data(as_text=True)


class _CutShort(http.server.BaseHTTPRequestHandler):
    """Answers 200 and then stops mid-body, as Oxigraph server does on a timeout."""

    def do_POST(self) -> None:  # noqa: N802  # the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"head":{"vars":["n"]},"results":{"bindings":[{"n":{"type":"lit'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture()
def cut_short() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/query"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_endpoint_that_cuts_its_reply_short_returns_502(cut_short: str) -> None:
    resp = _client(cut_short).get("/sparql", query_string={"query": COUNT})
    assert resp.status_code == 502
    assert resp.mimetype == PROBLEM_JSON
    assert "cut short" in resp.get_json()["detail"]
    assert "Traceback" not in resp.get_data(as_text=True)


def test_endpoint_error_returns_502(oxigraph: Server) -> None:
    # Oxigraph server answers 500 for a function it does not know.
    query = "SELECT * WHERE { ?s ?p ?o FILTER(<urn:nothing>(?o)) } LIMIT 1"
    resp = _client(oxigraph.url + "/query").get("/sparql", query_string={"query": query})
    assert resp.status_code == 502
    assert resp.mimetype == PROBLEM_JSON
    assert "500" in resp.get_json()["detail"]


def test_load_remote_copies_every_graph(built: BuildInfo, tmp_path: Path) -> None:
    with start_oxigraph(tmp_path / "fresh", writable=True) as server:
        runner = CliRunner()
        args = ["--data-dir", data_dir(built), "load-remote", server.url + "/store"]
        for _ in range(2):  # PUT replaces each graph: loading twice changes nothing
            result = runner.invoke(main, args)
            assert result.exit_code == 0, result.output
            for name, count in built.graphs.items():
                assert f"loaded {graph_iri(name)}: {count} triples" in result.stdout
            assert f"{built.triples} triples in {len(built.graphs)} graphs" in result.stdout
            info = remote.SparqlEndpointStore(server.url + "/query", timeout=10).info
            assert info.graphs == built.graphs
            assert info.release == built.release


def test_load_remote_to_an_unreachable_server_fails_cleanly(built: BuildInfo) -> None:
    url = f"http://127.0.0.1:{free_port()}/store"
    result = CliRunner().invoke(main, ["--data-dir", data_dir(built), "load-remote", url])
    assert result.exit_code == 1
    assert "cannot be reached" in result.stderr
    assert "Traceback" not in result.output


def _client(url: str) -> FlaskClient:
    settings = {"TESTING": True, "PROJECT_DIR": str(ROOT), "BACKEND": "sparql", "SPARQL_URL": url}
    return create_app(settings).test_client()
