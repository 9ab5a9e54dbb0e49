"""The lean GET /sparql path answers as the Flask endpoint does, and only what it may take.

Every request below is sent to two apps over the same store, one with the fast path and one
without, through the whole middleware stack (caches, compression, access log); status, body
and headers must be the same.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sparql_texts import RUNAWAY, SPINNER
from werkzeug.test import TestResponse

from server.store import jobs, workers
from server.store.embedded import EmbeddedStore
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = "PREFIX escp: <https://w3id.org/escp4i/def#>\n"
SELECT = PREFIXES + "SELECT ?p WHERE { ?p a escp:Partnership } ORDER BY ?p"
ASK = PREFIXES + "ASK { ?p a escp:Partnership }"
CONSTRUCT = "CONSTRUCT WHERE { <https://w3id.org/escp4i/id/partnership/adpack> ?p ?o }"
#: Headers that differ per request whichever path answers.
PER_REQUEST = {"X-Request-ID", "Date"}

JSON_RESULTS = {"Accept": "application/sparql-results+json"}
#: (query string, headers): successes the fast path takes.
TAKEN: list[tuple[dict[str, str], dict[str, str]]] = [
    ({"query": SELECT}, JSON_RESULTS),
    ({"query": SELECT}, {"Accept": "text/csv"}),
    ({"query": SELECT}, {"Accept": "application/sparql-results+xml;q=0.9, */*;q=0.1"}),
    ({"query": SELECT}, {}),
    ({"query": SELECT}, {**JSON_RESULTS, "Accept-Encoding": "gzip"}),
    ({"query": SELECT}, {**JSON_RESULTS, "Cache-Control": "no-cache"}),
    ({"query": ASK}, JSON_RESULTS),
    ({"query": CONSTRUCT}, {"Accept": "text/turtle"}),
    ({"query": CONSTRUCT}, {"Accept": "application/ld+json"}),
]
#: Failures the fast path runs and hands to Flask to answer.
FAILING: list[tuple[dict[str, str], dict[str, str], int]] = [
    ({"query": "SELECT ?x WHERE { ?x ?y }"}, JSON_RESULTS, 400),
    ({"query": "SELECT * WHERE {" * 80 + "}" * 80}, JSON_RESULTS, 400),
    ({"query": SELECT}, {"Accept": "text/html"}, 406),
    ({"query": CONSTRUCT}, {"Accept": "text/csv"}, 406),
    ({"query": "SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }"}, {}, 400),
]
#: Requests the fast path leaves to Flask: another method, parameter or encoding.
LEFT: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "query=" + "SELECT%20*%20%7B%7D&format=csv", {}),
    (
        "GET",
        "query=ASK%20%7B%7D&default-graph-uri=https%3A%2F%2Fw3id.org%2Fescp4i%2Fgraph%2Fdata",
        {},
    ),
    ("GET", "query=ASK%20%7B%7D&query=ASK%20%7B%7D", {}),
    ("GET", "query=%20", {}),
    ("GET", "query=ASK%20%7B%FF%7D", {}),
    ("GET", "", {"Accept": "text/turtle"}),
    ("HEAD", "query=ASK%20%7B%7D", {}),
    ("OPTIONS", "", {}),
    ("POST", "", {"Content-Type": "application/sparql-query"}),
]


def _app(store: EmbeddedStore, fast: bool, **config: Any) -> Flask:
    settings = {"TESTING": True, "PROJECT_DIR": str(ROOT), "SPARQL_FAST_PATH": fast, **config}
    return create_app(settings, backend=store)


@pytest.fixture()
def pair(store: EmbeddedStore) -> tuple[Flask, Flask]:
    """An app with the fast path whose Flask endpoint must not run, and one without."""
    fast = _app(store, True)
    return fast, _app(store, False)


@pytest.fixture()
def built_store(store: EmbeddedStore) -> Path:
    return store.build_dir / "store"


def _same(a: TestResponse, b: TestResponse) -> None:
    assert a.status_code == b.status_code, (a.data, b.data)
    assert _headers(a) == _headers(b)
    if a.mimetype == "application/problem+json":
        assert _problem(a) == _problem(b)
    else:
        assert a.data == b.data


def _headers(resp: TestResponse) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in resp.headers.items() if k not in PER_REQUEST)


def _problem(resp: TestResponse) -> dict[str, Any]:
    body = json.loads(resp.data)
    body.pop("request_id", None)
    return dict(body)


def _forbid_the_endpoint(app: Flask) -> None:
    def refuse() -> None:
        raise AssertionError("the Flask endpoint ran for a request the fast path takes")

    app.view_functions["sparql.endpoint"] = refuse


@pytest.mark.parametrize(("params", "headers"), TAKEN)
def test_the_fast_path_answers_as_the_endpoint_does(
    pair: tuple[Flask, Flask], params: dict[str, str], headers: dict[str, str]
) -> None:
    fast, slow = pair
    _forbid_the_endpoint(fast)
    a = fast.test_client().get("/sparql", query_string=params, headers=headers)
    b = slow.test_client().get("/sparql", query_string=params, headers=headers)
    assert a.status_code == 200, a.data
    _same(a, b)


@pytest.mark.parametrize(("params", "headers", "status"), FAILING)
def test_a_failure_on_the_fast_path_is_answered_as_the_endpoint_answers_it(
    pair: tuple[Flask, Flask], params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    fast, slow = pair
    a = fast.test_client().get("/sparql", query_string=params, headers=headers)
    b = slow.test_client().get("/sparql", query_string=params, headers=headers)
    assert a.status_code == status, a.data
    _same(a, b)


@pytest.mark.parametrize(("method", "query", "headers"), LEFT)
def test_what_the_fast_path_leaves_is_answered_as_before(
    pair: tuple[Flask, Flask], method: str, query: str, headers: dict[str, str]
) -> None:
    fast, slow = pair
    body = b"ASK {}" if method == "POST" else None
    a = fast.test_client().open(
        "/sparql", method=method, query_string=query, headers=headers, data=body
    )
    b = slow.test_client().open(
        "/sparql", method=method, query_string=query, headers=headers, data=body
    )
    _same(a, b)


def test_the_fast_path_keeps_the_row_cap_and_the_deadline(store: EmbeddedStore) -> None:
    fast = _app(store, True, MAX_ROWS=3, QUERY_TIMEOUT=1)
    client = fast.test_client()
    capped = client.get("/sparql", query_string={"query": SELECT}, headers=JSON_RESULTS)
    assert capped.status_code == 422
    assert _problem(capped)["max_rows"] == 3
    started = time.monotonic()
    late = client.get("/sparql", query_string={"query": RUNAWAY}, headers=JSON_RESULTS)
    assert late.status_code == 503, late.data
    assert "Retry-After" in late.headers
    assert time.monotonic() - started < 5


def test_the_fast_path_counts_against_the_client_budget(store: EmbeddedStore) -> None:
    fast = _app(store, True, CLIENT_QUERY_SECONDS=1e-9)
    client = fast.test_client()
    fresh = {**JSON_RESULTS, "Cache-Control": "no-cache"}
    assert client.get("/sparql", query_string={"query": ASK}, headers=fresh).status_code == 200
    refused = client.get("/sparql", query_string={"query": SELECT}, headers=fresh)
    assert refused.status_code == 429, refused.data
    assert "Retry-After" in refused.headers


def test_a_long_query_does_not_hold_the_turn_of_the_short_ones(built_store: Path) -> None:
    pool = workers.WorkerPool(built_store, size=2, concurrency=1)
    done: list[float] = []

    def long_one() -> None:
        try:
            pool.run(jobs.Job(SPINNER), timeout=6)
        except jobs.DeadlineExceededError:
            done.append(time.monotonic())

    try:
        assert pool.run(jobs.Job(ASK), timeout=10).form == "boolean"  # both processes up
        runner = threading.Thread(target=long_one)
        runner.start()
        time.sleep(0.05)
        started = time.monotonic()
        assert pool.run(jobs.Job(ASK), timeout=10).form == "boolean"
        waited = time.monotonic() - started
        assert waited < 2.5, waited  # the turn came back after DEMOTE_AFTER, not at 6 s
        runner.join(timeout=15)
        assert done, "the long query should have run to its deadline"
    finally:
        pool.close()


def test_young_queries_take_turns(built_store: Path) -> None:
    pool = workers.WorkerPool(built_store, size=2, concurrency=1)
    try:
        turn = pool._admit(time.monotonic() + 5)
        with pytest.raises(jobs.DeadlineExceededError, match="turn"):
            pool._admit(time.monotonic() + 0.05)
        started = time.monotonic()
        second = pool._admit(time.monotonic() + 5)
        assert workers.DEMOTE_AFTER - 0.1 < time.monotonic() - started < 2
        pool._leave(turn)
        pool._leave(second)
    finally:
        pool.close()


def test_query_processes_preload_jemalloc_when_the_machine_has_it(built_store: Path) -> None:
    found = workers.find_malloc("auto")
    if found is None:
        pytest.skip("libjemalloc2 is not installed (./run test installs it)")
    for malloc, expected in ((found, True), (workers.find_malloc("system"), False)):
        pool = workers.WorkerPool(built_store, size=1, malloc=malloc)
        try:
            assert pool.run(jobs.Job(ASK), timeout=10).form == "boolean"
            (pid,) = pool.idle_pids()
            maps = Path(f"/proc/{pid}/maps").read_text()
            assert ("jemalloc" in maps) is expected
        finally:
            pool.close()


def test_a_missing_allocator_library_stops_start_up(store: EmbeddedStore) -> None:
    with pytest.raises(ValueError, match="ESCP_QUERY_MALLOC"):
        _app(store, True, QUERY_MALLOC="/nonexistent/libnothing.so")
