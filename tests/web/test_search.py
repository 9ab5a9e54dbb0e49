"""Search over partnership and cluster names: folding, scoring, the HTML page and the JSON form."""

from __future__ import annotations

import json
from typing import Final

import pytest
from flask.testing import FlaskClient
from htmlcheck import check_html

from server.web.pages.search import MAX_QUERY, fold, words

BROWSER: Final = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_fold_drops_accents_and_case() -> None:
    assert fold("Évora ÖSTERREICH Rhône") == "evora osterreich rhone"
    assert words("  Cluster   GO ") == ["cluster", "go"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("adpack", "/id/partnership/adpack"),
        ("ADPACK", "/id/partnership/adpack"),
        ("smart packaging", "/id/partnership/adpack"),
        ("Rhône-Alpes", "/id/cluster/rhone-alpes-aerospace-cluster"),
        ("lyonbiopole", "/id/cluster/lyonbiopole"),
    ],
)
def test_search_json_finds_names_ignoring_case_and_accents(
    client: FlaskClient, query: str, expected: str
) -> None:
    resp = client.get("/search", query_string={"q": query, "format": "json"})
    assert resp.mimetype == "application/json"
    body = resp.json
    assert body is not None and body["query"] == query
    assert body["results"][0]["url"] == expected
    assert body["count"] == len(body["results"])


def test_search_page_lists_hits_and_links_the_json_form(client: FlaskClient) -> None:
    resp = client.get("/search", query_string={"q": "aerospace"}, headers=BROWSER)
    html = resp.get_data(as_text=True)
    assert check_html(html) == []
    assert '<a href="/id/cluster/aerospace-valley">Aerospace Valley</a>' in html
    assert "/search?q=aerospace&amp;format=json" in html
    as_json = client.get(
        "/search", query_string={"q": "aerospace"}, headers={"Accept": "application/json"}
    )
    urls = [hit["url"] for hit in json.loads(as_json.data)["results"]]
    assert "/id/cluster/aerospace-valley" in urls


def test_search_with_no_match_and_too_long_query(client: FlaskClient) -> None:
    none = client.get("/search", query_string={"q": "zzzz qqqq", "format": "json"})
    assert none.json == {"query": "zzzz qqqq", "count": 0, "results": []}
    long = client.get("/search", query_string={"q": "x" * 201, "format": "json"})
    assert long.status_code == 400


def test_search_box_on_the_landing_page_allows_the_longest_query(client: FlaskClient) -> None:
    html = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert f'name="q" value="" maxlength="{MAX_QUERY}"' in html
