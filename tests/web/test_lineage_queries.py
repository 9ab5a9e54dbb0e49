"""The lineage queries and the second generation: answers derived from the source tables.

Expected answers are computed with the csv module from ``data/sources/*.csv`` (and the
figure mapping of ``data/mappings/``), never by running the query under test.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sources import table

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "data" / "sources"
BASE = "https://w3id.org/escp4i/"
GEN1 = BASE + "id/generation/escp-4i-1"
GEN2 = BASE + "id/generation/escp-4i-2"
EVIDENCE = BASE + "id/evidence/"


def _split(value: str) -> set[str]:
    return {v.strip() for v in value.split(";") if v.strip()}


FIRST = table(SOURCES / "escp4i-gen1-partnerships.csv")
SECOND = table(SOURCES / "escp4i-gen2-partnerships.csv")
MEMBERS_1 = table(SOURCES / "escp4i-gen1-members-partial.csv")
MEMBERS_2 = table(SOURCES / "escp4i-gen2-members.csv")
SUCCESSORS = table(SOURCES / "escp4i-successors.csv")
FIGURES_2 = table(SOURCES / "stated-figures-gen2.csv")
FIGURE_MAP = {
    m["measure"]: m for m in table(ROOT / "data" / "mappings" / "stated-figures-gen2.csv")
}


def _members(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    """The cluster names of each partnership, by acronym."""
    found: dict[str, set[str]] = defaultdict(set)
    for m in rows:
        found[m["partnership_acronym"]].add(m["cluster_name"])
    return found


def records(client: FlaskClient, name: str, **params: str) -> list[dict[str, Any]]:
    """Run a named query through the API, asking for JSON records by Accept."""
    resp = client.get(
        f"/api/queries/{name}", query_string=params, headers={"Accept": "application/json"}
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    rows: list[dict[str, Any]] = json.loads(resp.data)
    return rows


def _iri_of(client: FlaskClient) -> dict[str, str]:
    """Map acronyms to partnership IRIs (inputs for parameters, not answers)."""
    return {r["acronym"]: r["partnership"] for r in records(client, "partnerships")}


# -- lineage ------------------------------------------------------------------------------


def test_lineage_lists_every_first_generation_partnership_with_its_successor(
    client: FlaskClient,
) -> None:
    rows = records(client, "lineage")
    successor = {s["gen1_acronym"]: s for s in SUCCESSORS}
    assert sorted(r["acronym"] for r in rows) == sorted(p["acronym"] for p in FIRST)
    first, second = _members(MEMBERS_1), _members(MEMBERS_2)
    for row in rows:
        link = successor.get(row["acronym"])
        if link is None:
            assert all(
                row[k] is None
                for k in ("successor", "successorAcronym", "link", "strength", "sources", "shared")
            ), row["acronym"]
            continue
        shared = first[link["gen1_acronym"]] & second[link["gen2_acronym"]]
        assert row["successorAcronym"] == link["gen2_acronym"]
        assert row["strength"] == BASE + "id/link-strength/" + link["strength"]
        assert row["strengthLabel"] == link["strength"]
        assert set(row["sources"].split()) == _split(link["source_urls"])
        assert row["note"] == link["notes"]
        assert row["shared"] == len(shared), row["acronym"]
        assert set((row["sharedClusters"] or "").split("; ")) - {""} == shared, row["acronym"]
    linked = [r for r in rows if r["successor"]]
    assert len(linked) == len(SUCCESSORS)
    names = [r["acronym"] for r in rows]
    assert names == sorted(names, key=str.lower)


def test_lineage_of_one_partnership_is_its_row_only(client: FlaskClient) -> None:
    iri = _iri_of(client)
    continued = SUCCESSORS[0]
    rows = records(client, "lineage", partnership=iri[continued["gen1_acronym"]])
    assert [(r["acronym"], r["successorAcronym"]) for r in rows] == [
        (continued["gen1_acronym"], continued["gen2_acronym"])
    ]
    assert rows[0]["partnership"] == iri[continued["gen1_acronym"]]
    assert rows[0]["successor"] == iri[continued["gen2_acronym"]]
    ended = next(
        p["acronym"] for p in FIRST if p["acronym"] not in {s["gen1_acronym"] for s in SUCCESSORS}
    )
    rows = records(client, "lineage", partnership=iri[ended])
    assert [(r["acronym"], r["successor"]) for r in rows] == [(ended, None)]


def test_lineage_of_a_second_generation_partnership_is_empty(client: FlaskClient) -> None:
    iri = _iri_of(client)
    assert records(client, "lineage", partnership=iri[SECOND[0]["acronym"]]) == []


# -- clusters in both generations ---------------------------------------------------------


def test_clusters_in_both_generations_are_the_names_in_both_members_tables(
    client: FlaskClient,
) -> None:
    first: dict[str, set[str]] = defaultdict(set)
    second: dict[str, set[str]] = defaultdict(set)
    for m in MEMBERS_1:
        first[m["cluster_name"]].add(m["partnership_acronym"])
    for m in MEMBERS_2:
        second[m["cluster_name"]].add(m["partnership_acronym"])
    both = set(first) & set(second)
    rows = records(client, "clusters-in-both-generations")
    assert {r["label"] for r in rows} == both
    assert len(rows) == len(both)
    for row in rows:
        name = row["label"]
        assert set(row["firstAcronyms"].split(", ")) == first[name], name
        assert set(row["secondAcronyms"].split(", ")) == second[name], name
        assert row["firstPartnerships"] == len(first[name])
        assert row["secondPartnerships"] == len(second[name])
        countries = {m["country"] for m in MEMBERS_1 + MEMBERS_2 if m["cluster_name"] == name}
        assert {row["countryLabel"]} == (countries - {""} or {None}), name
    # The second generation's notes state how many there are.
    notes = (SOURCES / "escp4i-gen2-NOTES.md").read_text(encoding="utf-8")
    stated = re.search(r"### Organisations in both generations \((\d+);", notes)
    assert stated is not None and len(rows) == int(stated.group(1))


# -- the second generation ----------------------------------------------------------------


def test_second_generation_lists_every_row_of_its_table(client: FlaskClient) -> None:
    rows = records(client, "second-generation")
    assert [r["acronym"] for r in rows] == sorted((p["acronym"] for p in SECOND), key=str.lower)
    members = _members(MEMBERS_2)
    by_acronym = {r["acronym"]: r for r in rows}
    for p in SECOND:
        row = by_acronym[p["acronym"]]
        assert row["label"] == p["name"]
        assert row["evidence"] == EVIDENCE + p["evidence"]
        assert row["evidenceLabel"] == p["evidence"]
        assert row["strand"] == (BASE + "id/strand/" + p["strand"] if p["strand"] else None)
        assert row["callIdentifier"] == (p["call"] or None)
        assert row["start"] == (p["start"] or None)
        assert row["end"] == (p["end"] or None)
        assert row["members"] == len(members[p["acronym"]]), p["acronym"]


@pytest.mark.parametrize("level", ["confirmed", "probable", "labelled-funding-not-stated"])
def test_second_generation_at_one_evidence_level_matches_its_table(
    client: FlaskClient, level: str
) -> None:
    rows = records(client, "second-generation", evidence=EVIDENCE + level)
    assert sorted(r["acronym"] for r in rows) == sorted(
        p["acronym"] for p in SECOND if p["evidence"] == level
    )
    assert all(r["evidence"] == EVIDENCE + level for r in rows)


# -- key figures per generation -----------------------------------------------------------


def _measured_second_generation_figures() -> dict[str, dict[str, str]]:
    """The second generation's partnership figures, by figure id."""
    return {
        FIGURE_MAP[f["measure"]]["id"]: f
        for f in FIGURES_2
        if FIGURE_MAP[f["measure"]]["measure_concept"] == "partnerships"
        and FIGURE_MAP[f["measure"]]["stated_for"] == "generation"
    }


def test_key_figures_compare_second_generation_figures_with_the_second_generation(
    client: FlaskClient,
) -> None:
    rows = {r["figure"].rsplit("/", 1)[1]: r for r in records(client, "key-figures")}
    figures = _measured_second_generation_figures()
    assert figures, "no second-generation partnership figure in the table"
    confirmed = sum(p["evidence"] == "confirmed" for p in SECOND)
    for fid, figure in figures.items():
        row = rows[fid]
        assert row["scope"] == GEN2
        assert row["value"] == int(figure["value"])
        # No second-generation row states a funding type: a co-funded figure is compared
        # with all of them.
        assert row["enumerated"] == len(SECOND), fid
        assert row["confirmed"] == confirmed, fid
        assert row["coverage"] == pytest.approx(
            round(1000 * len(SECOND) / int(figure["value"])) / 10
        )
    # "11 confirmed (15 in all) of 23", and the two 25s stay separate rows.
    established = next(f for f, v in figures.items() if v["funding"] == "co-funded")
    assert (rows[established]["confirmed"], rows[established]["enumerated"]) == (
        confirmed,
        len(SECOND),
    )
    values = sorted(int(f["value"]) for f in figures.values())
    assert sorted(rows[f]["value"] for f in figures) == values
    repeated = {v for v in values if values.count(v) > 1}
    assert repeated, "the table states one value twice"
    for value in repeated:
        same = [f for f in figures if rows[f]["value"] == value]
        assert len({rows[f]["figure"] for f in same}) == values.count(value)


def test_key_figures_compare_first_generation_figures_with_the_first_generation_only(
    client: FlaskClient,
) -> None:
    rows = [r for r in records(client, "key-figures") if r["scope"] == GEN1]
    assert rows
    clusters = {m["cluster_name"] for m in MEMBERS_1}
    for row in rows:
        measure = row["measure"].rsplit("/", 1)[1]
        if measure == "partnerships":
            chosen = [
                p
                for p in FIRST
                if row["funding"] is None or p["funding"].startswith(row["fundingLabel"])
            ]
            assert row["enumerated"] == len(chosen), row["figure"]
            assert row["confirmed"] == sum(p["evidence"] == "confirmed" for p in chosen)
        elif measure == "cluster-organisations":
            assert row["enumerated"] == len(clusters)
            assert row["confirmed"] is None
    # A figure for the label as a whole, or a call, is compared with nothing.
    for row in records(client, "key-figures"):
        if row["scope"] not in (GEN1, GEN2):
            assert (row["enumerated"], row["confirmed"], row["coverage"]) == (None, None, None)
