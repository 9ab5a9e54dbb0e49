"""The remote backend's own tests (tests/store/test_remote.py) over each engine, plus what
only an engine shows: its timeouts, its Graph Store, and the limits its dialect states."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import test_remote
from click.testing import CliRunner
from flask.testing import FlaskClient
from reuse import VIRTUOSO_USER, Engine, reused_tests
from servers import data_dir, start_comunica

from server.build.info import BuildInfo
from server.cli import main
from server.store import remote
from server.vocab import graph_iri
from server.web.errors import PROBLEM_JSON
from server.web.factory import create_app

pytestmark = pytest.mark.engines

ROOT = Path(__file__).resolve().parents[2]
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"

globals().update(reused_tests(test_remote, {"endpoint"}))


@pytest.fixture()
def endpoint(engine: Engine) -> remote.SparqlEndpointStore:
    return engine.backend(timeout=10)


def _client(engine: Engine, url: str, timeout: float) -> FlaskClient:
    settings = {
        "TESTING": True,
        "PROJECT_DIR": str(ROOT),
        "BACKEND": "sparql",
        "SPARQL_URL": url,
        "QUERY_TIMEOUT": timeout,
    }
    backend = remote.SparqlEndpointStore(url, timeout=timeout, dialect=engine.dialect)
    return create_app(settings, backend=backend).test_client()


def test_runaway_query_returns_503_at_the_timeout(
    engine: Engine, built: BuildInfo, tmp_path: Path
) -> None:
    if engine.name == "comunica":
        # Comunica stops a query by restarting its worker, which takes the endpoint away
        # for a while: the runaway gets an engine of its own. Its own timeout is longer
        # than the app's, or it would send 200 and a cut body first (a 502 here).
        server = start_comunica([Path(built.path) / "dumps" / "escp4i-all.nq"], timeout=6)
        url = server.url + "/sparql"
    else:
        server = None
        url = engine.query_url
    try:
        client = _client(engine, url, timeout=2)
        assert client.get("/sparql", query_string={"query": COUNT}).status_code == 200
        started = time.monotonic()
        resp = client.get("/sparql", query_string={"query": test_remote.RUNAWAY})
        elapsed = time.monotonic() - started
        assert resp.status_code == 503, resp.data
        assert resp.mimetype == PROBLEM_JSON
        assert resp.headers["Retry-After"]
        assert resp.get_json()["title"] == "Query timed out"
        assert elapsed < 6
        if server is None:  # Virtuoso stopped the query itself and serves the next one
            count = client.get("/sparql", query_string={"query": COUNT})
            assert count.status_code == 200
    finally:
        if server is not None:
            server.stop()


def test_load_remote_loads_the_engines_graph_store(engine: Engine, built: BuildInfo) -> None:
    runner = CliRunner()
    if engine.graph_store is None:  # Comunica: no Graph Store, and a clean refusal
        args = ["--data-dir", data_dir(built), "load-remote", engine.query_url]
        result = runner.invoke(main, args)
        assert result.exit_code == 1
        assert "refused the graph" in result.stderr
        assert "Traceback" not in result.output
        return
    user, password = VIRTUOSO_USER
    args = ["--data-dir", data_dir(built), "load-remote", engine.graph_store, "--user", user]
    for _ in range(2):  # PUT replaces each graph: loading twice changes nothing
        result = runner.invoke(main, args, env={"ESCP_GRAPH_STORE_PASSWORD": password})
        assert result.exit_code == 0, result.output
        for name, count in built.graphs.items():
            assert f"loaded {graph_iri(name)}: {count} triples" in result.stdout
        info = remote.SparqlEndpointStore(engine.query_url, timeout=10).info
        assert info.graphs == built.graphs
        assert info.release == built.release


def test_load_remote_with_a_wrong_password_fails_cleanly(engine: Engine, built: BuildInfo) -> None:
    if engine.graph_store is None:
        pytest.skip("Comunica has no Graph Store to authenticate to")
    args = ["--data-dir", data_dir(built), "load-remote", engine.graph_store, "--user", "dba"]
    result = CliRunner().invoke(main, args, env={"ESCP_GRAPH_STORE_PASSWORD": "wrong"})
    assert result.exit_code == 1
    assert "401" in result.stderr
    assert "Traceback" not in result.output


def test_named_graph_uri_gives_that_graph_or_a_400_naming_the_limit(
    engine: Engine, make_engine_client: object
) -> None:
    client = _client(engine, engine.query_url, timeout=10)
    params = {"query": GRAPHS, "named-graph-uri": graph_iri("ontology")}
    resp = client.get("/sparql", query_string=params)
    if engine.dialect == "comunica":
        assert resp.status_code == 400
        assert resp.mimetype == PROBLEM_JSON
        assert "Comunica" in resp.get_json()["detail"]
        assert "named-graph-uri" in resp.get_json()["detail"]
    else:
        assert resp.status_code == 200, resp.data
        found = [b["g"]["value"] for b in resp.get_json()["results"]["bindings"]]
        assert found == [graph_iri("ontology")]


def test_engine_sees_only_the_release_graphs(engine: Engine, built: BuildInfo) -> None:
    # Virtuoso holds system graphs of its own; a query without FROM must not see them.
    client = _client(engine, engine.query_url, timeout=10)
    resp = client.get("/sparql", query_string={"query": GRAPHS})
    assert resp.status_code == 200, resp.data
    found = {b["g"]["value"] for b in resp.get_json()["results"]["bindings"]}
    assert found == {graph_iri(name) for name in built.graphs}
