"""Per-client query budgets: past its share a client gets 429, others are not affected."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from server.store.embedded import EmbeddedStore
from server.web.factory import create_app
from server.web.sparql.fairness import ClientBudgets

ROOT = Path(__file__).resolve().parents[2]
FRESH = {"Cache-Control": "no-cache", "Accept": "application/sparql-results+json"}


@pytest.fixture()
def strict(store: EmbeddedStore) -> Flask:
    """An app whose clients may spend almost no query time: the second fresh query is refused."""
    config = {"TESTING": True, "PROJECT_DIR": str(ROOT), "RESPONSE_CACHE_MB": 0}
    return create_app({**config, "CLIENT_QUERY_SECONDS": 0.000001}, backend=store)


def _ask(
    app: Flask, address: str, query: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    client = app.test_client()
    resp = client.get(
        "/sparql",
        query_string={"query": query},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )
    return resp.status_code, dict(resp.headers), resp.data


def test_client_past_its_query_time_gets_429_with_retry_after(strict: Flask) -> None:
    assert _ask(strict, "127.0.0.9", "ASK { ?s ?p ?o }", FRESH)[0] == 200
    status, headers, body = _ask(strict, "127.0.0.9", "ASK { ?s ?p 1 }", FRESH)
    assert status == 429
    assert headers["Content-Type"].startswith("application/problem+json")
    assert 1 <= int(headers["Retry-After"]) <= 60
    problem = json.loads(body)
    assert problem["status"] == 429 and "budget" in problem["detail"]


def test_another_client_is_not_refused_when_one_is(strict: Flask) -> None:
    _ask(strict, "127.0.0.9", "ASK { ?s ?p ?o }", FRESH)
    assert _ask(strict, "127.0.0.9", "ASK { ?s ?p 2 }", FRESH)[0] == 429
    assert _ask(strict, "127.0.0.10", "ASK { ?s ?p 2 }", FRESH)[0] == 200


def test_cached_answers_cost_no_budget(strict: Flask) -> None:
    plain = {"Accept": "application/sparql-results+json"}
    assert _ask(strict, "127.0.0.11", "ASK { ?s ?p 3 }", plain)[0] == 200
    # The same query again comes from the answer cache: no engine time, no refusal.
    assert _ask(strict, "127.0.0.11", "ASK { ?s ?p 3 }", plain)[0] == 200


def test_concurrent_queries_past_the_cap_are_refused() -> None:
    budgets = ClientBudgets(max_concurrent=2, seconds_per_minute=600)
    inside = threading.Barrier(3)
    leave = threading.Event()
    outcomes: list[str] = []

    def query() -> None:
        with budgets.admit("10.1.1.1"):
            inside.wait()
            leave.wait(5)

    threads = [threading.Thread(target=query) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    try:
        with budgets.admit("10.1.1.1"):
            outcomes.append("admitted")
    except Exception as exc:  # noqa: BLE001  # the test records what was raised
        outcomes.append(type(exc).__name__)
    with budgets.admit("10.1.1.2"):
        outcomes.append("other admitted")
    leave.set()
    for t in threads:
        t.join()
    assert outcomes == ["TooManyRequestsError", "other admitted"]


def test_service_description_states_the_client_limits(app: Flask) -> None:
    resp = app.test_client().get("/sparql", headers={"Accept": "text/turtle"})
    graph = ox.Store()
    graph.load(resp.data, format=ox.RdfFormat.TURTLE)
    names = {str(q.predicate.value).rsplit("#", 1)[-1] for q in graph}
    assert {"maxClientQueries", "clientQuerySecondsPerMinute"} <= names
