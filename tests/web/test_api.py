"""The named-query API: each query's answer on the real data, derived from the source tables.

Expected answers are computed here with plain Python from ``data/sources/*.csv`` (and
``data/mappings/*.csv``), never by running the query under test. Both generations are in
the graph: a partnership's generation is that of the table it is a row of.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pyoxigraph as ox
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from htmlcheck import check_html
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate as validate_openapi
from servers import Server, start_oxigraph
from sources import table

from server.build.info import BuildInfo
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "data" / "sources"
QUERY_NAMES = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))
BASE = "https://w3id.org/escp4i/"
SPARQL_JSON = "application/sparql-results+json"


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


GEN1 = BASE + "id/generation/escp-4i-1"
GEN2 = BASE + "id/generation/escp-4i-2"
LABEL = BASE + "id/label/escp-4i"
CALL_2016 = BASE + "id/call/cos-clusint-2016-03-01"
PARTNERSHIPS_1 = table(SOURCES / "escp4i-gen1-partnerships.csv")
PARTNERSHIPS_2 = table(SOURCES / "escp4i-gen2-partnerships.csv")
PARTNERSHIPS = PARTNERSHIPS_1 + PARTNERSHIPS_2
MEMBERS_1 = table(SOURCES / "escp4i-gen1-members-partial.csv")
MEMBERS_2 = table(SOURCES / "escp4i-gen2-members.csv")
MEMBERS = MEMBERS_1 + MEMBERS_2
COUNTRIES = {row["name_en"]: row for row in table(SOURCES / "countries.csv")}
STATED_MARKETS = table(SOURCES / "stated-target-markets.csv")
MARKET_MAP = {row["name"]: row for row in table(ROOT / "data" / "mappings" / "markets.csv")}
BY_CODE = {row["iso3166_alpha2"]: name for name, row in COUNTRIES.items()}
FUNDING_TYPE = {
    "co-funded-strand-1": "co-funded",
    "co-funded-unknown-strand": "co-funded",
    "voluntary": "voluntary",
    "labelled-funding-not-stated": None,
}
#: The generation of each partnership, by acronym (acronyms differ across generations).
GENERATION = {p["acronym"]: GEN1 for p in PARTNERSHIPS_1} | {
    p["acronym"]: GEN2 for p in PARTNERSHIPS_2
}
MEMBERS_OF = {GEN1: MEMBERS_1, GEN2: MEMBERS_2}
#: A cluster is one resource across rows and tables: the acronym one of its rows gives.
CLUSTER_ACRONYM = {m["cluster_name"]: m["cluster_acronym"] for m in MEMBERS if m["cluster_acronym"]}
PARTNERSHIPS_OF = {GEN1: PARTNERSHIPS_1, GEN2: PARTNERSHIPS_2}


def funding_type(row: dict[str, str]) -> str | None:
    """Return the funding type of a partnership row; no second-generation row states one."""
    return FUNDING_TYPE[row["funding"]] if "funding" in row else None


def strand(row: dict[str, str]) -> str | None:
    """Return the strand slug of a partnership row, from either table."""
    if "strand" in row:
        return row["strand"] or None
    return {"co-funded-strand-1": "1", "co-funded-strand-2": "2"}.get(row["funding"])


def _figures() -> list[dict[str, Any]]:
    """Stated figures of both tables, in one shape: the scope is an IRI or None."""
    found: list[dict[str, Any]] = [
        {
            "id": f["id"],
            "measure": f["measure"],
            "funding": f["funding"],
            "value": int(f["value"]),
            "approximate": f["approximate"] == "true",
            "scope": {"first-generation": GEN1, "escp-4i": LABEL}[f["scope"]],
            "sources": set(_split(f["source_urls"])),
        }
        for f in table(SOURCES / "stated-figures.csv")
    ]
    mapping = {
        m["measure"]: m for m in table(ROOT / "data" / "mappings" / "stated-figures-gen2.csv")
    }
    for f in table(SOURCES / "stated-figures-gen2.csv"):
        m = mapping[f["measure"]]
        found.append(
            {
                "id": m["id"],
                "measure": m["measure_concept"],
                "funding": f["funding"] if f["funding"] in ("co-funded", "voluntary") else "",
                "value": int(f["value"]) if f["value"].isdigit() else f["value"],
                "approximate": f["approximate"] == "yes",
                "scope": {"generation": GEN2, "label": LABEL, "call": CALL_2016}.get(
                    m["stated_for"]
                ),
                "sources": set(_split(f["source_urls"])),
            }
        )
    return found


#: Every stated figure of both tables; those with a measure are what key-figures compares.
ALL_FIGURES = _figures()
FIGURES = [f for f in ALL_FIGURES if f["measure"]]


def market_label(name: str) -> str:
    """Return the label a target market of the tables has in the graph."""
    mapped = MARKET_MAP.get(name)
    if mapped and mapped["kind"] == "country":
        return BY_CODE[mapped["iso3166_alpha2"]]
    return name


def used_countries() -> set[str]:
    """Countries the tables use: member homes, target markets and the regions' countries."""
    used = {m["country"] for m in MEMBERS if m["country"]}
    for row in PARTNERSHIPS:
        for market in _split(row["target_markets"]):
            label = market_label(market)
            if label in COUNTRIES:
                used.add(label)
            elif MARKET_MAP[market]["within_iso3166_alpha2"]:
                used.add(BY_CODE[MARKET_MAP[market]["within_iso3166_alpha2"]])
    used |= {row["country"] for row in STATED_MARKETS}
    return used


def fold(text: str) -> str:
    """Lower case without accents, as a reader means 'case- and accent-insensitive'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def records(client: FlaskClient, name: str, **params: str) -> list[dict[str, Any]]:
    """Run a named query through the API and return its JSON records."""
    resp = client.get(f"/api/queries/{name}.json", query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    rows: list[dict[str, Any]] = json.loads(resp.data)
    return rows


@pytest.fixture(scope="module")
def iris(store: Any) -> dict[str, str]:
    """Map acronyms and cluster names to their IRIs (inputs for parameters, not answers)."""
    app = create_app({"TESTING": True, "PROJECT_DIR": str(ROOT)}, backend=store)
    client = app.test_client()
    found = {r["acronym"]: r["partnership"] for r in records(client, "partnerships")}
    for row in records(client, "partnership-members", partnership=found["AdPack"]):
        found[row["clusterLabel"]] = row["cluster"]
    return found


# -- each named query: its answer on the real data ---------------------------------------


def enumerated(generation: str, measure: str, funding: str) -> tuple[float, int | None]:
    """Return what the tables enumerate for a measure in one generation, and how many of
    its partnerships are confirmed (partnerships only).

    A generation none of whose rows states a funding type is compared as a whole.
    """
    members = MEMBERS_OF[generation]
    if measure == "partnerships":
        rows = PARTNERSHIPS_OF[generation]
        if funding and any(funding_type(p) for p in rows):
            rows = [p for p in rows if funding_type(p) == funding]
        return len(rows), sum(p["evidence"] == "confirmed" for p in rows)
    if measure == "cluster-organisations":
        return len({m["cluster_name"] for m in members}), None
    if measure == "countries":
        return len({m["country"] for m in members if m["country"]}), None
    assert measure == "clusters-per-partnership"
    per_partnership = {m["partnership_acronym"] for m in members}
    return round(100 * len(members) / len(per_partnership)) / 100, None


def test_key_figures_match_the_stated_figures_tables_with_coverage(client: FlaskClient) -> None:
    rows = records(client, "key-figures")
    assert sorted(r["figure"].rsplit("/", 1)[1] for r in rows) == sorted(f["id"] for f in FIGURES)
    by_id = {r["figure"].rsplit("/", 1)[1]: r for r in rows}
    for figure in FIGURES:
        row = by_id[figure["id"]]
        assert row["value"] == int(figure["value"])
        assert row["approximate"] is figure["approximate"]
        assert set(row["sources"].split()) == figure["sources"]
        assert row["scope"] == figure["scope"]
        if figure["scope"] not in (GEN1, GEN2):
            assert row["enumerated"] is None and row["coverage"] is None, figure["id"]
            assert row["confirmed"] is None, figure["id"]
            continue
        expected, confirmed = enumerated(figure["scope"], figure["measure"], figure["funding"])
        assert row["enumerated"] == pytest.approx(expected), figure["id"]
        assert row["confirmed"] == confirmed, figure["id"]
        coverage = round(1000 * expected / int(figure["value"])) / 10
        assert row["coverage"] == pytest.approx(coverage), figure["id"]


@pytest.mark.parametrize("generation", [None, GEN1, GEN2])
def test_enumerated_counts_match_the_tables_per_generation_and_together(
    client: FlaskClient, generation: str | None
) -> None:
    params = {"generation": generation} if generation else {}
    rows = records(client, "enumerated-counts", **params)
    # Without a generation, each one's rows and those of both together (no generation).
    assert {r["generation"] for r in rows} == ({generation} if generation else {GEN1, GEN2, None})
    for gen in {r["generation"] for r in rows}:
        mine = [r for r in rows if r["generation"] == gen]
        members = MEMBERS_OF[gen] if gen else MEMBERS
        partnerships = PARTNERSHIPS_OF[gen] if gen else PARTNERSHIPS
        simple = {
            r["what"]: r["count"] for r in mine if r["what"] != "partnerships by funding type"
        }
        assert simple == {
            "partnerships": len(partnerships),
            "memberships": len(members),
            "partnerships with members": len({m["partnership_acronym"] for m in members}),
            # Together, an organisation in both generations is counted once.
            "cluster organisations": len({m["cluster_name"] for m in members}),
            "member countries": len({m["country"] for m in members if m["country"]}),
        }, gen
        per_funding = {
            r["fundingLabel"]: r["count"]
            for r in mine
            if r["what"] == "partnerships by funding type"
        }
        funding = [funding_type(p) for p in partnerships]
        assert per_funding == {f: funding.count(f) for f in set(funding)}, gen
        labels = {r["generationLabel"] for r in mine}
        assert labels == ({"both generations"} if gen is None else labels - {"both generations"})
        assert len(labels) == 1


def test_partnerships_lists_every_row_of_both_tables_once(client: FlaskClient) -> None:
    rows = records(client, "partnerships")
    assert [r["acronym"] for r in rows] == sorted(
        (p["acronym"] for p in PARTNERSHIPS), key=str.lower
    )
    by_acronym = {r["acronym"]: r for r in rows}
    for p in PARTNERSHIPS:
        row = by_acronym[p["acronym"]]
        assert row["label"] == (p["name"] or p["acronym"])
        assert row["generation"] == GENERATION[p["acronym"]]
        assert row["evidence"] == BASE + "id/evidence/" + p["evidence"]
        assert row["fundingType"] == funding_type(p)
        assert (row["strandLabel"] is not None) == (strand(p) is not None)
        members = {m["cluster_name"] for m in MEMBERS if m["partnership_acronym"] == p["acronym"]}
        assert row["members"] == len(members)
        assert row["start"] == (p["start"] or None)
        assert all(row[k] is None for k in ("funding", "strand", "sector", "market", "country"))
    assert {r["generationLabel"] for r in rows} == {
        "ESCP-4i first generation (2016-2017)",
        "ESCP-4i second generation (2018-2019)",
    }


def _acronyms_where(test: Any) -> list[str]:
    return sorted((p["acronym"] for p in PARTNERSHIPS if test(p)), key=str.lower)


def _member_countries(acronym: str) -> set[str]:
    return {m["country"] for m in MEMBERS if m["partnership_acronym"] == acronym}


@pytest.mark.parametrize(
    ("params", "test"),
    [
        ({"generation": "generation/escp-4i-1"}, lambda p: GENERATION[p["acronym"]] == GEN1),
        ({"generation": "generation/escp-4i-2"}, lambda p: GENERATION[p["acronym"]] == GEN2),
        ({"evidence": "evidence/confirmed"}, lambda p: p["evidence"] == "confirmed"),
        ({"evidence": "evidence/probable"}, lambda p: p["evidence"] == "probable"),
        (
            {"evidence": "evidence/probable", "generation": "generation/escp-4i-2"},
            lambda p: p["evidence"] == "probable" and GENERATION[p["acronym"]] == GEN2,
        ),
        ({"funding": "funding/voluntary"}, lambda p: funding_type(p) == "voluntary"),
        ({"funding": "funding/co-funded"}, lambda p: funding_type(p) == "co-funded"),
        # Strand 1 takes in its parts 1.a and 1.b.
        ({"strand": "strand/1"}, lambda p: (strand(p) or "").startswith("1")),
        ({"strand": "strand/1a"}, lambda p: strand(p) == "1a"),
        ({"strand": "strand/1b"}, lambda p: strand(p) == "1b"),
        ({"strand": "strand/2"}, lambda p: strand(p) == "2"),
        ({"sector": "sector/packaging"}, lambda p: "packaging" in _split(p["sectors"])),
        ({"sector": "sector/ict"}, lambda p: "ICT" in _split(p["sectors"])),
        (
            {"market": "country/us"},
            lambda p: "United States" in map(market_label, _split(p["target_markets"])),
        ),
        ({"market": "region/south-america"}, lambda p: "South America" in p["target_markets"]),
        ({"country": "country/es"}, lambda p: "Spain" in _member_countries(p["acronym"])),
        (
            {"country": "country/fr", "sector": "sector/photonics"},
            lambda p: (
                "France" in _member_countries(p["acronym"]) and "photonics" in _split(p["sectors"])
            ),
        ),
        (
            {"funding": "funding/co-funded", "market": "country/jp"},
            lambda p: (
                funding_type(p) == "co-funded"
                and "Japan" in map(market_label, _split(p["target_markets"]))
            ),
        ),
    ],
)
def test_partnerships_filtered_match_the_tables(
    client: FlaskClient, params: dict[str, str], test: Any
) -> None:
    rows = records(client, "partnerships", **{k: BASE + "id/" + v for k, v in params.items()})
    assert [r["acronym"] for r in rows] == _acronyms_where(test)
    for row in rows:
        assert all(row[k] == BASE + "id/" + v for k, v in params.items())


@pytest.mark.parametrize("acronym", [p["acronym"] for p in PARTNERSHIPS])
def test_partnership_members_equal_the_member_rows_of_the_tables(
    client: FlaskClient, iris: dict[str, str], acronym: str
) -> None:
    rows = records(client, "partnership-members", partnership=iris[acronym])
    got = {
        (r["clusterLabel"], r["clusterAcronym"], r["roleLabel"], r["countryLabel"], r["qid"])
        for r in rows
    }
    expected = {
        (
            m["cluster_name"],
            CLUSTER_ACRONYM.get(m["cluster_name"]),
            m["role"],
            m["country"] or None,
            COUNTRIES[m["country"]]["wikidata_qid"] if m["country"] else None,
        )
        for m in MEMBERS
        if m["partnership_acronym"] == acronym
    }
    assert got == expected
    assert len(rows) == len(expected)
    assert {r["generation"] for r in rows} <= {GENERATION[acronym]}
    roles = [r["roleLabel"] for r in rows]
    assert roles == sorted(roles)  # the coordinator, when known, comes first
    for row in rows:
        if row["qid"]:
            assert row["wikidata"] == "http://www.wikidata.org/entity/" + row["qid"]


def test_cluster_partnerships_equal_the_rows_naming_the_cluster(
    client: FlaskClient, iris: dict[str, str]
) -> None:
    for name in ("Plastiwin", "BalticNet-PlasmaTec e.V.", "Nanoprogress z.s."):
        rows = records(client, "cluster-partnerships", cluster=iris[name])
        expected = {
            (m["partnership_acronym"], m["role"], GENERATION[m["partnership_acronym"]])
            for m in MEMBERS
            if m["cluster_name"] == name
        }
        assert {(r["acronym"], r["roleLabel"], r["generation"]) for r in rows} == expected
        assert {r["generation"] for r in rows} == {GEN1, GEN2}  # in both generations
        second = records(client, "cluster-partnerships", cluster=iris[name], generation=GEN2)
        assert {(r["acronym"], r["roleLabel"], r["generation"]) for r in second} == {
            e for e in expected if e[2] == GEN2
        }
    rows = records(client, "cluster-partnerships", cluster=BASE + "id/cluster/aerospace-valley")
    assert {r["acronym"] for r in rows} == {
        m["partnership_acronym"] for m in MEMBERS if m["cluster_name"] == "Aerospace Valley"
    }
    assert len(rows) == 2


def _per_generation(rows: list[dict[str, str]], key: str) -> dict[tuple[str, str], set[str]]:
    """Group member rows by (generation, value of key): the partnerships of each."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for m in rows:
        if m[key]:
            found[(GENERATION[m["partnership_acronym"]], m[key])].add(m["partnership_acronym"])
    return found


def test_clusters_per_country_match_the_member_tables_per_generation(client: FlaskClient) -> None:
    clusters: dict[tuple[str, str], set[str]] = defaultdict(set)
    for m in MEMBERS:
        if m["country"]:
            clusters[(GENERATION[m["partnership_acronym"]], m["country"])].add(m["cluster_name"])
    partnerships = _per_generation(MEMBERS, "country")
    rows = records(client, "clusters-per-country")
    got = {
        (r["generation"], r["countryLabel"]): (
            r["qid"],
            r["clusters"],
            r["partnerships"],
            set(r["acronyms"].split(", ")),
        )
        for r in rows
    }
    assert got == {
        (generation, country): (
            COUNTRIES[country]["wikidata_qid"],
            len(clusters[(generation, country)]),
            len(partnerships[(generation, country)]),
            partnerships[(generation, country)],
        )
        for generation, country in clusters
    }
    assert len(rows) == len(got)
    for generation in (GEN1, GEN2):
        counts = [r["clusters"] for r in rows if r["generation"] == generation]
        assert counts == sorted(counts, reverse=True)
        france = records(
            client, "clusters-per-country", country=BASE + "id/country/fr", generation=generation
        )
        assert [(r["countryLabel"], r["clusters"], r["generation"]) for r in france] == [
            ("France", len(clusters[(generation, "France")]), generation)
        ]


@pytest.mark.parametrize("generation", [None, GEN1, GEN2])
def test_countries_are_those_the_tables_use_with_their_qids(
    client: FlaskClient, generation: str | None
) -> None:
    params = {"generation": generation} if generation else {}
    rows = records(client, "countries", **params)
    got = {(r["label"], r["iso2"], r["iso3"], r["qid"]) for r in rows}
    assert got == {
        (
            name,
            COUNTRIES[name]["iso3166_alpha2"],
            COUNTRIES[name]["iso3166_alpha3"],
            COUNTRIES[name]["wikidata_qid"],
        )
        for name in used_countries()
    }
    members = MEMBERS_OF[generation] if generation else MEMBERS
    partnerships = PARTNERSHIPS_OF[generation] if generation else PARTNERSHIPS
    by_label = {r["label"]: r for r in rows}
    for name in used_countries():
        row = by_label[name]
        code = COUNTRIES[name]["eu_authority_code"]
        assert (
            row["euAuthority"] == f"http://publications.europa.eu/resource/authority/country/{code}"
        )
        # Without a generation, an organisation in both is counted once.
        assert row["memberClusters"] == len(
            {m["cluster_name"] for m in members if m["country"] == name}
        ), name
        assert row["targetedBy"] == sum(
            name in map(market_label, _split(p["target_markets"])) for p in partnerships
        ), name
        assert row["generation"] == generation
    eu = records(client, "countries", group=BASE + "id/country-group/eu", **params)
    assert {r["label"] for r in eu} == {
        n for n in used_countries() if COUNTRIES[n]["group"] == "EU"
    }


def test_partnerships_per_target_market_match_the_tables_per_generation(
    client: FlaskClient,
) -> None:
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in PARTNERSHIPS:
        for market in _split(p["target_markets"]):
            expected[(GENERATION[p["acronym"]], market_label(market))].add(p["acronym"])
    rows = records(client, "partnerships-per-target-market")
    assert {
        (r["generation"], r["marketLabel"]): set(r["acronyms"].split(", ")) for r in rows
    } == expected
    assert len(rows) == len(expected)
    stated = {row["country"] for row in STATED_MARKETS}
    for row in rows:
        assert row["partnerships"] == len(expected[(row["generation"], row["marketLabel"])])
        assert row["kind"] == ("country" if row["marketLabel"] in COUNTRIES else "region")
        assert row["statedMain"] is (row["marketLabel"] in stated)
        if row["kind"] == "country":
            assert row["qid"] == COUNTRIES[row["marketLabel"]]["wikidata_qid"]
    for generation in (GEN1, GEN2):
        japan = records(
            client,
            "partnerships-per-target-market",
            market=BASE + "id/country/jp",
            generation=generation,
        )
        assert [(r["marketLabel"], r["partnerships"]) for r in japan] == [
            ("Japan", len(expected[(generation, "Japan")]))
        ]


def test_partnerships_per_sector_match_the_tables_per_generation(client: FlaskClient) -> None:
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in PARTNERSHIPS:
        for sector in _split(p["sectors"]):
            expected[(GENERATION[p["acronym"]], sector)].add(p["acronym"])
    rows = records(client, "partnerships-per-sector")
    assert {
        (r["generation"], r["sectorLabel"]): set(r["acronyms"].split(", ")) for r in rows
    } == expected
    assert len(rows) == len(expected)
    assert all(
        r["partnerships"] == len(expected[(r["generation"], r["sectorLabel"])]) for r in rows
    )
    photonics = records(client, "partnerships-per-sector", sector=BASE + "id/sector/photonics")
    assert {(r["generation"], r["partnerships"]) for r in photonics} == {
        (g, len(ps)) for (g, s), ps in expected.items() if s == "photonics"
    }
    second = records(client, "partnerships-per-sector", generation=GEN2)
    assert {r["sectorLabel"] for r in second} == {s for (g, s) in expected if g == GEN2}


def _partnerships_of_clusters() -> dict[tuple[str, str], set[str]]:
    """The partnerships of each cluster within each generation."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for m in MEMBERS:
        found[(GENERATION[m["partnership_acronym"]], m["cluster_name"])].add(
            m["partnership_acronym"]
        )
    return found


@pytest.mark.parametrize("minimum", [None, "1", "2", "3"])
@pytest.mark.parametrize("generation", [None, GEN1, GEN2])
def test_clusters_in_several_partnerships_match_the_member_tables(
    client: FlaskClient, minimum: str | None, generation: str | None
) -> None:
    params = {"minimum": minimum} if minimum else {}
    if generation:
        params["generation"] = generation
    rows = records(client, "clusters-in-several-partnerships", **params)
    least = int(minimum or 2)
    expected = {
        (g, c): ps
        for (g, c), ps in _partnerships_of_clusters().items()
        if len(ps) >= least and generation in (None, g)
    }
    assert {(r["generation"], r["label"]): set(r["acronyms"].split(", ")) for r in rows} == (
        expected
    )
    assert len(rows) == len(expected)
    assert all(r["minimum"] == (int(minimum) if minimum else 2) for r in rows)
    if minimum == "2" and generation == GEN1:
        assert {"Aerospace Valley", "Skywin"} <= {r["label"] for r in rows}


def test_partnerships_sharing_members_match_the_member_tables(
    client: FlaskClient, iris: dict[str, str]
) -> None:
    members: dict[str, set[str]] = defaultdict(set)
    for m in MEMBERS:
        members[m["partnership_acronym"]].add(m["cluster_name"])
    expected = {
        (a, b): shared
        for a in members
        for b in members
        if a != b and (shared := members[a] & members[b])
    }
    rows = records(client, "partnerships-sharing-members")
    got = {(r["acronym"], r["otherAcronym"]): set(r["clusters"].split("; ")) for r in rows}
    assert got == expected
    assert all(r["shared"] == len(expected[(r["acronym"], r["otherAcronym"])]) for r in rows)
    assert all(r["generation"] == GENERATION[r["acronym"]] for r in rows)
    assert all(r["otherGeneration"] == GENERATION[r["otherAcronym"]] for r in rows)
    assert ("AdPack", "AdPack2") in got  # a partnership and its continuation
    one = records(client, "partnerships-sharing-members", partnership=iris["SPACE2ID"])
    assert {r["otherAcronym"] for r in one} == {b for (a, b) in expected if a == "SPACE2ID"}
    second = records(client, "partnerships-sharing-members", generation=GEN2)
    assert {(r["acronym"], r["otherAcronym"]) for r in second} == {
        (a, b) for (a, b) in expected if GENERATION[a] == GEN2
    }


def _names() -> set[tuple[str, str]]:
    """Every (kind, name) the search covers, from the tables."""
    names = set()
    for p in PARTNERSHIPS:
        names |= {("partnership", p["name"] or p["acronym"]), ("partnership", p["acronym"])}
    for m in MEMBERS:
        names.add(("cluster organisation", m["cluster_name"]))
    names |= {("cluster organisation", acronym) for acronym in CLUSTER_ACRONYM.values()}
    names |= {("country", c) for c in used_countries()}
    for p in PARTNERSHIPS:
        for market in _split(p["target_markets"]):
            if market_label(market) not in COUNTRIES:
                names.add(("region", market))
        names |= {("sector", s) for s in _split(p["sectors"])}
    return names


@pytest.mark.parametrize("q", ["pôle MER", "ADPACK", "ÉNERGIE", "Énergy", "cluster", "SPAIN", "ß"])
def test_search_finds_names_ignoring_case_and_accents(client: FlaskClient, q: str) -> None:
    rows = records(client, "search", q=q)
    expected = {(kind, name) for kind, name in _names() if fold(q) in fold(name)}
    assert {(r["type"], r["matched"]) for r in rows} == expected
    assert all(r["q"] == q for r in rows)
    if q == "pôle MER":  # the accent and case folded away, and both Pole Mer clusters found
        assert {"Pole Mer Mediterranee", "Pole Mer Bretagne"} <= {r["label"] for r in rows}


def test_search_in_one_generation_finds_only_its_partnerships(client: FlaskClient) -> None:
    everything = records(client, "search", q="pack")
    assert {r["type"] for r in everything} > {"partnership"}
    for r in everything:
        if r["type"] == "partnership":
            assert r["generation"] in (GEN1, GEN2)
        else:
            assert r["generation"] is None
    for generation in (GEN1, GEN2):
        rows = records(client, "search", q="pack", generation=generation)
        expected = {
            name
            for p in PARTNERSHIPS
            if GENERATION[p["acronym"]] == generation
            for name in (p["name"] or p["acronym"], p["acronym"])
            if "pack" in fold(name)
        }
        assert {r["matched"] for r in rows} == expected and expected
        assert {(r["type"], r["generation"]) for r in rows} == {("partnership", generation)}


def test_search_without_text_is_a_400_naming_q(client: FlaskClient) -> None:
    resp = client.get("/api/queries/search")
    assert resp.status_code == 400
    assert resp.json is not None and resp.json["parameter"] == "q"


def test_resource_sources_equal_the_source_urls_of_the_row(
    client: FlaskClient, iris: dict[str, str]
) -> None:
    for p in PARTNERSHIPS:
        rows = records(client, "resource-sources", resource=iris[p["acronym"]])
        assert {r["source"] for r in rows} == set(_split(p["source_urls"])), p["acronym"]
        assert {r["label"] for r in rows} == {p["name"] or p["acronym"]}
    for figure in (ALL_FIGURES[0], ALL_FIGURES[-1]):
        rows = records(client, "resource-sources", resource=BASE + "id/figure/" + figure["id"])
        assert {r["source"] for r in rows} == figure["sources"]


def test_conflicting_figures_are_groups_with_more_than_one_value(client: FlaskClient) -> None:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in FIGURES:
        if f["scope"]:
            groups[(f["measure"], f["funding"], f["scope"])].append(f)
    conflicting = {
        f["id"]: f for g in groups.values() if len({f["value"] for f in g}) > 1 for f in g
    }
    rows = records(client, "conflicting-figures")
    assert {r["figure"].rsplit("/", 1)[1] for r in rows} == set(conflicting)
    for row in rows:
        figure = conflicting[row["figure"].rsplit("/", 1)[1]]
        assert row["value"] == int(figure["value"])
        assert row["fundingLabel"] == (figure["funding"] or None)
        assert row["scope"] == figure["scope"]
        assert set(row["sources"].split()) == figure["sources"]
    assert "cambridgenetwork-partnerships" in conflicting  # 25 co-funded against 15 and 14
    assert "eccp-first-generation-countries" not in conflicting  # 23 and 23 agree
    # The second generation's two figures of 25 agree; its 23 is of co-funded ones only.
    assert "gen2-partnerships-second-round" not in conflicting
    clusters = records(
        client, "conflicting-figures", measure=BASE + "id/measure/cluster-organisations"
    )
    assert sorted(r["value"] for r in clusters) == [100, 140, 150]


def test_every_query_has_an_answer_test() -> None:
    tested_here = {
        "key-figures", "enumerated-counts", "partnerships", "partnership-members",
        "cluster-partnerships", "clusters-per-country", "countries",
        "partnerships-per-target-market", "partnerships-per-sector",
        "clusters-in-several-partnerships", "partnerships-sharing-members", "search",
        "resource-sources", "conflicting-figures",
    }  # fmt: skip
    # The lineage queries are answered in test_lineage_queries.py, clusters in test_facets.py.
    tested_there = {"lineage", "clusters-in-both-generations", "second-generation", "clusters"}
    assert set(QUERY_NAMES) == tested_here | tested_there


# -- representations and negotiation ------------------------------------------------------


ADPACK = {"partnership": BASE + "id/partnership/adpack"}


def test_get_named_query_without_accept_returns_sparql_json(client: FlaskClient) -> None:
    resp = client.get("/api/queries/partnership-members", query_string=ADPACK)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == SPARQL_JSON
    # Uncompressed (no Accept-Encoding), but a cache in front must keep one copy per coding.
    assert resp.headers["Vary"] == "Accept, Accept-Encoding"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = json.loads(resp.data)
    assert body["head"]["vars"][:3] == ["partnership", "acronym", "cluster"]
    assert len(body["results"]["bindings"]) == 5
    assert body["results"]["bindings"][0]["partnership"] == {
        "type": "uri",
        "value": ADPACK["partnership"],
    }
    assert 'rel="describedby"' in resp.headers["Link"]
    assert "/sparql#example=partnership-members" in resp.headers["Link"]


@pytest.mark.parametrize(
    ("accept", "suffix", "content_type"),
    [
        ("application/json", "json", "application/json"),
        (SPARQL_JSON, "srj", SPARQL_JSON),
        ("application/sparql-results+xml", "srx", "application/sparql-results+xml"),
        ("text/csv", "csv", "text/csv; charset=utf-8"),
        ("text/tab-separated-values", "tsv", "text/tab-separated-values; charset=utf-8"),
    ],
)
def test_accept_and_suffix_give_the_same_representation(
    client: FlaskClient, accept: str, suffix: str, content_type: str
) -> None:
    by_accept = client.get(
        "/api/queries/partnership-members", query_string=ADPACK, headers={"Accept": accept}
    )
    by_suffix = client.get(
        f"/api/queries/partnership-members.{suffix}",
        query_string=ADPACK,
        headers={"Accept": "image/png"},  # a suffix wins over Accept
    )
    for resp in (by_accept, by_suffix):
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == content_type
    assert by_accept.data == by_suffix.data
    if suffix in ("csv", "tsv"):
        delimiter = "," if suffix == "csv" else "\t"
        table = list(csv.reader(io.StringIO(by_suffix.get_data(as_text=True)), delimiter=delimiter))
        assert len(table) == 1 + 5
        assert (
            by_suffix.headers["Content-Disposition"]
            == f'inline; filename="partnership-members.{suffix}"'
        )
    if suffix in ("srj", "srx"):
        fmt = ox.QueryResultsFormat.JSON if suffix == "srj" else ox.QueryResultsFormat.XML
        parsed = ox.parse_query_results(by_suffix.data, format=fmt)
        assert isinstance(parsed, ox.QuerySolutions)
        assert len(list(parsed)) == 5


def test_records_are_plain_json_values(client: FlaskClient) -> None:
    rows = records(client, "partnerships")
    adpack = next(r for r in rows if r["acronym"] == "AdPack")
    assert adpack["members"] == 5 and isinstance(adpack["members"], int)
    assert adpack["label"] == "Future Materials and Products for Advanced Smart Packaging"
    assert adpack["funding"] is None
    market = records(client, "partnerships-per-target-market", market=BASE + "id/country/us")
    assert market[0]["statedMain"] is True


def test_unmet_accept_returns_406_listing_the_offers(client: FlaskClient) -> None:
    resp = client.get(
        "/api/queries/partnership-members", query_string=ADPACK, headers={"Accept": "image/png"}
    )
    assert resp.status_code == 406
    assert resp.mimetype == "application/problem+json"
    assert resp.json is not None and "text/csv" in resp.json["offers"]


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/queries/nope", "/api/queries/nope.csv", "/api/queries/.json"]
)
def test_get_unknown_query_returns_404_problem(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    problem = resp.json
    assert problem is not None and problem["status"] == 404 and problem["instance"] == path


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
@pytest.mark.parametrize("path", ["/api/queries", "/api/queries/search", "/api/openapi.json"])
def test_wrong_method_returns_405_problem_with_allow(
    client: FlaskClient, method: str, path: str
) -> None:
    resp = getattr(client, method)(path)
    assert resp.status_code == 405
    assert resp.mimetype == "application/problem+json"
    assert "GET" in resp.headers["Allow"]


@pytest.mark.parametrize(
    ("query", "params", "parameter"),
    [
        ("partnership-members", {"partnership": "adpack"}, "partnership"),
        (
            "partnership-members",
            {"partnership": "https://w3id.org/x> } UNION { ?s ?p ?o"},
            "partnership",
        ),
        ("partnership-members", {}, "partnership"),
        ("partnerships", {"funding": BASE + "id/funding/public"}, "funding"),
        ("partnerships", {"colour": "blue"}, "colour"),
        ("partnerships", {"generation": BASE + "id/generation/escp-4i-3"}, "generation"),
        ("second-generation", {"evidence": BASE + "id/evidence/certain"}, "evidence"),
        ("clusters-in-several-partnerships", {"minimum": "two"}, "minimum"),
        ("search", {"q": "x" * 501}, "q"),
    ],
)
def test_bad_parameter_returns_400_naming_it(
    client: FlaskClient, query: str, params: dict[str, str], parameter: str
) -> None:
    resp = client.get(f"/api/queries/{query}", query_string=params)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    problem = resp.json
    assert problem is not None
    assert problem["parameter"] == parameter
    assert repr(parameter) in problem["detail"]


def test_repeated_parameter_returns_400(client: FlaskClient) -> None:
    resp = client.get(
        "/api/queries/partnership-members?partnership=http://a/1&partnership=http://a/2"
    )
    assert resp.status_code == 400
    assert resp.json is not None and "given 2 times" in resp.json["detail"]


# -- injection: request values are data, never syntax --------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        'AdPack" } UNION { ?resource ?type ?label } #',
        '") || true || ("',
        'x"}>\n} SELECT * WHERE { ?s ?p ?o }',
        'pack"\n>',
        "\\u0022) || true #",
        "'''",
    ],
)
def test_string_parameter_full_of_syntax_matches_only_as_a_literal(
    client: FlaskClient, payload: str
) -> None:
    rows = records(client, "search", q=payload)
    assert rows == []  # no name contains the payload; syntax would have matched names
    # The same text with a real name before the syntax still matches nothing more.
    assert records(client, "search", q="AdPack") != []


def test_string_parameter_comes_back_unchanged(client: FlaskClient) -> None:
    payload = "ADPACK"
    rows = records(client, "search", q=payload)
    assert [r["q"] for r in rows] == [payload] * len(rows) and rows


# -- index, OpenAPI and the query page -----------------------------------------------------


def test_index_lists_every_query_with_links(client: FlaskClient) -> None:
    resp = client.get("/api/queries")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    body = json.loads(resp.data)
    assert [q["name"] for q in body["queries"]] == QUERY_NAMES
    assert body["links"]["openapi"] == "/api/openapi.json"
    members = next(q for q in body["queries"] if q["name"] == "partnership-members")
    assert members["title"] == "Members of one partnership"
    assert members["parameters"][0]["name"] == "partnership"
    assert members["parameters"][0]["required"] is True
    assert members["links"]["self"] == "/api/queries/partnership-members"
    assert members["links"]["editor"] == "/sparql#example=partnership-members"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_index_links_of_each_query_answer(client: FlaskClient, name: str) -> None:
    entry = next(
        q for q in json.loads(client.get("/api/queries").data)["queries"] if q["name"] == name
    )
    assert client.get(entry["links"]["example"]).status_code == 200
    for suffix, url in entry["links"]["formats"].items():
        resp = client.get(url)
        assert resp.status_code == 200, (suffix, resp.get_data(as_text=True))


def test_index_for_a_browser_is_html_with_every_title(client: FlaskClient) -> None:
    resp = client.get("/api/queries", headers={"Accept": "text/html,*/*;q=0.8"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    index = json.loads(client.get("/api/queries").data)
    for entry in index["queries"]:
        assert f'id="{entry["name"]}"' in html
        assert entry["links"]["editor"] in html
    assert 'href="/api/openapi.json"' in html


def test_openapi_document_validates_and_covers_every_query(client: FlaskClient) -> None:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    document = json.loads(resp.data)
    validate_openapi(document)
    assert document["openapi"] == "3.1.0"
    for name in QUERY_NAMES:
        for path in [f"/api/queries/{name}"] + [
            f"/api/queries/{name}.{s}" for s in ("json", "srj", "srx", "csv", "tsv")
        ]:
            assert "get" in document["paths"][path]
    members = document["paths"]["/api/queries/partnership-members"]["get"]
    assert members["parameters"][0]["name"] == "partnership"
    assert members["parameters"][0]["required"] is True
    assert members["summary"] == "Members of one partnership"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_example_answer_validates_against_its_openapi_schema(
    client: FlaskClient, name: str
) -> None:
    document = json.loads(client.get("/api/openapi.json").data)
    operation = document["paths"][f"/api/queries/{name}"]["get"]
    example = {p["name"]: str(p["example"]) for p in operation["parameters"] if "example" in p}
    for media_type in ("application/json", SPARQL_JSON):
        resp = client.get(
            f"/api/queries/{name}", query_string=example, headers={"Accept": media_type}
        )
        assert resp.status_code == 200
        schema = operation["responses"]["200"]["content"][media_type]["schema"]
        jsonschema.validate(
            json.loads(resp.data),
            {**schema, "components": document["components"]},
            cls=jsonschema.Draft202012Validator,
        )


def test_api_conforms_to_its_openapi_document(app: Flask) -> None:
    """Schemathesis: bounded generated requests for every operation; no 5xx, nothing undocumented.

    Driven through ``as_strategy`` rather than schemathesis' pytest plugin, which fails on
    pytest 9 (it reads ``node._nodeid``).
    """
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 1 + 6 * len(QUERY_NAMES)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=3,
            deadline=5000,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            # Uncompressed: schemathesis' WSGI transport does not decode a brotli body,
            # which its default Accept-Encoding asks for once brotli is installed
            # (compression has its own tests, tests/web/test_compress.py).
            response = case.call_and_validate(headers={"Accept-Encoding": "identity"})
            assert response.status_code < 500

        check()


# -- the same answers on the embedded backend and on a SPARQL endpoint ---------------------


@pytest.fixture(scope="module")
def oxigraph(built: BuildInfo) -> Iterator[Server]:
    """A real Oxigraph server over the session build's store, stopped by PID."""
    with start_oxigraph(Path(built.path) / "store") as server:
        yield server


@pytest.fixture(scope="module")
def remote_client(oxigraph: Server) -> FlaskClient:
    app = create_app(
        {
            "TESTING": True,
            "PROJECT_DIR": str(ROOT),
            "BACKEND": "sparql",
            "SPARQL_URL": oxigraph.url + "/query",
        }
    )
    return app.test_client()


def _normal(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as sortable text, with the order inside GROUP_CONCAT lists ignored.

    SPARQL leaves the order of GROUP_CONCAT's members to the engine; the lists are the
    columns named in the plural, joined by "; " or ", ", or IRIs joined by spaces.
    """
    out = []
    for row in rows:
        fixed = {k: _members(v) if k.endswith("s") else v for k, v in row.items()}
        out.append(json.dumps(fixed, sort_keys=True))
    return sorted(out)


def _members(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for separator in ("; ", ", "):
        if separator in value:
            return sorted(value.split(separator))
    iris = value.split(" ")
    if len(iris) > 1 and all(i.startswith(("http://", "https://")) for i in iris):
        return sorted(iris)
    return value


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_named_query_gives_the_same_answer_on_both_backends(
    client: FlaskClient, remote_client: FlaskClient, name: str
) -> None:
    document = json.loads(client.get("/api/openapi.json").data)
    operation = document["paths"][f"/api/queries/{name}"]["get"]
    example = {p["name"]: str(p["example"]) for p in operation["parameters"] if "example" in p}
    required = {p["name"] for p in operation["parameters"] if p["required"]}
    for params in ({k: v for k, v in example.items() if k in required}, example):
        embedded = records(client, name, **params)
        remote = records(remote_client, name, **params)
        assert embedded, (name, params)
        assert _normal(embedded) == _normal(remote)


def test_query_page_lists_every_example_with_local_assets_only(client: FlaskClient) -> None:
    resp = client.get("/sparql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    index = json.loads(client.get("/api/queries").data)
    for entry in index["queries"]:
        assert f'<option value="{entry["name"]}">' in html
        assert entry["title"] in html
    assert '/static/vendor/yasgui/yasgui.min.js"' in html
    assert '/static/vendor/yasgui/yasgui.min.css"' in html
    assert not re.search(
        r'(src|href)="(https?:)?//', html.split("<footer", 1)[0].split("<main", 1)[1]
    )
    config = json.loads(
        html.split('<script type="application/json" id="query-config">', 1)[1].split("</script>")[0]
    )
    example = next(e for e in config["examples"] if e["name"] == "partnership-members")
    assert example["api"] == "/api/queries/partnership-members?partnership=" + quote(
        BASE + "id/partnership/adpack", safe=""
    )
    assert isinstance(ox.Store().query(example["query"]), ox.QuerySolutions)
    assert check_html(html) == []


def test_api_index_html_passes_the_html_checks(client: FlaskClient) -> None:
    resp = client.get("/api/queries", headers={"Accept": "text/html"})
    assert check_html(resp.get_data(as_text=True)) == []


@pytest.mark.parametrize("name", ["yasgui.min.js", "yasgui.min.css", "LICENSE", "VERSION"])
def test_vendored_editor_files_are_served(client: FlaskClient, name: str) -> None:
    resp = client.get(f"/static/vendor/yasgui/{name}")
    assert resp.status_code == 200
    assert len(resp.data) > 100
    resp.close()
