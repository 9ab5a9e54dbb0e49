"""Search: the index against the scan it replaced, ranking, fields, bad input, fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from htmlcheck import check_html
from servers import Server, start_oxigraph
from sources import partnership_rows, rows

from server import catalog
from server.build import searchindex
from server.build.info import BuildInfo
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI
from server.web.factory import create_app
from server.web.pages.search import MAX_QUERY, PAGE_SIZE, fold, scan, words

ROOT: Final = Path(__file__).resolve().parents[2]
BROWSER: Final = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PARTNERSHIPS: Final = partnership_rows()
CLUSTERS: Final = sorted(
    {
        r["cluster_name"]
        for name in ("gen1-members-partial", "gen2-members")
        for r in rows(f"escp4i-{name}.csv")
    }
)
SECTORS: Final = sorted(
    {s.strip() for p in PARTNERSHIPS for s in p["sectors"].split(";") if s.strip()}
)
#: Queries the index must answer with everything the scan finds: every acronym, the start
#: of each name, accented and mixed-case forms, one or two characters, pattern syntax.
QUERIES: Final = sorted(
    {p["acronym"] for p in PARTNERSHIPS}
    | {(p["name"] or p["acronym"])[:4] for p in PARTNERSHIPS}
    | {c[:5] for c in CLUSTERS}
    | {"pôle MER", "ÉNERGIE", "Énergy", "rhône-alpes", "AdPaCk", "CLUSTER go"}
    | {"a", "go", "ß", "e s"}
    | {".*", "(", "[a-z]+", "a|b", '"', "pack*", "NEAR(a b)", "x AND y", "^aero"}
)


def all_hits(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    """Fetch every page of a search's JSON form, best first."""
    hits: list[dict[str, Any]] = []
    for page in range(1, 50):
        resp = client.get("/search", query_string={"q": query, "format": "json", "page": page})
        if resp.status_code == 404:
            break
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.json
        assert body is not None
        hits += body["results"]
        if len(body["results"]) < PAGE_SIZE:
            break
    return hits


def api_rows(client: FlaskClient, **params: str) -> list[dict[str, Any]]:
    resp = client.get("/api/queries/search.json", query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    found: list[dict[str, Any]] = json.loads(resp.data)
    return found


def scan_rows(store: EmbeddedStore, **params: str) -> set[tuple[str, str, str | None]]:
    """Run queries/search.rq through the catalog on the store: the API's scan."""
    query = catalog.load(ROOT / "queries").get("search")
    assert query is not None
    result = store.query(query.bind({k: [v] for k, v in params.items()}))
    assert isinstance(result, ox.QuerySolutions)
    return {
        (
            s["resource"].value,
            s["matched"].value,
            s["generation"].value if s["generation"] else None,
        )
        for s in result
    }


def test_fold_drops_accents_and_case() -> None:
    assert fold("Évora ÖSTERREICH Rhône") == "evora osterreich rhone"
    assert words("  Cluster   GO ") == ["cluster", "go"]


def test_the_index_is_part_of_the_build(built: BuildInfo) -> None:
    path = Path(built.path) / searchindex.FILE
    assert path.is_file() and path.stat().st_size > 0
    index = searchindex.SearchIndex(path)
    assert index.content_hash == built.content_hash


@pytest.mark.parametrize("query", QUERIES)
def test_search_page_finds_everything_the_scan_finds(
    client: FlaskClient, store: EmbeddedStore, query: str
) -> None:
    found = [h["url"] for h in all_hits(client, query)]
    assert len(found) == len(set(found))
    scanned = {h.url for h in scan(store, query, DEFAULT_BASE_IRI)}
    assert scanned <= set(found), sorted(scanned - set(found))


@pytest.mark.parametrize("query", QUERIES)
def test_search_api_finds_everything_the_scan_finds(
    client: FlaskClient, store: EmbeddedStore, query: str
) -> None:
    got = api_rows(client, q=query)
    rows_ = {(r["resource"], r["matched"], r["generation"]) for r in got}
    assert scan_rows(store, q=query) <= rows_
    # Only names that hold the text, each with the field it is in.
    assert all(fold(query) in fold(r["matched"]) for r in got)
    assert {r["field"] for r in got} <= set(searchindex.FIELDS)
    assert all(r["q"] == query for r in got)


@pytest.mark.parametrize("generation", ["escp-4i-1", "escp-4i-2"])
def test_search_api_in_one_generation_is_the_scan_in_it(
    client: FlaskClient, store: EmbeddedStore, generation: str
) -> None:
    iri = f"{DEFAULT_BASE_IRI}id/generation/{generation}"
    got = api_rows(client, q="pa", generation=iri)
    expected = scan_rows(store, q="pa", generation=iri)
    assert {(r["resource"], r["matched"], r["generation"]) for r in got} == expected and expected


def test_prefix_finds_aerospace_valley_first_among_infix_matches(client: FlaskClient) -> None:
    assert "Aerospace Valley" in CLUSTERS  # the graph has it
    hits = all_hits(client, "aero")
    labels = [h["label"] for h in hits]
    assert "Aerospace Valley" in labels
    # Every name that starts with "aero" comes before every one that only holds it.
    starts = [_starts(h, "aero") for h in hits]
    assert starts == sorted(starts, reverse=True) and any(starts) and not all(starts)
    sectors = [h for h in hits if h["kind"] == "sector"]
    assert {h["label"] for h in sectors} == {s for s in SECTORS if "aero" in fold(s)}


@pytest.mark.parametrize("query", ["pack", "pole", "photon", "clu", "smart"])
def test_names_that_start_with_the_text_rank_before_the_others(
    client: FlaskClient, query: str
) -> None:
    starts = [_starts(h, query) for h in all_hits(client, query)]
    assert starts == sorted(starts, reverse=True) and any(starts)


@pytest.mark.parametrize("acronym", sorted({p["acronym"] for p in PARTNERSHIPS}))
def test_an_exact_acronym_ranks_first(client: FlaskClient, acronym: str) -> None:
    first = all_hits(client, acronym.lower())[0]
    assert fold(acronym) in {fold(first["label"]), fold(first["acronym"] or "")}


def test_the_matched_field_is_shown_on_the_page_and_in_the_json(client: FlaskClient) -> None:
    row = next(p for p in PARTNERSHIPS if p["name"] and fold(p["acronym"]) not in fold(p["name"]))
    acronym = row["acronym"]
    html = client.get("/search", query_string={"q": acronym}, headers=BROWSER).get_data(
        as_text=True
    )
    assert check_html(html) == []
    assert f"matched acronym: <mark>{acronym}</mark>" in html
    first = all_hits(client, acronym)[0]
    assert (first["field"], first["matched"], first["label"]) == ("acronym", acronym, row["name"])
    by_name = all_hits(client, row["name"])[0]
    assert (by_name["field"], by_name["matched"]) == ("label", row["name"])


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


def test_results_past_a_page_have_a_next_page(client: FlaskClient) -> None:
    everything = all_hits(client, "a")
    assert len(everything) > PAGE_SIZE
    html = client.get("/search", query_string={"q": "a"}, headers=BROWSER).get_data(as_text=True)
    assert f'<h2 id="results">{len(everything)} results' in html
    assert 'href="/search?q=a&amp;page=2" rel="next"' in html
    last = -(-len(everything) // PAGE_SIZE)
    assert client.get("/search", query_string={"q": "a", "page": last + 1}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * (MAX_QUERY + 1)},
        {"q": ""},
        {"q": "   "},
        {"q": "aero\x00"},
        {"q": "a\nb"},
        {"q": "aero", "page": "0"},
        {"q": "aero", "page": "two"},
    ],
)
def test_bad_search_input_is_a_400(client: FlaskClient, params: dict[str, str]) -> None:
    resp = client.get("/search", query_string={**params, "format": "json"})
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"


def test_search_with_no_match_and_without_a_query(client: FlaskClient) -> None:
    none = client.get("/search", query_string={"q": "zzzz qqqq", "format": "json"})
    assert none.json == {"query": "zzzz qqqq", "count": 0, "total": 0, "page": 1, "results": []}
    form = client.get("/search", headers=BROWSER)
    assert form.status_code == 200 and 'name="q"' in form.get_data(as_text=True)


def test_search_box_on_the_landing_page_allows_the_longest_query(client: FlaskClient) -> None:
    html = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert f'name="q" value="" maxlength="{MAX_QUERY}" required' in html


# -- a release without its index, and one served by a remote endpoint ----------------------


@pytest.fixture(scope="module")
def unindexed(built: BuildInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app over the session build's folder, linked item by item, without the index."""
    var = tmp_path_factory.mktemp("unindexed")
    folder = var / "builds" / "copy"
    folder.mkdir(parents=True)
    for item in Path(built.path).iterdir():
        if item.name not in (searchindex.FILE, "served-by"):
            (folder / item.name).symlink_to(item)
    backend = EmbeddedStore(folder)
    yield create_app({"TESTING": True, "PROJECT_DIR": str(ROOT)}, backend=backend)
    backend.close()


@pytest.mark.parametrize("query", ["aero", "pôle MER", "a"])
def test_without_the_index_the_search_falls_back_to_the_scan(
    unindexed: Flask, client: FlaskClient, store: EmbeddedStore, query: str
) -> None:
    fallback = unindexed.test_client()
    hits = all_hits(fallback, query)
    assert [h["url"] for h in hits] == [h.url for h in scan(store, query, DEFAULT_BASE_IRI)]
    assert all(h["field"] in searchindex.FIELDS and h["matched"] for h in hits)
    # The API runs queries/search.rq: the same rows as the index gives.
    scanned = {(r["resource"], r["matched"], r["field"]) for r in api_rows(fallback, q=query)}
    indexed = {(r["resource"], r["matched"], r["field"]) for r in api_rows(client, q=query)}
    assert scanned == indexed


@pytest.fixture(scope="module")
def oxigraph(built: BuildInfo) -> Iterator[Server]:
    with start_oxigraph(Path(built.path) / "store") as server:
        yield server


def test_over_a_remote_endpoint_the_release_index_serves(
    built: BuildInfo, oxigraph: Server, client: FlaskClient
) -> None:
    remote = create_app(
        {
            "TESTING": True,
            "PROJECT_DIR": str(ROOT),
            "BACKEND": "sparql",
            "SPARQL_URL": oxigraph.url + "/query",
            "DATA_DIR": str(Path(built.path).parents[1]),
        }
    ).test_client()
    hits = all_hits(remote, "aero")
    assert hits == all_hits(client, "aero")
    assert "sector" in {h["kind"] for h in hits}  # the scan of the fallback has no sectors
    assert api_rows(remote, q="aero") == api_rows(client, q="aero")


def _starts(hit: dict[str, Any], query: str) -> bool:
    names = (hit["label"], hit["acronym"] or "", hit["matched"])
    return any(fold(n).startswith(query) for n in names)


def test_search_json_gives_the_page_and_the_total(client: FlaskClient) -> None:
    first = client.get("/search", query_string={"q": "cluster", "format": "json"}).json
    assert first["page"] == 1
    assert first["total"] >= first["count"] == len(first["results"]) > 0
    html = client.get("/search", query_string={"q": "cluster"}, headers=BROWSER)
    assert str(first["total"]) in html.get_data(as_text=True)
