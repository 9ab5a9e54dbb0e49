"""The caches: answers of the SPARQL endpoint, and whole GET responses of the release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sources import partnership_rows

from server.store.embedded import EmbeddedStore
from server.store.jobs import Answer
from server.web.cache import AnswerCache
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/escp4i/def#Partnership> }"


@pytest.fixture()
def bare(store: EmbeddedStore) -> Flask:
    """An app without the response cache, so that requests reach the endpoint."""
    return create_app(
        {"TESTING": True, "PROJECT_DIR": str(ROOT), "RESPONSE_CACHE_MB": 0}, backend=store
    )


def _answers(app: Flask) -> AnswerCache[Answer]:
    cache: AnswerCache[Answer] = app.extensions["escp4i.answers"]
    return cache


def test_repeated_query_is_answered_from_the_answer_cache(bare: Flask) -> None:
    client = bare.test_client()
    first = client.get("/sparql", query_string={"query": QUERY})
    second = client.post("/sparql", data={"query": QUERY})
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    assert json.loads(second.data)["results"]["bindings"][0]["n"]["value"] == str(
        len(partnership_rows())
    )
    assert (_answers(bare).hits, _answers(bare).misses) == (1, 1)


def test_no_cache_request_runs_the_query_again(bare: Flask) -> None:
    client = bare.test_client()
    client.get("/sparql", query_string={"query": QUERY})
    fresh = client.get(
        "/sparql", query_string={"query": QUERY}, headers={"Cache-Control": "no-cache"}
    )
    assert fresh.status_code == 200
    assert _answers(bare).hits == 0


def test_each_format_is_cached_separately(bare: Flask) -> None:
    client = bare.test_client()
    as_json = client.get("/sparql", query_string={"query": QUERY})
    as_csv = client.get("/sparql", query_string={"query": QUERY}, headers={"Accept": "text/csv"})
    assert as_json.mimetype == "application/sparql-results+json"
    assert as_csv.mimetype == "text/csv"
    assert as_csv.get_data(as_text=True).splitlines() == ["n", str(len(partnership_rows()))]
    assert _answers(bare).hits == 0


def test_errors_are_not_cached(bare: Flask) -> None:
    client = bare.test_client()
    for _ in range(2):
        assert client.get("/sparql", query_string={"query": "SELECT ?x {"}).status_code == 400
    assert "escp4i.answers" not in bare.extensions or _answers(bare).hits == 0


def test_repeated_get_is_replayed_with_the_same_body_and_headers(client: FlaskClient) -> None:
    first = client.get("/id/partnership/adpack", headers={"Accept": "text/turtle"})
    second = client.get("/id/partnership/adpack", headers={"Accept": "text/turtle"})
    assert first.status_code == second.status_code == 200
    assert "ESCP-Cache" not in first.headers
    assert second.headers["ESCP-Cache"] == "hit"
    assert second.data == first.data
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["ETag"] == first.headers["ETag"]


def test_another_accept_is_another_entry(client: FlaskClient) -> None:
    client.get("/id/partnership/adpack", headers={"Accept": "text/turtle"})
    html = client.get("/id/partnership/adpack", headers={"Accept": "text/html"})
    assert "ESCP-Cache" not in html.headers
    assert html.mimetype == "text/html"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/health", {}),
        ("/id/partnership/adpack", {"Cache-Control": "no-cache"}),
        ("/id/partnership/adpack", {"Pragma": "no-cache"}),
        ("/no/such/page", {}),
    ],
)
def test_uncacheable_requests_reach_the_app_every_time(
    client: FlaskClient, path: str, headers: dict[str, str]
) -> None:
    client.get(path, headers=headers)
    again = client.get(path, headers=headers)
    assert "ESCP-Cache" not in again.headers


def test_conditional_request_still_gets_304(client: FlaskClient) -> None:
    first = client.get("/id/country/be", headers={"Accept": "text/turtle"})
    again = client.get(
        "/id/country/be", headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
