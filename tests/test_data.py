"""The built graph against its source tables: sources everywhere, countries linked, figures."""

from __future__ import annotations

import csv
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
    with (SOURCES / name).open(newline="", encoding="utf-8") as handle:
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


def test_enumerated_partnerships_per_funding_type_match_the_table(store: EmbeddedStore) -> None:
    expected: dict[str, int] = {}
    for row in _rows("escp4i-gen1-partnerships.csv"):
        kind = row["funding"].split("-strand")[0].replace("-unknown", "")
        key = {"labelled-funding-not-stated": "none"}.get(kind, kind)
        expected[key] = expected.get(key, 0) + 1
    rows = _select(
        store,
        """SELECT ?f (COUNT(?p) AS ?n) WHERE {
             ?p a escp:Partnership . OPTIONAL { ?p escp:fundingType ?f }
           } GROUP BY ?f""",
    )
    got = {r.get("f", "none").rsplit("/", 1)[-1]: int(r["n"]) for r in rows}
    assert got == expected


def test_enumerated_clusters_and_countries_match_the_members_table(store: EmbeddedStore) -> None:
    members = _rows("escp4i-gen1-members-partial.csv")
    rows = _select(
        store,
        """SELECT (COUNT(DISTINCT ?m) AS ?memberships) (COUNT(DISTINCT ?c) AS ?clusters)
                  (COUNT(DISTINCT ?country) AS ?countries) WHERE {
             ?m a org:Membership ; org:member ?c .
             OPTIONAL { ?c escp:country ?country }
           }""",
    )
    assert int(rows[0]["memberships"]) == len(members)
    assert int(rows[0]["clusters"]) == len({r["cluster_name"] for r in members})
    assert int(rows[0]["countries"]) == len({r["country"] for r in members if r["country"]})


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
    assert set(stated) == set(table)
    for fid, row in table.items():
        assert int(stated[fid]["value"].value) == int(row["value"]), fid
        assert stated[fid]["approximate"].value == row["approximate"], fid
        for url in row["source_urls"].split(";"):
            assert url in stated[fid]["sources"].value.split(), fid
    n_partnerships = len(_rows("escp4i-gen1-partnerships.csv"))
    seed = stated["eccp-first-generation-partnerships"]
    assert int(seed["enumerated"].value) == n_partnerships
    assert float(seed["coverage"].value) == pytest.approx(100 * n_partnerships / 25, abs=0.05)
    voluntary = stated["eccp-first-generation-voluntary"]
    n_voluntary = sum(r["funding"] == "voluntary" for r in _rows("escp4i-gen1-partnerships.csv"))
    assert int(voluntary["enumerated"].value) == n_voluntary
    # A figure about both generations is not compared with the first generation's list.
    assert stated["call-2019-co-funded-total"]["enumerated"] is None


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
