"""SPARQL GET answers and named-query answers are cacheable by an HTTP cache, unless volatile.

Each test runs on both GET paths: the lean one (``query`` alone) and Flask's (a format
parameter makes the fast path pass the request on).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sparql_texts import VOLATILE
from werkzeug.test import TestResponse

from server.store.embedded import EmbeddedStore
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
SELECT = "SELECT ?p WHERE { ?p a <https://w3id.org/escp4i/def#Partnership> } ORDER BY ?p"
#: Every triple of the release: big enough to be compressed (server.web.compress).
EVERYTHING = "CONSTRUCT WHERE { ?s ?p ?o }"
#: The fast path's request, and one with a format parameter, which Flask answers.
PATHS = {"fast": {}, "flask": {"format": "json"}}


def _get(client: FlaskClient, query: str, path: str, **headers: str) -> TestResponse:
    return client.get(
        "/sparql", query_string={"query": query, **PATHS[path]}, headers=headers or None
    )


def _runs() -> float:
    """Queries answered by the engine or the answer cache so far (the metrics' count)."""
    return sum(
        REGISTRY.get_sample_value("escp_queries_total", {"outcome": o}) or 0.0
        for o in ("answered", "cached")
    )


@pytest.mark.parametrize("path", PATHS)
def test_a_get_answer_is_public_with_a_strong_tag_of_its_operation(
    client: FlaskClient, store: EmbeddedStore, path: str
) -> None:
    first = _get(client, SELECT, path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=600"
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    # Another app over the same release gives the same tag: replicas agree.
    other = create_app({"TESTING": True, "PROJECT_DIR": str(ROOT)}, backend=store).test_client()
    assert _get(other, SELECT, path).headers["ETag"] == tag
    # Another query, or another format of the same one, is another representation.
    assert _get(client, SELECT + " LIMIT 2", path).headers["ETag"] != tag
    csv = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "text/csv"})
    assert csv.headers["ETag"] != tag and csv.headers["Cache-Control"].startswith("public")


@pytest.mark.parametrize("path", PATHS)
def test_a_client_holding_the_tag_gets_304_and_nothing_is_run(
    client: FlaskClient, path: str
) -> None:
    first = _get(client, SELECT, path)
    tag = first.headers["ETag"]
    before = _runs()
    again = _get(client, SELECT, path, **{"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    assert _runs() == before, "a 304 ran the query"
    # A 304 carries what the 200 would have said about caching (RFC 9110 §15.4.5).
    assert again.headers["ETag"] == tag
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert {"Accept", "Accept-Encoding"} <= {v.strip() for v in again.headers["Vary"].split(",")}
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    # Any other tag is not this answer: the query runs and answers in full.
    stale = _get(client, SELECT, path, **{"If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200 and stale.data == first.data
    assert _runs() == before + 1


def test_a_compressed_answer_revalidates_with_its_own_tag(client: FlaskClient) -> None:
    first = _get(client, EVERYTHING, "fast", **{"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    tag = first.headers["ETag"]
    assert tag.endswith('-gzip"')
    again = _get(client, EVERYTHING, "fast", **{"Accept-Encoding": "gzip", "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag
    plain = _get(client, EVERYTHING, "fast")
    assert plain.headers["ETag"] == tag.replace('-gzip"', '"')


@pytest.mark.parametrize("path", PATHS)
def test_a_volatile_query_is_run_each_time_and_never_stored(client: FlaskClient, path: str) -> None:
    answers = [_get(client, VOLATILE, path) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    # RAND() and STRUUID() differ per run: the answer cache and the response cache kept none.
    assert len({a.data for a in answers}) == 3
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert "ETag" not in answer.headers and "ESCP-Cache" not in answer.headers
    # With no tag there is nothing to match: a conditional request runs the query too.
    conditional = _get(client, VOLATILE, path, **{"If-None-Match": "*"})
    assert conditional.status_code == 200 and conditional.data not in {a.data for a in answers}


def test_post_answers_carry_no_cache_headers(client: FlaskClient) -> None:
    posted = client.post("/sparql", data={"query": SELECT})
    assert posted.status_code == 200
    assert "Cache-Control" not in posted.headers and "ETag" not in posted.headers


def test_errors_are_not_made_public(client: FlaskClient) -> None:
    bad = client.get("/sparql", query_string={"query": "SELECT WHERE {"})
    assert bad.status_code == 400
    assert "public" not in bad.headers.get("Cache-Control", "") and "ETag" not in bad.headers


@pytest.mark.parametrize("url", ["/api/queries/partnerships", "/api/queries/partnerships.csv"])
def test_named_query_answers_are_public_and_conditional(client: FlaskClient, url: str) -> None:
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=600"
    tag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
