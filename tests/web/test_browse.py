"""Browse pages and the landing page's bounded lists, over the real build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from counting import CountingStore
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
ORG = "http://www.w3.org/ns/org#"
BASE = "https://w3id.org/escp4i/"


def _app(store: Any, size: int) -> Flask:
    config = {"TESTING": True, "PROJECT_DIR": str(ROOT), "LIST_PAGE_SIZE": size}
    return create_app(config, backend=store)


def _members(store: EmbeddedStore, cls: str, generation: str | None = None) -> set[str]:
    """Return every instance of a class, or those of one generation.

    A generation's are its partnerships, the clusters with a membership in one, and the
    countries these are based in or that its partnerships target.
    """
    narrowed = {
        "Partnership": "?s <{e}generation> ?g .",
        "ClusterOrganisation": "?s <{org}memberOf>/<{e}generation> ?g .",
        "Country": "{{ ?c <{e}country> ?s ; <{org}memberOf>/<{e}generation> ?g }}"
        " UNION {{ ?p <{e}targetMarket> ?s ; <{e}generation> ?g }}",
    }
    where = f"?s a <{ESCP}{cls}> ."
    if generation is not None:
        where += (
            narrowed[cls]
            .format(e=ESCP, org=ORG)
            .replace("?g", f"<{BASE}id/generation/escp-4i-{generation}>")
        )
    result = store.query(f"SELECT DISTINCT ?s WHERE {{ {where} }}")
    assert isinstance(result, ox.QuerySolutions)
    return {row["s"].value for row in result}


def _linked(html: str, family: str) -> list[str]:
    """Paths of the row headers' links to one family, in page order."""
    return re.findall(rf'<th scope="row"><a href="(/id/{family}/[^"]+)"', html)


@pytest.mark.parametrize("generation", [None, "1", "2"])
@pytest.mark.parametrize(
    ("path", "family", "cls"),
    [
        ("/partnerships", "partnership", "Partnership"),
        ("/clusters", "cluster", "ClusterOrganisation"),
        ("/countries", "country", "Country"),
    ],
)
def test_pages_of_a_list_hold_every_item_once(
    store: EmbeddedStore, path: str, family: str, cls: str, generation: str | None
) -> None:
    expected = {iri_to_path(iri, BASE) for iri in _members(store, cls, generation)}
    size = 7
    client = _app(store, size).test_client()
    seen: list[str] = []
    page = 1
    narrowed = f"generation={generation}&" if generation else ""
    url: str | None = f"{path}?{narrowed}page=1"
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
            assert f'<link rel="next" href="{url.replace("&", "&amp;")}">' in html
            assert (f"generation={generation}" in url) == bool(generation)  # the choice is kept
        page += 1
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    assert page - 1 == -(-len(expected) // size)  # ceil: no empty or missing page


def test_landing_shows_the_start_of_each_list_and_links_the_rest(store: EmbeddedStore) -> None:
    # The landing page lists the first generation; its "browse all" links keep to it.
    partnerships = len(_members(store, "Partnership", "1"))
    clusters = len(_members(store, "ClusterOrganisation", "1"))
    size = 10
    assert partnerships > size and clusters > size  # else this test proves nothing
    html = _app(store, size).test_client().get("/", headers=HTML).get_data(as_text=True)
    assert len(_linked(html, "partnership")) == size
    assert len(_linked(html, "cluster")) == size
    assert f"Showing the first {size} of {partnerships} partnerships" in html
    link = f'<a href="/partnerships?generation=1">Browse all {partnerships} partnerships</a>'
    assert link in html
    link = f'<a href="/clusters?generation=1">Browse all {clusters} cluster organisations</a>'
    assert link in html
    assert check_html(html) == []


def test_landing_lists_everything_when_it_fits(client: FlaskClient, store: EmbeddedStore) -> None:
    html = client.get("/", headers=HTML).get_data(as_text=True)
    first = {iri_to_path(iri, BASE) for iri in _members(store, "Partnership", "1")}
    assert set(_linked(html, "partnership")) == first
    assert "Showing the first" not in html
    link = '<a href="/countries?generation=1">The countries on a page of their own</a>'
    assert link in html


def _continuity_links(store: EmbeddedStore, generation: str | None) -> set[str]:
    """Paths of the continuity links, or of those into one generation's partnerships."""
    into = (
        f"?s <{ESCP}toPartnership>/<{ESCP}generation> <{BASE}id/generation/escp-4i-{generation}> ."
        if generation
        else ""
    )
    result = store.query(f"SELECT ?s WHERE {{ ?s a <{ESCP}ContinuityLink> . {into} }}")
    assert isinstance(result, ox.QuerySolutions)
    return {iri_to_path(row["s"].value, BASE) for row in result}


@pytest.mark.parametrize("generation", [None, "1", "2"])
def test_continuity_pages_hold_every_link_once(
    store: EmbeddedStore, generation: str | None
) -> None:
    expected = _continuity_links(store, generation)
    size = 4
    client = _app(store, size).test_client()
    seen: list[str] = []
    url: str | None = "/continuity-links" + (f"?generation={generation}" if generation else "")
    while url:
        resp = client.get(url, headers=HTML)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert check_html(html) == []
        rows = re.findall(r'<td><a href="(/id/continuity/[^"]+)"', html)
        assert len(rows) <= size
        seen += rows
        following = re.search(r'<a href="([^"]+)" rel="next"', html)
        url = following.group(1).replace("&amp;", "&") if following else None
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    if not expected:  # no link leads into the first generation: a sentence says so
        assert "No continuity link leads into the partnerships of this generation." in html
    else:
        assert '<a href="/api/queries/lineage.csv" type="text/csv">CSV</a>' in html


def test_landing_shows_the_first_continuity_links_and_links_the_rest(
    store: EmbeddedStore,
) -> None:
    links = len(_continuity_links(store, "2"))
    size = 4
    assert links > size  # else this test proves nothing
    html = _app(store, size).test_client().get("/", headers=HTML).get_data(as_text=True)
    listed = html.split('<ul class="continued">', 1)[1].split("</ul>", 1)[0]
    assert listed.count("<li>") == size
    assert f"Showing the first {size} of {links} continuity links" in html
    link = f'<a href="/continuity-links?generation=2">Browse all {links} continuity links</a>'
    assert link in html


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "9999999999", "٣"])
def test_a_bad_page_number_is_a_400(client: FlaskClient, page: str) -> None:
    resp = client.get(f"/partnerships?page={page}")
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert "page must be a whole number" in resp.get_json()["detail"]


@pytest.mark.parametrize("path", ["/partnerships", "/clusters", "/countries", "/continuity-links"])
@pytest.mark.parametrize("generation", ["x", "0", "3", "", "1.0", "first"])
def test_a_bad_generation_is_a_400(client: FlaskClient, path: str, generation: str) -> None:
    resp = client.get(path, query_string={"generation": generation})
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert "generation must be one of 1, 2" in resp.get_json()["detail"]


@pytest.mark.parametrize("path", ["/partnerships", "/clusters", "/countries", "/continuity-links"])
def test_the_generation_switch_is_links_marking_the_current_choice(
    client: FlaskClient, path: str
) -> None:
    for generation, current in [
        (None, "All"),
        ("1", "First generation"),
        ("2", "Second generation"),
    ]:
        query = {"generation": generation} if generation else {}
        html = client.get(path, query_string=query, headers=HTML).get_data(as_text=True)
        switch = html[html.index('<nav aria-label="Generation"') :].split("</nav>", 1)[0]
        links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', switch)
        assert [(href, text) for href, _, text in links] == [
            (path, "All"),
            (f"{path}?generation=1", "First generation"),
            (f"{path}?generation=2", "Second generation"),
        ]
        assert [text for _, mark, text in links if mark] == [current]


def test_a_page_past_the_end_is_a_404(client: FlaskClient) -> None:
    resp = client.get("/partnerships?page=2")  # 15 partnerships fit on page 1 of 100
    assert resp.status_code == 404
    assert resp.get_json()["last"] == 1
    html = client.get("/partnerships?page=2", headers=HTML)
    assert html.status_code == 404 and check_html(html.get_data(as_text=True)) == []


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


def test_a_selection_is_counted_once_while_it_is_kept(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.web.home import browse

    counted: list[str] = []
    real = browse.facets

    def counting(kind: str, *args: Any) -> Any:
        counted.append(kind)
        return real(kind, *args)

    monkeypatch.setattr(browse, "facets", counting)
    client = _app(store, 100).test_client()
    first = client.get("/partnerships?sector=packaging", headers=FRESH)
    again = client.get("/partnerships?sector=packaging", headers=FRESH)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("ESCP-Cache") != "hit"  # rendered again, from the kept counts
    assert first.get_data() == again.get_data()
    assert counted == ["partnerships"]
    client.get("/partnerships?sector=packaging&generation=1", headers=FRESH)
    client.get("/clusters?sector=packaging", headers=FRESH)
    assert counted == ["partnerships", "partnerships", "clusters"]
    # Bounded: with no room, every request counts again.
    monkeypatch.setattr(browse, "BROWSED_BYTES", 0)
    small = _app(store, 100)
    for _ in range(2):
        assert (
            small.test_client().get("/clusters?sector=packaging", headers=FRESH).status_code == 200
        )
    assert counted[3:] == ["clusters", "clusters"]
