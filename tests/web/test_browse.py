"""Browse pages and the landing page's bounded lists, over the real build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from htmlcheck import check_html

from server.store.embedded import EmbeddedStore
from server.vocab import iri_to_path
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
FRESH = {"Accept": "text/html", "Cache-Control": "no-cache"}
ESCP = "https://w3id.org/escp4i/def#"
BASE = "https://w3id.org/escp4i/"


def _app(store: Any, size: int) -> Flask:
    config = {"TESTING": True, "PROJECT_DIR": str(ROOT), "LIST_PAGE_SIZE": size}
    return create_app(config, backend=store)


def _members(store: EmbeddedStore, cls: str) -> set[str]:
    result = store.query(f"SELECT DISTINCT ?s WHERE {{ ?s a <{ESCP}{cls}> }}")
    assert isinstance(result, ox.QuerySolutions)
    return {row["s"].value for row in result}


def _linked(html: str, family: str) -> list[str]:
    """Paths of the row headers' links to one family, in page order."""
    return re.findall(rf'<th scope="row"><a href="(/id/{family}/[^"]+)"', html)


@pytest.mark.parametrize(
    ("path", "family", "cls"),
    [
        ("/partnerships", "partnership", "Partnership"),
        ("/clusters", "cluster", "ClusterOrganisation"),
        ("/countries", "country", "Country"),
    ],
)
def test_pages_of_a_list_hold_every_item_once(
    store: EmbeddedStore, path: str, family: str, cls: str
) -> None:
    expected = {iri_to_path(iri, BASE) for iri in _members(store, cls)}
    size = 7
    client = _app(store, size).test_client()
    seen: list[str] = []
    page = 1
    url: str | None = f"{path}?page=1"
    while url:
        resp = client.get(url, headers=HTML)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert check_html(html) == []
        rows = _linked(html, family)
        assert 0 < len(rows) <= size
        seen += rows
        following = re.search(r'<a href="([^"]+)" rel="next"', html)
        url = following.group(1).replace("&amp;", "&") if following else None
        if url:
            assert f'<link rel="next" href="{url}">' in html
        page += 1
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    assert page - 1 == -(-len(expected) // size)  # ceil: no empty or missing page


def test_landing_shows_the_start_of_each_list_and_links_the_rest(store: EmbeddedStore) -> None:
    partnerships = len(_members(store, "Partnership"))
    clusters = len(_members(store, "ClusterOrganisation"))
    size = 10
    assert partnerships > size and clusters > size  # else this test proves nothing
    html = _app(store, size).test_client().get("/", headers=HTML).get_data(as_text=True)
    assert len(_linked(html, "partnership")) == size
    assert len(_linked(html, "cluster")) == size
    assert f"Showing the first {size} of {partnerships} partnerships" in html
    assert f'<a href="/partnerships">Browse all {partnerships} partnerships</a>' in html
    assert f'<a href="/clusters">Browse all {clusters} cluster organisations</a>' in html
    assert check_html(html) == []


def test_landing_lists_everything_when_it_fits(client: FlaskClient, store: EmbeddedStore) -> None:
    html = client.get("/", headers=HTML).get_data(as_text=True)
    assert len(_linked(html, "partnership")) == len(_members(store, "Partnership"))
    assert "Showing the first" not in html
    assert '<a href="/countries">The countries on a page of their own</a>' in html


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "9999999999", "٣"])
def test_a_bad_page_number_is_a_400(client: FlaskClient, page: str) -> None:
    resp = client.get(f"/partnerships?page={page}")
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert "page must be a whole number" in resp.get_json()["detail"]


def test_a_page_past_the_end_is_a_404(client: FlaskClient) -> None:
    resp = client.get("/partnerships?page=2")  # 15 partnerships fit on page 1 of 100
    assert resp.status_code == 404
    assert resp.get_json()["last"] == 1
    html = client.get("/partnerships?page=2", headers=HTML)
    assert html.status_code == 404 and check_html(html.get_data(as_text=True)) == []


class CountingStore:
    """The real store, counting the queries that reach it."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.queries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def query(self, text: str, **kwargs: Any) -> Any:
        self.queries += 1
        return self.store.query(text, **kwargs)


def test_landing_figures_are_computed_once_per_release(store: EmbeddedStore) -> None:
    counting = CountingStore(store)
    client = _app(counting, 100).test_client()
    first = client.get("/", headers=FRESH)
    assert first.status_code == 200 and counting.queries > 0
    after_first = counting.queries
    # The HTTP cache is bypassed: the page is rendered again, from the kept figures.
    second = client.get("/", headers=FRESH)
    assert second.status_code == 200 and second.headers.get("ESCP-Cache") != "hit"
    assert counting.queries == after_first
    assert client.get("/clusters", headers=FRESH).status_code == 200
    assert counting.queries == after_first
    assert first.get_data() == second.get_data()
