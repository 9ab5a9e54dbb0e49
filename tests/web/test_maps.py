"""The maps page: member countries of Europe and target markets, checked against the graph."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Final

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient
from htmlcheck import check_html

from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, iri_to_path
from server.web.factory import create_app

ROOT: Final = Path(__file__).resolve().parents[2]
BOUNDARIES: Final = ROOT / "server" / "web" / "drawing" / "boundaries"
BASE: Final = DEFAULT_BASE_IRI
ESCP: Final = BASE + "def#"
ORG: Final = "http://www.w3.org/ns/org#"
P298: Final = "http://www.wikidata.org/prop/direct/P298"
SVG: Final = "{http://www.w3.org/2000/svg}"
HTML: Final = {"Accept": "text/html"}
#: The vendored outlines must stay small enough to ship and to serve inline.
BUDGET: Final = 300_000
GENERATIONS: Final = [None, "1", "2"]


def _select(store: EmbeddedStore, query: str) -> list[dict[str, str]]:
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


def _scope(generation: str | None, var: str) -> str:
    """A pattern narrowing a partnership variable to one generation (nothing for all)."""
    if generation is None:
        return ""
    return f"{var} <{ESCP}generation> <{BASE}id/generation/escp-4i-{generation}> ."


def _member_countries(store: EmbeddedStore, generation: str | None) -> dict[str, tuple[str, int]]:
    """ISO alpha-3 of each member country: its IRI and its member cluster organisations.

    For all generations every cluster with a country counts; for one, those with a
    membership in one of its partnerships.
    """
    membership = (
        f"?c <{ORG}memberOf> ?p . {_scope(generation, '?p')}" if generation is not None else ""
    )
    rows = _select(
        store,
        f"""SELECT ?country ?iso3 (COUNT(DISTINCT ?c) AS ?n) WHERE {{
          ?c a <{ESCP}ClusterOrganisation> ; <{ESCP}country> ?country . {membership}
          ?country a <{ESCP}Country> ; <{P298}> ?iso3 .
        }} GROUP BY ?country ?iso3""",
    )
    return {r["iso3"]: (r["country"], int(r["n"])) for r in rows}


def _market_countries(store: EmbeddedStore, generation: str | None) -> dict[str, tuple[str, int]]:
    """ISO alpha-3 of each target-market country: its IRI and the partnerships naming it."""
    rows = _select(
        store,
        f"""SELECT ?country ?iso3 (COUNT(DISTINCT ?p) AS ?n) WHERE {{
          ?p a <{ESCP}Partnership> ; <{ESCP}targetMarket> ?country . {_scope(generation, "?p")}
          ?country a <{ESCP}Country> ; <{P298}> ?iso3 .
        }} GROUP BY ?country ?iso3""",
    )
    return {r["iso3"]: (r["country"], int(r["n"])) for r in rows}


def _market_regions(store: EmbeddedStore, generation: str | None) -> dict[str, int]:
    """Path of each region named as a target market, with the partnerships naming it."""
    rows = _select(
        store,
        f"""SELECT ?region (COUNT(DISTINCT ?p) AS ?n) WHERE {{
          ?p a <{ESCP}Partnership> ; <{ESCP}targetMarket> ?region . {_scope(generation, "?p")}
          ?region a <{ESCP}Region> .
        }} GROUP BY ?region""",
    )
    return {iri_to_path(r["region"], BASE) or "": int(r["n"]) for r in rows}


def _get(client: FlaskClient, generation: str | None) -> str:
    query = {"generation": generation} if generation else {}
    resp = client.get("/map", query_string=query, headers=HTML)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _figure(html: str, name: str) -> str:
    """The markup of one map's figure (svg, legend, table), as the page holds it."""
    found = re.findall(rf'<figure class="map" id="map-{name}[-0-9]*">.*?</figure>', html, re.S)
    assert len(found) == 1, name
    figure: str = found[0]
    return figure


def _svg(figure: str) -> ET.Element:
    """Parse a map's SVG as XML: it must be well-formed on its own."""
    match = re.search(r"<svg class=\"map-svg.*?</svg>", figure, re.S)
    assert match
    return ET.fromstring(match.group(0))  # noqa: S314 - markup this server wrote, parsed on purpose


def _shaded(svg: ET.Element) -> dict[str, ET.Element]:
    """The shaded countries: links carrying a shade class, by data-iso3 (each once)."""
    links = [a for a in svg.iter(f"{SVG}a") if "map-country" in (a.get("class") or "")]
    codes = [a.get("data-iso3") or "" for a in links]
    assert len(codes) == len(set(codes)), "a country is shaded twice"
    return dict(zip(codes, links, strict=True))


def _shade(element: ET.Element) -> int:
    found = re.findall(r"\bshade-(\d+)\b", element.get("class") or "")
    assert len(found) == 1, element.attrib
    return int(found[0])


def _legend(figure: str) -> dict[int, tuple[int, int, int]]:
    """Each shade of the legend: its lowest and highest value and its number of countries."""
    items = re.findall(
        r'<li class="map-key" data-shade="(\d+)" data-low="(\d+)" data-high="(\d+)">.*?: '
        r"(\d+) countr",
        figure,
    )
    return {int(s): (int(low), int(high), int(n)) for s, low, high, n in items}


def _check_map(figure: str, expected: dict[str, tuple[str, int]], one: str, many: str) -> None:
    """One shaded link per expected country, in the shade its count falls in, named and linked."""
    svg = _svg(figure)
    shaded = _shaded(svg)
    assert set(shaded) == set(expected)
    legend = _legend(figure)
    assert legend, "no legend"
    assert sum(n for _, _, n in legend.values()) == len(expected)
    per_shade: dict[int, int] = {}
    for code, link in shaded.items():
        iri, count = expected[code]
        shade = _shade(link)
        low, high, _ = legend[shade]
        assert low <= count <= high, (code, count, shade, legend[shade])
        per_shade[shade] = per_shade.get(shade, 0) + 1
        assert link.get("href") == iri_to_path(iri, BASE)
        title = link.find(f"{SVG}title")
        assert title is not None and title.text is not None
        assert title.text.endswith(f": {count} {one if count == 1 else many}")
        assert link.get("aria-label") == title.text
        shapes = [el for el in link if el.tag in (f"{SVG}path", f"{SVG}circle")]
        assert shapes, f"{code} has no shape"
        assert all(_shade(el) == shade for el in shapes)
    assert per_shade == {s: n for s, (_, _, n) in legend.items()}
    # Countries without a value: drawn plain, never linked.
    for path in svg.iter(f"{SVG}path"):
        if path.get("class") == "map-land":
            assert path.get("data-iso3") not in expected
    assert all("map-country" in (a.get("class") or "") for a in svg.iter(f"{SVG}a"))
    # The table fallback lists the same countries and counts, linked to the same pages.
    rows = re.findall(
        r'<tr><th scope="row"><a href="([^"]+)">[^<]*</a></th><td class="num">(\d+)</td>', figure
    )
    assert sorted((href, int(n)) for href, n in rows) == sorted(
        (iri_to_path(iri, BASE) or "", n) for iri, n in expected.values()
    )


@pytest.mark.parametrize("generation", GENERATIONS)
def test_europe_map_shades_each_member_country_once_in_the_shade_of_its_clusters(
    client: FlaskClient, store: EmbeddedStore, generation: str | None
) -> None:
    expected = _member_countries(store, generation)
    assert expected
    figure = _figure(_get(client, generation), "europe")
    _check_map(figure, expected, "cluster organisation", "cluster organisations")
    assert "not drawn" not in figure


@pytest.mark.parametrize("generation", GENERATIONS)
def test_world_map_shades_exactly_the_target_market_countries(
    client: FlaskClient, store: EmbeddedStore, generation: str | None
) -> None:
    expected = _market_countries(store, generation)
    assert expected
    figure = _figure(_get(client, generation), "world")
    _check_map(figure, expected, "partnership", "partnerships")
    assert "not drawn" not in figure


@pytest.mark.parametrize("generation", GENERATIONS)
def test_regions_beside_the_world_map_are_the_regions_named_as_markets(
    client: FlaskClient, store: EmbeddedStore, generation: str | None
) -> None:
    html = _get(client, generation)
    table = re.search(r'<table class="regions">.*?</table>', html, re.S)
    expected = _market_regions(store, generation)
    if not expected:
        assert table is None
        return
    assert table
    rows = re.findall(
        r'<th scope="row"><a href="([^"]+)">[^<]*</a></th><td class="num">(\d+)</td>',
        table.group(0),
    )
    assert {href: int(n) for href, n in rows} == expected
    assert len(rows) == len(expected)


def test_second_generation_shows_its_own_countries(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    first, second = _member_countries(store, "1"), _member_countries(store, "2")
    assert set(first) != set(second), "the generations must differ for this test to mean much"
    shaded = _shaded(_svg(_figure(_get(client, "2"), "europe")))
    assert set(shaded) == set(second)


def test_every_shaded_country_links_to_a_page(client: FlaskClient) -> None:
    html = _get(client, "1")
    hrefs = {
        a.get("href") or ""
        for name in ("europe", "world")
        for a in _shaded(_svg(_figure(html, name))).values()
    }
    assert hrefs
    for href in sorted(hrefs):
        assert client.get(href, headers=HTML).status_code == 200, href


def test_map_page_is_valid_html_without_inline_style(client: FlaskClient) -> None:
    html = _get(client, None)
    assert check_html(html) == []
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html
    assert "http" not in "".join(re.findall(r"<svg class=\"map-svg.*?</svg>", html, re.S)).replace(
        "http://www.w3.org/2000/svg", ""
    ), "a map refers to another host"


def test_map_svg_is_a_labelled_group_not_an_image_hiding_its_links(client: FlaskClient) -> None:
    html = _get(client, "1")
    for name in ("europe", "world"):
        svg = _svg(_figure(html, name))
        assert svg.get("role") == "group"
        ids = (svg.get("aria-labelledby") or "").split()
        found = {el.get("id"): el for el in svg if el.get("id")}
        assert [found[i].tag for i in ids] == [f"{SVG}title", f"{SVG}desc"]


def test_maps_render_the_same_bytes_every_time(store: EmbeddedStore) -> None:
    pages = []
    for _ in range(2):
        app = create_app({"TESTING": True, "PROJECT_DIR": str(ROOT)}, backend=store)
        html = _get(app.test_client(), "1")
        pages.append([_figure(html, name) for name in ("europe", "world")])
    assert pages[0] == pages[1]


@pytest.mark.parametrize("raw", ["x", "3", "0", "1 ", ""])
def test_bad_generation_is_a_400(client: FlaskClient, raw: str) -> None:
    resp = client.get("/map", query_string={"generation": raw}, headers=HTML)
    assert resp.status_code == 400


def test_vendored_outlines_are_small_and_record_their_provenance() -> None:
    files = sorted(p for p in BOUNDARIES.iterdir() if p.is_file())
    assert sum(p.stat().st_size for p in files) <= BUDGET
    source = json.loads((BOUNDARIES / "countries.json").read_text(encoding="utf-8"))["source"]
    readme = (BOUNDARIES / "README.md").read_text(encoding="utf-8")
    assert source["sha256"]
    for name, digest in source["sha256"].items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert f"world-atlas/{name}`: SHA-256 `{digest}`" in readme
    for name, version in source["package"].items():
        assert f"{name}@{version}" in readme
    assert "public domain" in readme
    assert "Permission to use, copy, modify, and/or distribute this software" in readme
    assert "scripts/boundaries.py" in readme
