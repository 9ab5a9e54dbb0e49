"""The built graph against its source tables: sources, countries, generations, lineage, figures."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sources"
PREFIXES = """
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX escp: <https://w3id.org/escp4i/def#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""


def _rows(name: str) -> list[dict[str, str]]:
    return _rows_of(SOURCES, name)


def _rows_of(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _select(store: EmbeddedStore, query: str) -> list[dict[str, str]]:
    result = store.query(PREFIXES + query)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def test_every_subject_of_the_data_graph_has_an_http_source(store: EmbeddedStore) -> None:
    rows = _select(
        store,
        """SELECT DISTINCT ?s WHERE {
             GRAPH <https://w3id.org/escp4i/graph/data> { ?s ?p ?o }
             FILTER NOT EXISTS {
               GRAPH <https://w3id.org/escp4i/graph/data> { ?s dcterms:source ?src }
               FILTER(isIRI(?src) && REGEX(STR(?src), "^https?://"))
             }
           }""",
    )
    assert rows == []


def test_every_country_used_has_exactly_one_wikidata_link(store: EmbeddedStore) -> None:
    rows = _select(
        store,
        """SELECT ?country (COUNT(DISTINCT ?wd) AS ?n) WHERE {
             { ?x escp:country ?country } UNION { ?x escp:targetMarket ?country }
             UNION { ?x escp:market ?country }
             ?country a escp:Country .
             OPTIONAL { ?country owl:sameAs ?wd
                        FILTER(STRSTARTS(STR(?wd), "http://www.wikidata.org/entity/Q")) }
           } GROUP BY ?country""",
    )
    assert rows, "no country is used"
    assert all(r["n"] == "1" for r in rows), [r for r in rows if r["n"] != "1"]


def test_country_links_match_the_country_table(store: EmbeddedStore) -> None:
    table = {r["iso3166_alpha2"].lower(): r["wikidata_qid"] for r in _rows("countries.csv")}
    rows = _select(store, "SELECT ?c ?wd WHERE { ?c a escp:Country ; owl:sameAs ?wd }")
    assert {r["c"].rsplit("/", 1)[1]: r["wd"].rsplit("/", 1)[1] for r in rows}.items() <= (
        table.items()
    )
    assert "Q31" in {r["wd"].rsplit("/", 1)[1] for r in rows}


GENERATIONS = {
    "https://w3id.org/escp4i/id/generation/escp-4i-1": (
        "escp4i-gen1-partnerships.csv",
        "escp4i-gen1-members-partial.csv",
    ),
    "https://w3id.org/escp4i/id/generation/escp-4i-2": (
        "escp4i-gen2-partnerships.csv",
        "escp4i-gen2-members.csv",
    ),
}


def test_partnerships_per_generation_are_the_rows_of_its_table(store: EmbeddedStore) -> None:
    rows = _select(
        store,
        """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
           SELECT ?g ?acronym WHERE {
             ?p a escp:Partnership ; escp:generation ?g ; escp:acronym ?acronym .
           }""",
    )
    got: dict[str, list[str]] = {}
    for r in rows:
        got.setdefault(r["g"], []).append(r["acronym"])
    assert {g: sorted(a) for g, a in got.items()} == {
        g: sorted(r["acronym"] for r in _rows(table)) for g, (table, _) in GENERATIONS.items()
    }


def test_enumerated_partnerships_per_funding_type_match_the_tables(store: EmbeddedStore) -> None:
    expected: dict[tuple[str, str], int] = {}
    for generation, (table, _) in GENERATIONS.items():
        for row in _rows(table):
            # The second table has no funding column: no source states it.
            kind = row.get("funding", "none").split("-strand")[0].replace("-unknown", "")
            key = (generation, {"labelled-funding-not-stated": "none"}.get(kind, kind))
            expected[key] = expected.get(key, 0) + 1
    rows = _select(
        store,
        """SELECT ?g ?f (COUNT(?p) AS ?n) WHERE {
             ?p a escp:Partnership ; escp:generation ?g . OPTIONAL { ?p escp:fundingType ?f }
           } GROUP BY ?g ?f""",
    )
    got = {(r["g"], r.get("f", "none").rsplit("/", 1)[-1]): int(r["n"]) for r in rows}
    assert got == expected


def test_memberships_clusters_and_countries_per_generation_match_the_members_tables(
    store: EmbeddedStore,
) -> None:
    rows = _select(
        store,
        """SELECT ?g (COUNT(DISTINCT ?m) AS ?memberships) (COUNT(DISTINCT ?c) AS ?clusters)
                  (COUNT(DISTINCT ?country) AS ?countries) WHERE {
             ?m a org:Membership ; org:member ?c ; org:organization/escp:generation ?g .
             OPTIONAL { ?c escp:country ?country }
           } GROUP BY ?g""",
    )
    got = {r["g"]: (int(r["memberships"]), int(r["clusters"]), int(r["countries"])) for r in rows}
    expected = {}
    for generation, (_, table) in GENERATIONS.items():
        members = _rows(table)
        expected[generation] = (
            len(members),
            len({r["cluster_name"] for r in members}),
            len({r["country"] for r in members if r["country"]}),
        )
    assert got == expected
    # One resource per organisation, whatever the generation.
    everyone = {r["cluster_name"] for _, table in GENERATIONS.values() for r in _rows(table)}
    total = _select(
        store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a escp:ClusterOrganisation }"
    )
    assert int(total[0]["n"]) == len(everyone)


def test_organisations_in_both_generations_are_the_names_in_both_members_tables(
    store: EmbeddedStore,
) -> None:
    first, second = ({r["cluster_name"] for r in _rows(table)} for _, table in GENERATIONS.values())
    rows = _select(
        store,
        """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
           SELECT DISTINCT ?name WHERE {
             ?c rdfs:label ?name ;
                org:memberOf/escp:generation <https://w3id.org/escp4i/id/generation/escp-4i-1> ,
                                             <https://w3id.org/escp4i/id/generation/escp-4i-2> .
           }""",
    )
    assert {r["name"] for r in rows} == first & second
    # The second generation's notes give the number in a heading.
    notes = (SOURCES / "escp4i-gen2-NOTES.md").read_text(encoding="utf-8")
    stated = re.search(r"### Organisations in both generations \((\d+);", notes)
    assert stated is not None and int(stated.group(1)) == len(first & second)


def test_continuity_links_are_the_rows_of_the_successors_table(store: EmbeddedStore) -> None:
    table = _rows("escp4i-successors.csv")
    rows = _select(
        store,
        """SELECT ?link ?from ?to ?strength ?source WHERE {
             ?link a escp:ContinuityLink ; escp:fromPartnership/escp:acronym ?from ;
                   escp:toPartnership/escp:acronym ?to ; escp:linkStrength ?strength ;
                   dcterms:source ?source .
           }""",
    )
    links: dict[str, tuple[str, str, str, set[str]]] = {}
    for r in rows:
        found = links.setdefault(r["link"], (r["from"], r["to"], r["strength"], set()))
        found[3].add(r["source"])
    assert sorted(links.values(), key=lambda v: v[0]) == sorted(
        (
            (
                row["gen1_acronym"],
                row["gen2_acronym"],
                "https://w3id.org/escp4i/id/link-strength/" + row["strength"],
                {u for u in row["source_urls"].split(";") if u},
            )
            for row in table
        ),
        key=lambda v: v[0],
    )
    direct = _select(
        store,
        """SELECT ?from ?to WHERE {
             ?a escp:continuedAs ?b ; escp:acronym ?from . ?b escp:continues ?a ; escp:acronym ?to .
           }""",
    )
    assert sorted((r["from"], r["to"]) for r in direct) == sorted(
        (row["gen1_acronym"], row["gen2_acronym"]) for row in table
    )


def test_members_of_adpack_are_the_rows_of_the_members_table(store: EmbeddedStore) -> None:
    expected = {
        (r["cluster_name"], r["role"])
        for r in _rows("escp4i-gen1-members-partial.csv")
        if r["partnership_acronym"] == "AdPack"
    }
    rows = _select(
        store,
        """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
           SELECT ?name ?role WHERE {
             ?m org:organization <https://w3id.org/escp4i/id/partnership/adpack> ;
                org:member/rdfs:label ?name ; org:role/rdfs:label ?role .
           }""",
    )
    assert {(r["name"], r["role"]) for r in rows} == expected


def test_key_figures_query_answers_stated_enumerated_and_coverage(
    store: EmbeddedStore,
) -> None:
    text = (ROOT / "queries" / "key-figures.rq").read_text(encoding="utf-8")
    result = store.query(text)
    assert isinstance(result, ox.QuerySolutions)
    rows = [{v.value: s[v.value] for v in result.variables} for s in result]
    stated = {r["figure"].value.rsplit("/", 1)[1]: r for r in rows}
    table = {r["id"]: r for r in _rows("stated-figures.csv")}
    # Second-generation figures are compared when they have a measure.
    mapping = {
        r["measure"]: r for r in _rows_of(ROOT / "data" / "mappings", "stated-figures-gen2.csv")
    }
    measured = {
        mapping[r["measure"]]["id"]: r
        for r in _rows("stated-figures-gen2.csv")
        if mapping[r["measure"]]["measure_concept"]
    }
    assert set(stated) == set(table) | set(measured)
    for fid, row in table.items():
        assert int(stated[fid]["value"].value) == int(row["value"]), fid
        assert stated[fid]["approximate"].value == row["approximate"], fid
        for url in row["source_urls"].split(";"):
            assert url in stated[fid]["sources"].value.split(), fid
    for fid, row in measured.items():
        assert int(stated[fid]["value"].value) == int(row["value"]), fid
        assert set(stated[fid]["sources"].value.split()) == set(row["source_urls"].split(";"))
    first = _rows("escp4i-gen1-partnerships.csv")
    seed = stated["eccp-first-generation-partnerships"]
    assert int(seed["enumerated"].value) == len(first)
    assert int(seed["confirmed"].value) == sum(r["evidence"] == "confirmed" for r in first)
    assert float(seed["coverage"].value) == pytest.approx(100 * len(first) / 25, abs=0.05)
    voluntary = stated["eccp-first-generation-voluntary"]
    n_voluntary = sum(r["funding"] == "voluntary" for r in first)
    assert int(voluntary["enumerated"].value) == n_voluntary
    # A figure about both generations is not compared with either generation's list.
    assert stated["call-2019-co-funded-total"]["enumerated"] is None
    assert stated["escp4i-co-funded-all-calls-2019"]["enumerated"] is None
    second = _rows("escp4i-gen2-partnerships.csv")
    established = stated["gen2-partnerships-established"]
    assert int(established["enumerated"].value) == len(second)


def test_conflicting_figures_stay_separate_statements(store: EmbeddedStore) -> None:
    rows = _select(
        store,
        """SELECT ?value (COUNT(DISTINCT ?f) AS ?n) WHERE {
             ?f a escp:StatedFigure ;
                escp:measure <https://w3id.org/escp4i/id/measure/partnerships> ;
                escp:statedFor <https://w3id.org/escp4i/id/generation/escp-4i-1> ;
                escp:value ?value .
             FILTER NOT EXISTS { ?f escp:fundingType ?any }
           } GROUP BY ?value ORDER BY ?value""",
    )
    assert [int(r["value"]) for r in rows] == [24, 25, 26]
