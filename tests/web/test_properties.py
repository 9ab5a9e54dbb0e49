"""Property-based: whatever a client puts in a route's parameters, the answer is never a 5xx
(other than 503 with Retry-After), never a traceback, and an error is problem+json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import catalog

ROOT = Path(__file__).resolve().parents[2]
QUERIES = catalog.load(ROOT / "queries")
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: Any text, including controls, brackets, quotes, bad percent-encodings and astral characters.
TEXT = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["%", "%Pt", "%zz", "<>", "a`b", "{}", "|", "\\", "\t", " ", "[x]", "..", "//", "%ff%fe"]
)
ACCEPT = {"Accept": "application/json"}


def _check(resp: object) -> None:
    status = resp.status_code  # type: ignore[attr-defined]
    data = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    headers = resp.headers  # type: ignore[attr-defined]
    assert status < 500 or (status == 503 and headers.get("Retry-After")), (status, data[:300])
    assert "Traceback" not in data
    if 400 <= status < 500 and resp.mimetype != "text/html":  # type: ignore[attr-defined]
        assert resp.mimetype == "application/problem+json"  # type: ignore[attr-defined]
        assert json.loads(data)["status"] == status


@PROPERTY
@given(query=TEXT, fmt=TEXT, graph=TEXT)
def test_sparql_parameters(client: FlaskClient, query: str, fmt: str, graph: str) -> None:
    params = {"query": query, "format": fmt, "default-graph-uri": graph}
    _check(client.get("/sparql", query_string=params, headers=ACCEPT))
    _check(client.post("/sparql", data=params, headers=ACCEPT))


@pytest.mark.parametrize("name", [q.name for q in QUERIES])
@PROPERTY
@given(value=TEXT, suffix=st.sampled_from(["", ".json", ".csv", ".srj", ".tsv", ".srx", ".x"]))
def test_named_query_parameters(client: FlaskClient, name: str, value: str, suffix: str) -> None:
    query = QUERIES.get(name)
    assert query is not None
    params = {p.name: value for p in query.parameters} or {"unknown": value}
    _check(client.get(f"/api/queries/{name}{suffix}", query_string=params, headers=ACCEPT))


@pytest.mark.parametrize("path", ["/partnerships", "/clusters", "/countries", "/search", "/"])
@PROPERTY
@given(page=TEXT, q=TEXT, generation=TEXT)
def test_page_parameters(
    client: FlaskClient, path: str, page: str, q: str, generation: str
) -> None:
    params = {"page": page, "q": q, "generation": generation, "format": q}
    _check(client.get(path, query_string=params, headers=ACCEPT))


@pytest.mark.parametrize(
    "prefix", ["/id/partnership/", "/id/cluster/", "/id/", "/sources/", "/def/", "/graph/", "/"]
)
@PROPERTY
@given(tail=TEXT)
def test_paths_below_each_family(client: FlaskClient, prefix: str, tail: str) -> None:
    _check(client.get(prefix + tail, headers=ACCEPT))
