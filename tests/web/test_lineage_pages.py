"""Two generations on the pages: lineage heads, clusters by generation, landing, browse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Final

import html5lib
import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient
from htmlcheck import check_html
from sources import rows as source_rows

from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, SEED_PAGE

ROOT: Final = Path(__file__).resolve().parents[2]
SOURCES: Final = ROOT / "data" / "sources"
BASE: Final = DEFAULT_BASE_IRI
ESCP: Final = BASE + "def#"
DCTERMS: Final = "http://purl.org/dc/terms/"
SKOS: Final = "http://www.w3.org/2004/02/skos/core#"
HTML: Final = {"Accept": "text/html"}
GENERATION: Final = {"1": BASE + "id/generation/escp-4i-1", "2": BASE + "id/generation/escp-4i-2"}


def _page(client: FlaskClient, path: str, **query: str) -> ET.Element:
    """Get an HTML page, check it, and parse it with html5lib (no namespaces, for find)."""
    resp = client.get(path, query_string=query, headers=HTML)
    assert resp.status_code == 200, path
    text = resp.get_data(as_text=True)
    assert check_html(text) == []
    root: ET.Element = html5lib.parse(text, treebuilder="etree", namespaceHTMLElements=False)
    return root


def _text(el: ET.Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _one(root: ET.Element, path: str) -> ET.Element:
    found = root.findall(path)
    assert len(found) == 1, (path, len(found))
    return found[0]


def _select(store: EmbeddedStore, query: str) -> list[dict[str, str]]:
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


def _iri_of(store: EmbeddedStore, acronym: str) -> str:
    rows = _select(store, f'SELECT ?p WHERE {{ ?p <{ESCP}acronym> "{acronym}" }}')
    assert len(rows) == 1, acronym
    return rows[0]["p"]


def _path(iri: str) -> str:
    return "/" + iri[len(BASE) :]


def _sources(store: EmbeddedStore, iri: str) -> set[str]:
    return {r["s"] for r in _select(store, f"SELECT ?s WHERE {{ <{iri}> <{DCTERMS}source> ?s }}")}


def _numbered(root: ET.Element) -> dict[str, str]:
    """The page's numbered list of sources: number to URL."""
    sources = _one(root, ".//ol[@class='sources']")
    return {li.get("value", ""): _one(li, "a").get("href", "") for li in sources.findall("li")}


# -- a partnership's head: generation, evidence, continuity -----------------------------------


def _continuity(root: ET.Element) -> list[ET.Element]:
    return _one(root, ".//div[@class='lineage']").findall("p[@class='continuity']")


@pytest.mark.parametrize(
    ("acronym", "relation", "other"),
    [("AdPack", "Continued as", "AdPack2"), ("AdPack2", "Continues", "AdPack")],
)
def test_partnership_page_shows_its_continuity_link_with_strength_and_sources(
    client: FlaskClient, store: EmbeddedStore, acronym: str, relation: str, other: str
) -> None:
    root = _page(client, _path(_iri_of(store, acronym)))
    links = _select(
        store,
        f"SELECT ?link ?strength WHERE {{ ?link a <{ESCP}ContinuityLink> ; "
        f"<{ESCP}fromPartnership> <{_iri_of(store, 'AdPack')}> ; "
        f"<{ESCP}toPartnership> <{_iri_of(store, 'AdPack2')}> ; <{ESCP}linkStrength> ?strength }}",
    )
    assert len(links) == 1
    link, strength = links[0]["link"], links[0]["strength"]
    (line,) = _continuity(root)
    assert _text(line).startswith(f"{relation} {other} (explicit link)")
    anchors = line.findall(".//a")
    assert (anchors[0].get("href"), _text(anchors[0])) == (_path(_iri_of(store, other)), other)
    assert (anchors[1].get("href"), _text(anchors[1])) == (_path(strength), "explicit")
    assert anchors[-1].get("href") == _path(link)  # the link's own page
    # The link's sources, numbered as the page's other sources are.
    refs = line.findall(".//a[@class='ref']")
    assert {r.get("href") for r in refs} == _sources(store, link)
    numbered = _numbered(root)
    for ref in refs:
        assert numbered[_text(ref).strip("[]")] == ref.get("href")


def test_probable_first_generation_partnership_shows_its_level_and_why(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    (row,) = [
        r for r in source_rows("escp4i-gen1-partnerships.csv") if r["acronym"] == "SmartCityTech"
    ]
    assert row["evidence"] == "probable"
    iri = _iri_of(store, "SmartCityTech")
    root = _page(client, _path(iri))
    line = _one(root, ".//div[@class='lineage']/p[@class='generation']")
    assert _text(line) == "First generation (2016-2017) · evidence probable why"
    generation, evidence, why = line.findall(".//a")
    assert generation.get("href") == _path(GENERATION["1"])
    assert (evidence.get("href"), _text(evidence)) == ("/id/evidence/probable", "probable")
    assert why.get("href") == "#note-1" and _text(why) == "why"
    note = _one(root, ".//p[@id='note-1']")
    (stated,) = _select(store, f"SELECT ?n WHERE {{ <{iri}> <{SKOS}editorialNote> ?n }}")
    assert _text(note) == " ".join(stated["n"].split())
    assert "PROBABLE first-generation row" in _text(note)
    # Shown in the head, so not again among the facts.
    facts = [_text(dt) for dt in root.findall(".//dl[@class='facts']/div/dt")]
    assert "Generation" not in facts and "Evidence level" not in facts


def test_continuity_link_page_reads_from_to_strength_sources_and_notes(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    link = BASE + "id/continuity/adpack-to-adpack2"
    root = _page(client, _path(link))
    assert _text(_one(root, ".//h1")) == "AdPack continued as AdPack2 (explicit)"
    ends = [_text(p) for p in _continuity(root)]
    assert ends == [
        "From AdPack First generation (2016-2017), evidence confirmed",
        "To AdPack2 Second generation (2018-2019), evidence confirmed",
    ]
    facts = {
        _text(div.find("dt")): _text(div.find("dd"))
        for div in root.findall(".//dl[@class='facts']/div")
    }
    assert list(facts)[:3] == ["From partnership", "To partnership", "Link strength"]
    assert facts["Link strength"] == "explicit"
    assert set(_numbered(root).values()) == _sources(store, link)
    assert "Four of the five AdPack founding clusters" in _text(_one(root, ".//p[@id='note-1']"))


# -- a cluster's partnerships, one table per generation ------------------------------------


def _memberships(cluster_name: str) -> dict[str, set[str]]:
    """Acronyms of a cluster's partnerships per generation, from the member tables."""
    files = {"1": "escp4i-gen1-members-partial.csv", "2": "escp4i-gen2-members.csv"}
    found = {
        g: {
            r["partnership_acronym"] for r in source_rows(name) if r["cluster_name"] == cluster_name
        }
        for g, name in files.items()
    }
    return {g: acronyms for g, acronyms in found.items() if acronyms}


def _cluster(store: EmbeddedStore, name: str) -> str:
    rows = _select(
        store,
        f"SELECT ?c WHERE {{ ?c a <{ESCP}ClusterOrganisation> ; "
        f'<http://www.w3.org/2000/01/rdf-schema#label> "{name}"@en }}',
    )
    assert len(rows) == 1, name
    return rows[0]["c"]


@pytest.mark.parametrize(
    "name", ["BalticNet-PlasmaTec e.V.", "Packbridge", "Pole SCS (Secured Communicating Solutions)"]
)
def test_cluster_page_groups_its_partnerships_by_generation(
    client: FlaskClient, store: EmbeddedStore, name: str
) -> None:
    expected = _memberships(name)
    assert expected, name
    root = _page(client, _path(_cluster(store, name)))
    heading = next(h for h in root.iter("h2") if _text(h) == "Partnerships")
    section = next(s for s in root.iter("section") if heading in list(s))
    groups = section.findall("section[@class='group']")
    names = {"1": "First generation (2016-2017)", "2": "Second generation (2018-2019)"}
    assert [_text(_one(g, "h3")) for g in groups] == [names[n] for n in sorted(expected)]
    for group, number in zip(groups, sorted(expected), strict=True):
        shown = {a.get("href") for a in group.findall(".//tbody/tr/th/a")}
        assert shown == {_path(_iri_of(store, acronym)) for acronym in expected[number]}


def test_cluster_in_both_generations_is_one_resource_in_both_groups() -> None:
    assert _memberships("BalticNet-PlasmaTec e.V.") == {"1": {"AdPack"}, "2": {"AdPack2", "DIA"}}


# -- the landing page: the first generation in front, the second as context ------------------


def _evidence_counts(line: ET.Element) -> dict[str, int]:
    """The "N <a href=/id/evidence/slug>" pairs of a coverage line."""
    html = ET.tostring(line, encoding="unicode")
    return {slug: int(n) for n, slug in re.findall(r'(\d+) <a href="/id/evidence/([^"]+)"', html)}


def test_landing_counts_are_the_first_generation_tables(client: FlaskClient) -> None:
    partnerships = source_rows("escp4i-gen1-partnerships.csv")
    members = source_rows("escp4i-gen1-members-partial.csv")
    root = _page(client, "/")
    totals = {
        _text(div.find("dt")): int(_text(div.find("dd")))
        for div in _one(root, ".//dl[@class='totals']").findall("div")
    }
    assert totals["partnerships"] == len(partnerships)
    assert totals["memberships"] == len(members)
    assert totals["cluster organisations"] == len({m["cluster_name"] for m in members})
    assert totals["member countries"] == len({m["country"] for m in members if m["country"]})
    assert totals["partnerships with members"] == len({m["partnership_acronym"] for m in members})
    line = _one(root, ".//section[@aria-labelledby='coverage']/p[@class='hint']")
    assert f"{len(partnerships)} enumerated here" in _text(line)
    assert _evidence_counts(line) == Counter(r["evidence"] for r in partnerships)
    # The lists: exactly the first generation's partnerships and clusters.
    listed = _one(root, ".//section[@aria-labelledby='partnerships']")
    shown = {_text(th.find("a")) for th in listed.findall(".//tbody/tr/th")}
    assert shown == {r["acronym"] for r in partnerships}
    clusters = _one(root, ".//section[@aria-labelledby='clusters']").findall(".//tbody/tr")
    assert len(clusters) == len({m["cluster_name"] for m in members})
    chart = next(t for t in root.iter("{http://www.w3.org/2000/svg}title") if "funding" in _text(t))
    assert sum(int(n) for n in re.findall(r": (\d+)", _text(chart))) == len(partnerships)


def test_figures_page_key_figures_are_stated_for_the_first_generation(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    root = _page(client, "/figures")
    rows = _one(root, ".//section[@aria-labelledby='scope-escp-4i-1']").findall(".//tbody/tr")
    (count,) = _select(
        store,
        f"SELECT (COUNT(DISTINCT ?f) AS ?n) WHERE {{ ?f a <{ESCP}StatedFigure> ; "
        f"<{ESCP}measure> ?m ; <{ESCP}statedFor> <{GENERATION['1']}> }}",
    )
    assert len(rows) == int(count["n"])
    table = source_rows("escp4i-gen1-partnerships.csv")
    partnerships = len(table)
    confirmed = sum(1 for r in table if r["evidence"] == "confirmed")
    in_all = [
        r for r in rows if [_text(td) for td in r.findall("td")[:2]] == ["partnerships", "all"]
    ]
    assert in_all
    assert {_text(r.findall("td")[4]) for r in in_all} == {str(partnerships)}
    assert {_text(r.findall("td")[5]) for r in in_all} == {str(confirmed)}


def test_landing_second_generation_section_gives_its_coverage(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    partnerships = source_rows("escp4i-gen2-partnerships.csv")
    root = _page(client, "/")
    section = _one(root, ".//section[@aria-labelledby='generation-2']")
    assert _text(_one(section, "h2")) == "Second generation (2018-2019), as context"
    line = _one(section, "p[@class='coverage']")
    assert f"; {len(partnerships)} enumerated here, of which" in _text(line)
    assert _evidence_counts(line) == Counter(r["evidence"] for r in partnerships)
    stated = _select(
        store,
        f"SELECT ?v WHERE {{ ?f <{ESCP}statedFor> <{GENERATION['2']}> ; "
        f"<{ESCP}measure> <{BASE}id/measure/partnerships> ; <{ESCP}value> ?v }}",
    )
    values = re.findall(r"(\d+) (?:co-funded )?partnerships \(", _text(line))
    assert sorted(values) == sorted(r["v"] for r in stated)
    more = {a.get("href") for a in section.findall("p[@class='more']/a")}
    assert more == {
        "/partnerships?generation=2",
        "/clusters?generation=2",
        "/continuity-links?generation=2",
    }
    continued = section.findall("ul[@class='continued']/li")
    links = _select(store, f"SELECT ?l WHERE {{ ?l a <{ESCP}ContinuityLink> }}")
    assert len(continued) == len(links)


# -- browse pages narrowed to a generation ---------------------------------------------------


@pytest.mark.parametrize("generation", ["1", "2"])
def test_browse_partnerships_of_a_generation_lists_its_table(
    client: FlaskClient, generation: str
) -> None:
    root = _page(client, "/partnerships", generation=generation)
    shown = [_text(th.find("a")) for th in root.findall(".//tbody/tr/th")]
    expected = {r["acronym"] for r in source_rows(f"escp4i-gen{generation}-partnerships.csv")}
    assert sorted(shown) == sorted(expected)
    assert "Generation" not in [_text(th) for th in root.findall(".//thead/tr/th")]


def test_browse_partnerships_without_a_generation_shows_each_rows_generation(
    client: FlaskClient,
) -> None:
    root = _page(client, "/partnerships")
    headers = [_text(th) for th in root.findall(".//thead/tr/th")]
    column = headers.index("Generation")
    found = {}
    for tr in root.findall(".//tbody/tr"):
        cells = list(tr)
        found[_text(cells[0].find("a"))] = cells[column].find("a").get("href")
    expected = {
        r["acronym"]: _path(GENERATION[g])
        for g in GENERATION
        for r in source_rows(f"escp4i-gen{g}-partnerships.csv")
    }
    assert found == expected


def test_browse_clusters_of_the_second_generation_are_its_members(client: FlaskClient) -> None:
    root = _page(client, "/clusters", generation="2")
    assert _text(_one(root, ".//h1")) == "Cluster organisations, second generation (2018-2019)"
    names = {_text(th.find("a")) for th in root.findall(".//tbody/tr/th")}
    assert names == {r["cluster_name"] for r in source_rows("escp4i-gen2-members.csv")}
    balticnet = next(
        tr for tr in root.findall(".//tbody/tr") if _text(tr[0]) == "BalticNet-PlasmaTec e.V."
    )
    assert {_text(a) for a in balticnet[-1].findall("a")} == {"AdPack2", "DIA"}


def test_browse_with_a_bad_generation_is_a_400(client: FlaskClient) -> None:
    resp = client.get("/partnerships", query_string={"generation": "x"})
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["detail"].startswith("generation must be one of 1, 2")


def test_landing_headline_gives_enumerated_of_stated_with_the_range_of_the_sources(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    root = _page(client, "/")
    lines = _one(root, ".//section[@aria-labelledby='coverage']/ul").findall("li")
    assert len(lines) == 3
    figures = {
        r["figure"].rsplit("/", 1)[1]: r
        for r in client.get("/api/queries/key-figures.json").get_json()
        if r["scope"] == GENERATION["1"] and r.get("fundingLabel") is None
    }
    for li, slug in zip(lines, ("partnerships", "cluster-organisations", "countries"), strict=True):
        link = _one(li, "a")
        assert link.get("href") == f"/figures#measure-{slug}"
        same = [f for f in figures.values() if f["measure"] == f"{BASE}id/measure/{slug}"]
        seed = [f for f in same if SEED_PAGE in f["sources"].split()]
        shown = (seed or same)[0]
        text = _text(li)
        assert text.startswith(f"{shown['enumerated']} of ")
        assert f" {shown['value']} " in text
        values = {f["value"] for f in same}
        if len(values) > 1:
            assert f"(sources state {min(values)} to {max(values)})" in text
        target = _page(client, "/figures")
        assert target.find(f".//*[@id='measure-{slug}']") is not None


def test_figures_page_marks_exactly_the_conflicting_figures(client: FlaskClient) -> None:
    root = _page(client, "/figures")
    rows = [tr for tr in root.iter("tr") if tr.find("td") is not None]
    every = client.get("/api/queries/key-figures.json").get_json()
    assert len(rows) == len(every)
    conflicting = {
        r["figure"] for r in client.get("/api/queries/conflicting-figures.json").get_json()
    }
    marked = [tr for tr in rows if tr.get("class") == "conflicting"]
    assert len(marked) == len(conflicting)
    assert all("conflicting" in _text(tr.findall("td")[-1]) for tr in marked)
