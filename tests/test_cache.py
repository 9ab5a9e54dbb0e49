"""The answer cache of the SPARQL endpoint: hits for repeats, bypassed on request."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from server.cache import AnswerCache
from server.worker import Answer

QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/escp4i/def#Partnership> }"


def _cache(app: Flask) -> AnswerCache[Answer]:
    cache: AnswerCache[Answer] = app.extensions["escp4i.answers"]
    return cache


def test_repeated_query_is_answered_from_the_cache(app: Flask, client: FlaskClient) -> None:
    first = client.get("/sparql", query_string={"query": QUERY})
    second = client.get("/sparql", query_string={"query": QUERY})
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    assert json.loads(second.data)["results"]["bindings"][0]["n"]["value"] == "15"
    assert (_cache(app).hits, _cache(app).misses) == (1, 1)


def test_no_cache_request_runs_the_query_again(app: Flask, client: FlaskClient) -> None:
    client.get("/sparql", query_string={"query": QUERY})
    fresh = client.get(
        "/sparql", query_string={"query": QUERY}, headers={"Cache-Control": "no-cache"}
    )
    assert fresh.status_code == 200
    assert _cache(app).hits == 0


def test_each_format_is_cached_separately(app: Flask, client: FlaskClient) -> None:
    as_json = client.get("/sparql", query_string={"query": QUERY})
    as_csv = client.get("/sparql", query_string={"query": QUERY}, headers={"Accept": "text/csv"})
    assert as_json.mimetype == "application/sparql-results+json"
    assert as_csv.mimetype == "text/csv"
    assert as_csv.get_data(as_text=True).splitlines() == ["n", "15"]
    assert _cache(app).hits == 0


def test_errors_are_not_cached(app: Flask, client: FlaskClient) -> None:
    for _ in range(2):
        assert client.get("/sparql", query_string={"query": "SELECT ?x {"}).status_code == 400
    assert "escp4i.answers" not in app.extensions or _cache(app).hits == 0
